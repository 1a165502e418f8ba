//! Client and server state machines driven against each other in memory.

mod common;

use auth::AuthType;
use common::{initiator, OPEN, SEALED as IFACE};
use dcerpc::client::{ClientConnection, ClientError, ClientEvent};
use dcerpc::pdu::{self, auth_level, fault, SyntaxId};
use dcerpc::server::{Next, ServerConfig, ServerConnection};
use dcerpc::Associations;
use idl::Guid;

fn config() -> std::sync::Arc<ServerConfig> {
    common::config("clusapi", "epm", 1 << 20, "node0")
}

/// Splits a byte stream into fragments.
fn frames(mut b: Vec<u8>) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    while let Some(n) = pdu::frame_length(&b) {
        let rest = b.split_off(n);
        v.push(b);
        b = rest;
    }
    v
}

struct Pair {
    c: ClientConnection,
    s: ServerConnection,
    calls: Vec<dcerpc::Call>,
    closed: bool,
}

impl Pair {
    fn new(c: ClientConnection) -> Self {
        Pair { c, s: ServerConnection::new(config(), Associations::new()), calls: vec![], closed: false }
    }
    /// Delivers client bytes to the server; returns server bytes.
    fn deliver_to_server(&mut self, b: Vec<u8>) -> Vec<u8> {
        let mut out = Vec::new();
        for mut f in frames(b) {
            match self.s.handle_fragment(&mut f, &mut out) {
                Next::Call(c) => self.calls.push(c),
                Next::Close(_) => self.closed = true,
                _ => {}
            }
        }
        out
    }
    fn deliver_to_client(&mut self, b: Vec<u8>) -> (Vec<Result<ClientEvent, ClientError>>, Vec<u8>) {
        let mut out = Vec::new();
        let ev = frames(b).into_iter().map(|mut f| self.c.handle_fragment(&mut f, &mut out)).collect();
        (ev, out)
    }
    fn bind(&mut self, ctx: SyntaxId) -> Result<ClientEvent, ClientError> {
        let mut out = Vec::new();
        self.c.bind(&[(0, ctx)], 0, &mut out);
        let mut to_s = out;
        loop {
            let reply = self.deliver_to_server(to_s);
            let (mut ev, next) = self.deliver_to_client(reply);
            let last = ev.pop().expect("a reply");
            if !next.is_empty() {
                to_s = next;
                if matches!(last, Ok(ClientEvent::Bound { .. })) {
                    // auth3: no reply expected
                    let r = self.deliver_to_server(to_s);
                    assert!(r.is_empty());
                    return last;
                }
                continue;
            }
            return last;
        }
    }
    fn call(&mut self, stub: &[u8], reply: &[u8]) -> Result<ClientEvent, ClientError> {
        let mut out = Vec::new();
        self.c.request(0, 7, stub, &mut out);
        let r = self.deliver_to_server(out);
        if !r.is_empty() {
            return self.deliver_to_client(r).0.pop().unwrap();
        }
        let call = self.calls.pop().expect("a call");
        assert_eq!(call.stub, stub);
        assert_eq!(call.opnum, 7);
        let mut out = Vec::new();
        self.s.encode_response(call.call_id, call.context_id, reply, &mut out);
        for f in frames(out.clone()) {
            assert!(f.len() <= usize::from(self.c.max_frag()));
        }
        self.deliver_to_client(out).0.pop().unwrap()
    }
}

#[test]
fn sealed_calls_over_ntlm_and_spnego() {
    for kind in [AuthType::Ntlmssp, AuthType::Spnego] {
        let mut p = Pair::new(ClientConnection::authenticated(initiator(kind, "Passw0rd-1"), auth_level::PKT_PRIVACY));
        let ev = p.bind(SyntaxId::new(IFACE, 3, 0)).unwrap();
        assert!(matches!(ev, ClientEvent::Bound { .. }), "{kind:?}: {ev:?}");
        assert_eq!(p.s.principal().unwrap().user, "alice");
        assert!(p.s.header_signing());
        for size in [0usize, 1, 17, 5000, 20_000] {
            let stub: Vec<u8> = (0..size).map(|i| i as u8).collect();
            let reply: Vec<u8> = (0..size * 2).map(|i| (i * 7) as u8).collect();
            match p.call(&stub, &reply).unwrap() {
                ClientEvent::Response { stub, .. } => assert_eq!(stub, reply),
                other => panic!("{other:?}"),
            }
        }
    }
}

#[test]
fn wrong_password_is_refused_and_nothing_executes() {
    // raw NTLM: auth3 fails silently, the first request is faulted and the connection closed
    let mut p =
        Pair::new(ClientConnection::authenticated(initiator(AuthType::Ntlmssp, "wrong"), auth_level::PKT_PRIVACY));
    let _ = p.bind(SyntaxId::new(IFACE, 3, 0));
    let ev = p.call(b"x", b"y").unwrap();
    assert_eq!(ev, ClientEvent::Fault { call_id: 3, status: fault::ACCESS_DENIED });
    assert!(p.closed);
    // SPNEGO: the alter_context is answered with a fault
    let mut p =
        Pair::new(ClientConnection::authenticated(initiator(AuthType::Spnego, "wrong"), auth_level::PKT_PRIVACY));
    let ev = p.bind(SyntaxId::new(IFACE, 3, 0)).unwrap();
    assert!(matches!(ev, ClientEvent::Fault { status: fault::ACCESS_DENIED, .. }), "{ev:?}");
    assert!(p.closed);
    assert!(p.calls.is_empty());
}

#[test]
fn integrity_and_anonymous_are_refused_for_privacy_interfaces() {
    let mut p = Pair::new(ClientConnection::authenticated(
        initiator(AuthType::Ntlmssp, "Passw0rd-1"),
        auth_level::PKT_INTEGRITY,
    ));
    assert!(matches!(p.bind(SyntaxId::new(IFACE, 3, 0)).unwrap(), ClientEvent::Bound { .. }));
    assert!(matches!(p.call(b"x", b"y").unwrap(), ClientEvent::Fault { status: fault::ACCESS_DENIED, .. }));
    assert!(p.calls.is_empty());

    let mut p = Pair::new(ClientConnection::anonymous());
    assert!(matches!(p.bind(SyntaxId::new(IFACE, 3, 0)).unwrap(), ClientEvent::Bound { .. }));
    assert!(matches!(p.call(b"x", b"y").unwrap(), ClientEvent::Fault { status: fault::ACCESS_DENIED, .. }));
    assert!(p.closed);

    // the open interface works anonymously
    let mut p = Pair::new(ClientConnection::anonymous());
    assert!(matches!(p.bind(SyntaxId::new(OPEN, 3, 0)).unwrap(), ClientEvent::Bound { .. }));
    assert!(matches!(p.call(b"abc", b"def").unwrap(), ClientEvent::Response { .. }));
}

#[test]
fn unknown_interface_and_ndr64_are_rejected_per_context() {
    let mut p = Pair::new(ClientConnection::anonymous());
    match p.bind(SyntaxId::new(Guid::parse("12345678-1234-1234-1234-123456789abc"), 1, 0)).unwrap() {
        ClientEvent::Bound { results, .. } => {
            assert_eq!(results[0].result, pdu::result::PROVIDER_REJECTION);
            assert_eq!(results[0].reason, pdu::reason::ABSTRACT_SYNTAX_NOT_SUPPORTED);
        }
        other => panic!("{other:?}"),
    }
    // a request on the rejected context is faulted, the connection stays
    assert!(matches!(p.call(b"x", b"y").unwrap(), ClientEvent::Fault { status: fault::NCA_S_UNK_IF, .. }));
    assert!(!p.closed);
}

#[test]
fn garbage_never_panics() {
    let mut seed = 0x1234_5678_u64;
    for round in 0..2000 {
        let mut s = ServerConnection::new(config(), Associations::new());
        let mut out = Vec::new();
        let len = 16 + (round % 200);
        let mut b: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        b[0] = 5;
        b[1] = 0;
        b[2] = [0u8, 11, 14, 16, 18, 19][round % 6];
        b[4] = 0x10;
        b[8..10].copy_from_slice(&(len as u16).to_le_bytes());
        let _ = s.handle_fragment(&mut b, &mut out);
    }
}

#[test]
fn recycled_request_buffers_start_empty() {
    let mut p =
        Pair::new(ClientConnection::authenticated(initiator(AuthType::Ntlmssp, "Passw0rd-1"), auth_level::PKT_PRIVACY));
    assert!(matches!(p.bind(SyntaxId::new(IFACE, 3, 0)).unwrap(), ClientEvent::Bound { .. }));
    for size in [3000usize, 5, 0, 9000, 17, 40_000] {
        let stub: Vec<u8> = (0..size).map(|i| (i * 3) as u8).collect();
        let mut out = Vec::new();
        p.c.request(0, 7, &stub, &mut out);
        assert!(p.deliver_to_server(out).is_empty());
        let call = p.calls.pop().expect("a call");
        assert_eq!(call.stub, stub, "size {size}");
        let (call_id, context_id) = (call.call_id, call.context_id);
        // the driver hands the used buffer back; the next request must not see its bytes
        p.s.recycle(call.stub);
        let mut out = Vec::new();
        p.s.encode_response(call_id, context_id, b"ok", &mut out);
        let (mut ev, _) = p.deliver_to_client(out);
        assert!(matches!(ev.pop(), Some(Ok(ClientEvent::Response { .. }))));
    }
}
