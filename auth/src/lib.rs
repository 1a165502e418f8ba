//! Sans-I/O authentication for the clusapid DCE/RPC server: NTLMSSP with
//! NTLMv2 (MS-NLMP), Kerberos through an injected GSS-API context (MS-KILE),
//! and SPNEGO (RFC 4178, MS-SPNG) negotiating between them, for the DCE/RPC
//! authentication types of MS-RPCE 2.2.1.1.7 (`RPC_C_AUTHN_GSS_NEGOTIATE` = 9,
//! `RPC_C_AUTHN_WINNT` = 10, `RPC_C_AUTHN_GSS_KERBEROS` = 16).
//!
//! This crate owns the security context: token exchange ([`Acceptor`] for the
//! server, [`Initiator`] for clients), the authenticated identity, and the
//! per-message integrity/confidentiality ([`Protection`]). It performs no
//! I/O, spawns nothing and reads no clock or random source on the server
//! path: the caller injects the server challenge and the current FILETIME
//! (and, on the client side, the client challenge and random session key),
//! and the two things that need the outside world arrive as traits: the NTLM
//! credential check ([`NtlmVerifier`]) and the Kerberos mechanism
//! ([`GssAcceptorFactory`]), bundled in [`Mechanisms`].
//!
//! Module map:
//! - [`crypto`]: NTOWFv1/v2, HMAC-MD5, RC4, SIGNKEY/SEALKEY;
//! - [`ntlm`]: NTLMSSP codecs, acceptor, initiator, session;
//! - [`verifier`]: the NTLM credential check and its local implementation;
//! - [`gss`]: the Kerberos GSS-API context interface and raw Kerberos;
//! - [`der`]: minimal DER reader/writer;
//! - [`spnego`]: SPNEGO acceptor (Kerberos or NTLMSSP) and initiator (NTLMSSP);
//! - [`protect`]: per-PDU signing and sealing for either mechanism.
//!
//! Invariants: nothing in this crate panics on peer-supplied bytes; every
//! decoding problem is an [`AuthError`]. Errors display as lowercase
//! messages without trailing period.

pub mod crypto;
pub mod der;
pub mod gss;
pub mod ntlm;
pub mod protect;
pub mod spnego;
#[cfg(feature = "toy-kerberos")]
pub mod toy_krb;
pub mod verifier;

use std::collections::HashMap;
use std::sync::Arc;

pub use crypto::nt_hash;
pub use gss::{GssAcceptorFactory, GssContext, KerberosAcceptor};
pub use ntlm::{AcceptorConfig, ClientSecret, NtlmAcceptor, NtlmInitiator, NtlmSession, NtlmStep, Role};
pub use protect::{Layout, Protection};
pub use spnego::{SpnegoAcceptor, SpnegoInitiator};
pub use verifier::{LocalVerifier, NtlmLogon, NtlmVerifier, VerifiedLogon};

/// Authentication failures. Messages are lowercase without trailing period.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A token could not be decoded.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// A token arrived in a state that does not expect it (or after failure).
    #[error("unexpected authentication message")]
    UnexpectedMessage,
    /// Anonymous (null session) logon attempt.
    #[error("anonymous logon is not allowed")]
    Anonymous,
    /// NTLMv1 or LM-only challenge response.
    #[error("ntlmv1 and lm responses are not allowed")]
    NtlmV1NotAllowed,
    /// Unknown user or wrong password (deliberately indistinguishable).
    #[error("logon failure: unknown user name or bad password")]
    LogonFailure,
    /// The NTLM MIC or the SPNEGO mechListMIC did not verify.
    #[error("message integrity code mismatch")]
    BadMic,
    /// SPNEGO requires a mechListMIC and the peer sent none.
    #[error("required spnego mechlistmic is missing")]
    MissingMechListMic,
    /// A per-message signature did not verify (data or sequence number).
    #[error("message signature mismatch")]
    BadSignature,
    /// No mechanism both sides support (SPNEGO without NTLMSSP).
    #[error("no common authentication mechanism")]
    NoCommonMech,
    /// The peer rejected the negotiation.
    #[error("authentication rejected by peer")]
    Rejected,
    /// A feature the peer requires is not supported.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// The credentials are right but name the guest account.
    #[error("guest logons are not allowed")]
    Guest,
    /// The authority that checks credentials could not be asked (winbindd down, no keytab).
    #[error("credential check unavailable: {0}")]
    Backend(String),
    /// The Kerberos mechanism refused a token (bad ticket, no key for it, replay, ...).
    #[error("kerberos: {0}")]
    Kerberos(String),
}

/// DCE/RPC authentication types (MS-RPCE 2.2.1.1.7) this crate handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// `RPC_C_AUTHN_GSS_NEGOTIATE` (9): SPNEGO.
    Spnego,
    /// `RPC_C_AUTHN_WINNT` (10): raw NTLMSSP.
    Ntlmssp,
    /// `RPC_C_AUTHN_GSS_KERBEROS` (16): raw Kerberos.
    Kerberos,
}

impl AuthType {
    /// Maps the wire `auth_type` octet; other values give `None`.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            9 => Some(AuthType::Spnego),
            10 => Some(AuthType::Ntlmssp),
            16 => Some(AuthType::Kerberos),
            _ => None,
        }
    }

    /// The wire `auth_type` octet.
    pub fn as_u8(self) -> u8 {
        match self {
            AuthType::Spnego => 9,
            AuthType::Ntlmssp => 10,
            AuthType::Kerberos => 16,
        }
    }
}

/// The mechanism that authenticated a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// NTLMSSP (NTLMv2).
    Ntlm,
    /// Kerberos.
    Kerberos,
}

impl Mechanism {
    /// Name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Ntlm => "NTLM",
            Mechanism::Kerberos => "Kerberos",
        }
    }
}

/// The authenticated client identity: as the client spelled it (local accounts) or as the
/// authority names it (domain logons).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedUser {
    /// UserName (NTLM) or the principal's name without the realm (Kerberos).
    pub user: String,
    /// DomainName (NTLM) or the realm / domain (Kerberos).
    pub domain: String,
    /// Workstation (NTLM; empty for Kerberos).
    pub workstation: String,
    /// The caller's security identifiers (`S-1-...`), user first; empty for local accounts
    /// and for Kerberos tickets without a verified PAC.
    pub sids: Vec<String>,
    /// How the client authenticated.
    pub mechanism: Mechanism,
}

/// The mechanisms an acceptor may use: NTLM with its credential check, and Kerberos when a
/// GSS-API mechanism is available.
#[derive(Clone)]
pub struct Mechanisms {
    /// Checks NTLMv2 responses.
    pub ntlm: Arc<dyn NtlmVerifier>,
    /// Makes Kerberos acceptor contexts; `None`: NTLM only.
    pub kerberos: Option<Arc<dyn GssAcceptorFactory>>,
}

impl std::fmt::Debug for Mechanisms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mechanisms").field("kerberos", &self.kerberos.is_some()).finish_non_exhaustive()
    }
}

impl Mechanisms {
    /// NTLM only, checked against the NT hashes of `creds`.
    pub fn local(creds: Arc<dyn CredentialStore>) -> Self {
        Mechanisms { ntlm: Arc::new(LocalVerifier::new(creds)), kerberos: None }
    }

    /// Whether authenticating may block (the caller then runs it off its event loop).
    pub fn blocking(&self) -> bool {
        self.ntlm.blocking() || self.kerberos.as_ref().is_some_and(|k| k.blocking())
    }
}

/// Source of NT hashes (NTOWFv1) for the acceptor.
pub trait CredentialStore: Send + Sync {
    /// The NT hash of `user`, looked up case-insensitively; `None` if unknown.
    fn nt_hash(&self, user: &str) -> Option<[u8; 16]>;
}

/// An in-memory [`CredentialStore`] with case-insensitive user names.
#[derive(Clone, Default)]
pub struct StaticCredentials {
    users: HashMap<String, [u8; 16]>,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticCredentials").field("users", &self.users.keys().collect::<Vec<_>>()).finish()
    }
}

impl StaticCredentials {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a user with a clear-text password.
    pub fn with_password(mut self, user: &str, password: &str) -> Self {
        self.insert_hash(user, nt_hash(password));
        self
    }

    /// Adds or replaces a user with a clear-text password.
    pub fn insert_password(&mut self, user: &str, password: &str) {
        self.insert_hash(user, nt_hash(password));
    }

    /// Adds or replaces a user with its NT hash.
    pub fn insert_hash(&mut self, user: &str, hash: [u8; 16]) {
        self.users.insert(crypto::upper(user), hash);
    }
}

impl CredentialStore for StaticCredentials {
    fn nt_hash(&self, user: &str) -> Option<[u8; 16]> {
        self.users.get(&crypto::upper(user)).copied()
    }
}

/// Outcome of one leg of the exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send the token and expect another one from the peer.
    Continue(Vec<u8>),
    /// This side is done; send the token, if any, and expect nothing more.
    Done(Option<Vec<u8>>),
}

/// Server-side security context for one DCE/RPC association.
#[derive(Debug)]
pub enum Acceptor {
    /// `RPC_C_AUTHN_GSS_NEGOTIATE`.
    Spnego(SpnegoAcceptor),
    /// `RPC_C_AUTHN_WINNT`.
    Ntlm(NtlmAcceptor),
    /// `RPC_C_AUTHN_GSS_KERBEROS`.
    Kerberos(KerberosAcceptor),
}

impl Acceptor {
    /// Creates an acceptor; `challenge` must be fresh random bytes and
    /// `now_filetime` the current FILETIME. Raw Kerberos without a Kerberos mechanism is
    /// [`AuthError::NoCommonMech`]; SPNEGO then offers NTLM only, and falls back to it when
    /// the Kerberos context cannot be created.
    pub fn new(
        auth_type: AuthType,
        config: AcceptorConfig,
        mechs: &Mechanisms,
        challenge: [u8; 8],
        now_filetime: u64,
    ) -> Result<Self, AuthError> {
        let ntlm = || NtlmAcceptor::with_verifier(config.clone(), mechs.ntlm.clone(), challenge, now_filetime);
        Ok(match auth_type {
            AuthType::Spnego => {
                let krb = mechs.kerberos.as_ref().and_then(|k| k.new_context().ok());
                Acceptor::Spnego(SpnegoAcceptor::with_kerberos(ntlm(), krb))
            }
            AuthType::Ntlmssp => Acceptor::Ntlm(ntlm()),
            AuthType::Kerberos => {
                let k = mechs.kerberos.as_ref().ok_or(AuthError::NoCommonMech)?;
                Acceptor::Kerberos(KerberosAcceptor::new(k.new_context()?))
            }
        })
    }

    /// The DCE/RPC auth type of this context.
    pub fn auth_type(&self) -> AuthType {
        match self {
            Acceptor::Spnego(_) => AuthType::Spnego,
            Acceptor::Ntlm(_) => AuthType::Ntlmssp,
            Acceptor::Kerberos(_) => AuthType::Kerberos,
        }
    }

    /// One leg. `Continue(token)`: send token, expect more. `Done(token)`:
    /// authenticated; send the token if any.
    pub fn step(&mut self, token: &[u8]) -> Result<Step, AuthError> {
        match self {
            Acceptor::Spnego(s) => s.step(token),
            Acceptor::Ntlm(n) => n.step(token).map(|s| match s {
                NtlmStep::Continue(t) => Step::Continue(t),
                NtlmStep::Done => Step::Done(None),
            }),
            Acceptor::Kerberos(k) => k.step(token),
        }
    }

    /// True once the client is authenticated.
    pub fn is_done(&self) -> bool {
        match self {
            Acceptor::Spnego(s) => s.is_done(),
            Acceptor::Ntlm(n) => n.is_done(),
            Acceptor::Kerberos(k) => k.is_done(),
        }
    }

    /// The authenticated identity, once done.
    pub fn user(&self) -> Option<AuthenticatedUser> {
        match self {
            Acceptor::Spnego(s) => s.authenticated_user(),
            Acceptor::Ntlm(n) => n.authenticated_user().cloned(),
            Acceptor::Kerberos(k) => k.identity(),
        }
    }

    /// The NTLM session, once done with NTLM.
    pub fn session_mut(&mut self) -> Option<&mut NtlmSession> {
        match self {
            Acceptor::Spnego(s) => s.session_mut(),
            Acceptor::Ntlm(n) => n.session_mut(),
            Acceptor::Kerberos(_) => None,
        }
    }

    /// The message protection, once done (NTLM session or Kerberos context).
    pub fn protection(&mut self) -> Option<Protection<'_>> {
        match self {
            Acceptor::Spnego(s) => s.protection(),
            Acceptor::Ntlm(n) => n.session_mut().map(Protection::Ntlm),
            Acceptor::Kerberos(k) => k.context_mut().map(Protection::Gss),
        }
    }

    /// After an error, a token to send to the peer (SPNEGO reject), if any.
    pub fn take_error_token(&mut self) -> Option<Vec<u8>> {
        match self {
            Acceptor::Spnego(s) => s.take_error_token(),
            Acceptor::Ntlm(_) | Acceptor::Kerberos(_) => None,
        }
    }
}

/// Client-side security context.
#[derive(Debug)]
pub enum Initiator {
    /// `RPC_C_AUTHN_GSS_NEGOTIATE`.
    Spnego(SpnegoInitiator),
    /// `RPC_C_AUTHN_WINNT`.
    Ntlm(NtlmInitiator),
}

impl Initiator {
    /// Wraps an NTLM initiator for the given DCE/RPC auth type.
    /// Raw Kerberos (type 16) has no client side here: it is treated as raw NTLMSSP.
    pub fn new(auth_type: AuthType, ntlm: NtlmInitiator) -> Self {
        match auth_type {
            AuthType::Spnego => Initiator::Spnego(SpnegoInitiator::new(ntlm)),
            AuthType::Ntlmssp | AuthType::Kerberos => Initiator::Ntlm(ntlm),
        }
    }

    /// The DCE/RPC auth type of this context.
    pub fn auth_type(&self) -> AuthType {
        match self {
            Initiator::Spnego(_) => AuthType::Spnego,
            Initiator::Ntlm(_) => AuthType::Ntlmssp,
        }
    }

    /// The first token (NegTokenInit or NTLM NEGOTIATE).
    pub fn first(&mut self) -> Vec<u8> {
        match self {
            Initiator::Spnego(s) => s.first(),
            Initiator::Ntlm(n) => n.negotiate(),
        }
    }

    /// Consumes a server token. Raw NTLM answers the CHALLENGE with
    /// `Done(Some(AUTHENTICATE))`; SPNEGO answers with `Continue` and then
    /// `Done(None)` once the server's accept-completed is verified.
    pub fn step(&mut self, server_token: &[u8]) -> Result<Step, AuthError> {
        match self {
            Initiator::Spnego(s) => s.step(server_token),
            Initiator::Ntlm(n) => n.step(server_token).map(|t| Step::Done(Some(t))),
        }
    }

    /// True once this side has finished.
    pub fn is_done(&self) -> bool {
        match self {
            Initiator::Spnego(s) => s.is_done(),
            Initiator::Ntlm(n) => n.is_done(),
        }
    }

    /// The message protection context, once done.
    pub fn session_mut(&mut self) -> Option<&mut NtlmSession> {
        match self {
            Initiator::Spnego(s) => s.session_mut(),
            Initiator::Ntlm(n) => n.session_mut(),
        }
    }
}
