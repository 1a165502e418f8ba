//! NDR 2.0 marshalling and the interface declarations clusapid serves: the endpoint mapper
//! (`epm`), the management interface (`mgmt`), the Failover Cluster Management API v3
//! (`clusapi`, [MS-CMRP]) and the Service Witness Protocol (`witness`, [MS-SWN]).
//!
//! Pure data and codecs: no I/O, no async runtime. Each operation is one declaration in an
//! [`rpc_interface!`] block; the macro derives its request/response codecs, the server trait
//! method and the dispatch entry.

pub mod cluctl;
pub mod clusapi;
pub mod cluschange;
pub mod clusenum;
pub mod epm;
pub mod iface;
pub mod mgmt;
pub mod ndr;
pub mod rights;
pub mod types;
pub mod witness;

pub use iface::DispatchError;
pub use ndr::{
    Bool32, ByteOrder, ConfArray, ConfBytes, ConfVarBytes, ContextHandle, Guid, NdrError, NdrReader, NdrResult,
    NdrType, NdrWriter, WError, WString,
};

#[doc(hidden)]
pub use paste::paste as __paste;

/// Transfer syntax NDR 2.0 ([C706] appendix I): 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0.
pub const NDR20_UUID: Guid = Guid::parse("8a885d04-1ceb-11c9-9fe8-08002b104860");
/// NDR 2.0 version (major 2, minor 0).
pub const NDR20_VERSION: u32 = 2;
/// Transfer syntax NDR64 ([MS-RPCE] 2.2.5.2): 71710533-beba-4937-8319-b5dbef9ccc36 v1.0.
pub const NDR64_UUID: Guid = Guid::parse("71710533-beba-4937-8319-b5dbef9ccc36");

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers shared by the codec unit tests.

    /// Every prefix of a valid stub or buffer must fail cleanly (or decode), never panic.
    pub(crate) fn truncations<T, E>(stub: &[u8], decode: impl Fn(&[u8]) -> Result<T, E>) {
        for n in 0..stub.len() {
            let _ = decode(&stub[..n]);
        }
    }
}
