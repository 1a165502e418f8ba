//! Sans-I/O authentication for the clusapid DCE/RPC server: NTLMSSP with
//! NTLMv2 (MS-NLMP) and SPNEGO (RFC 4178, MS-SPNG) carrying NTLMSSP, for the
//! DCE/RPC authentication types of MS-RPCE 2.2.1.1.7
//! (`RPC_C_AUTHN_GSS_NEGOTIATE` = 9, `RPC_C_AUTHN_WINNT` = 10).
//!
//! This crate owns the security context: token exchange ([`Acceptor`] for the
//! server, [`Initiator`] for clients), the authenticated identity, and the
//! per-message integrity/confidentiality of [`NtlmSession`]. It performs no
//! I/O, spawns nothing and reads no clock or random source on the server
//! path: the caller injects the server challenge and the current FILETIME
//! (and, on the client side, the client challenge and random session key).
//!
//! Module map:
//! - [`crypto`]: NTOWFv1/v2, HMAC-MD5, RC4, SIGNKEY/SEALKEY;
//! - [`ntlm`]: NTLMSSP codecs, acceptor, initiator, session;
//! - [`der`]: minimal DER reader/writer;
//! - [`spnego`]: SPNEGO acceptor and initiator around NTLMSSP.
//!
//! Invariants: nothing in this crate panics on peer-supplied bytes; every
//! decoding problem is an [`AuthError`]. Errors display as lowercase
//! messages without trailing period.

pub mod crypto;
pub mod der;
pub mod ntlm;
pub mod spnego;

use std::collections::HashMap;
use std::sync::Arc;

pub use crypto::nt_hash;
pub use ntlm::{AcceptorConfig, ClientSecret, NtlmAcceptor, NtlmInitiator, NtlmSession, NtlmStep, Role};
pub use spnego::{SpnegoAcceptor, SpnegoInitiator};

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
}

/// DCE/RPC authentication types (MS-RPCE 2.2.1.1.7) this crate handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// `RPC_C_AUTHN_GSS_NEGOTIATE` (9): SPNEGO.
    Spnego,
    /// `RPC_C_AUTHN_WINNT` (10): raw NTLMSSP.
    Ntlmssp,
}

impl AuthType {
    /// Maps the wire `auth_type` octet; other values give `None`.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            9 => Some(AuthType::Spnego),
            10 => Some(AuthType::Ntlmssp),
            _ => None,
        }
    }

    /// The wire `auth_type` octet.
    pub fn as_u8(self) -> u8 {
        match self {
            AuthType::Spnego => 9,
            AuthType::Ntlmssp => 10,
        }
    }
}

/// The authenticated client identity, as the client spelled it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedUser {
    /// UserName.
    pub user: String,
    /// DomainName.
    pub domain: String,
    /// Workstation.
    pub workstation: String,
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
}

impl Acceptor {
    /// Creates an acceptor; `challenge` must be fresh random bytes and
    /// `now_filetime` the current FILETIME.
    pub fn new(
        auth_type: AuthType,
        config: AcceptorConfig,
        creds: Arc<dyn CredentialStore>,
        challenge: [u8; 8],
        now_filetime: u64,
    ) -> Self {
        let ntlm = NtlmAcceptor::new(config, creds, challenge, now_filetime);
        match auth_type {
            AuthType::Spnego => Acceptor::Spnego(SpnegoAcceptor::new(ntlm)),
            AuthType::Ntlmssp => Acceptor::Ntlm(ntlm),
        }
    }

    /// The DCE/RPC auth type of this context.
    pub fn auth_type(&self) -> AuthType {
        match self {
            Acceptor::Spnego(_) => AuthType::Spnego,
            Acceptor::Ntlm(_) => AuthType::Ntlmssp,
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
        }
    }

    /// True once the client is authenticated.
    pub fn is_done(&self) -> bool {
        match self {
            Acceptor::Spnego(s) => s.is_done(),
            Acceptor::Ntlm(n) => n.is_done(),
        }
    }

    /// The authenticated identity, once done.
    pub fn user(&self) -> Option<&AuthenticatedUser> {
        match self {
            Acceptor::Spnego(s) => s.authenticated_user(),
            Acceptor::Ntlm(n) => n.authenticated_user(),
        }
    }

    /// The message protection context, once done.
    pub fn session_mut(&mut self) -> Option<&mut NtlmSession> {
        match self {
            Acceptor::Spnego(s) => s.session_mut(),
            Acceptor::Ntlm(n) => n.session_mut(),
        }
    }

    /// After an error, a token to send to the peer (SPNEGO reject), if any.
    pub fn take_error_token(&mut self) -> Option<Vec<u8>> {
        match self {
            Acceptor::Spnego(s) => s.take_error_token(),
            Acceptor::Ntlm(_) => None,
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
    pub fn new(auth_type: AuthType, ntlm: NtlmInitiator) -> Self {
        match auth_type {
            AuthType::Spnego => Initiator::Spnego(SpnegoInitiator::new(ntlm)),
            AuthType::Ntlmssp => Initiator::Ntlm(ntlm),
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
