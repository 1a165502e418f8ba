//! Client side of NTLMSSP (MS-NLMP 3.1.5): builds the NEGOTIATE_MESSAGE and,
//! from the server's CHALLENGE_MESSAGE, an NTLMv2 AUTHENTICATE_MESSAGE with
//! key exchange and MIC (3.1.5.2.1, responses per 3.3.2), then the client
//! [`NtlmSession`].
//!
//! Behaviour chosen to interoperate with Windows and Samba servers:
//! - requests UNICODE, REQUEST_TARGET, SIGN, SEAL, NTLM, ALWAYS_SIGN, ESS,
//!   VERSION, 128, 56 and KEY_EXCH; the final flags are the intersection with
//!   the server's CHALLENGE flags (plus TARGET_INFO when offered);
//! - the NTLMv2 timestamp is the server's MsvAvTimestamp; only when the server
//!   sends none is the injected fallback (or the system clock) used;
//! - when the server sent a timestamp the client adds MsvAvFlags bit 0x2 and a
//!   MIC, and sends an all-zero 24-byte LmChallengeResponse (as Windows does);
//!   otherwise it sends an LMv2 response and no MIC.
//!
//! Invariants: the client challenge and random session key are injected and
//! must be fresh random values in production; servers without UNICODE or
//! extended session security are refused.

use super::flags::*;
use super::messages::{
    av_flags, av_id, av_timestamp, encode_av_pairs, encode_client_challenge, parse_av_pairs, AuthenticateMessage,
    AvPair, ChallengeMessage, NegotiateMessage, Version, AV_FLAG_MIC_PRESENT, MIC_OFFSET,
};
use super::session::{NtlmSession, Role};
use crate::crypto::{hmac_md5, nt_hash, ntowf_v2, rc4k, utf16le};
use crate::AuthError;

/// The client's secret: a password or directly its NT hash (NTOWFv1).
#[derive(Clone, PartialEq, Eq)]
pub enum ClientSecret {
    /// Clear-text password.
    Password(String),
    /// MD4 of the UTF-16LE password.
    NtHash([u8; 16]),
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(..)")
    }
}

impl From<&str> for ClientSecret {
    fn from(p: &str) -> Self {
        ClientSecret::Password(p.to_owned())
    }
}

/// Flags the initiator asks for in its NEGOTIATE_MESSAGE.
pub const INITIATOR_FLAGS: u32 = NTLMSSP_NEGOTIATE_UNICODE | SUPPORTED;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Initial,
    AwaitChallenge,
    Done,
    Failed,
}

/// NTLMSSP initiator (client) state machine.
pub struct NtlmInitiator {
    user: String,
    domain: String,
    workstation: String,
    nt_hash: [u8; 16],
    client_challenge: [u8; 8],
    random_session_key: [u8; 16],
    fallback_time: Option<u64>,
    negotiate: Vec<u8>,
    state: State,
    flags: u32,
    mic_sent: bool,
    session: Option<NtlmSession>,
}

impl std::fmt::Debug for NtlmInitiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NtlmInitiator")
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl NtlmInitiator {
    /// Creates an initiator for `domain\user`. `client_challenge` and
    /// `random_session_key` must be fresh random bytes.
    pub fn new(
        user: &str,
        domain: &str,
        secret: ClientSecret,
        workstation: &str,
        client_challenge: [u8; 8],
        random_session_key: [u8; 16],
    ) -> Self {
        let nt_hash = match secret {
            ClientSecret::Password(p) => nt_hash(&p),
            ClientSecret::NtHash(h) => h,
        };
        let negotiate = NegotiateMessage {
            flags: INITIATOR_FLAGS,
            domain: Vec::new(),
            workstation: Vec::new(),
            version: Some(Version::OURS),
        }
        .encode();
        NtlmInitiator {
            user: user.to_owned(),
            domain: domain.to_owned(),
            workstation: workstation.to_owned(),
            nt_hash,
            client_challenge,
            random_session_key,
            fallback_time: None,
            negotiate,
            state: State::Initial,
            flags: 0,
            mic_sent: false,
            session: None,
        }
    }

    /// Sets the FILETIME used in the NTLMv2 response when the server's
    /// CHALLENGE carries no MsvAvTimestamp (default: the system clock).
    pub fn with_fallback_timestamp(mut self, filetime: u64) -> Self {
        self.fallback_time = Some(filetime);
        self
    }

    /// The NEGOTIATE_MESSAGE to send first.
    pub fn negotiate(&mut self) -> Vec<u8> {
        if self.state == State::Initial {
            self.state = State::AwaitChallenge;
        }
        self.negotiate.clone()
    }

    /// Consumes the CHALLENGE_MESSAGE and returns the AUTHENTICATE_MESSAGE.
    /// After success the initiator is done and holds its session.
    pub fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, AuthError> {
        if self.state != State::AwaitChallenge {
            return Err(AuthError::UnexpectedMessage);
        }
        self.state = State::Failed;
        let out = self.on_challenge(challenge)?;
        self.state = State::Done;
        Ok(out)
    }

    /// True once the AUTHENTICATE_MESSAGE has been produced.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Final negotiated flags (0 before the CHALLENGE was processed).
    pub fn negotiated_flags(&self) -> u32 {
        self.flags
    }

    /// True when the AUTHENTICATE_MESSAGE carried a MIC.
    pub fn mic_sent(&self) -> bool {
        self.mic_sent
    }

    /// The session, once done.
    pub fn session_mut(&mut self) -> Option<&mut NtlmSession> {
        self.session.as_mut()
    }

    /// Takes the session out of the initiator.
    pub fn take_session(&mut self) -> Option<NtlmSession> {
        self.session.take()
    }

    fn on_challenge(&mut self, raw: &[u8]) -> Result<Vec<u8>, AuthError> {
        let chal = ChallengeMessage::parse(raw)?;
        if chal.flags & NTLMSSP_NEGOTIATE_UNICODE == 0 {
            return Err(AuthError::Unsupported("server does not support unicode"));
        }
        if chal.flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY == 0 {
            return Err(AuthError::Unsupported("server does not support extended session security"));
        }
        let flags = chal.flags & (INITIATOR_FLAGS | NTLMSSP_NEGOTIATE_TARGET_INFO);
        let mut pairs = if chal.target_info.is_empty() { Vec::new() } else { parse_av_pairs(&chal.target_info)? };
        let server_time = av_timestamp(&pairs);
        let timestamp = server_time.or(self.fallback_time).unwrap_or_else(system_filetime);
        let with_mic = server_time.is_some();
        if with_mic {
            let f = av_flags(&pairs) | AV_FLAG_MIC_PRESENT;
            pairs.retain(|p| p.id != av_id::MSV_AV_FLAGS);
            pairs.push(AvPair { id: av_id::MSV_AV_FLAGS, value: f.to_le_bytes().to_vec() });
        }
        let temp = encode_client_challenge(timestamp, &self.client_challenge, &encode_av_pairs(&pairs));
        let key = ntowf_v2(&self.nt_hash, &self.user, &self.domain);
        let proof = hmac_md5(&key, &[&chal.server_challenge, &temp]);
        let mut nt_response = proof.to_vec();
        nt_response.extend_from_slice(&temp);
        let lm_response = if with_mic {
            vec![0u8; 24]
        } else {
            let mut lm = hmac_md5(&key, &[&chal.server_challenge, &self.client_challenge]).to_vec();
            lm.extend_from_slice(&self.client_challenge);
            lm
        };
        let key_exchange_key = hmac_md5(&key, &[&proof]);
        let (exported, encrypted_key) = if flags & NTLMSSP_NEGOTIATE_KEY_EXCH != 0 {
            (self.random_session_key, rc4k(&key_exchange_key, &self.random_session_key).to_vec())
        } else {
            (key_exchange_key, Vec::new())
        };
        let mut msg = AuthenticateMessage {
            lm_response,
            nt_response,
            domain: utf16le(&self.domain),
            user: utf16le(&self.user),
            workstation: utf16le(&self.workstation),
            encrypted_random_session_key: encrypted_key,
            flags,
            version: (flags & NTLMSSP_NEGOTIATE_VERSION != 0).then_some(Version::OURS),
            mic: None,
        }
        .encode();
        if with_mic {
            let mic = hmac_md5(&exported, &[&self.negotiate, raw, &msg]);
            if let Some(field) = msg.get_mut(MIC_OFFSET..MIC_OFFSET + 16) {
                field.copy_from_slice(&mic);
            }
            self.mic_sent = true;
        }
        self.session = Some(NtlmSession::new(exported, flags, Role::Client)?);
        self.flags = flags;
        Ok(msg)
    }
}

/// Current time as a FILETIME (100 ns intervals since 1601-01-01 UTC).
fn system_filetime() -> u64 {
    const UNIX_EPOCH_AS_FILETIME: u64 = 116_444_736_000_000_000;
    let since =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() / 100).unwrap_or(0);
    UNIX_EPOCH_AS_FILETIME.saturating_add(u64::try_from(since).unwrap_or(u64::MAX))
}
