//! Interface declarations: the [`rpc_interface!`] macro turns one declaration per operation
//! into its request and response types (both directions of NDR, so the same code serves the
//! server and the test clients), a server trait with one method per operation, and the
//! dispatch function that maps an opnum to that method.
//!
//! Conventions of a declaration (they follow the method's MIDL signature in order):
//! - `in (...)` lists the `[in]` and `[in,out]` parameters, `out (...)` the `[out]` and
//!   `[in,out]` ones followed by the return value, all in signature order.
//! - A top-level `[ref]` pointer is written as its pointee type (it has no wire form of its
//!   own); a `[unique]` pointer as `Option<T>`; `[string] wchar_t*` pointees as `WString`.
//! - Statuses are [`WError`](crate::ndr::WError), so a default "not implemented" response can
//!   be produced without knowing the method's shape.
//! - Opnums not declared answer `nca_s_op_rng_error` ([C706] / [MS-RPCE] 3.1.1.5.1).

use crate::ndr::NdrError;

/// Why a request could not reach its handler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// The opnum is not part of the interface: fault `nca_s_op_rng_error`.
    #[error("opnum {0} out of range")]
    OpRange(u16),
    /// The stub could not be decoded: fault `nca_s_fault_ndr` / `RPC_X_BAD_STUB_DATA`.
    #[error("bad stub data: {0}")]
    BadStub(#[from] NdrError),
}

/// What re-encoding a decoded request gave ([`rpc_interface!`]'s `request_roundtrip`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundTrip {
    /// The re-encoded stub decodes to the same value.
    Same,
    /// The re-encoded stub decodes to another value: the codec is not symmetric.
    Differs,
    /// The re-encoded stub does not decode at all: the encoder wrote what the decoder refuses.
    Undecodable(NdrError),
}

/// ERROR_CALL_NOT_IMPLEMENTED ([MS-ERREF] 2.2): what a declared but unimplemented method
/// answers.
pub const ERROR_CALL_NOT_IMPLEMENTED: u32 = 120;

/// Declares a DCE/RPC interface. See the module documentation.
#[macro_export]
macro_rules! rpc_interface {
    (
        $(#[$imeta:meta])*
        interface $iface:ident {
            uuid: $uuid:literal,
            version: ($maj:literal, $min:literal),
            server: $trait:ident,
        }
        $(
            $(#[$ometa:meta])*
            $opnum:literal $op:ident
                in ( $( $in_field:ident : $in_ty:ty ),* $(,)? )
                out ( $( $out_field:ident : $out_ty:ty ),* $(,)? );
        )*
    ) => {
        $crate::__paste! {
            $(#[$imeta])*
            pub struct $iface;

            impl $iface {
                /// Interface UUID.
                pub const UUID: $crate::ndr::Guid = $crate::ndr::Guid::parse($uuid);
                /// Interface major version.
                pub const VERSION_MAJOR: u16 = $maj;
                /// Interface minor version.
                pub const VERSION_MINOR: u16 = $min;
                /// Interface name, for logs.
                pub const NAME: &'static str = stringify!($iface);

                /// The operation's name in the spec's terms, or `None` outside the interface.
                pub fn op_name(opnum: u16) -> Option<&'static str> {
                    match opnum {
                        $( $opnum => Some(stringify!($op)), )*
                        _ => None,
                    }
                }

                /// The stub of a request with every parameter at its default (null handles and
                /// pointers, empty strings, zeros), for coverage checks and fuzzing seeds.
                pub fn default_request_stub(opnum: u16) -> Option<Vec<u8>> {
                    match opnum {
                        $( $opnum => Some([<$op Request>]::default().to_stub()), )*
                        _ => None,
                    }
                }

                /// Decodes a request stub of `opnum`, encodes the value again (little-endian) and
                /// decodes that: the codec check the fuzz targets and the corpus replay run.
                /// `Err` when the stub itself does not decode (or the opnum is not declared).
                pub fn request_roundtrip(
                    opnum: u16,
                    stub: &[u8],
                    order: $crate::ndr::ByteOrder,
                ) -> Result<$crate::iface::RoundTrip, $crate::iface::DispatchError> {
                    match opnum {
                        $(
                            $opnum => {
                                let a = [<$op Request>]::decode_stub(stub, order)?;
                                Ok(match [<$op Request>]::decode_stub(&a.to_stub(), $crate::ndr::ByteOrder::Little) {
                                    Ok(b) if b == a => $crate::iface::RoundTrip::Same,
                                    Ok(_) => $crate::iface::RoundTrip::Differs,
                                    Err(e) => $crate::iface::RoundTrip::Undecodable(e),
                                })
                            }
                        )*
                        _ => Err($crate::iface::DispatchError::OpRange(opnum)),
                    }
                }

                /// Decodes the request, runs the server's method and encodes its response into
                /// `out` (cleared first). Returns the method's Win32 status when it has one
                /// (for logs).
                #[allow(clippy::too_many_lines, unused_variables)]
                pub async fn dispatch<S: $trait>(
                    server: &S,
                    ctx: &S::Ctx,
                    opnum: u16,
                    stub: &[u8],
                    order: $crate::ndr::ByteOrder,
                    out: &mut Vec<u8>,
                ) -> Result<Option<u32>, $crate::iface::DispatchError> {
                    match opnum {
                        $(
                            $opnum => {
                                let req = [<$op Request>]::decode_stub(stub, order)?;
                                let resp = server.[<$op:snake>](ctx, req).await;
                                let mut w = $crate::ndr::NdrWriter::with_buffer(std::mem::take(out));
                                resp.encode_into(&mut w);
                                *out = w.into_bytes();
                                Ok(resp.status())
                            }
                        )*
                        _ => Err($crate::iface::DispatchError::OpRange(opnum)),
                    }
                }
            }

            #[doc = concat!("Server side of [`", stringify!($iface), "`]: one method per operation. ",
                "Every method defaults to ERROR_CALL_NOT_IMPLEMENTED.")]
            pub trait $trait: Send + Sync {
                /// Per-call context handed to every method (caller identity, association).
                type Ctx: Send + Sync;
                $(
                    $(#[$ometa])*
                    #[allow(unused_variables)]
                    fn [<$op:snake>](&self, ctx: &Self::Ctx, req: [<$op Request>])
                        -> impl std::future::Future<Output = [<$op Response>]> + Send {
                        async { [<$op Response>]::error($crate::iface::ERROR_CALL_NOT_IMPLEMENTED) }
                    }
                )*
            }

            $(
                $(#[$ometa])*
                #[doc = ""]
                #[doc = concat!("Request of opnum ", stringify!($opnum), ".")]
                #[derive(Clone, Debug, Default, PartialEq)]
                pub struct [<$op Request>] { $( pub $in_field: $in_ty ),* }

                impl [<$op Request>] {
                    /// Opnum of this operation.
                    pub const OPNUM: u16 = $opnum;
                    $crate::__stub_codec!($( $in_field: $in_ty ),*);
                }

                #[doc = concat!("Response of ", stringify!($op), " (opnum ", stringify!($opnum), ").")]
                #[derive(Clone, Debug, Default, PartialEq)]
                pub struct [<$op Response>] { $( pub $out_field: $out_ty ),* }

                impl [<$op Response>] {
                    /// Opnum of this operation.
                    pub const OPNUM: u16 = $opnum;
                    /// A response that carries `code` in every status slot and defaults
                    /// (null pointers, zero handles) elsewhere.
                    #[allow(unused_mut)]
                    pub fn error(code: u32) -> Self {
                        let mut s = Self::default();
                        $( <$out_ty as $crate::ndr::NdrType>::set_error(&mut s.$out_field, code); )*
                        s
                    }
                    /// The method's Win32 status: the last status-typed member (the result, or
                    /// `Status` of an Open method).
                    #[allow(unused_mut)]
                    pub fn status(&self) -> Option<u32> {
                        let mut st = None;
                        $( if let Some(c) = <$out_ty as $crate::ndr::NdrType>::error_code(&self.$out_field) { st = Some(c); } )*
                        st
                    }
                    $crate::__stub_codec!($( $out_field: $out_ty ),*);
                }
            )*
        }
    };
}

/// The stub codec of a request or response struct declared by [`rpc_interface!`]: its
/// parameters in order, each with [`NdrType::encode_param`](crate::ndr::NdrType::encode_param)
/// / `decode_param`. Expands to methods inside the struct's `impl`.
#[doc(hidden)]
#[macro_export]
macro_rules! __stub_codec {
    ( $( $field:ident : $ty:ty ),* ) => {
        /// Decodes a stub (a request on the server side, a response on the client side).
        pub fn decode_stub(stub: &[u8], order: $crate::ndr::ByteOrder) -> $crate::ndr::NdrResult<Self> {
            #[allow(unused_mut, unused_variables)]
            let mut r = $crate::ndr::NdrReader::new(stub, order);
            $( let $field = <$ty as $crate::ndr::NdrType>::decode_param(&mut r)?; )*
            Ok(Self { $( $field ),* })
        }
        /// Encodes the stub (a request on the client side, a response on the server side).
        #[allow(unused_variables)]
        pub fn encode_into(&self, w: &mut $crate::ndr::NdrWriter) {
            $( <$ty as $crate::ndr::NdrType>::encode_param(&self.$field, w); )*
        }
        /// Encodes the stub into a new buffer.
        pub fn to_stub(&self) -> Vec<u8> {
            let mut w = $crate::ndr::NdrWriter::new();
            self.encode_into(&mut w);
            w.into_bytes()
        }
    };
}
