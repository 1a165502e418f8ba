//! The NTLM credential check behind an interface: the acceptor parses and checks the
//! AUTHENTICATE_MESSAGE (NTLMv2 only, anonymous refused, AV pairs, MIC) and hands the
//! challenge/response to an [`NtlmVerifier`], which says whether the response is right and
//! returns the SessionBaseKey (MS-NLMP 3.3.2) and the user's security identifiers.
//!
//! Two implementations exist: [`LocalVerifier`] here, which computes NTOWFv2 from a
//! [`CredentialStore`] of NT hashes (clusapid's accounts file), and clusapid's winbindd
//! verifier, which passes the response through to the domain (as a member server's smbd does).
//! The acceptor itself never blocks; a verifier that does (IPC to winbindd) says so with
//! [`NtlmVerifier::blocking`], and the I/O edge then runs the authentication legs off its event
//! loop.

use std::sync::Arc;

use crate::crypto::{ct_eq, hmac_md5, ntowf_v2, upper};
use crate::ntlm::messages::NtlmV2Response;
use crate::{AuthError, CredentialStore};

/// One NTLM logon to check: what the client sent, and the challenge it answered.
#[derive(Clone, Copy, Debug)]
pub struct NtlmLogon<'a> {
    /// UserName as the client sent it (may be a UPN, `user@realm`).
    pub user: &'a str,
    /// DomainName as the client sent it (may be empty).
    pub domain: &'a str,
    /// Workstation as the client sent it.
    pub workstation: &'a str,
    /// The server challenge of our CHALLENGE_MESSAGE.
    pub server_challenge: [u8; 8],
    /// The whole LmChallengeResponse.
    pub lm_response: &'a [u8],
    /// The whole NtChallengeResponse (NTProofStr followed by the NTLMv2 client challenge blob).
    pub nt_response: &'a [u8],
}

/// A successful check.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedLogon {
    /// The SessionBaseKey (for NTLMv2 the KeyExchangeKey, MS-NLMP 3.3.2 / 3.4.5.1). Secret.
    pub session_base_key: [u8; 16],
    /// The account name as the authority spells it, when it says.
    pub account: Option<String>,
    /// The account's domain as the authority names it, when it says.
    pub domain: Option<String>,
    /// The caller's security identifiers in string form (`S-1-5-21-...`), the user's own first;
    /// empty when the authority has none (local accounts).
    pub sids: Vec<String>,
}

impl std::fmt::Debug for VerifiedLogon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the key is secret: never printed
        f.debug_struct("VerifiedLogon")
            .field("account", &self.account)
            .field("domain", &self.domain)
            .field("sids", &self.sids)
            .finish_non_exhaustive()
    }
}

/// Checks NTLMv2 challenge responses.
pub trait NtlmVerifier: Send + Sync {
    /// Checks one logon. Unknown user and wrong password are both
    /// [`AuthError::LogonFailure`]; a guest logon is [`AuthError::Guest`]; an authority that
    /// cannot be asked is [`AuthError::Backend`].
    fn verify(&self, logon: &NtlmLogon<'_>) -> Result<VerifiedLogon, AuthError>;

    /// Whether [`verify`](NtlmVerifier::verify) may block (IPC, network). The default is no.
    fn blocking(&self) -> bool {
        false
    }
}

/// The local check: NTOWFv2 from the NT hash of a [`CredentialStore`] (MS-NLMP 3.3.2).
///
/// Leniency (as Windows and Samba): the NTLMv2 response is tried with the domain the client
/// sent, then with the empty domain, then with that domain upper-cased, because clients differ
/// in which domain string they feed to NTOWFv2. An unknown user still goes through the HMAC
/// work with a dummy key. A UPN-style `user@realm` falls back to `user`.
#[derive(Clone)]
pub struct LocalVerifier {
    creds: Arc<dyn CredentialStore>,
}

impl std::fmt::Debug for LocalVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalVerifier").finish_non_exhaustive()
    }
}

impl LocalVerifier {
    /// A verifier over `creds`.
    pub fn new(creds: Arc<dyn CredentialStore>) -> Self {
        LocalVerifier { creds }
    }
}

impl NtlmVerifier for LocalVerifier {
    fn verify(&self, logon: &NtlmLogon<'_>) -> Result<VerifiedLogon, AuthError> {
        let resp = NtlmV2Response::parse(logon.nt_response)?;
        let user = logon.user;
        let hash = self.creds.nt_hash(user).or_else(|| {
            user.split_once('@').and_then(|(name, _)| (!name.is_empty()).then(|| self.creds.nt_hash(name)).flatten())
        });
        let known = hash.is_some();
        let hash = hash.unwrap_or([0u8; 16]);

        let upper_domain = upper(logon.domain);
        let mut candidates: Vec<&str> = vec![logon.domain];
        for d in ["", upper_domain.as_str()] {
            if !candidates.contains(&d) {
                candidates.push(d);
            }
        }
        let mut response_key = None;
        for d in candidates {
            let key = ntowf_v2(&hash, user, d);
            let proof = hmac_md5(&key, &[&logon.server_challenge, resp.temp]);
            if ct_eq(&proof, &resp.nt_proof_str) {
                response_key = Some(key);
                break;
            }
        }
        match response_key {
            Some(key) if known => Ok(VerifiedLogon {
                session_base_key: hmac_md5(&key, &[&resp.nt_proof_str]),
                account: None,
                domain: None,
                sids: Vec::new(),
            }),
            _ => Err(AuthError::LogonFailure),
        }
    }
}
