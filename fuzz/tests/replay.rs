//! The fuzz corpus replay: every file under `fuzz/corpus/<target>/` (the seeds plus what the
//! AFL++ campaigns found and minimised, see fuzz/README.md) goes through its target, and so do
//! the seeds derived from `captures/*.pcap` right now. No fuzzer is needed; a target that
//! panics on any of them fails the test.
//!
//! `FUZZ_SEED=1 cargo test -p clusapid-fuzz --test replay` (re)writes the seeds into
//! `fuzz/corpus/<target>/seed-<hash>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clusapid_fuzz::seed::{self, CaptureSeeds};
use clusapid_fuzz::{target, TARGETS};
use dcerpc::pdu::{self, PacketType};
use dcerpc::server::{Next, ServerConnection};
use tests::capture::{self, Answer, Credentials, Iface};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// Seeds from both captures.
fn capture_seeds() -> CaptureSeeds {
    let mut cs = CaptureSeeds::default();
    let dir = tests::captures_dir();
    let mut pcaps: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    pcaps.sort();
    assert!(pcaps.len() >= 2, "captures/*.pcap missing");
    for path in pcaps {
        let bytes = std::fs::read(&path).unwrap();
        let sc = capture::read_sidecar(&path).unwrap();
        let creds = Credentials { user: sc["user"].clone(), password: sc["password"].clone() };
        let (_, conns) = capture::connections(&bytes).unwrap();
        for c in &conns {
            cs.client_streams.push(c.c2s.bytes.clone());
            let (rep, _) = capture::replay_connection(c, &creds);
            if let Some(hs) = &rep.handshake {
                cs.ntlm.push((1, hs.negotiate.clone()));
                cs.ntlm.push((2, hs.challenge.clone()));
                cs.ntlm.push((3, hs.authenticate.clone()));
                if hs.auth_type == 9 {
                    for (i, t) in hs.client_tokens.iter().enumerate() {
                        cs.spnego.push((true, i, t.clone()));
                    }
                    for (i, t) in hs.server_tokens.iter().enumerate() {
                        cs.spnego.push((false, i, t.clone()));
                    }
                }
            }
            for call in rep.calls {
                let iface = match call.iface {
                    Some(Iface::Clusapi) => 0,
                    Some(Iface::Epmapper) => 2,
                    Some(Iface::Mgmt) => 3,
                    None => continue,
                };
                let be = call.request.order == idl::ByteOrder::Big;
                cs.requests.push((iface, be, call.opnum, call.request.bytes));
                if let Answer::Response(stub) = call.answer {
                    cs.responses.push(stub.bytes);
                }
            }
        }
    }
    cs
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3))
}

#[test]
fn corpus_and_capture_seeds_replay() {
    let seeds = seed::all(&capture_seeds());
    let mut per_target: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, input) in &seeds {
        (target(name).unwrap().run)(input);
        *per_target.entry(name).or_default() += 1;
    }
    for t in TARGETS {
        assert!(
            per_target.get(t.name).copied().unwrap_or(0) >= 3,
            "target {} has {:?} seeds",
            t.name,
            per_target.get(t.name)
        );
    }
    if std::env::var_os("FUZZ_SEED").is_some() {
        for (name, input) in &seeds {
            let dir = corpus_dir().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("seed-{:016x}", fnv(input))), input).unwrap();
        }
    }
    let mut files = 0;
    for t in TARGETS {
        let dir = corpus_dir().join(t.name);
        let entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (FUZZ_SEED=1 writes the seeds)", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        assert!(entries.len() >= 3, "{}: only {} files", dir.display(), entries.len());
        for p in entries {
            let input = std::fs::read(&p).unwrap();
            // name the file if the target panics
            let r = std::panic::catch_unwind(|| (t.run)(&input));
            assert!(r.is_ok(), "target {} panicked on {}", t.name, p.display());
            files += 1;
        }
    }
    eprintln!("replayed {} seeds and {files} corpus files", seeds.len());
}

/// The recorded sessions must get past authentication inside the `pdu` target, or the fuzzer
/// would never reach sealed requests: each authenticated one yields executed calls.
#[test]
fn recorded_sessions_reach_sealed_calls() {
    let sessions = seed::recorded_sessions();
    assert!(sessions.len() >= 9);
    for (i, s) in sessions.iter().enumerate() {
        let mut conn = ServerConnection::new(clusapid_fuzz::server_config(), dcerpc::Associations::new());
        let mut out = Vec::new();
        let mut calls = 0;
        for f in clusapid_fuzz::split_fragments(s) {
            let mut f = f.to_vec();
            match conn.handle_fragment(&mut f, &mut out) {
                Next::Call(_) => calls += 1,
                Next::Close(r) => panic!("session {i}: closed: {r}"),
                _ => {}
            }
        }
        assert!(calls >= 1, "session {i}: no call executed");
        if i > 0 {
            assert!(conn.principal().is_some(), "session {i}: not authenticated");
        }
        // the server answered the bind with a bind_ack, not a nak
        let h = pdu::parse_header(&out[..pdu::frame_length(&out).unwrap()]).unwrap();
        assert_eq!(h.ptype, PacketType::BindAck, "session {i}");
    }
}

/// The Kerberos session seed gets past the three legs inside the `krb` target (mode 2): every
/// sealed call is executed, for a Kerberos principal.
#[test]
fn krb_session_reaches_sealed_calls() {
    let mut conn = ServerConnection::new(clusapid_fuzz::krb_server_config(), dcerpc::Associations::new());
    let mut out = Vec::new();
    let mut calls = 0;
    for f in clusapid_fuzz::split_fragments(&seed::krb_session()) {
        let mut f = f.to_vec();
        match conn.handle_fragment(&mut f, &mut out) {
            Next::Call(_) => calls += 1,
            Next::Close(r) => panic!("closed: {r}"),
            _ => {}
        }
    }
    assert_eq!(calls, 4);
    let p = conn.principal().expect("authenticated");
    assert_eq!((p.user.as_str(), p.mechanism), ("alice", auth::Mechanism::Kerberos));
}

/// The NTLM seed for mode 2 authenticates (so the fuzzer starts from a successful exchange).
#[test]
fn fixed_ntlm_exchange_authenticates() {
    let (neg, _, auth) = seed::fixed_ntlm_exchange();
    let creds = std::sync::Arc::new(auth::StaticCredentials::new().with_password("alice", "Passw0rd-1"));
    let mut acc = auth::NtlmAcceptor::new(
        auth::AcceptorConfig {
            netbios_computer: "CTDB_NODE_0".into(),
            netbios_domain: "CTDB-CLUSTER".into(),
            dns_computer: String::new(),
            dns_domain: String::new(),
        },
        creds,
        clusapid_fuzz::FIXED_CHALLENGE,
        clusapid_fuzz::FIXED_FILETIME,
    );
    assert!(matches!(acc.step(&neg), Ok(auth::NtlmStep::Continue(_))));
    assert_eq!(acc.step(&auth), Ok(auth::NtlmStep::Done));
}
