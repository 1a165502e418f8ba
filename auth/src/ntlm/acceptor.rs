//! Server side of NTLMSSP (MS-NLMP 3.2.5.1): NEGOTIATE -> CHALLENGE, then
//! AUTHENTICATE -> verification of the NTLMv2 response (3.3.2) by an injected
//! [`NtlmVerifier`] (local NT hashes, or the domain through winbindd), key
//! exchange (3.4.5.1, KXKEY for NTLMv2 is the SessionBaseKey the verifier
//! returns), MIC check (3.2.5.2.2) and creation of the server [`NtlmSession`].
//!
//! Policy (stricter than the specification allows, on purpose):
//! - anonymous logons, guest logons, NTLMv1 and LM-only responses are refused;
//! - unknown user and wrong password give the same error;
//! - signing or sealing without extended session security is refused.
//!
//! The NTLMv2 timestamp is not checked against the clock: the server challenge
//! is fresh per context, which is what defeats replay.
//!
//! Invariants: one acceptor authenticates at most once; any error moves it to
//! a failed state where every further message gives
//! [`AuthError::UnexpectedMessage`].

use std::sync::Arc;

use super::flags::*;
use super::messages::{
    av_flags, av_id, encode_av_pairs, AuthenticateMessage, AvPair, ChallengeMessage, NegotiateMessage, NtlmV2Response,
    Version, AV_FLAG_MIC_PRESENT, MIC_OFFSET,
};
use super::session::{NtlmSession, Role};
use crate::crypto::{ct_eq, hmac_md5, rc4k, utf16le};
use crate::verifier::{LocalVerifier, NtlmLogon, NtlmVerifier};
use crate::{AuthError, AuthenticatedUser, CredentialStore, Mechanism};

/// Names the server announces in its CHALLENGE_MESSAGE.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AcceptorConfig {
    /// NetBIOS computer name (MsvAvNbComputerName).
    pub netbios_computer: String,
    /// NetBIOS domain name (TargetName and MsvAvNbDomainName).
    pub netbios_domain: String,
    /// DNS computer name (MsvAvDnsComputerName; omitted when empty).
    pub dns_computer: String,
    /// DNS domain name (MsvAvDnsDomainName; omitted when empty).
    pub dns_domain: String,
}

/// Outcome of one [`NtlmAcceptor::step`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NtlmStep {
    /// Send this token (the CHALLENGE_MESSAGE) and wait for the next one.
    Continue(Vec<u8>),
    /// The client is authenticated; nothing more to send.
    Done,
}

enum State {
    AwaitNegotiate,
    AwaitAuthenticate { negotiate: Vec<u8>, challenge: Vec<u8>, flags: u32 },
    Done,
    Failed,
}

/// NTLMSSP acceptor (server) state machine.
pub struct NtlmAcceptor {
    config: AcceptorConfig,
    verifier: Arc<dyn NtlmVerifier>,
    server_challenge: [u8; 8],
    now_filetime: u64,
    state: State,
    flags: u32,
    user: Option<AuthenticatedUser>,
    mic_present: bool,
    session: Option<NtlmSession>,
}

impl std::fmt::Debug for NtlmAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NtlmAcceptor")
            .field("flags", &format_args!("{:#010x}", self.flags))
            .field("user", &self.user)
            .field("done", &self.is_done())
            .finish_non_exhaustive()
    }
}

impl NtlmAcceptor {
    /// Creates an acceptor. `challenge` must be 8 fresh random bytes and
    /// `now_filetime` the current time as a FILETIME (100 ns since 1601);
    /// both are injected so that tests are deterministic. Responses are checked against the
    /// NT hashes of `creds` ([`LocalVerifier`]).
    pub fn new(config: AcceptorConfig, creds: Arc<dyn CredentialStore>, challenge: [u8; 8], now_filetime: u64) -> Self {
        Self::with_verifier(config, Arc::new(LocalVerifier::new(creds)), challenge, now_filetime)
    }

    /// Creates an acceptor whose responses are checked by `verifier`.
    pub fn with_verifier(
        config: AcceptorConfig,
        verifier: Arc<dyn NtlmVerifier>,
        challenge: [u8; 8],
        now_filetime: u64,
    ) -> Self {
        NtlmAcceptor {
            config,
            verifier,
            server_challenge: challenge,
            now_filetime,
            state: State::AwaitNegotiate,
            flags: 0,
            user: None,
            mic_present: false,
            session: None,
        }
    }

    /// Consumes one client token.
    pub fn step(&mut self, token: &[u8]) -> Result<NtlmStep, AuthError> {
        let state = std::mem::replace(&mut self.state, State::Failed);
        let result = match state {
            State::AwaitNegotiate => self.on_negotiate(token),
            State::AwaitAuthenticate { negotiate, challenge, flags } => {
                self.on_authenticate(token, &negotiate, &challenge, flags).map(|()| NtlmStep::Done)
            }
            State::Done | State::Failed => return Err(AuthError::UnexpectedMessage),
        };
        if let Ok(NtlmStep::Done) = result {
            self.state = State::Done;
        }
        result
    }

    /// True once the client has been authenticated.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The authenticated identity (user and domain as the client sent them).
    pub fn authenticated_user(&self) -> Option<&AuthenticatedUser> {
        self.user.as_ref()
    }

    /// Negotiated flags: those of the CHALLENGE_MESSAGE after the first leg,
    /// intersected with the AUTHENTICATE_MESSAGE flags once done.
    pub fn negotiated_flags(&self) -> u32 {
        self.flags
    }

    /// True when the AUTHENTICATE_MESSAGE carried a (verified) MIC; SPNEGO
    /// then requires a mechListMIC.
    pub fn mic_present(&self) -> bool {
        self.mic_present
    }

    /// The session, once done (absent if ESS was not negotiated).
    pub fn session_mut(&mut self) -> Option<&mut NtlmSession> {
        self.session.as_mut()
    }

    /// Takes the session out of the acceptor.
    pub fn take_session(&mut self) -> Option<NtlmSession> {
        self.session.take()
    }

    fn on_negotiate(&mut self, token: &[u8]) -> Result<NtlmStep, AuthError> {
        let neg = NegotiateMessage::parse(token)?;
        let client = neg.flags;
        let mut flags = (client & SUPPORTED) | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_TARGET_INFO;
        let unicode = client & NTLMSSP_NEGOTIATE_UNICODE != 0 || client & NTLM_NEGOTIATE_OEM == 0;
        flags |= if unicode { NTLMSSP_NEGOTIATE_UNICODE } else { NTLM_NEGOTIATE_OEM };
        let target_name = if client & NTLMSSP_REQUEST_TARGET != 0 {
            flags |= NTLMSSP_TARGET_TYPE_SERVER;
            if unicode {
                utf16le(&self.config.netbios_domain)
            } else {
                self.config.netbios_domain.chars().map(|c| if (c as u32) < 256 { c as u8 } else { b'?' }).collect()
            }
        } else {
            Vec::new()
        };
        let mut pairs = vec![
            AvPair::string(av_id::MSV_AV_NB_DOMAIN_NAME, &self.config.netbios_domain),
            AvPair::string(av_id::MSV_AV_NB_COMPUTER_NAME, &self.config.netbios_computer),
        ];
        if !self.config.dns_domain.is_empty() {
            pairs.push(AvPair::string(av_id::MSV_AV_DNS_DOMAIN_NAME, &self.config.dns_domain));
        }
        if !self.config.dns_computer.is_empty() {
            pairs.push(AvPair::string(av_id::MSV_AV_DNS_COMPUTER_NAME, &self.config.dns_computer));
        }
        pairs.push(AvPair { id: av_id::MSV_AV_TIMESTAMP, value: self.now_filetime.to_le_bytes().to_vec() });
        let challenge = ChallengeMessage {
            flags,
            target_name,
            server_challenge: self.server_challenge,
            target_info: encode_av_pairs(&pairs),
            version: (flags & NTLMSSP_NEGOTIATE_VERSION != 0).then_some(Version::OURS),
        }
        .encode();
        self.flags = flags;
        self.state = State::AwaitAuthenticate { negotiate: token.to_vec(), challenge: challenge.clone(), flags };
        Ok(NtlmStep::Continue(challenge))
    }

    fn on_authenticate(
        &mut self,
        token: &[u8],
        negotiate: &[u8],
        challenge: &[u8],
        chal_flags: u32,
    ) -> Result<(), AuthError> {
        let msg = AuthenticateMessage::parse(token)?;
        let flags = chal_flags & msg.flags;
        let unicode = chal_flags & NTLMSSP_NEGOTIATE_UNICODE != 0;

        // MS-NLMP 3.2.5.1.2: anonymous is an empty user with empty responses.
        if msg.flags & NTLMSSP_ANONYMOUS != 0 || msg.user.is_empty() {
            return Err(AuthError::Anonymous);
        }
        match msg.nt_response.len() {
            0 if msg.lm_response.len() > 1 => return Err(AuthError::NtlmV1NotAllowed),
            0 => return Err(AuthError::Anonymous),
            24 => return Err(AuthError::NtlmV1NotAllowed),
            _ => {}
        }
        let user = super::messages::decode_string(&msg.user, unicode)?;
        let domain = super::messages::decode_string(&msg.domain, unicode)?;
        let workstation = super::messages::decode_string(&msg.workstation, unicode)?;
        let resp = NtlmV2Response::parse(&msg.nt_response)?;

        let verified = self.verifier.verify(&NtlmLogon {
            user: &user,
            domain: &domain,
            workstation: &workstation,
            server_challenge: self.server_challenge,
            lm_response: &msg.lm_response,
            nt_response: &msg.nt_response,
        })?;

        // MS-NLMP 3.3.2 / 3.4.5.1: for NTLMv2 the KeyExchangeKey is the SessionBaseKey.
        let key_exchange_key = verified.session_base_key;
        let exported = if flags & NTLMSSP_NEGOTIATE_KEY_EXCH != 0 {
            let esk: [u8; 16] = msg
                .encrypted_random_session_key
                .as_slice()
                .try_into()
                .map_err(|_| AuthError::Malformed("encrypted random session key is not 16 bytes"))?;
            rc4k(&key_exchange_key, &esk)
        } else {
            key_exchange_key
        };

        if av_flags(&resp.av_pairs) & AV_FLAG_MIC_PRESENT != 0 {
            let mic = msg.mic.ok_or(AuthError::Malformed("authenticate too short for mic"))?;
            let mut zeroed = token.to_vec();
            if let Some(field) = zeroed.get_mut(MIC_OFFSET..MIC_OFFSET + 16) {
                field.fill(0);
            }
            let expected = hmac_md5(&exported, &[negotiate, challenge, &zeroed]);
            if !ct_eq(&expected, &mic) {
                return Err(AuthError::BadMic);
            }
            self.mic_present = true;
        }

        if flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY != 0 {
            self.session = Some(NtlmSession::new(exported, flags, Role::Server)?);
        } else if flags & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL) != 0 {
            return Err(AuthError::Unsupported("signing or sealing without extended session security"));
        }
        self.flags = flags;
        self.user = Some(AuthenticatedUser {
            user: verified.account.unwrap_or(user),
            domain: verified.domain.unwrap_or(domain),
            workstation,
            sids: verified.sids,
            mechanism: Mechanism::Ntlm,
        });
        Ok(())
    }
}
