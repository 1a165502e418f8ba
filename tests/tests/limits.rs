//! Every limit of `[limits]` (clusapid/src/config.rs) against a running `clusapid demo` started
//! with a small value (`--limit KEY=VALUE`): the refusal is the protocol's answer and a line in
//! the log, the place comes back when the holder lets go, and the daemon keeps serving.

use std::io::Read;
use std::net::Ipv4Addr;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use dcerpc::client::ClientError;
use dcerpc::pdu::{self, nak, SyntaxId};
use idl::clusapi::*;
use idl::witness::*;
use idl::{ByteOrder, ContextHandle, WString};
use tests::win::{ERROR_NOT_ENOUGH_MEMORY, ERROR_NO_SYSTEM_RESOURCES, RPC_S_SERVER_TOO_BUSY};
use tests::*;

const LE: ByteOrder = ByteOrder::Little;

/// Waits until the daemon's log has a line containing `needle`.
fn assert_logged(demo: &Demo, needle: &str) {
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        if demo.stderr().contains(needle) {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("no log line with {needle:?}:\n{}", demo.stderr());
}

fn bind_nak_reason(r: Result<Vec<pdu::ContextResult>, RpcError>) -> u16 {
    match r {
        Err(RpcError::Client(ClientError::BindNak(reason))) => reason,
        other => panic!("expected a bind_nak, got {other:?}"),
    }
}

/// A demo started with `--limit NAME=2`, the two places taken by a clusapi and an endpoint mapper
/// connection: asserts a third connection's bind is refused (bind_nak LOCAL_LIMIT_EXCEEDED) and
/// `logged` is in the log; returns the demo and the two connections.
fn two_taken_third_refused(limit: &str, logged: &str) -> (Demo, RpcClient, RpcClient) {
    let demo = Demo::start(&["--limit", &format!("{limit}=2")]);
    let a = RpcClient::clusapi(demo.port);
    let b = RpcClient::epm(demo.epm_port);
    let mut c = RpcClient::connect(demo.port, Auth::alice());
    assert_eq!(bind_nak_reason(c.bind(clusapi_syntax(), 0)), nak::LOCAL_LIMIT_EXCEEDED, "{limit}");
    assert_logged(&demo, logged);
    (demo, a, b)
}

#[test]
fn connections_per_client() {
    let (mut demo, a, b) = two_taken_third_refused("connections_per_client", "too many connections from this client");
    a.close();
    // the place comes back once the server has seen the close
    let end = Instant::now() + Duration::from_secs(5);
    let mut again = loop {
        let mut c = RpcClient::connect(demo.port, Auth::alice());
        match c.bind(clusapi_syntax(), 0) {
            Ok(_) => break c,
            Err(_) if Instant::now() < end => thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("no place after a close: {e:?}"),
        }
    };
    let stub = again.call(ApiGetClusterNameRequest::OPNUM, &ApiGetClusterNameRequest {}.to_stub()).unwrap();
    assert_eq!(ApiGetClusterNameResponse::decode_stub(&stub, LE).unwrap().result.0, 0);
    b.close();
    demo.assert_alive();
}

#[test]
fn associations() {
    let (mut demo, a, _b) = two_taken_third_refused("associations", "Association limit reached");
    // joining an existing association group is no new association
    let mut d = RpcClient::connect(demo.port, Auth::alice());
    let r = d.bind(clusapi_syntax(), a.assoc_group_id).expect("joining a live group");
    assert_eq!(r[0].result, pdu::result::ACCEPTANCE);
    demo.assert_alive();
}

fn open_cluster(c: &mut RpcClient) -> ApiOpenClusterResponse {
    let stub = c.call(ApiOpenClusterRequest::OPNUM, &ApiOpenClusterRequest {}.to_stub()).unwrap();
    ApiOpenClusterResponse::decode_stub(&stub, LE).unwrap()
}

#[test]
fn handles_per_association() {
    let mut demo = Demo::start(&["--limit", "handles_per_association=3"]);
    let mut c = RpcClient::clusapi(demo.port);
    let handles: Vec<ContextHandle> = (0..3)
        .map(|_| {
            let r = open_cluster(&mut c);
            assert_eq!(r.status.0, 0);
            r.cluster
        })
        .collect();
    let r = open_cluster(&mut c);
    assert_eq!((r.status.0, r.cluster), (ERROR_NOT_ENOUGH_MEMORY, ContextHandle::NULL));
    assert_logged(&demo, "Handle limit of an association reached");
    let stub =
        c.call(ApiCloseClusterRequest::OPNUM, &ApiCloseClusterRequest { cluster: handles[0] }.to_stub()).unwrap();
    assert_eq!(ApiCloseClusterResponse::decode_stub(&stub, LE).unwrap().result.0, 0);
    assert_eq!(open_cluster(&mut c).status.0, 0);
    // another association has its own handles
    let mut other = RpcClient::clusapi(demo.port);
    assert_eq!(open_cluster(&mut other).status.0, 0);
    demo.assert_alive();
}

fn notify_v2_port(c: &mut RpcClient) -> ContextHandle {
    let stub = c.call(ApiCreateNotifyV2Request::OPNUM, &ApiCreateNotifyV2Request {}.to_stub()).unwrap();
    let created = ApiCreateNotifyV2Response::decode_stub(&stub, LE).unwrap();
    assert_eq!(created.rpc_error.0, 0);
    created.notify
}

#[test]
fn pending_calls_per_association() {
    let mut demo = Demo::start(&["--limit", "pending_calls_per_association=1"]);
    let mut a = RpcClient::clusapi(demo.port);
    let port = notify_v2_port(&mut a);
    let assoc = a.assoc_group_id;
    // the first wait of the association blocks (nothing happens)
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let r = a.try_call(ApiGetNotifyV2Request::OPNUM, &ApiGetNotifyV2Request { notify: port }.to_stub());
        let _ = tx.send((a, r.map(|s| ApiGetNotifyV2Response::decode_stub(&s, LE).unwrap().result.0)));
    });
    thread::sleep(Duration::from_millis(300));
    assert!(rx.try_recv().is_err(), "ApiGetNotifyV2 completed before anything happened");
    // a second wait in the same association, from another connection, is refused at once
    let mut b = RpcClient::connect(demo.port, Auth::alice());
    b.bind(clusapi_syntax(), assoc).expect("joining the association");
    let r = b.try_call(ApiGetNotifyV2Request::OPNUM, &ApiGetNotifyV2Request { notify: port }.to_stub());
    assert!(matches!(r, Err(RpcError::Fault(RPC_S_SERVER_TOO_BUSY))), "{r:?}");
    assert_logged(&demo, "too many waiting calls in this association");
    // the refused connection still serves; unblocking ends the first wait and frees its place
    let stub = b
        .call(ApiUnblockGetNotifyCallRequest::OPNUM, &ApiUnblockGetNotifyCallRequest { notify: port }.to_stub())
        .unwrap();
    assert_eq!(ApiUnblockGetNotifyCallResponse::decode_stub(&stub, LE).unwrap().result.0, 0);
    let (_a, r) = rx.recv_timeout(Duration::from_secs(10)).expect("the first wait ended");
    assert!(r.is_ok(), "{r:?}");
    // another association has its own allowance
    let mut c = RpcClient::clusapi(demo.port);
    let port_c = notify_v2_port(&mut c);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let r = c.try_call(ApiGetNotifyV2Request::OPNUM, &ApiGetNotifyV2Request { notify: port_c }.to_stub());
        let _ = tx.send(r.is_ok());
    });
    thread::sleep(Duration::from_millis(300));
    assert!(rx.try_recv().is_err(), "a wait in another association is not refused");
    demo.assert_alive();
}

fn witness_client(port: u16) -> RpcClient {
    let mut c = RpcClient::connect(
        port,
        Auth::Spnego { user: ALICE_USER, password: ALICE_PASSWORD, level: pdu::auth_level::PKT_PRIVACY },
    );
    let syntax = SyntaxId::new(Witness::UUID, Witness::VERSION_MAJOR, Witness::VERSION_MINOR);
    assert_eq!(c.bind(syntax, 0).unwrap()[0].result, pdu::result::ACCEPTANCE);
    c
}

fn register(c: &mut RpcClient, ip: &str) -> WitnessrRegisterResponse {
    let req = WitnessrRegisterRequest {
        version: WITNESS_V1,
        net_name: Some(WString::new("CTDB-CLUSTER")),
        ip_address: Some(WString::new(ip)),
        client_computer_name: Some(WString::new("TESTCLIENT")),
    };
    let out = c.call(WitnessrRegisterRequest::OPNUM, &req.to_stub()).unwrap();
    WitnessrRegisterResponse::decode_stub(&out, LE).unwrap()
}

#[test]
fn witness_registrations_per_client() {
    let mut demo = Demo::start(&["--limit", "witness_registrations_per_client=2"]);
    let mut w = witness_client(demo.port);
    let out = w.call(WitnessrGetInterfaceListRequest::OPNUM, &WitnessrGetInterfaceListRequest {}.to_stub()).unwrap();
    let list = WitnessrGetInterfaceListResponse::decode_stub(&out, LE).unwrap();
    let ip: Ipv4Addr = list.interface_list.unwrap().interface_info.unwrap().0[0].ipv4_addr();
    let ip = ip.to_string();
    let first = register(&mut w, &ip);
    assert_eq!(first.result.0, 0);
    // the limit is per client address, across connections and associations
    let mut w2 = witness_client(demo.port);
    assert_eq!(register(&mut w2, &ip).result.0, 0);
    let refused = register(&mut w2, &ip);
    assert_eq!((refused.result.0, refused.context), (ERROR_NO_SYSTEM_RESOURCES, ContextHandle::NULL));
    assert_logged(&demo, "Witness registration refused: client limit");
    let out = w
        .call(WitnessrUnRegisterRequest::OPNUM, &WitnessrUnRegisterRequest { context: first.context }.to_stub())
        .unwrap();
    assert_eq!(WitnessrUnRegisterResponse::decode_stub(&out, LE).unwrap().result.0, 0);
    assert_eq!(register(&mut w2, &ip).result.0, 0, "an unregistration gives the place back");
    // a closed association gives its registrations' places back
    w.close();
    w2.close();
    let end = Instant::now() + Duration::from_secs(5);
    let mut w3 = witness_client(demo.port);
    loop {
        let r = register(&mut w3, &ip);
        if r.result.0 == 0 {
            break;
        }
        assert!(Instant::now() < end, "places not given back after the associations closed");
        thread::sleep(Duration::from_millis(50));
    }
    demo.assert_alive();
}

#[test]
fn unauthenticated_idle_connections_are_closed() {
    let mut demo = Demo::start(&["--limit", "unauthenticated_idle_secs=1"]);
    let mut epm = RpcClient::epm(demo.epm_port);
    let mut authed = RpcClient::clusapi(demo.port);
    let started = Instant::now();
    let mut buf = [0u8; 16];
    epm.stream().set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let n = epm.stream().read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the server closes the idle unauthenticated connection");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5), "{waited:?}");
    assert_logged(&demo, "Unauthenticated connection idle: closed");
    // an authenticated connection idles longer and still answers
    thread::sleep(Duration::from_millis(500));
    let stub = authed.call(ApiGetClusterNameRequest::OPNUM, &ApiGetClusterNameRequest {}.to_stub()).unwrap();
    assert_eq!(ApiGetClusterNameResponse::decode_stub(&stub, LE).unwrap().result.0, 0);
    demo.assert_alive();
}
