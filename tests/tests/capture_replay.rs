//! Every `captures/*.pcap` replayed by our own code, independently of tshark: pcap parsing, TCP
//! reassembly, DCE/RPC framing, the NTLMSSP session recovered from the captured handshake with
//! the sidecar's password, every fragment's verifier checked (unsealed at packet privacy), every
//! stub decoded with the project's codecs. See `tests/src/capture.rs` for the pipeline and
//! captures/README.md for the captures.
//!
//! The negative tests prove the replay can fail: a flipped byte in a sealed response, a
//! response stub truncated or padded (and correctly re-sealed, so only the decoder can notice),
//! a wrong password, a lost TCP segment.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use auth::{NtlmSession, Role};
use dcerpc::pdu::{self, PacketType};
use idl::clusapi::ApiGetClusterNameResponse;
use idl::ByteOrder;
use tests::capture::{self, Answer, CaptureReport, Chunk, ConnReport, Credentials, Stream, TcpConnection};
use tests::{captures_dir, CLUSTER_NAME};

/// The full `smbtorture rpc.clusapi` run.
const FULL: &str = "clusapi-torture-full.pcap";
/// The short smbtorture + rpcclient session.
const SESSION: &str = "clusapi-ntlmssp-seal.pcap";

struct Capture {
    path: PathBuf,
    bytes: Vec<u8>,
    creds: Credentials,
    ports: Vec<u16>,
}

impl Capture {
    fn load(path: &Path) -> Capture {
        let sc = capture::read_sidecar(path).unwrap_or_else(|e| panic!("{}: sidecar: {e}", path.display()));
        let get = |k: &str| sc.get(k).cloned().unwrap_or_else(|| panic!("{}: sidecar has no `{k}=`", path.display()));
        let port = |k: &str| get(k).parse::<u16>().unwrap_or_else(|e| panic!("{}: `{k}`: {e}", path.display()));
        Capture {
            path: path.to_path_buf(),
            bytes: std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            creds: Credentials { user: get("user"), password: get("password") },
            ports: vec![port("clusapi"), port("epmapper")],
        }
    }

    fn named(name: &str) -> Capture {
        Capture::load(&captures_dir().join(name))
    }

    fn name(&self) -> String {
        self.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    }

    fn replay(&self) -> CaptureReport {
        capture::replay_capture(&self.bytes, &self.creds, &self.ports)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name()))
    }

    fn connections(&self) -> (usize, Vec<TcpConnection>) {
        let (packets, conns) = capture::connections(&self.bytes).unwrap_or_else(|e| panic!("{}: {e}", self.name()));
        (packets.len(), conns)
    }
}

fn all_captures() -> Vec<Capture> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(captures_dir())
        .expect("captures/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    v.sort();
    assert!(v.iter().any(|p| p.ends_with(FULL)) && v.iter().any(|p| p.ends_with(SESSION)), "captures missing: {v:?}");
    v.iter().map(|p| Capture::load(p)).collect()
}

fn calls(r: &CaptureReport) -> impl Iterator<Item = &capture::Call> {
    r.connections.iter().flat_map(|c| &c.calls)
}

#[test]
fn op_tables_match_the_idl() {
    let n = capture::check_tables().unwrap();
    assert_eq!(n, 166 + 3 + 5, "clusapi + epmapper + mgmt operations");
}

#[test]
fn every_capture_replays_cleanly() {
    for cap in all_captures() {
        let name = cap.name();
        let r = cap.replay();
        eprintln!("{}", r.summary(&name));
        assert!(r.problems.is_empty(), "{name}: {} problems:\n{}", r.problems.len(), r.problems.join("\n"));
        assert!(!r.connections.is_empty(), "{name}: no connection");
        let clusapi_port = cap.ports[0];
        for c in &r.connections {
            let at =
                format!("{name}: {} -> {} (frames {}-{})", c.id.client, c.id.server, c.id.first_frame, c.id.last_frame);
            // clusapi connections are sealed and every fragment was checked
            if c.id.server.port() == clusapi_port {
                let a = c.auth.as_ref().unwrap_or_else(|| panic!("{at}: clusapi connection without verified auth"));
                assert_eq!(a.level, pdu::auth_level::PKT_PRIVACY, "{at}");
                assert!(a.ntlm_mic && a.timestamp_echoed, "{at}: {a:?}");
                if a.auth_type == 9 {
                    assert!(a.mech_list_mics, "{at}: SPNEGO without both mechListMICs");
                }
                let req_frags: usize = c.calls.iter().map(|k| k.request.fragments).sum();
                let resp_frags: usize =
                    c.calls.iter().map(|k| if let Answer::Response(r) = &k.answer { r.fragments } else { 0 }).sum();
                assert_eq!(c.verified, (req_frags, resp_frags), "{at}: every fragment verified");
                assert!(c.server_plain.iter().filter(|p| p.ptype == PacketType::Response).all(|p| p.sealed), "{at}");
            }
            assert!(c.largest_frag.1 <= usize::from(c.max_frag.1), "{at}");
            for k in &c.calls {
                match &k.answer {
                    Answer::Response(r) => assert!(r.decoded.is_some(), "{at}: {} not decoded", k.name()),
                    Answer::Fault { .. } => {}
                    Answer::None => panic!("{at}: {} unanswered", k.name()),
                }
            }
            assert_eq!(c.noncanonical_responses, 0, "{at}: a response stub re-encodes differently");
        }
        // what the server said, as decrypted here
        let names: BTreeSet<String> = calls(&r)
            .filter(|k| k.iface == Some(capture::Iface::Clusapi) && k.opnum == ApiGetClusterNameResponse::OPNUM)
            .filter_map(|k| match &k.answer {
                Answer::Response(r) => ApiGetClusterNameResponse::decode_stub(&r.bytes, ByteOrder::Little).ok(),
                _ => None,
            })
            .filter_map(|g| g.cluster_name.map(|n| n.as_str().to_string()))
            .collect();
        assert_eq!(names, BTreeSet::from([CLUSTER_NAME.to_string()]), "{name}: cluster names");
        let ops: BTreeSet<u16> = calls(&r)
            .filter(|k| k.iface == Some(capture::Iface::Clusapi) && matches!(k.answer, Answer::Response(_)))
            .map(|k| k.opnum)
            .collect();
        // the whole suite exercises 63 (captures/README.md), the short session 8
        let want = if name == FULL { 60 } else { 8 };
        assert!(ops.len() >= want, "{name}: only {} distinct clusapi opnums answered: {ops:?}", ops.len());
    }
}

// ---------------------------------------------------------------------------------------------
// The replay can fail
// ---------------------------------------------------------------------------------------------

fn call_id(pdu_bytes: &[u8]) -> u32 {
    u32::from_le_bytes(pdu_bytes[12..16].try_into().unwrap())
}

/// Replays `bytes` (an altered copy of `cap`'s file) and returns its problems.
fn problems_of(cap: &Capture, bytes: &[u8]) -> Vec<String> {
    capture::replay_capture(bytes, &cap.creds, &cap.ports).unwrap_or_else(|e| panic!("{}: {e}", cap.name())).problems
}

/// Flips one bit of the pcap file at the stream position `offset` of `stream` and checks that
/// the replay reports a bad signature for `frame`/`call`, and nothing unrelated to that call.
fn assert_flip_caught(cap: &Capture, stream: &Stream, offset: usize, what: &str, frame: u32, call: u32) {
    let at = stream.file_offset_at(offset).expect("byte in the stream");
    let mut bytes = cap.bytes.clone();
    bytes[at] ^= 0x10;
    let problems = problems_of(cap, &bytes);
    let name = cap.name();
    let sig = format!("frame {frame}: {what} call {call}: signature does not verify");
    assert!(
        problems.iter().any(|p| p.contains(&sig)),
        "{name}: flipping file byte {at} ({what} of call {call}, frame {frame}) was not reported as {sig:?}: {problems:#?}"
    );
    eprintln!("{name}: flipped file byte {at} ({what} of call {call}, frame {frame}): {problems:?}");
    let call_tag = format!("call {call}");
    assert!(problems.iter().all(|p| p.contains(&call_tag)), "{name}: unrelated problems: {problems:#?}");
}

#[test]
fn a_flipped_byte_in_a_sealed_pdu_is_caught() {
    for cap in all_captures() {
        let r = cap.replay();
        assert!(r.problems.is_empty(), "{}: {:?}", cap.name(), r.problems);
        let (_, conns) = cap.connections();
        // the busiest sealed connection, a sealed response with a stub from its middle
        let (i, c) = r
            .connections
            .iter()
            .enumerate()
            .filter(|(_, c)| c.auth.is_some())
            .max_by_key(|(_, c)| c.calls.len())
            .expect("an authenticated connection");
        let sealed: Vec<_> =
            c.server_plain.iter().filter(|p| p.sealed && p.bytes.len() > pdu::HEADER_LEN + 8 + 8 + 16).collect();
        let p = sealed[sealed.len() / 2];
        let id = call_id(&p.bytes);
        let s2c = &conns[i].s2c;
        // inside the encrypted stub, in the signed clear-text header (alloc_hint), in the verifier
        assert_flip_caught(&cap, s2c, p.offset + pdu::HEADER_LEN + 8 + 1, "response", p.frame, id);
        assert_flip_caught(&cap, s2c, p.offset + pdu::HEADER_LEN + 3, "response", p.frame, id);
        assert_flip_caught(&cap, s2c, p.offset + p.bytes.len() - 1, "response", p.frame, id);
        // and a client request
        let reqs = capture::split_pdus(&conns[i].c2s).unwrap();
        let with_stub = |q: &&capture::RawPdu| q.bytes[2] == PacketType::Request as u8 && q.bytes.len() > 24 + 8 + 16;
        let q = reqs.iter().filter(with_stub).nth(1).expect("two requests with a stub");
        assert_flip_caught(&cap, &conns[i].c2s, q.offset + pdu::HEADER_LEN + 8, "request", q.frame, call_id(&q.bytes));
    }
}

/// Changes the stub of a single-fragment plaintext response by `delta` bytes (cut from the end,
/// or `fill` bytes appended), with the auth padding, alloc_hint and frag_length fixed up.
fn resize_stub(b: &[u8], delta: isize, fill: u8) -> Vec<u8> {
    let h = pdu::parse_header(b).unwrap();
    let a = pdu::auth_parts(b, &h).unwrap().unwrap();
    let head = pdu::HEADER_LEN + pdu::RESPONSE_HDR_LEN;
    let mut stub = b[head..a.trailer_offset - usize::from(a.trailer.auth_pad_length)].to_vec();
    if delta < 0 {
        stub.truncate(stub.len() - delta.unsigned_abs());
    } else {
        stub.resize(stub.len() + delta.unsigned_abs(), fill);
    }
    let pad = (16 - stub.len() % 16) % 16;
    let mut o = b[..head].to_vec();
    o[16..20].copy_from_slice(&u32::try_from(stub.len()).unwrap().to_le_bytes());
    o.extend_from_slice(&stub);
    o.resize(o.len() + pad, 0);
    let mut trailer = b[a.trailer_offset..a.value_offset].to_vec();
    trailer[2] = u8::try_from(pad).unwrap();
    o.extend_from_slice(&trailer);
    o.resize(o.len() + 16, 0);
    let len = u16::try_from(o.len()).unwrap();
    o[8..10].copy_from_slice(&len.to_le_bytes());
    o
}

/// Re-seals the server→client stream of a connection from the replay's plaintext with the
/// recovered session key, as clusapid would have, after resizing the stub of server PDU
/// `target` (see [`resize_stub`]).
fn reseal(c: &ConnReport, target: Option<(usize, isize, u8)>) -> Stream {
    let a = c.auth.as_ref().expect("authenticated");
    let hs = c.handshake.as_ref().expect("handshake");
    let mut session = NtlmSession::new(a.exported_key, a.flags, Role::Server).unwrap();
    if let Some(mech_types) = hs.server_mic.as_ref().and(hs.mech_types.as_ref()) {
        session.sign_mech_list_mic(mech_types); // sequence number 0, as the server's mechListMIC
    }
    let mut out = Stream::default();
    for (i, p) in c.server_plain.iter().enumerate() {
        let mut b = p.bytes.clone();
        if p.sealed {
            if let Some((t, delta, fill)) = target {
                if t == i {
                    b = resize_stub(&b, delta, fill);
                }
            }
            let h = pdu::parse_header(&b).unwrap();
            let ap = pdu::auth_parts(&b, &h).unwrap().unwrap();
            let sig = session.seal(&mut b, pdu::HEADER_LEN + pdu::RESPONSE_HDR_LEN..ap.trailer_offset, ap.value_offset);
            b[ap.value_offset..].copy_from_slice(&sig);
        }
        out.chunks.push(Chunk { offset: out.bytes.len(), frame: p.frame, file_offset: 0 });
        out.bytes.extend_from_slice(&b);
    }
    out.fin = true;
    out
}

#[test]
fn a_truncated_or_padded_response_stub_is_caught() {
    for cap in all_captures() {
        let name = cap.name();
        let (frames, mut conns) = cap.connections();
        let r = capture::replay_connections(frames, &conns, &cap.creds, &cap.ports);
        assert!(r.problems.is_empty(), "{name}: {:?}", r.problems);
        // every sealed connection re-seals to exactly the captured bytes: the plaintext the
        // replay recovered is what clusapid sealed
        for (i, c) in r.connections.iter().enumerate().filter(|(_, c)| c.auth.is_some()) {
            assert!(reseal(c, None).bytes == conns[i].s2c.bytes, "{name}: connection {i} does not re-seal identically");
        }
        // the first GetClusterName response
        let (i, c, call) = r
            .connections
            .iter()
            .enumerate()
            .filter(|(_, c)| c.auth.is_some())
            .find_map(|(i, c)| {
                c.calls
                    .iter()
                    .find(|k| k.name() == "clusapi.ApiGetClusterName" && matches!(k.answer, Answer::Response(_)))
                    .map(|k| (i, c, k.call_id))
            })
            .expect("a GetClusterName response");
        let t = c
            .server_plain
            .iter()
            .position(|p| p.ptype == PacketType::Response && call_id(&p.bytes) == call)
            .expect("its PDU");
        let frame = c.server_plain[t].frame;
        for (delta, fill, expect) in [
            (-4, 0, Some("does not decode")),
            (-1, 0, Some("does not decode")),
            (8, 0, Some("at least 8 bytes of trailing garbage")),
            (4, 0xee, Some("are not zero padding")),
            (4, 0, None), // up to 7 zero bytes of alignment padding are tolerated
        ] {
            let original = std::mem::take(&mut conns[i].s2c);
            conns[i].s2c = reseal(c, Some((t, delta, fill)));
            let problems = capture::replay_connections(frames, &conns, &cap.creds, &cap.ports).problems;
            conns[i].s2c = original;
            let case = format!("{name}: GetClusterName response (frame {frame}, call {call}) resized by {delta}");
            eprintln!("{case}: {problems:?}");
            assert!(!problems.iter().any(|p| p.contains("signature")), "{case}: the re-seal is wrong: {problems:#?}");
            match expect {
                Some(e) => {
                    let want = format!("frame {frame}: response to clusapi.ApiGetClusterName (call {call})");
                    assert!(
                        problems.len() == 1 && problems[0].contains(&want) && problems[0].contains(e),
                        "{case}: {problems:#?}"
                    );
                }
                None => assert!(problems.is_empty(), "{case}: {problems:#?}"),
            }
        }
    }
}

#[test]
fn a_wrong_password_is_caught() {
    for mut cap in all_captures() {
        let good = cap.replay();
        cap.creds.password = "Passw0rd-2".into();
        let bad = cap.replay();
        let authenticated = good.connections.iter().filter(|c| c.auth.is_some()).count();
        let refused = bad.problems.iter().filter(|p| p.contains("NTProofStr") && p.contains("does not verify")).count();
        assert!(authenticated > 0);
        assert_eq!(refused, authenticated, "{}: {:#?}", cap.name(), bad.problems);
        assert!(bad.connections.iter().all(|c| c.auth.is_none() && c.verified == (0, 0)));
    }
}

#[test]
fn a_lost_or_altered_tcp_segment_is_caught() {
    let cap = Capture::named(FULL);
    let packets = capture::read_pcap(&cap.bytes).unwrap();
    let segments: Vec<_> = packets.iter().map(|p| capture::tcp_segment(p).unwrap()).collect();
    assert!(capture::reassemble(&segments).is_ok());
    let data: Vec<usize> = (0..segments.len()).filter(|&i| !segments[i].payload.is_empty()).collect();
    // a segment from the middle
    let mut lost = segments.clone();
    let gone = lost.remove(data[data.len() / 2]);
    let e = capture::reassemble(&lost).unwrap_err();
    assert!(e.contains("bytes missing") && e.contains("lost packets"), "frame {}: {e}", gone.frame);
    // the last data segment of a stream that ends with a FIN
    let mut lost = segments.clone();
    let gone = lost.remove(*data.last().unwrap());
    let e = capture::reassemble(&lost).unwrap_err();
    assert!(e.contains("FIN at stream offset"), "frame {}: {e}", gone.frame);
    // a "retransmission" with other bytes
    let mut dup = segments.clone();
    let mut again = segments[data[3]].clone();
    again.payload[0] ^= 1;
    again.frame = u32::MAX;
    dup.push(again);
    let e = capture::reassemble(&dup).unwrap_err();
    assert!(e.contains("with different bytes"), "{e}");
    // an identical retransmission is fine
    let mut dup = segments.clone();
    dup.push(segments[data[3]].clone());
    let conns = capture::reassemble(&dup).unwrap();
    assert_eq!(conns.iter().map(|c| c.c2s.duplicates + c.s2c.duplicates).sum::<usize>(), 1);
    // a cut record
    let e = capture::read_pcap(&cap.bytes[..cap.bytes.len() - 1]).unwrap_err();
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn faults_are_checked() {
    // the captures hold no fault: put one in place of an ept_map response (unauthenticated)
    let cap = Capture::named(SESSION);
    let (frames, mut conns) = cap.connections();
    let i = conns.iter().position(|c| c.id.server.port() == cap.ports[1]).expect("an ept_map connection");
    let pdus = capture::split_pdus(&conns[i].s2c).unwrap();
    let resp = pdus.iter().find(|p| p.bytes[2] == PacketType::Response as u8).expect("ept_map response");
    let call = call_id(&resp.bytes);
    let replace = |conns: &mut Vec<TcpConnection>, fault: &[u8]| {
        let mut s = Stream::default();
        for p in &pdus {
            s.chunks.push(Chunk { offset: s.bytes.len(), frame: p.frame, file_offset: 0 });
            s.bytes.extend_from_slice(if p.offset == resp.offset { fault } else { &p.bytes });
        }
        conns[i].s2c = s;
        capture::replay_connections(frames, conns, &cap.creds, &cap.ports)
    };
    let mut fault = Vec::new();
    pdu::encode_fault(&mut fault, call, 0, pdu::fault::NCA_S_PROTO_ERROR, true);
    let r = replace(&mut conns, &fault);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let k = r.connections[i].calls.iter().find(|k| k.call_id == call).unwrap();
    assert!(matches!(k.answer, Answer::Fault { status: pdu::fault::NCA_S_PROTO_ERROR, did_not_execute: true, .. }));
    assert_eq!(r.faults().len(), 1);
    // status 0, a non-zero reserved field, a missing last-fragment flag, a stray verifier
    for (at, value, expect) in
        [(24, 0, "status 0"), (28, 1, "reserved"), (3, 0x01, "first/last"), (10, 16, "auth_length 16")]
    {
        let mut bad = fault.clone();
        bad[at] = value;
        if at == 24 {
            bad[25..28].fill(0);
        }
        let r = replace(&mut conns, &bad);
        let want = format!("fault for call {call}");
        let ok = r.problems.len() == 1 && r.problems[0].contains(&want) && r.problems[0].contains(expect);
        assert!(ok, "fault byte {at} = {value}: {:?}", r.problems);
    }
}
