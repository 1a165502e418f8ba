//! NTLMSSP (MS-NLMP), NTLMv2 only: message codecs, the server-side
//! [`NtlmAcceptor`], the client-side [`NtlmInitiator`] and the post-handshake
//! [`NtlmSession`] (signing and sealing, MS-NLMP 3.4).
//!
//! Scope and invariants:
//! - Connection-oriented NTLM only (MS-NLMP 3.1.5.1 / 3.2.5.1); the datagram
//!   variant is never negotiated.
//! - NTLMv1, LM and anonymous logons are refused by the acceptor; the
//!   initiator only produces NTLMv2 responses.
//! - Sessions exist only with extended session security
//!   (`NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY`).
//! - Randomness (server challenge, client challenge, random session key) and
//!   the clock are injected by the caller, which keeps the state machines
//!   deterministic and sans-I/O.

mod acceptor;
mod initiator;
pub mod messages;
mod session;

pub use acceptor::{AcceptorConfig, NtlmAcceptor, NtlmStep};
pub use initiator::{ClientSecret, NtlmInitiator};
pub use session::{NtlmSession, Role, SIGNATURE_LEN};

/// NegotiateFlags bits (MS-NLMP 2.2.2.5), named as in the specification.
pub mod flags {
    /// A: Unicode strings.
    pub const NTLMSSP_NEGOTIATE_UNICODE: u32 = 0x0000_0001;
    /// B: OEM strings.
    pub const NTLM_NEGOTIATE_OEM: u32 = 0x0000_0002;
    /// C: TargetName requested.
    pub const NTLMSSP_REQUEST_TARGET: u32 = 0x0000_0004;
    /// D: message integrity.
    pub const NTLMSSP_NEGOTIATE_SIGN: u32 = 0x0000_0010;
    /// E: message confidentiality.
    pub const NTLMSSP_NEGOTIATE_SEAL: u32 = 0x0000_0020;
    /// F: connectionless authentication.
    pub const NTLMSSP_NEGOTIATE_DATAGRAM: u32 = 0x0000_0040;
    /// G: LAN Manager session key.
    pub const NTLMSSP_NEGOTIATE_LM_KEY: u32 = 0x0000_0080;
    /// H: NTLM v1 session security (set by every client).
    pub const NTLMSSP_NEGOTIATE_NTLM: u32 = 0x0000_0200;
    /// J: anonymous connection.
    pub const NTLMSSP_ANONYMOUS: u32 = 0x0000_0800;
    /// K: NEGOTIATE carries a domain name.
    pub const NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED: u32 = 0x0000_1000;
    /// L: NEGOTIATE carries a workstation name.
    pub const NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED: u32 = 0x0000_2000;
    /// M: dummy signatures when signing is not negotiated.
    pub const NTLMSSP_NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
    /// N: TargetName is a domain name.
    pub const NTLMSSP_TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
    /// O: TargetName is a server name.
    pub const NTLMSSP_TARGET_TYPE_SERVER: u32 = 0x0002_0000;
    /// P: extended session security (NTLM2 session security).
    pub const NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
    /// Q: identify-level token.
    pub const NTLMSSP_NEGOTIATE_IDENTIFY: u32 = 0x0010_0000;
    /// R: LMOWF session key.
    pub const NTLMSSP_REQUEST_NON_NT_SESSION_KEY: u32 = 0x0040_0000;
    /// S: TargetInfo present.
    pub const NTLMSSP_NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
    /// T: VERSION field present.
    pub const NTLMSSP_NEGOTIATE_VERSION: u32 = 0x0200_0000;
    /// U: 128-bit session key strength.
    pub const NTLMSSP_NEGOTIATE_128: u32 = 0x2000_0000;
    /// V: explicit key exchange (EncryptedRandomSessionKey).
    pub const NTLMSSP_NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
    /// W: 56-bit session key strength.
    pub const NTLMSSP_NEGOTIATE_56: u32 = 0x8000_0000;

    /// The options this implementation negotiates on both sides, the character set apart:
    /// what the initiator requests besides UNICODE, and what the acceptor echoes back from a
    /// client's NEGOTIATE_MESSAGE.
    pub const SUPPORTED: u32 = NTLMSSP_REQUEST_TARGET
        | NTLMSSP_NEGOTIATE_SIGN
        | NTLMSSP_NEGOTIATE_SEAL
        | NTLMSSP_NEGOTIATE_NTLM
        | NTLMSSP_NEGOTIATE_ALWAYS_SIGN
        | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
        | NTLMSSP_NEGOTIATE_VERSION
        | NTLMSSP_NEGOTIATE_128
        | NTLMSSP_NEGOTIATE_56
        | NTLMSSP_NEGOTIATE_KEY_EXCH;
}
