//! Kerberos (RFC 4120 / RFC 4121 with the DCE-style variant of MS-KILE 3.4.5) as an injected
//! GSS-API mechanism: this crate does not implement Kerberos itself, it drives a [`GssContext`]
//! the caller supplies (clusapid's is MIT GSSAPI with the host's keytab) and frames its tokens
//! for SPNEGO ([`crate::spnego`]) or raw `RPC_C_AUTHN_GSS_KERBEROS` (auth type 16,
//! [`KerberosAcceptor`]).
//!
//! A DCE/RPC Kerberos context is DCE style: three legs (AP-REQ from the client, AP-REP from
//! the server, an AP-REP back from the client), per-message tokens without the length framing,
//! and the verifier of a sealed PDU is the wrap token's header alone (MS-RPCE 2.2.2.12,
//! MS-KILE 3.4.5.4.1). The context's `wrap_iov`/`unwrap_iov` take the PDU in three parts:
//! `pre` (PDU header and request/response header, signed only), `data` (stub and padding,
//! encrypted in place) and `post` (the sec_trailer, signed only); without header signing the
//! caller passes empty `pre` and `post`.
//!
//! Invariants: a context authenticates at most once; after an error it refuses further tokens.
//! Calls into a context may block briefly (keytab reads, replay cache); the I/O edge runs the
//! authentication legs off its event loop when [`GssAcceptorFactory::blocking`] says so.

use crate::{AuthError, AuthenticatedUser, Step};

/// Contents octets of the Kerberos V5 OID 1.2.840.113554.1.2.2.
pub const KRB5_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// Contents octets of the Microsoft Kerberos V5 OID 1.2.840.48018.1.2.2 (MS-SPNG 3.1.5.2:
/// what Windows lists first; the tokens are the same).
pub const MS_KRB5_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];

/// Whether an OID (contents octets) is one of the two Kerberos OIDs.
pub fn is_krb5_oid(oid: &[u8]) -> bool {
    oid == KRB5_OID || oid == MS_KRB5_OID
}

/// Largest verifier (wrap or MIC token) accepted from a peer. DCE-style AES wrap tokens are
/// 76 bytes, RC4 ones 45 (MS-KILE 3.4.5.4.1); anything far larger is not a verifier.
pub const MAX_TOKEN_LEN: usize = 1024;

/// One established or establishing acceptor context of an external GSS-API Kerberos mechanism.
pub trait GssContext: Send {
    /// Consumes the client's next context token: `Continue(token)` to send `token` and expect
    /// another one, `Done(token)` when this side is complete (send `token` if any). Errors
    /// are final.
    fn step(&mut self, token: &[u8]) -> Result<Step, AuthError>;

    /// The authenticated client, once complete: its name and, when the ticket carried a PAC
    /// that verified, its security identifiers.
    fn identity(&self) -> Option<AuthenticatedUser>;

    /// GSS_GetMIC over `msg` (used for the SPNEGO mechListMIC and for integrity-only PDUs).
    fn get_mic(&mut self, msg: &[u8]) -> Result<Vec<u8>, AuthError>;

    /// GSS_VerifyMIC of `mic` over `msg`.
    fn verify_mic(&mut self, msg: &[u8], mic: &[u8]) -> Result<(), AuthError>;

    /// Length of the MIC token [`get_mic`](GssContext::get_mic) produces (it does not depend on
    /// the message).
    fn mic_len(&mut self) -> Result<usize, AuthError>;

    /// Length of the wrap token (the PDU verifier) that sealing `data_len` bytes produces.
    fn wrap_len(&mut self, data_len: usize) -> Result<usize, AuthError>;

    /// Seals `data` in place and writes the wrap token into `token`, which is exactly
    /// [`wrap_len`](GssContext::wrap_len)`(data.len())` bytes; `pre` and `post` are signed only.
    fn wrap(&mut self, pre: &[u8], data: &mut [u8], post: &[u8], token: &mut [u8]) -> Result<(), AuthError>;

    /// Checks the wrap token `token` and decrypts `data` in place.
    fn unwrap(&mut self, pre: &[u8], data: &mut [u8], post: &[u8], token: &[u8]) -> Result<(), AuthError>;
}

impl std::fmt::Debug for dyn GssContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GssContext")
    }
}

/// Makes acceptor contexts; one per DCE/RPC security context.
pub trait GssAcceptorFactory: Send + Sync {
    /// A fresh acceptor context, or why none can be made (no keytab, library missing).
    fn new_context(&self) -> Result<Box<dyn GssContext>, AuthError>;

    /// Whether contexts may block while authenticating. The default is yes.
    fn blocking(&self) -> bool {
        true
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KrbState {
    InProgress,
    Done,
    Failed,
}

/// Raw Kerberos (`RPC_C_AUTHN_GSS_KERBEROS`, auth type 16): the GSS context's tokens as they
/// are, no SPNEGO around them.
pub struct KerberosAcceptor {
    ctx: Box<dyn GssContext>,
    state: KrbState,
}

impl std::fmt::Debug for KerberosAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KerberosAcceptor").field("state", &self.state).finish_non_exhaustive()
    }
}

impl KerberosAcceptor {
    /// Wraps a fresh context.
    pub fn new(ctx: Box<dyn GssContext>) -> Self {
        KerberosAcceptor { ctx, state: KrbState::InProgress }
    }

    /// Consumes one client token.
    pub fn step(&mut self, token: &[u8]) -> Result<Step, AuthError> {
        if self.state != KrbState::InProgress {
            return Err(AuthError::UnexpectedMessage);
        }
        match self.ctx.step(token) {
            Ok(Step::Done(t)) => {
                self.state = KrbState::Done;
                Ok(Step::Done(t))
            }
            Ok(s) => Ok(s),
            Err(e) => {
                self.state = KrbState::Failed;
                Err(e)
            }
        }
    }

    /// True once the context is complete.
    pub fn is_done(&self) -> bool {
        self.state == KrbState::Done
    }

    /// The authenticated client, once done.
    pub fn identity(&self) -> Option<AuthenticatedUser> {
        if self.is_done() {
            self.ctx.identity()
        } else {
            None
        }
    }

    /// The context, once done (message protection).
    pub fn context_mut(&mut self) -> Option<&mut dyn GssContext> {
        if self.is_done() {
            Some(self.ctx.as_mut())
        } else {
            None
        }
    }
}
