//! Protocol strictness (dcerpc/src/server/strict.rs): PDUs whose header fields disagree with
//! their body, or with the connection's state, get the protocol's answer (bind_nak or fault)
//! and the connection closes; nothing executes. Each test also shows the well-formed variant
//! is accepted, so the check is the one that refuses.

mod common;

use auth::AuthType;
use common::{initiator, OPEN, SEALED};
use dcerpc::client::{ClientConnection, ClientEvent};
use dcerpc::pdu::{self, auth_level, fault, nak, pfc, PacketType, SecTrailer, SyntaxId};
use dcerpc::server::{CloseReason, Next, ServerConnection};
use dcerpc::Associations;
use idl::Guid;

fn server() -> ServerConnection {
    ServerConnection::new(common::config("sealed", "open", 64 * 1024, ""), Associations::new())
}

/// An NTLM client at `level` binds to `iface` (v3.0) on a fresh server: the client's event on
/// the server's bind_ack, the server, and the auth3 the client wrote (not yet delivered).
fn ntlm_bind_to_auth3(level: u8, iface: Guid) -> (ClientEvent, ServerConnection, Vec<u8>) {
    let mut c = ClientConnection::authenticated(initiator(AuthType::Ntlmssp, "Passw0rd-1"), level);
    let mut s = server();
    let mut to_s = Vec::new();
    c.bind(&[(0, SyntaxId::new(iface, 3, 0))], 0, &mut to_s);
    let (_, out) = feed(&mut s, to_s);
    let mut auth3 = Vec::new();
    let ev = c.handle_fragment(&mut out.clone(), &mut auth3).unwrap();
    (ev, s, auth3)
}

/// A bind for the open interface, with an optional auth trailer (pad octets inserted before
/// it, `pad_claim` in auth_pad_length) and token.
fn bind_pdu(ptype: PacketType, auth: Option<(u8, u8, &[u8])>, extra_pad: usize) -> Vec<u8> {
    let mut o = Vec::new();
    let start = pdu::write_header(&mut o, ptype, pfc::FIRST_FRAG | pfc::LAST_FRAG, 1);
    o.extend_from_slice(&5840u16.to_le_bytes());
    o.extend_from_slice(&5840u16.to_le_bytes());
    o.extend_from_slice(&0u32.to_le_bytes());
    o.extend_from_slice(&[1, 0, 0, 0]);
    o.extend_from_slice(&0u16.to_le_bytes());
    o.extend_from_slice(&[1, 0]);
    o.extend_from_slice(&OPEN.to_le_bytes());
    o.extend_from_slice(&3u32.to_le_bytes());
    let t = SyntaxId::ndr20();
    o.extend_from_slice(&t.uuid.to_le_bytes());
    o.extend_from_slice(&t.version.to_le_bytes());
    let mut al = 0;
    if let Some((auth_type, pad_claim, token)) = auth {
        o.extend(std::iter::repeat_n(0u8, extra_pad));
        pdu::write_sec_trailer(
            &mut o,
            &SecTrailer {
                auth_type,
                auth_level: auth_level::PKT_PRIVACY,
                auth_pad_length: pad_claim,
                auth_context_id: 0,
            },
        );
        o.extend_from_slice(token);
        al = token.len() as u16;
    }
    pdu::finish_pdu(&mut o, start, al);
    o
}

/// A request on context 0 (opnum 1) with an optional trailer + verifier.
fn request_pdu(
    call_id: u32,
    flags: u8,
    alloc_hint: u32,
    opnum: u16,
    stub: &[u8],
    trailer: Option<SecTrailer>,
) -> Vec<u8> {
    let mut o = Vec::new();
    let start = pdu::write_header(&mut o, PacketType::Request, flags, call_id);
    o.extend_from_slice(&alloc_hint.to_le_bytes());
    o.extend_from_slice(&0u16.to_le_bytes());
    o.extend_from_slice(&opnum.to_le_bytes());
    o.extend_from_slice(stub);
    let mut al = 0;
    if let Some(t) = trailer {
        pdu::write_sec_trailer(&mut o, &t);
        o.extend_from_slice(&[0u8; 16]);
        al = 16;
    }
    pdu::finish_pdu(&mut o, start, al);
    o
}

const WHOLE: u8 = pfc::FIRST_FRAG | pfc::LAST_FRAG;

fn feed(s: &mut ServerConnection, mut pdu: Vec<u8>) -> (Next, Vec<u8>) {
    let mut out = Vec::new();
    let n = s.handle_fragment(&mut pdu, &mut out);
    (n, out)
}

fn answer(out: &[u8]) -> (PacketType, u32) {
    let h = pdu::parse_header(out).expect("one whole PDU");
    let status = match h.ptype {
        PacketType::Fault => pdu::parse_response(out, &h).unwrap().status,
        PacketType::BindNak => u32::from(u16::from_le_bytes([out[16], out[17]])),
        _ => 0,
    };
    (h.ptype, status)
}

fn bound_open() -> ServerConnection {
    let mut s = server();
    let (n, out) = feed(&mut s, bind_pdu(PacketType::Bind, None, 0));
    assert!(matches!(n, Next::Continue));
    assert_eq!(answer(&out).0, PacketType::BindAck);
    s
}

#[test]
fn bind_auth_pad_outside_the_body_is_nakked() {
    // a padding length larger than the whole bind body (the case)
    let token = b"NTLMSSP\0\x01\0\0\0\0\0\0\0";
    let mut s = server();
    let (n, out) = feed(&mut s, bind_pdu(PacketType::Bind, Some((10, 200, token)), 0));
    assert!(matches!(n, Next::Close(CloseReason::BindRefused(_))), "{n:?}");
    assert_eq!(answer(&out), (PacketType::BindNak, u32::from(nak::REASON_NOT_SPECIFIED)));
    // padding that reaches back into the context list
    let mut s = server();
    let (n, out) = feed(&mut s, bind_pdu(PacketType::Bind, Some((10, 4, token)), 0));
    assert!(matches!(n, Next::Close(CloseReason::BindRefused(_))), "{n:?}");
    assert_eq!(answer(&out).0, PacketType::BindNak);
    // a misaligned sec_trailer
    let mut s = server();
    let (n, out) = feed(&mut s, bind_pdu(PacketType::Bind, Some((10, 0, token)), 2));
    assert!(matches!(n, Next::Close(CloseReason::BindRefused(_))), "{n:?}");
    assert_eq!(answer(&out).0, PacketType::BindNak);
    // the same bind with its 4 pad octets really there is fine
    let mut s = server();
    let (n, out) = feed(&mut s, bind_pdu(PacketType::Bind, Some((10, 4, token)), 4));
    assert!(matches!(n, Next::Continue), "{n:?}");
    assert_eq!(answer(&out).0, PacketType::BindAck);
}

#[test]
fn alter_context_auth_pad_outside_the_body_is_faulted() {
    let mut s = bound_open();
    let (n, out) = feed(&mut s, bind_pdu(PacketType::AlterContext, Some((10, 255, b"x")), 0));
    assert!(matches!(n, Next::Close(_)), "{n:?}");
    assert_eq!(answer(&out), (PacketType::Fault, fault::NCA_S_PROTO_ERROR));
}

#[test]
fn request_with_auth_trailer_on_an_unauthenticated_connection_is_refused() {
    // bound without any auth trailer (as with an empty SPNEGO token): no security context
    let t = SecTrailer { auth_type: 9, auth_level: auth_level::PKT_PRIVACY, auth_pad_length: 0, auth_context_id: 0 };
    let mut s = bound_open();
    let (n, out) = feed(&mut s, request_pdu(2, WHOLE, 8, 1, &[0; 8], Some(t)));
    assert!(matches!(n, Next::Close(CloseReason::AuthFailed(_))), "{n:?}");
    assert_eq!(answer(&out), (PacketType::Fault, fault::ACCESS_DENIED));
    // without the trailer the same request executes
    let mut s = bound_open();
    let (n, _) = feed(&mut s, request_pdu(2, WHOLE, 8, 1, &[0; 8], None));
    assert!(matches!(n, Next::Call(_)), "{n:?}");
}

#[test]
fn request_auth_trailer_naming_another_context_is_refused() {
    // NTLMSSP at CONNECT level: requests carry no verifier, but a trailer must name the
    // context the bind set up
    let (ev, mut s, auth3) = ntlm_bind_to_auth3(auth_level::CONNECT, OPEN);
    assert!(matches!(ev, ClientEvent::Bound { .. }));
    let (n, _) = feed(&mut s, auth3);
    assert!(matches!(n, Next::Continue));
    assert!(s.principal().is_some());
    let t = SecTrailer { auth_type: 10, auth_level: auth_level::CONNECT, auth_pad_length: 0, auth_context_id: 99 };
    let (n, out) = feed(&mut s, request_pdu(3, WHOLE, 0, 1, &[0; 8], Some(t)));
    assert!(matches!(n, Next::Close(CloseReason::AuthFailed(_))), "{n:?}");
    assert_eq!(answer(&out), (PacketType::Fault, fault::ACCESS_DENIED));
}

#[test]
fn fragment_larger_than_negotiated_is_refused() {
    let mut s = bound_open();
    let (n, out) = feed(&mut s, request_pdu(2, WHOLE, 6000, 1, &vec![0; 6000], None));
    assert!(matches!(n, Next::Close(CloseReason::Protocol(_))), "{n:?}");
    assert_eq!(answer(&out), (PacketType::Fault, fault::NCA_S_PROTO_ERROR));
    let mut s = bound_open();
    let (n, _) = feed(&mut s, request_pdu(2, WHOLE, 5000, 1, &vec![0; 5000], None));
    assert!(matches!(n, Next::Call(_)), "{n:?}");
}

#[test]
fn alloc_hint_beyond_the_request_limit_is_refused() {
    let mut s = bound_open();
    let (n, out) = feed(&mut s, request_pdu(2, pfc::FIRST_FRAG, 1 << 30, 1, &[0; 8], None));
    assert!(matches!(n, Next::Close(CloseReason::TooLarge(_))), "{n:?}");
    assert_eq!(answer(&out).0, PacketType::Fault);
}

#[test]
fn later_fragments_must_match_their_call() {
    for (ctx_opnum_differs, call_differs) in [(true, false), (false, true), (false, false)] {
        let mut s = bound_open();
        let (n, _) = feed(&mut s, request_pdu(2, pfc::FIRST_FRAG, 16, 1, &[1; 8], None));
        assert!(matches!(n, Next::Continue));
        let opnum = if ctx_opnum_differs { 2 } else { 1 };
        let call_id = if call_differs { 3 } else { 2 };
        let (n, out) = feed(&mut s, request_pdu(call_id, pfc::LAST_FRAG, 8, opnum, &[2; 8], None));
        if ctx_opnum_differs || call_differs {
            assert!(matches!(n, Next::Close(CloseReason::Protocol(_))), "{n:?}");
            assert_eq!(answer(&out), (PacketType::Fault, fault::NCA_S_PROTO_ERROR));
        } else {
            let Next::Call(c) = n else { panic!("{n:?}") };
            assert_eq!(c.stub, [[1u8; 8], [2; 8]].concat());
        }
    }
}

#[test]
fn call_id_of_an_executing_call_is_refused_until_answered() {
    let mut s = bound_open();
    let (n, _) = feed(&mut s, request_pdu(2, WHOLE, 8, 1, &[0; 8], None));
    let Next::Call(c) = n else { panic!("{n:?}") };
    let (n, out) = feed(&mut s, request_pdu(2, WHOLE, 8, 1, &[0; 8], None));
    assert!(matches!(n, Next::Close(CloseReason::Protocol(_))), "{n:?}");
    assert_eq!(answer(&out), (PacketType::Fault, fault::NCA_S_PROTO_ERROR));
    // once answered, the id may be used again
    let mut s = bound_open();
    let (n, _) = feed(&mut s, request_pdu(2, WHOLE, 8, 1, &[0; 8], None));
    let Next::Call(c2) = n else { panic!("{n:?}") };
    let mut out = Vec::new();
    s.encode_response(c2.call_id, c2.context_id, b"ok", &mut out);
    let (n, _) = feed(&mut s, request_pdu(2, WHOLE, 8, 1, &[0; 8], None));
    assert!(matches!(n, Next::Call(_)), "{n:?}");
    let _ = c;
}

#[test]
fn auth3_pad_outside_the_body_closes() {
    let (_, mut s, mut auth3) = ntlm_bind_to_auth3(auth_level::PKT_PRIVACY, SEALED);
    auth3[pdu::HEADER_LEN + 4 + 2] = 8; // auth_pad_length 8 with a 4-octet body
    let (n, out) = feed(&mut s, auth3);
    assert!(matches!(n, Next::Close(CloseReason::Protocol(_))), "{n:?}");
    assert!(out.is_empty(), "auth3 has no reply");
    assert!(s.principal().is_none());
}
