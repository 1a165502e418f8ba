//! End-to-end tests through the public API: MS-NLMP 4.2.4 vectors driven
//! through the initiator and the acceptor, NTLM and SPNEGO round trips,
//! refusal paths, and robustness against truncated, mutated and random input.

use std::sync::Arc;

use auth::crypto::{hmac_md5, nt_hash, ntowf_v2, rc4k, utf16le};
use auth::der::{tag, tlv, write_tlv};
use auth::ntlm::flags::*;
use auth::ntlm::messages::{
    av_id, encode_av_pairs, encode_client_challenge, parse_av_pairs, AuthenticateMessage, AvPair, ChallengeMessage,
    NegotiateMessage, Version,
};
use auth::spnego::{self, NegTokenResp, NTLMSSP_OID, SPNEGO_OID};
use auth::{
    AcceptorConfig, AuthError, AuthType, ClientSecret, CredentialStore, NtlmAcceptor, NtlmInitiator, NtlmSession,
    NtlmStep, SpnegoAcceptor, StaticCredentials, Step,
};
use rand::{Rng, RngCore, SeedableRng};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

// ---- MS-NLMP 4.2.1 common values and 4.2.4 NTLMv2 vectors -----------------

const SERVER_CHALLENGE: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
const CLIENT_CHALLENGE: [u8; 8] = [0xaa; 8];
const RANDOM_SESSION_KEY: [u8; 16] = [0x55; 16];

/// 4.2.4.3 CHALLENGE_MESSAGE.
const SPEC_CHALLENGE: &str = "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef\
    00000000000000002400240044000000060070170000000f5300650072007600\
    6500720002000c0044006f006d00610069006e0001000c005300650072007600\
    6500720000000000";
/// 4.2.4.3 AUTHENTICATE_MESSAGE.
const SPEC_AUTHENTICATE: &str = "4e544c4d5353500003000000180018006c00000054005400840000000c000c00\
    480000000800080054000000100010005c00000010001000d8000000358288e2\
    0501280a0000000f44006f006d00610069006e00550073006500720043004f00\
    4d005000550054004500520086c35097ac9cec102554764a57cccc19aaaaaaaa\
    aaaaaaaa68cd0ab851e51c96aabc927bebef6a1c010100000000000000000000\
    00000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e00\
    01000c005300650072007600650072000000000000000000c5dad2544fc97990\
    94ce1ce90bc9d03e";
/// 4.2.4.1.3 temp.
const SPEC_TEMP: &str = "0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000\
    02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000 00000000";
const SPEC_LMV2: &str = "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa";
const SPEC_NTPROOF: &str = "68cd0ab851e51c96aabc927bebef6a1c";
const SPEC_SESSION_BASE_KEY: &str = "8de40ccadbc14a82f15cb0ad0de95ca3";
const SPEC_ENCRYPTED_SESSION_KEY: &str = "c5dad2544fc9799094ce1ce90bc9d03e";
const SPEC_SEALED: &str = "54e50165bf1936dc996020c1811b0f06fb5f";
const SPEC_SIGNATURE: &str = "010000007fb38ec5c55d497600000000";

fn spec_authenticate() -> Vec<u8> {
    h(SPEC_AUTHENTICATE)
}

#[test]
fn ms_nlmp_4_2_4_derivations() {
    let key = ntowf_v2(&nt_hash("Password"), "User", "Domain");
    assert_eq!(key.to_vec(), h("0c868a403bfd7a93a3001ef22ef02e3f"));
    let temp = h(SPEC_TEMP);
    let proof = hmac_md5(&key, &[&SERVER_CHALLENGE, &temp]);
    assert_eq!(proof.to_vec(), h(SPEC_NTPROOF));
    let sbk = hmac_md5(&key, &[&proof]);
    assert_eq!(sbk.to_vec(), h(SPEC_SESSION_BASE_KEY));
    assert_eq!(rc4k(&sbk, &RANDOM_SESSION_KEY).to_vec(), h(SPEC_ENCRYPTED_SESSION_KEY));
    let lm = hmac_md5(&key, &[&SERVER_CHALLENGE, &CLIENT_CHALLENGE]);
    assert_eq!(lm.to_vec(), h(&SPEC_LMV2[..32]));
    // temp as produced by the codec from the spec's server AV pairs.
    let chal = ChallengeMessage::parse(&h(SPEC_CHALLENGE)).unwrap();
    assert_eq!(chal.flags, 0xe28a_8233);
    let pairs = parse_av_pairs(&chal.target_info).unwrap();
    assert_eq!(encode_client_challenge(0, &CLIENT_CHALLENGE, &encode_av_pairs(&pairs)), temp);
}

fn spec_initiator() -> NtlmInitiator {
    NtlmInitiator::new("User", "Domain", "Password".into(), "COMPUTER", CLIENT_CHALLENGE, RANDOM_SESSION_KEY)
        .with_fallback_timestamp(0)
}

/// The initiator fed the 4.2.4.3 CHALLENGE reproduces the spec's responses,
/// encrypted session key and the 4.2.4.4 sealed output.
#[test]
fn ms_nlmp_4_2_4_initiator() {
    let mut c = spec_initiator();
    let _ = c.negotiate();
    let auth = c.step(&h(SPEC_CHALLENGE)).unwrap();
    let a = AuthenticateMessage::parse(&auth).unwrap();
    let spec = AuthenticateMessage::parse(&spec_authenticate()).unwrap();
    assert_eq!(a.lm_response, h(SPEC_LMV2));
    assert_eq!(a.nt_response[..16], h(SPEC_NTPROOF)[..]);
    assert_eq!(a.nt_response[16..], h(SPEC_TEMP)[..]);
    assert_eq!(a.nt_response, spec.nt_response);
    assert_eq!(a.encrypted_random_session_key, h(SPEC_ENCRYPTED_SESSION_KEY));
    assert_eq!((a.domain.clone(), a.user.clone(), a.workstation.clone()), (spec.domain, spec.user, spec.workstation));
    assert!(!c.mic_sent());

    let session = c.session_mut().unwrap();
    assert_eq!(session.exported_session_key(), &RANDOM_SESSION_KEY);
    let mut msg = utf16le("Plaintext");
    let n = msg.len();
    let sig = session.seal(&mut msg, 0..n, n);
    assert_eq!(msg, h(SPEC_SEALED));
    assert_eq!(sig.to_vec(), h(SPEC_SIGNATURE));
}

fn spec_creds() -> Arc<dyn CredentialStore> {
    Arc::new(StaticCredentials::new().with_password("user", "Password"))
}

fn config() -> AcceptorConfig {
    AcceptorConfig {
        netbios_computer: "SERVER".into(),
        netbios_domain: "DOMAIN".into(),
        dns_computer: "server.domain.test".into(),
        dns_domain: "domain.test".into(),
    }
}

/// The acceptor (challenge 0123456789abcdef) accepts the spec's
/// AUTHENTICATE_MESSAGE, recovers the RandomSessionKey and unseals the
/// 4.2.4.4 message.
#[test]
fn ms_nlmp_4_2_4_acceptor() {
    let mut s = NtlmAcceptor::new(config(), spec_creds(), SERVER_CHALLENGE, 0);
    let neg = spec_initiator().negotiate();
    assert!(matches!(s.step(&neg).unwrap(), NtlmStep::Continue(_)));
    assert_eq!(s.step(&spec_authenticate()).unwrap(), NtlmStep::Done);
    let u = s.authenticated_user().unwrap();
    assert_eq!((u.user.as_str(), u.domain.as_str(), u.workstation.as_str()), ("User", "Domain", "COMPUTER"));
    assert_eq!(s.negotiated_flags(), 0xe288_8235);
    assert!(!s.mic_present());
    let session = s.session_mut().unwrap();
    assert_eq!(session.exported_session_key(), &RANDOM_SESSION_KEY);
    let mut msg = h(SPEC_SEALED);
    let n = msg.len();
    session.unseal(&mut msg, 0..n, n, &h(SPEC_SIGNATURE)).unwrap();
    assert_eq!(msg, utf16le("Plaintext"));
}

// ---- round trips ------------------------------------------------------------

fn creds() -> Arc<dyn CredentialStore> {
    Arc::new(StaticCredentials::new().with_password("Administrator", "S3cret!").with_password("operator", "pässwörd"))
}

fn acceptor(auth_type: AuthType, seed: u8) -> auth::Acceptor {
    auth::Acceptor::new(auth_type, config(), &auth::Mechanisms::local(creds()), [seed; 8], 133_000_000_000_000_000)
        .unwrap()
}

fn initiator(auth_type: AuthType, user: &str, domain: &str, password: &str, seed: u8) -> auth::Initiator {
    let ntlm = NtlmInitiator::new(user, domain, password.into(), "WS01", [seed ^ 0x5a; 8], [seed ^ 0xa5; 16]);
    auth::Initiator::new(auth_type, ntlm)
}

/// Runs a full exchange; returns the server error if any.
fn handshake(server: &mut auth::Acceptor, client: &mut auth::Initiator) -> Result<(), AuthError> {
    let mut to_server = client.first();
    loop {
        match server.step(&to_server)? {
            Step::Continue(t) => match client.step(&t)? {
                Step::Continue(t) => to_server = t,
                Step::Done(Some(t)) => {
                    assert!(matches!(server.step(&t)?, Step::Done(None)));
                    return Ok(());
                }
                Step::Done(None) => panic!("client finished early"),
            },
            Step::Done(Some(t)) => {
                assert!(matches!(client.step(&t)?, Step::Done(None)));
                return Ok(());
            }
            Step::Done(None) => return Ok(()),
        }
    }
}

fn exercise_sessions(server: &mut NtlmSession, client: &mut NtlmSession) {
    for i in 0..8u8 {
        // A DCE/RPC-like PDU: 16-byte header, sealed stub, 8-byte trailer.
        let plain: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(7) ^ i).collect();
        let mut pdu = plain.clone();
        let sig = client.seal(&mut pdu, 16..56, 64);
        assert_ne!(pdu, plain);
        server.unseal(&mut pdu, 16..56, 64, &sig).unwrap();
        assert_eq!(pdu, plain);

        let mut pdu = plain.clone();
        let sig = server.seal(&mut pdu, 16..56, 64);
        client.unseal(&mut pdu, 16..56, 64, &sig).unwrap();
        assert_eq!(pdu, plain);

        let sig = client.sign(&plain);
        server.verify(&plain, &sig).unwrap();
        let sig = server.sign(&plain[..i as usize]);
        client.verify(&plain[..i as usize], &sig).unwrap();
    }
}

#[test]
fn ntlm_round_trip_and_sealing() {
    let mut s = acceptor(AuthType::Ntlmssp, 1);
    let mut c = initiator(AuthType::Ntlmssp, "administrator", "ANYDOM", "S3cret!", 1);
    handshake(&mut s, &mut c).unwrap();
    assert!(s.is_done() && c.is_done());
    let u = s.user().unwrap().clone();
    assert_eq!((u.user.as_str(), u.domain.as_str(), u.workstation.as_str()), ("administrator", "ANYDOM", "WS01"));
    let (ss, cs) = (s.session_mut().unwrap(), c.session_mut().unwrap());
    assert_eq!(ss.exported_session_key(), cs.exported_session_key());
    assert_eq!((ss.send_seq(), ss.recv_seq()), (0, 0));
    let flags = ss.negotiated_flags();
    for f in [
        NTLMSSP_NEGOTIATE_SIGN,
        NTLMSSP_NEGOTIATE_SEAL,
        NTLMSSP_NEGOTIATE_KEY_EXCH,
        NTLMSSP_NEGOTIATE_128,
        NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
    ] {
        assert_ne!(flags & f, 0, "{f:#x}");
    }
    exercise_sessions(ss, cs);
}

#[test]
fn spnego_round_trip_first_message_uses_seq_1() {
    let mut s = acceptor(AuthType::Spnego, 2);
    let mut c = initiator(AuthType::Spnego, "Operator", "", "pässwörd", 2);
    handshake(&mut s, &mut c).unwrap();
    assert_eq!(s.user().unwrap().user, "Operator");
    let (ss, cs) = (s.session_mut().unwrap(), c.session_mut().unwrap());
    assert_eq!((ss.send_seq(), ss.recv_seq(), cs.send_seq(), cs.recv_seq()), (1, 1, 1, 1));
    let mut pdu = vec![0x11u8; 40];
    let sig = cs.seal(&mut pdu, 8..32, 40);
    assert_eq!(sig[12..], 1u32.to_le_bytes());
    ss.unseal(&mut pdu, 8..32, 40, &sig).unwrap();
    assert_eq!(pdu, vec![0x11u8; 40]);
    exercise_sessions(ss, cs);
}

#[test]
fn nt_hash_secret_and_auth_type_codes() {
    let ntlm = NtlmInitiator::new("administrator", "D", ClientSecret::NtHash(nt_hash("S3cret!")), "W", [1; 8], [2; 16]);
    let mut c = auth::Initiator::new(AuthType::Ntlmssp, ntlm);
    let mut s = acceptor(AuthType::Ntlmssp, 3);
    handshake(&mut s, &mut c).unwrap();
    assert_eq!(AuthType::from_u8(9), Some(AuthType::Spnego));
    assert_eq!(AuthType::from_u8(10), Some(AuthType::Ntlmssp));
    assert_eq!(AuthType::from_u8(16), Some(AuthType::Kerberos));
    assert_eq!(AuthType::from_u8(68), None);
    assert_eq!(AuthType::Kerberos.as_u8(), 16);
    assert_eq!(AuthType::Spnego.as_u8(), 9);
    assert_eq!(AuthType::Ntlmssp.as_u8(), 10);
    assert_eq!(AuthError::LogonFailure.to_string(), "logon failure: unknown user name or bad password");
}

#[test]
fn wrong_password_and_unknown_user_look_the_same() {
    for at in [AuthType::Ntlmssp, AuthType::Spnego] {
        let mut s = acceptor(at, 4);
        let mut c = initiator(at, "Administrator", "DOMAIN", "wrong", 4);
        assert_eq!(handshake(&mut s, &mut c), Err(AuthError::LogonFailure));
        assert!(!s.is_done() && s.user().is_none() && s.session_mut().is_none());
        let mut s = acceptor(at, 4);
        let mut c = initiator(at, "nobody", "DOMAIN", "S3cret!", 4);
        assert_eq!(handshake(&mut s, &mut c), Err(AuthError::LogonFailure));
        // The failed context refuses anything else.
        assert_eq!(s.step(&[]), Err(AuthError::UnexpectedMessage));
    }
    // UPN-style user names fall back to the part before '@'.
    let mut s = acceptor(AuthType::Ntlmssp, 4);
    let mut c = initiator(AuthType::Ntlmssp, "administrator@domain.test", "", "S3cret!", 4);
    handshake(&mut s, &mut c).unwrap();
}

// ---- hand-built AUTHENTICATE messages ----------------------------------------

struct Manual<'a> {
    user: &'a str,
    hash_domain: &'a str,
    sent_domain: &'a str,
    password: &'a str,
    nt_override: Option<Vec<u8>>,
    lm: Vec<u8>,
    flags: u32,
}

impl Default for Manual<'_> {
    fn default() -> Self {
        Manual {
            user: "Administrator",
            hash_domain: "Domain",
            sent_domain: "Domain",
            password: "S3cret!",
            nt_override: None,
            lm: vec![0; 24],
            flags: 0xe288_8235,
        }
    }
}

/// Builds an AUTHENTICATE (no MIC, no key exchange) for `challenge`.
fn manual_authenticate(challenge: &[u8], m: &Manual) -> Vec<u8> {
    let chal = ChallengeMessage::parse(challenge).unwrap();
    let pairs = parse_av_pairs(&chal.target_info).unwrap();
    let temp = encode_client_challenge(7, &[3; 8], &encode_av_pairs(&pairs));
    let key = ntowf_v2(&nt_hash(m.password), m.user, m.hash_domain);
    let mut nt = hmac_md5(&key, &[&chal.server_challenge, &temp]).to_vec();
    nt.extend_from_slice(&temp);
    AuthenticateMessage {
        lm_response: m.lm.clone(),
        nt_response: m.nt_override.clone().unwrap_or(nt),
        domain: utf16le(m.sent_domain),
        user: utf16le(m.user),
        workstation: utf16le("WS"),
        encrypted_random_session_key: Vec::new(),
        flags: m.flags & !NTLMSSP_NEGOTIATE_KEY_EXCH,
        version: Some(Version::OURS),
        mic: None,
    }
    .encode()
}

fn negotiate_bytes() -> Vec<u8> {
    NtlmInitiator::new("x", "y", "z".into(), "w", [0; 8], [0; 16]).negotiate()
}

fn run_manual(m: &Manual) -> Result<NtlmStep, AuthError> {
    let mut s = NtlmAcceptor::new(config(), creds(), [9; 8], 1);
    let NtlmStep::Continue(chal) = s.step(&negotiate_bytes()).unwrap() else { panic!() };
    s.step(&manual_authenticate(&chal, m))
}

#[test]
fn domain_leniency() {
    // Client hashed with the domain it sent.
    assert_eq!(run_manual(&Manual::default()), Ok(NtlmStep::Done));
    // Client hashed with an empty domain but sent one.
    assert_eq!(run_manual(&Manual { hash_domain: "", ..Default::default() }), Ok(NtlmStep::Done));
    // Client hashed with the upper-cased domain.
    assert_eq!(run_manual(&Manual { hash_domain: "DOMAIN", ..Default::default() }), Ok(NtlmStep::Done));
    // Any other domain does not match.
    assert_eq!(run_manual(&Manual { hash_domain: "Other", ..Default::default() }), Err(AuthError::LogonFailure));
    // Upper-casing the *user* is part of NTOWFv2, so user case never matters.
    assert_eq!(run_manual(&Manual { user: "ADMINISTRATOR", ..Default::default() }), Ok(NtlmStep::Done));
}

#[test]
fn refusals() {
    // Anonymous: empty user, empty NT response, LM Z(1).
    let anon = Manual { user: "", nt_override: Some(vec![]), lm: vec![0], ..Default::default() };
    assert_eq!(run_manual(&anon), Err(AuthError::Anonymous));
    let anon_flag = Manual { flags: 0xe288_8235 | NTLMSSP_ANONYMOUS, ..Default::default() };
    assert_eq!(run_manual(&anon_flag), Err(AuthError::Anonymous));
    let empty_nt = Manual { nt_override: Some(vec![]), lm: vec![], ..Default::default() };
    assert_eq!(run_manual(&empty_nt), Err(AuthError::Anonymous));
    // NTLMv1: 24-byte NT response.
    let v1 = Manual { nt_override: Some(vec![0x42; 24]), ..Default::default() };
    assert_eq!(run_manual(&v1), Err(AuthError::NtlmV1NotAllowed));
    // LM only.
    let lm_only = Manual { nt_override: Some(vec![]), lm: vec![0x42; 24], ..Default::default() };
    assert_eq!(run_manual(&lm_only), Err(AuthError::NtlmV1NotAllowed));
    // Too short to be NTLMv2.
    let short = Manual { nt_override: Some(vec![0x42; 30]), ..Default::default() };
    assert!(matches!(run_manual(&short), Err(AuthError::Malformed(_))));
    // Signing requested without extended session security.
    let no_ess = Manual { flags: 0xe288_8235 & !NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, ..Default::default() };
    assert!(matches!(run_manual(&no_ess), Err(AuthError::Unsupported(_))));
}

#[test]
fn out_of_order_messages() {
    let mut s = NtlmAcceptor::new(config(), creds(), [9; 8], 1);
    let auth = spec_authenticate();
    assert_eq!(s.step(&auth), Err(AuthError::UnexpectedMessage));
    let mut s = NtlmAcceptor::new(config(), creds(), [9; 8], 1);
    s.step(&negotiate_bytes()).unwrap();
    assert_eq!(s.step(&negotiate_bytes()), Err(AuthError::UnexpectedMessage));
    // Initiator: challenge before negotiate, and twice.
    let mut c = spec_initiator();
    assert_eq!(c.step(&h(SPEC_CHALLENGE)), Err(AuthError::UnexpectedMessage));
    let _ = c.negotiate();
    c.step(&h(SPEC_CHALLENGE)).unwrap();
    assert_eq!(c.step(&h(SPEC_CHALLENGE)), Err(AuthError::UnexpectedMessage));
    // Completed acceptor refuses more.
    let mut s = acceptor(AuthType::Ntlmssp, 5);
    let mut c = initiator(AuthType::Ntlmssp, "operator", "", "pässwörd", 5);
    handshake(&mut s, &mut c).unwrap();
    assert_eq!(s.step(&negotiate_bytes()), Err(AuthError::UnexpectedMessage));
}

/// Server challenge + client AUTHENTICATE (with MIC) for further tampering.
fn mic_exchange() -> (NtlmAcceptor, Vec<u8>) {
    let mut s = NtlmAcceptor::new(config(), creds(), [7; 8], 99);
    let mut c = NtlmInitiator::new("Administrator", "DOMAIN", "S3cret!".into(), "WS01", [1; 8], [2; 16]);
    let NtlmStep::Continue(chal) = s.step(&c.negotiate()).unwrap() else { panic!() };
    let auth = c.step(&chal).unwrap();
    assert!(c.mic_sent());
    (s, auth)
}

#[test]
fn mic_is_verified() {
    let (mut s, auth) = mic_exchange();
    let mut bad = auth.clone();
    bad[72] ^= 1;
    assert_eq!(s.step(&bad), Err(AuthError::BadMic));
    // A changed workstation name is only covered by the MIC.
    let (mut s, auth) = mic_exchange();
    let a = AuthenticateMessage::parse(&auth).unwrap();
    let mut bad = auth.clone();
    let ws_off = u32::from_le_bytes(bad[48..52].try_into().unwrap()) as usize;
    assert_eq!(bad[ws_off..ws_off + a.workstation.len()], a.workstation[..]);
    bad[ws_off] ^= 0x20;
    assert_eq!(s.step(&bad), Err(AuthError::BadMic));
    // A changed encrypted session key changes the exported key: MIC fails.
    let (mut s, auth) = mic_exchange();
    let mut bad = auth.clone();
    let sk_off = u32::from_le_bytes(bad[56..60].try_into().unwrap()) as usize;
    bad[sk_off] ^= 1;
    assert_eq!(s.step(&bad), Err(AuthError::BadMic));
    // Intact message passes.
    let (mut s, auth) = mic_exchange();
    assert_eq!(s.step(&auth), Ok(NtlmStep::Done));
    assert!(s.mic_present());
}

#[test]
fn challenge_layout() {
    let mut s = NtlmAcceptor::new(config(), creds(), [7; 8], 0x01d0_0000_1234_5678);
    let NtlmStep::Continue(chal) = s.step(&negotiate_bytes()).unwrap() else { panic!() };
    let c = ChallengeMessage::parse(&chal).unwrap();
    assert_eq!(c.server_challenge, [7; 8]);
    assert_eq!(c.target_name, utf16le("DOMAIN"));
    for f in [
        NTLMSSP_NEGOTIATE_TARGET_INFO,
        NTLMSSP_TARGET_TYPE_SERVER,
        NTLMSSP_NEGOTIATE_UNICODE,
        NTLMSSP_NEGOTIATE_VERSION,
    ] {
        assert_ne!(c.flags & f, 0);
    }
    assert_eq!(c.flags & (NTLMSSP_NEGOTIATE_LM_KEY | NTLMSSP_NEGOTIATE_DATAGRAM | NTLM_NEGOTIATE_OEM), 0);
    let pairs = parse_av_pairs(&c.target_info).unwrap();
    let ids: Vec<u16> = pairs.iter().map(|p| p.id).collect();
    assert_eq!(
        ids,
        [
            av_id::MSV_AV_NB_DOMAIN_NAME,
            av_id::MSV_AV_NB_COMPUTER_NAME,
            av_id::MSV_AV_DNS_DOMAIN_NAME,
            av_id::MSV_AV_DNS_COMPUTER_NAME,
            av_id::MSV_AV_TIMESTAMP
        ]
    );
    assert_eq!(
        pairs[4],
        AvPair { id: av_id::MSV_AV_TIMESTAMP, value: 0x01d0_0000_1234_5678u64.to_le_bytes().to_vec() }
    );
    // Flags are the intersection: a minimal client gets no SEAL/KEY_EXCH.
    let minimal = NegotiateMessage {
        flags: NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
        domain: vec![],
        workstation: vec![],
        version: None,
    };
    let mut s = NtlmAcceptor::new(config(), creds(), [7; 8], 0);
    let NtlmStep::Continue(chal) = s.step(&minimal.encode()).unwrap() else { panic!() };
    let c = ChallengeMessage::parse(&chal).unwrap();
    assert_eq!(c.flags & (NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_KEY_EXCH | NTLMSSP_NEGOTIATE_VERSION), 0);
    assert!(c.target_name.is_empty());
}

// ---- SPNEGO paths -------------------------------------------------------------

const KRB5_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];

fn init_token(mechs: &[&[u8]], token: Option<&[u8]>) -> (Vec<u8>, Vec<u8>) {
    let mt = spnego::encode_mech_types(mechs);
    (spnego::encode_init(&mt, token), mt)
}

fn resp(token: Option<&[u8]>, mic: Option<&[u8]>) -> Vec<u8> {
    spnego::encode_resp(&NegTokenResp { response_token: token, mech_list_mic: mic, ..Default::default() })
}

fn spnego_acceptor() -> SpnegoAcceptor {
    SpnegoAcceptor::new(NtlmAcceptor::new(config(), creds(), [6; 8], 5))
}

/// Kerberos first with an optimistic token: the token is ignored, NTLM is
/// selected, and the mechListMIC becomes mandatory.
#[test]
fn spnego_ntlm_not_first() {
    for send_mic in [true, false] {
        let mut s = spnego_acceptor();
        let (init, mech_types) = init_token(&[KRB5_OID, NTLMSSP_OID], Some(b"optimistic kerberos ap-req"));
        let Step::Continue(r1) = s.step(&init).unwrap() else { panic!() };
        let r1 = spnego::parse_resp_token(&r1).unwrap();
        assert_eq!(r1.neg_state, Some(spnego::ACCEPT_INCOMPLETE));
        assert_eq!(r1.supported_mech, Some(NTLMSSP_OID));
        assert_eq!(r1.response_token, None);

        let mut c = NtlmInitiator::new("operator", "D", "pässwörd".into(), "WS", [4; 8], [5; 16]);
        let Step::Continue(r2) = s.step(&resp(Some(&c.negotiate()), None)).unwrap() else { panic!() };
        let r2 = spnego::parse_resp_token(&r2).unwrap();
        assert_eq!(r2.supported_mech, None);
        let auth = c.step(r2.response_token.unwrap()).unwrap();
        let session = c.session_mut().unwrap();
        let mic = session.sign_mech_list_mic(&mech_types);
        let r = s.step(&resp(Some(&auth), send_mic.then_some(&mic[..])));
        if !send_mic {
            assert_eq!(r, Err(AuthError::MissingMechListMic));
            assert!(s.authenticated_user().is_none());
            let rej = s.take_error_token().unwrap();
            let rej = spnego::parse_resp_token(&rej).unwrap();
            assert_eq!(rej.neg_state, Some(spnego::REJECT));
            continue;
        }
        let Step::Done(Some(r3)) = r.unwrap() else { panic!() };
        let r3 = spnego::parse_resp_token(&r3).unwrap();
        assert_eq!(r3.neg_state, Some(spnego::ACCEPT_COMPLETED));
        session.verify_mech_list_mic(&mech_types, r3.mech_list_mic.unwrap()).unwrap();
        assert_eq!(s.authenticated_user().unwrap().user, "operator");
        exercise_sessions(s.session_mut().unwrap(), session);
    }
}

#[test]
fn spnego_bad_or_missing_mech_list_mic() {
    // Missing mechListMIC although the NTLM AUTHENTICATE carried a MIC.
    let mut s = spnego_acceptor();
    let mut c = NtlmInitiator::new("operator", "D", "pässwörd".into(), "WS", [4; 8], [5; 16]);
    let (init, mech_types) = init_token(&[NTLMSSP_OID], Some(&c.negotiate()));
    let Step::Continue(r1) = s.step(&init).unwrap() else { panic!() };
    let auth = c.step(spnego::parse_resp_token(&r1).unwrap().response_token.unwrap()).unwrap();
    assert_eq!(s.step(&resp(Some(&auth), None)), Err(AuthError::MissingMechListMic));

    // Wrong mechListMIC (computed over a different mech list).
    let mut s = spnego_acceptor();
    let mut c = NtlmInitiator::new("operator", "D", "pässwörd".into(), "WS", [4; 8], [5; 16]);
    let (init, _) = init_token(&[NTLMSSP_OID], Some(&c.negotiate()));
    let Step::Continue(r1) = s.step(&init).unwrap() else { panic!() };
    let auth = c.step(spnego::parse_resp_token(&r1).unwrap().response_token.unwrap()).unwrap();
    let mic = c.session_mut().unwrap().sign_mech_list_mic(&spnego::encode_mech_types(&[KRB5_OID, NTLMSSP_OID]));
    assert_eq!(s.step(&resp(Some(&auth), Some(&mic))), Err(AuthError::BadMic));
    let _ = mech_types;

    // Client side: a tampered server MIC is refused.
    let mut s = acceptor(AuthType::Spnego, 8);
    let mut c = initiator(AuthType::Spnego, "operator", "", "pässwörd", 8);
    let Step::Continue(t) = s.step(&c.first()).unwrap() else { panic!() };
    let Step::Continue(t) = c.step(&t).unwrap() else { panic!() };
    let Step::Done(Some(t)) = s.step(&t).unwrap() else { panic!() };
    let mut bad = t.clone();
    let n = bad.len();
    bad[n - 5] ^= 1;
    assert_eq!(c.step(&bad), Err(AuthError::BadMic));
}

#[test]
fn spnego_reject_without_ntlm() {
    let mut s = spnego_acceptor();
    let (init, _) = init_token(&[KRB5_OID], Some(b"ap-req"));
    assert_eq!(s.step(&init), Err(AuthError::NoCommonMech));
    let rej = s.take_error_token().unwrap();
    let rej = spnego::parse_resp_token(&rej).unwrap();
    assert_eq!(rej, NegTokenResp { neg_state: Some(spnego::REJECT), ..Default::default() });
    assert_eq!(s.step(&init), Err(AuthError::UnexpectedMessage));
    // A client receiving a reject.
    let mut c = initiator(AuthType::Spnego, "a", "b", "c", 1);
    let _ = c.first();
    assert_eq!(
        c.step(&spnego::encode_resp(&NegTokenResp { neg_state: Some(spnego::REJECT), ..Default::default() })),
        Err(AuthError::Rejected)
    );
}

#[test]
fn spnego_wrong_oid_or_shape() {
    // Kerberos GSS token instead of SPNEGO.
    let mut inner = tlv(tag::OID, KRB5_OID);
    inner.extend_from_slice(b"\x01\x00junk");
    let mut s = spnego_acceptor();
    assert!(matches!(s.step(&tlv(tag::APPLICATION_0, &inner)), Err(AuthError::Malformed(_))));
    // NegTokenResp as the first token.
    let mut s = spnego_acceptor();
    assert_eq!(s.step(&resp(Some(b"x"), None)), Err(AuthError::UnexpectedMessage));
    // Empty mech list.
    let mut seq = Vec::new();
    write_tlv(&mut seq, tag::context(0), &tlv(tag::SEQUENCE, &[]));
    let mut inner = tlv(tag::OID, SPNEGO_OID);
    write_tlv(&mut inner, tag::context(0), &tlv(tag::SEQUENCE, &seq));
    let mut s = spnego_acceptor();
    assert!(matches!(s.step(&tlv(tag::APPLICATION_0, &inner)), Err(AuthError::Malformed(_))));
    // NTLM NEGOTIATE inside SPNEGO that is garbage.
    let mut s = spnego_acceptor();
    let (init, _) = init_token(&[NTLMSSP_OID], Some(b"NTLMSSP\0\x01"));
    assert!(matches!(s.step(&init), Err(AuthError::Malformed(_))));
}

// ---- robustness -----------------------------------------------------------------

/// Valid tokens of every leg, for truncation and mutation.
fn transcript(at: AuthType) -> Vec<Vec<u8>> {
    let mut s = acceptor(at, 11);
    let mut c = initiator(at, "operator", "DOM", "pässwörd", 11);
    let mut out = Vec::new();
    let mut to_server = c.first();
    loop {
        out.push(to_server.clone());
        match s.step(&to_server).unwrap() {
            Step::Continue(t) => {
                out.push(t.clone());
                match c.step(&t).unwrap() {
                    Step::Continue(t) => to_server = t,
                    Step::Done(Some(t)) => {
                        out.push(t.clone());
                        s.step(&t).unwrap();
                        return out;
                    }
                    Step::Done(None) => return out,
                }
            }
            Step::Done(t) => {
                if let Some(t) = t {
                    out.push(t.clone());
                    c.step(&t).unwrap();
                }
                return out;
            }
        }
    }
}

/// Replays the client tokens of a transcript into a fresh acceptor,
/// substituting `bad` at position `idx` (client tokens only).
fn replay_server(at: AuthType, client_tokens: &[Vec<u8>], idx: usize, bad: &[u8]) {
    let mut s = acceptor(at, 11);
    for (i, t) in client_tokens.iter().enumerate() {
        let r = if i == idx { s.step(bad) } else { s.step(t) };
        if r.is_err() || i == idx {
            // After an error every further step must fail cleanly.
            if r.is_err() {
                assert!(s.step(t).is_err());
            }
            return;
        }
    }
}

fn replay_client(at: AuthType, server_tokens: &[Vec<u8>], idx: usize, bad: &[u8]) {
    let mut c = initiator(at, "operator", "DOM", "pässwörd", 11);
    let _ = c.first();
    for (i, t) in server_tokens.iter().enumerate() {
        let r = if i == idx { c.step(bad) } else { c.step(t) };
        if r.is_err() || i == idx {
            return;
        }
    }
}

#[test]
fn truncated_and_mutated_tokens_never_panic() {
    for at in [AuthType::Ntlmssp, AuthType::Spnego] {
        let tr = transcript(at);
        // Client tokens are at even positions, server tokens at odd ones
        // (raw NTLM: NEG, CHAL, AUTH; SPNEGO: INIT, RESP, RESP, RESP).
        let client: Vec<Vec<u8>> = tr.iter().step_by(2).cloned().collect();
        let server: Vec<Vec<u8>> = tr.iter().skip(1).step_by(2).cloned().collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
        for (idx, tok) in client.iter().enumerate() {
            for len in 0..tok.len() {
                replay_server(at, &client, idx, &tok[..len]);
            }
            for _ in 0..300 {
                let mut m = tok.clone();
                for _ in 0..rng.gen_range(1..4) {
                    let p = rng.gen_range(0..m.len());
                    m[p] = rng.gen();
                }
                replay_server(at, &client, idx, &m);
            }
        }
        for (idx, tok) in server.iter().enumerate() {
            for len in 0..tok.len() {
                replay_client(at, &server, idx, &tok[..len]);
            }
            for _ in 0..300 {
                let mut m = tok.clone();
                let p = rng.gen_range(0..m.len());
                m[p] = rng.gen();
                replay_client(at, &server, idx, &m);
            }
        }
    }
}

#[test]
fn random_bytes_into_acceptors() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let neg = negotiate_bytes();
    for i in 0..4000 {
        let len = rng.gen_range(0..300);
        let mut buf = vec![0u8; len];
        rng.fill_bytes(&mut buf);
        // Make a share of inputs look like NTLMSSP or DER to get deeper.
        match i % 4 {
            1 if len >= 12 => {
                buf[..8].copy_from_slice(b"NTLMSSP\0");
                buf[8..12].copy_from_slice(&[rng.gen_range(1..4), 0, 0, 0]);
            }
            2 if len >= 2 => {
                buf[0] = [0x60, 0xa0, 0xa1, 0x30][rng.gen_range(0..4)];
                buf[1] = (len - 2).min(0x7f) as u8;
            }
            _ => {}
        }
        for at in [AuthType::Ntlmssp, AuthType::Spnego] {
            let mut s = acceptor(at, 1);
            let _ = s.step(&buf);
            // Second leg: random AUTHENTICATE-shaped bytes after a real NEGOTIATE.
            let mut s = NtlmAcceptor::new(config(), creds(), [1; 8], 0);
            s.step(&neg).unwrap();
            let _ = s.step(&buf);
        }
        let mut c = initiator(AuthType::Ntlmssp, "a", "b", "c", 1);
        let _ = c.first();
        let _ = c.step(&buf);
        let mut c = initiator(AuthType::Spnego, "a", "b", "c", 1);
        let _ = c.first();
        let _ = c.step(&buf);
    }
}

/// A hostile AUTHENTICATE with huge/overlapping offsets and AV pair lengths.
#[test]
fn hostile_lengths() {
    let mut s = NtlmAcceptor::new(config(), creds(), [1; 8], 0);
    let NtlmStep::Continue(chal) = s.step(&negotiate_bytes()).unwrap() else { panic!() };
    let good = manual_authenticate(&chal, &Manual::default());
    for field in [12usize, 20, 28, 36, 44, 52] {
        for (len, off) in [(0xffffu16, 0u32), (16, 0xffff_ffff), (0xffff, 0xffff_fff0), (8, 60)] {
            let mut m = good.clone();
            m[field..field + 2].copy_from_slice(&len.to_le_bytes());
            m[field + 4..field + 8].copy_from_slice(&off.to_le_bytes());
            let mut s = NtlmAcceptor::new(config(), creds(), [1; 8], 0);
            s.step(&negotiate_bytes()).unwrap();
            let r = s.step(&m);
            // (8, 60) stays in bounds (it overlaps the header); only the
            // out-of-bounds descriptors must fail.
            if off != 60 {
                assert!(matches!(r, Err(AuthError::Malformed(_))), "{field} {len} {off}: {r:?}");
            }
        }
    }
    // NT response whose AV pair list claims a long value.
    let a = AuthenticateMessage::parse(&good).unwrap();
    let mut nt = a.nt_response.clone();
    nt[16 + 28 + 2..16 + 28 + 4].copy_from_slice(&0xfff0u16.to_le_bytes());
    let m = AuthenticateMessage { nt_response: nt, ..a }.encode();
    let mut s = NtlmAcceptor::new(config(), creds(), [1; 8], 0);
    s.step(&negotiate_bytes()).unwrap();
    assert!(matches!(s.step(&m), Err(AuthError::Malformed(_))));
}
