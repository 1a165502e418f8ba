//! The injected mechanisms without a domain: a fake [`NtlmVerifier`] (what the winbindd
//! verifier does, minus the IPC) and a toy GSS "Kerberos" context with DCE-style three legs,
//! driven through the NTLM acceptor, SPNEGO (selection, the Microsoft OID, fallback to NTLM,
//! mechListMIC rules), raw Kerberos, and [`Protection`] (what is signed with and without header
//! signing).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use auth::crypto::nt_hash;
use auth::gss::{KRB5_OID, MS_KRB5_OID};
use auth::ntlm::messages::AuthenticateMessage;
use auth::spnego::{self, NegTokenResp, ACCEPT_COMPLETED, ACCEPT_INCOMPLETE, NTLMSSP_OID};
use auth::toy_krb::{Seen, ToyFactory, ToyKrb, USER_SID};
use auth::{
    Acceptor, AcceptorConfig, AuthError, AuthType, CredentialStore, GssContext, Layout, LocalVerifier, Mechanism,
    Mechanisms, NtlmAcceptor, NtlmInitiator, NtlmLogon, NtlmStep, NtlmVerifier, Protection, StaticCredentials, Step,
    VerifiedLogon,
};

const GROUP_SID: &str = "S-1-5-21-1-2-3-1106";
/// SPNEGO's OID for NEGOEX (1.3.6.1.4.1.311.2.2.30), which Windows may list first.
const NEGOEX_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e];

fn config() -> AcceptorConfig {
    AcceptorConfig {
        netbios_computer: "NODE0".into(),
        netbios_domain: "LABCLUSTER".into(),
        dns_computer: "node0".into(),
        dns_domain: String::new(),
    }
}

// ---- a fake domain verifier ---------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Guest,
    Down,
}

/// What the fake domain was asked: user, domain, workstation, challenge, LM and NT lengths.
type Asked = (String, String, String, [u8; 8], usize, usize);

/// Checks like a domain would (the local NTOWFv2 check underneath), records what it was asked
/// and returns SIDs and the canonical account name.
struct FakeDomain {
    inner: LocalVerifier,
    verdict: Verdict,
    calls: AtomicUsize,
    seen: Mutex<Vec<Asked>>,
}

impl FakeDomain {
    fn new(verdict: Verdict) -> Arc<FakeDomain> {
        let creds: Arc<dyn CredentialStore> =
            Arc::new(StaticCredentials::new().with_password("clusadmin", "Passw0rd-1"));
        Arc::new(FakeDomain {
            inner: LocalVerifier::new(creds),
            verdict,
            calls: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        })
    }
}

impl NtlmVerifier for FakeDomain {
    fn verify(&self, l: &NtlmLogon<'_>) -> Result<VerifiedLogon, AuthError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push((
            l.user.to_owned(),
            l.domain.to_owned(),
            l.workstation.to_owned(),
            l.server_challenge,
            l.lm_response.len(),
            l.nt_response.len(),
        ));
        if self.verdict == Verdict::Down {
            return Err(AuthError::Backend("winbindd is not running".into()));
        }
        let mut v = self.inner.verify(l)?;
        if self.verdict == Verdict::Guest {
            return Err(AuthError::Guest);
        }
        v.account = Some("clusadmin".into());
        v.domain = Some("LAB".into());
        v.sids = vec![USER_SID.into(), GROUP_SID.into()];
        Ok(v)
    }
    fn blocking(&self) -> bool {
        true
    }
}

fn ntlm_client(user: &str, domain: &str, password: &str) -> NtlmInitiator {
    NtlmInitiator::new(user, domain, password.into(), "CLIENT", [3; 8], [4; 16])
}

/// An acceptor whose fake domain answers `verdict`, a client for `user`, and the client's
/// AUTHENTICATE_MESSAGE to the acceptor's CHALLENGE (not yet given to the acceptor).
fn ntlm_exchange(
    verdict: Verdict,
    user: &str,
    domain: &str,
    password: &str,
) -> (Arc<FakeDomain>, NtlmAcceptor, NtlmInitiator, Vec<u8>) {
    let fake = FakeDomain::new(verdict);
    let mut s = NtlmAcceptor::with_verifier(config(), fake.clone(), [7; 8], 1);
    let mut c = ntlm_client(user, domain, password);
    let NtlmStep::Continue(challenge) = s.step(&c.negotiate()).unwrap() else { panic!("no challenge") };
    let authenticate = c.step(&challenge).unwrap();
    (fake, s, c, authenticate)
}

#[test]
fn ntlm_acceptor_passes_the_response_through_and_takes_the_domain_answer() {
    let (domain, mut s, mut c, authenticate) = ntlm_exchange(Verdict::Ok, "CLUSADMIN", "lab", "Passw0rd-1");
    let sent = AuthenticateMessage::parse(&authenticate).unwrap();
    assert_eq!(s.step(&authenticate).unwrap(), NtlmStep::Done);
    let seen = domain.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    // the challenge of our CHALLENGE, the names and the whole responses as the client sent them
    assert_eq!(
        seen[0],
        (
            "CLUSADMIN".to_string(),
            "lab".to_string(),
            "CLIENT".to_string(),
            [7; 8],
            sent.lm_response.len(),
            sent.nt_response.len()
        )
    );
    let u = s.authenticated_user().unwrap();
    assert_eq!((u.user.as_str(), u.domain.as_str()), ("clusadmin", "LAB"));
    assert_eq!(u.sids, vec![USER_SID.to_string(), GROUP_SID.to_string()]);
    assert_eq!(u.mechanism, Mechanism::Ntlm);
    // the session keys derive from the verifier's SessionBaseKey: both ends agree
    let (ss, cs) = (s.session_mut().unwrap(), c.session_mut().unwrap());
    assert_eq!(ss.exported_session_key(), cs.exported_session_key());
    let sig = cs.sign(b"stub");
    ss.verify(b"stub", &sig).unwrap();
}

#[test]
fn ntlm_refusals_with_a_verifier() {
    // wrong password: the verifier says no
    let (_, mut s, _, a) = ntlm_exchange(Verdict::Ok, "clusadmin", "LAB", "wrong");
    assert_eq!(s.step(&a), Err(AuthError::LogonFailure));
    assert!(s.authenticated_user().is_none());

    // guest and an unreachable authority are refusals too
    for (verdict, want) in
        [(Verdict::Guest, AuthError::Guest), (Verdict::Down, AuthError::Backend("winbindd is not running".into()))]
    {
        let (_, mut s, _, a) = ntlm_exchange(verdict, "clusadmin", "LAB", "Passw0rd-1");
        assert_eq!(s.step(&a), Err(want));
        assert!(!s.is_done());
    }

    // anonymous is refused before anyone is asked
    let (domain, mut s, _, mut anon) = ntlm_exchange(Verdict::Ok, "", "", "");
    // empty user name field
    anon[36..40].fill(0);
    assert!(s.step(&anon).is_err());
    assert_eq!(domain.calls.load(Ordering::SeqCst), 0);
}

#[test]
fn the_mic_is_still_checked_with_a_verifier() {
    let (domain, mut s, c, mut a) = ntlm_exchange(Verdict::Ok, "clusadmin", "LAB", "Passw0rd-1");
    assert!(c.mic_sent(), "the initiator sends a MIC when the challenge has a timestamp");
    let mic = auth::ntlm::messages::MIC_OFFSET;
    a[mic] ^= 1;
    assert_eq!(s.step(&a), Err(AuthError::BadMic));
    assert_eq!(domain.calls.load(Ordering::SeqCst), 1);
}

fn mechs(seen: &Seen) -> Mechanisms {
    Mechanisms { ntlm: FakeDomain::new(Verdict::Ok), kerberos: Some(Arc::new(ToyFactory(seen.clone()))) }
}

fn spnego_acceptor(seen: &Seen) -> Acceptor {
    Acceptor::new(AuthType::Spnego, config(), &mechs(seen), [9; 8], 5).unwrap()
}

fn resp(token: &[u8]) -> NegTokenResp<'_> {
    spnego::parse_resp_token(token).unwrap()
}

fn cont(s: Result<Step, AuthError>) -> Vec<u8> {
    match s {
        Ok(Step::Continue(t)) => t,
        other => panic!("expected Continue, got {other:?}"),
    }
}

fn done(s: Result<Step, AuthError>) -> Vec<u8> {
    match s {
        Ok(Step::Done(Some(t))) => t,
        other => panic!("expected Done(token), got {other:?}"),
    }
}

#[test]
fn spnego_kerberos_three_legs_with_the_microsoft_oid() {
    let seen = Seen::default();
    let mut s = spnego_acceptor(&seen);
    let mech_types = spnego::encode_mech_types(&[MS_KRB5_OID, KRB5_OID, NTLMSSP_OID]);
    let r = cont(s.step(&spnego::encode_init(&mech_types, Some(b"AP-REQ:clusadmin"))));
    let r = resp(&r);
    assert_eq!(r.neg_state, Some(ACCEPT_INCOMPLETE));
    // the answer names the OID as the client listed it first
    assert_eq!(r.supported_mech, Some(MS_KRB5_OID));
    assert_eq!(r.response_token, Some(&b"AP-REP"[..]));
    assert!(!s.is_done() && s.protection().is_none());

    // third leg with the client's mechListMIC: verified, answered with ours
    let mut client = ToyKrb::client();
    let leg3 = client.spnego_leg3(&mech_types).unwrap();
    let r = done(s.step(&leg3));
    let r = resp(&r);
    assert_eq!(r.neg_state, Some(ACCEPT_COMPLETED));
    assert_eq!(r.supported_mech, None);
    client.verify_mic(&mech_types, r.mech_list_mic.unwrap()).unwrap();
    let u = s.user().unwrap();
    assert_eq!((u.user.as_str(), u.mechanism), ("clusadmin", Mechanism::Kerberos));
    assert_eq!(u.sids, vec![USER_SID.to_string()]);
    assert!(s.session_mut().is_none(), "no NTLM session on a Kerberos context");

    // the PDU protection is the Kerberos context's
    let mut p = s.protection().unwrap();
    assert_eq!(p.sig_len(true, 32).unwrap(), 20);
    assert!(p.plausible_sig_len(76) && !p.plausible_sig_len(0) && !p.plausible_sig_len(4096));
    let plain: Vec<u8> = (0..64u8).collect();
    let mut pdu = plain.clone();
    let mut sig = [0u8; 20];
    p.seal(&mut pdu, &Layout::new(24..56, 64, true), &mut sig).unwrap();
    assert_eq!(pdu[..24], plain[..24]);
    assert_ne!(pdu[24..56], plain[24..56]);
    {
        let (pre, rest) = pdu.split_at_mut(24);
        client.unwrap(pre, &mut rest[..32], &plain[56..64], &sig).unwrap();
    }
    assert_eq!(pdu, plain);
    // without header signing only the data is covered
    let mut pdu = plain.clone();
    p.seal(&mut pdu, &Layout::new(24..56, 64, false), &mut sig).unwrap();
    assert_eq!(seen.lock().unwrap().last(), Some(&(0, 32, 0)));
    client.unwrap(&[], &mut pdu[24..56], &[], &sig).unwrap();
    // a request from the client, unsealed and checked; a tampered one is refused
    let mut pdu = plain.clone();
    let mut csig = [0u8; 20];
    {
        let (pre, rest) = pdu.split_at_mut(24);
        let (data, post) = rest.split_at_mut(32);
        client.wrap(pre, data, &post[..8], &mut csig).unwrap();
    }
    p.unseal(&mut pdu, &Layout::new(24..56, 64, true), &csig).unwrap();
    assert_eq!(seen.lock().unwrap().last(), Some(&(24, 32, 8)));
    assert_eq!(pdu, plain);
    let mut pdu = plain.clone();
    {
        let (pre, rest) = pdu.split_at_mut(24);
        let (data, post) = rest.split_at_mut(32);
        client.wrap(pre, data, &post[..8], &mut csig).unwrap();
    }
    pdu[2] ^= 1; // a header byte: covered with header signing
    assert_eq!(p.unseal(&mut pdu, &Layout::new(24..56, 64, true), &csig), Err(AuthError::BadSignature));
    // ranges from the peer never panic
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = 60..56;
    assert!(p.unseal(&mut pdu, &Layout::new(reversed, 64, true), &csig).is_err());
    assert!(p.unseal(&mut pdu, &Layout::new(24..70, 64, true), &csig).is_err());
    assert!(p.unseal(&mut pdu, &Layout::new(24..56, 65, true), &csig).is_err());
}

#[test]
fn spnego_kerberos_without_a_key_falls_back_to_ntlm() {
    let seen = Seen::default();
    let mut s = spnego_acceptor(&seen);
    let mech_types = spnego::encode_mech_types(&[KRB5_OID, NTLMSSP_OID]);
    let r = cont(s.step(&spnego::encode_init(&mech_types, Some(b"AP-REQ:nokey"))));
    let r = resp(&r);
    assert_eq!((r.neg_state, r.supported_mech, r.response_token), (Some(ACCEPT_INCOMPLETE), Some(NTLMSSP_OID), None));
    let Acceptor::Spnego(sp) = &s else { panic!() };
    assert!(matches!(sp.kerberos_fallback(), Some(AuthError::Kerberos(m)) if m.contains("no key")));

    // NTLM now, through SPNEGO: NEGOTIATE, CHALLENGE, AUTHENTICATE + mechListMIC (mandatory:
    // NTLM was not the client's first choice)
    let mut c = ntlm_client("clusadmin", "LAB", "Passw0rd-1");
    let neg = spnego::encode_resp(&NegTokenResp { response_token: Some(&c.negotiate()), ..Default::default() });
    let r = cont(s.step(&neg));
    let challenge = resp(&r).response_token.unwrap().to_vec();
    let authenticate = c.step(&challenge).unwrap();
    let mic = c.session_mut().unwrap().sign_mech_list_mic(&mech_types);
    let msg = spnego::encode_resp(&NegTokenResp {
        response_token: Some(&authenticate),
        mech_list_mic: Some(&mic),
        ..Default::default()
    });
    let r = done(s.step(&msg));
    c.session_mut().unwrap().verify_mech_list_mic(&mech_types, resp(&r).mech_list_mic.unwrap()).unwrap();
    let u = s.user().unwrap();
    assert_eq!((u.user.as_str(), u.mechanism), ("clusadmin", Mechanism::Ntlm));
    assert!(matches!(s.protection(), Some(Protection::Ntlm(_))));

    // the same without the client's MIC is refused
    let mut s = spnego_acceptor(&seen);
    cont(s.step(&spnego::encode_init(&mech_types, Some(b"AP-REQ:nokey"))));
    let mut c = ntlm_client("clusadmin", "LAB", "Passw0rd-1");
    let neg = spnego::encode_resp(&NegTokenResp { response_token: Some(&c.negotiate()), ..Default::default() });
    let challenge = resp(&cont(s.step(&neg))).response_token.unwrap().to_vec();
    let msg =
        spnego::encode_resp(&NegTokenResp { response_token: Some(&c.step(&challenge).unwrap()), ..Default::default() });
    assert_eq!(s.step(&msg), Err(AuthError::MissingMechListMic));
    assert!(s.take_error_token().is_some());
}

#[test]
fn spnego_kerberos_only_and_failing_is_refused() {
    let seen = Seen::default();
    let mut s = spnego_acceptor(&seen);
    let mech_types = spnego::encode_mech_types(&[MS_KRB5_OID, KRB5_OID]);
    assert!(matches!(s.step(&spnego::encode_init(&mech_types, Some(b"AP-REQ:nokey"))), Err(AuthError::Kerberos(_))));
    assert!(s.take_error_token().is_some());
    assert!(s.step(b"anything").is_err());
}

#[test]
fn spnego_selection_rules() {
    let seen = Seen::default();
    // NTLM listed before Kerberos: NTLM, optimistic NEGOTIATE answered
    let mut s = spnego_acceptor(&seen);
    let mut c = ntlm_client("clusadmin", "LAB", "Passw0rd-1");
    let mt = spnego::encode_mech_types(&[NTLMSSP_OID, KRB5_OID]);
    let r = cont(s.step(&spnego::encode_init(&mt, Some(&c.negotiate()))));
    assert_eq!(resp(&r).supported_mech, Some(NTLMSSP_OID));
    assert!(resp(&r).response_token.is_some());

    // NEGOEX first, then Kerberos: Kerberos, the optimistic NEGOEX token ignored; the AP-REQ
    // comes next and the mechListMIC is mandatory
    let mut s = spnego_acceptor(&seen);
    let mt = spnego::encode_mech_types(&[NEGOEX_OID, KRB5_OID, NTLMSSP_OID]);
    let r = cont(s.step(&spnego::encode_init(&mt, Some(b"negoex-token"))));
    assert_eq!((resp(&r).supported_mech, resp(&r).response_token), (Some(KRB5_OID), None));
    let leg = spnego::encode_resp(&NegTokenResp { response_token: Some(b"AP-REQ:plainuser"), ..Default::default() });
    let r = cont(s.step(&leg));
    assert_eq!((resp(&r).supported_mech, resp(&r).response_token), (None, Some(&b"AP-REP"[..])));
    let leg3 = spnego::encode_resp(&NegTokenResp { response_token: Some(b"AP-REP-CLIENT"), ..Default::default() });
    assert_eq!(s.step(&leg3), Err(AuthError::MissingMechListMic));

    // without a Kerberos mechanism, Kerberos-first clients get NTLM
    let mut s = Acceptor::new(
        AuthType::Spnego,
        config(),
        &Mechanisms { ntlm: FakeDomain::new(Verdict::Ok), kerberos: None },
        [9; 8],
        5,
    )
    .unwrap();
    let mt = spnego::encode_mech_types(&[MS_KRB5_OID, KRB5_OID, NTLMSSP_OID]);
    let r = cont(s.step(&spnego::encode_init(&mt, Some(b"AP-REQ:clusadmin"))));
    assert_eq!((resp(&r).supported_mech, resp(&r).response_token), (Some(NTLMSSP_OID), None));

    // a wrong MIC on the Kerberos leg is refused
    let mut s = spnego_acceptor(&seen);
    let mt = spnego::encode_mech_types(&[KRB5_OID]);
    cont(s.step(&spnego::encode_init(&mt, Some(b"AP-REQ:clusadmin"))));
    let leg3 = spnego::encode_resp(&NegTokenResp {
        response_token: Some(b"AP-REP-CLIENT"),
        mech_list_mic: Some(&[0u8; 16]),
        ..Default::default()
    });
    assert_eq!(s.step(&leg3), Err(AuthError::BadMic));
}

#[test]
fn raw_kerberos_auth_type_16() {
    let seen = Seen::default();
    let mut s = Acceptor::new(AuthType::Kerberos, config(), &mechs(&seen), [9; 8], 5).unwrap();
    assert_eq!(s.auth_type(), AuthType::Kerberos);
    assert_eq!(cont(s.step(b"AP-REQ:clusadmin")), b"AP-REP");
    assert!(matches!(s.step(b"AP-REP-CLIENT"), Ok(Step::Done(None))));
    assert_eq!(s.user().unwrap().user, "clusadmin");
    assert!(matches!(s.protection(), Some(Protection::Gss(_))));
    assert_eq!(s.step(b"AP-REP-CLIENT"), Err(AuthError::UnexpectedMessage));
    // no Kerberos mechanism: raw Kerberos cannot even start
    let local = Mechanisms::local(Arc::new(StaticCredentials::new().with_password("a", "b")));
    assert!(matches!(Acceptor::new(AuthType::Kerberos, config(), &local, [9; 8], 5), Err(AuthError::NoCommonMech)));
    assert!(!local.blocking() && mechs(&seen).blocking());
}

#[test]
fn local_verifier_matches_the_spec_rules() {
    // the plain accounts check as a verifier: right password, UPN fallback, unknown user
    let v = LocalVerifier::new(Arc::new(StaticCredentials::new().with_password("alice", "Passw0rd-1")));
    for (user, domain, password, ok) in [
        ("alice", "ANY", "Passw0rd-1", true),
        ("ALICE", "", "Passw0rd-1", true),
        ("alice@lab.example", "", "Passw0rd-1", true),
        ("alice", "ANY", "nope", false),
        ("mallory", "ANY", "Passw0rd-1", false),
    ] {
        let mut s = NtlmAcceptor::with_verifier(config(), Arc::new(v.clone()), [1; 8], 0);
        let mut c = ntlm_client(user, domain, password);
        let NtlmStep::Continue(ch) = s.step(&c.negotiate()).unwrap() else { panic!() };
        let r = s.step(&c.step(&ch).unwrap());
        assert_eq!(r.is_ok(), ok, "{user} {domain} {password}");
        if ok {
            assert!(s.authenticated_user().unwrap().sids.is_empty());
        }
    }
    let _ = nt_hash("x");
}
