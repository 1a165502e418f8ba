//! The foundation: binding, authentication and its refusals, the endpoint mapper, opnum
//! dispatch, access evaluation of ApiOpenClusterEx, context-handle lifetime and response
//! fragmentation, each against its own `clusapid demo` on free loopback ports.

use std::io::Write;
use std::net::Shutdown;
use std::time::{Duration, Instant};

use dcerpc::pdu::{self, auth_level, fault};
use idl::clusapi::*;
use idl::epm::{EptMapResponse, Tower, EPT_S_NOT_REGISTERED};
use idl::{ByteOrder, ContextHandle, Guid, WString};
use tests::win::{
    ERROR_ACCESS_DENIED, ERROR_CALL_NOT_IMPLEMENTED, ERROR_INVALID_HANDLE, ERROR_INVALID_PARAMETER, GENERIC_ALL,
    GENERIC_READ, MAXIMUM_ALLOWED,
};
use tests::*;

const LE: ByteOrder = ByteOrder::Little;

const CLUSAPI_CHANGE_ACCESS: u32 = 0x0000_0002;
/// Every CLUSTER_ENUM_* bit [MS-CMRP] defines for ApiCreateEnum.
const CLUSTER_ENUM_ALL: u32 = 0x0000_003f | 0x4000_0000 | 0x8000_0000;

/// ApiGetClusterName over `c`; returns (cluster name, node name).
fn get_cluster_name(c: &mut RpcClient) -> (String, String) {
    let stub = c
        .call(ApiGetClusterNameRequest::OPNUM, &ApiGetClusterNameRequest {}.to_stub())
        .expect("ApiGetClusterName faulted");
    let r = ApiGetClusterNameResponse::decode_stub(&stub, LE).expect("decoding ApiGetClusterName");
    assert_eq!(r.result.0, 0, "ApiGetClusterName status");
    (r.cluster_name.expect("cluster name").0, r.node_name.expect("node name").0)
}

/// Proves the daemon still serves: alive, and a fresh sealed connection gets the cluster name.
fn assert_serves(demo: &mut Demo) {
    demo.assert_alive();
    let mut c = RpcClient::clusapi(demo.port);
    assert_eq!(get_cluster_name(&mut c).0, CLUSTER_NAME);
    c.close();
}

fn open_cluster_ex(c: &mut RpcClient, desired: u32) -> ApiOpenClusterExResponse {
    let stub = c
        .call(ApiOpenClusterExRequest::OPNUM, &ApiOpenClusterExRequest { desired_access: desired }.to_stub())
        .expect("ApiOpenClusterEx faulted");
    ApiOpenClusterExResponse::decode_stub(&stub, LE).expect("decoding ApiOpenClusterEx")
}

fn close_cluster(c: &mut RpcClient, h: ContextHandle) -> ApiCloseClusterResponse {
    let stub = c
        .call(ApiCloseClusterRequest::OPNUM, &ApiCloseClusterRequest { cluster: h }.to_stub())
        .expect("ApiCloseCluster faulted");
    ApiCloseClusterResponse::decode_stub(&stub, LE).expect("decoding ApiCloseCluster")
}

/// Lines of the daemon log about closed connections that authenticated with `auth`
/// (e.g. `type=10 level=6`).
fn closed_connections_with(demo: &Demo, auth: &str) -> usize {
    demo.stderr().lines().filter(|l| l.contains("Connection closed") && l.contains(auth)).count()
}

// ---------------------------------------------------------------------------------------------
// smbtorture, rpcclient
// ---------------------------------------------------------------------------------------------

/// A demo for a test that runs `tool`, or `None` when it is missing (see [`require_tool`]).
fn demo_for(tool: &str) -> Option<Demo> {
    require_tool(tool).then(|| Demo::start(&[]))
}

#[test]
fn smbtorture_basic_calls_over_spnego_ntlm_and_big_endian() {
    let Some(mut demo) = demo_for("smbtorture") else { return };
    let r = smbtorture(&demo.binding("seal"), ALICE, &["rpc.clusapi.cluster.OpenCluster"], &[]);
    r.assert_success("cluster.OpenCluster");
    assert!(closed_connections_with(&demo, "type=9 level=6") > 0, "[seal] should have used SPNEGO at privacy");

    let before = closed_connections_with(&demo, "type=10 level=6");
    let r = smbtorture(&demo.binding("seal,ntlm"), ALICE, &["rpc.clusapi.cluster.OpenClusterEx"], &[]);
    r.assert_success("cluster.OpenClusterEx");
    assert!(
        closed_connections_with(&demo, "type=10 level=6") > before,
        "[seal,ntlm] should have used raw NTLMSSP (auth type 10)"
    );

    let r = smbtorture(&demo.binding("seal"), ALICE, &["rpc.clusapi.cluster.GetClusterVersion2"], &[]);
    r.assert_success("cluster.GetClusterVersion2");

    let r = smbtorture(&demo.binding("seal,bigendian"), ALICE, &["rpc.clusapi.cluster.GetClusterVersion"], &[]);
    r.assert_success("cluster.GetClusterVersion");
    demo.assert_alive();
}

/// For a test that runs `$tool` through the endpoint mapper on port 135: the port's lock and a
/// demo whose mapper is there (the demo stops before the lock is released), or a return from the
/// test when the tool is missing (see [`require_tool`]) or the port cannot be had (see
/// [`skip_or_fail!`]).
macro_rules! demo_on_135 {
    ($tool:literal) => {{
        if !require_tool($tool) {
            return;
        }
        let guard = port135_lock();
        match Demo::start_with_epm_135(&[]) {
            Ok(d) => (guard, d),
            Err(why) => skip_or_fail!("{why}"),
        }
    }};
}

/// Number of endpoint-mapper calls in the daemon's log.
fn ept_map_calls(demo: &Demo) -> usize {
    demo.stderr().lines().filter(|l| l.contains("interface=\"epmapper\"") && l.contains("EptMap")).count()
}

#[test]
fn smbtorture_through_the_endpoint_mapper_on_port_135() {
    // `ncacn_ip_tcp:127.0.0.1[seal]` (no port) makes smbtorture ask the mapper on port 135
    let (_guard, mut demo) = demo_on_135!("smbtorture");
    assert_eq!(demo.epm_port, 135);
    let r = smbtorture("ncacn_ip_tcp:127.0.0.1[seal]", ALICE, &["rpc.clusapi.cluster.GetClusterName"], &[]);
    r.assert_success("cluster.GetClusterName");
    assert!(ept_map_calls(&demo) > 0, "smbtorture did not go through our endpoint mapper:\n{}", demo.stderr());
    demo.assert_alive();
}

#[test]
fn rpcclient_name_version_and_enum() {
    let (_guard, mut demo) = demo_on_135!("rpcclient");
    let out = rpcclient(
        &demo.binding("seal"),
        ALICE,
        "clusapi_get_cluster_name; clusapi_get_cluster_version2; clusapi_create_enum",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(text.contains("NodeName: CTDB_NODE_0"), "{}", output_text(&out));
    assert!(text.contains(&format!("ClusterName: {CLUSTER_NAME}")), "{}", output_text(&out));
    assert!(!text.lines().any(|l| l.contains("WERR_") && !l.contains("WERR_OK")), "{}", output_text(&out));
    assert!(ept_map_calls(&demo) > 0, "rpcclient did not go through our endpoint mapper");
    let log = demo.stderr();
    for op in ["ApiGetClusterName", "ApiGetClusterVersion2", "ApiCreateEnum"] {
        assert!(log.contains(&format!("opnum=\"{op}\" status=\"0\"")), "{op} not answered with status 0:\n{log}");
    }
    demo.assert_alive();
}

#[test]
fn rpcclient_with_a_wrong_password_fails() {
    let (_guard, mut demo) = demo_on_135!("rpcclient");
    for user in ["alice%wrong-password", "mallory%Passw0rd-1"] {
        for opts in ["seal", "seal,ntlm"] {
            let out = rpcclient(&demo.binding(opts), user, "clusapi_get_cluster_name");
            assert!(!out.status.success(), "rpcclient {user} [{opts}] succeeded:\n{}", output_text(&out));
            assert!(!String::from_utf8_lossy(&out.stdout).contains("ClusterName:"), "{}", output_text(&out));
        }
    }
    let out = rpcclient(&demo.binding("seal"), ALICE, "clusapi_get_cluster_name");
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ClusterName: CTDB-CLUSTER"), "{}", output_text(&out));
    assert_serves(&mut demo);
}

// ---------------------------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_password_is_refused_and_the_server_keeps_serving() {
    let Some(mut demo) = demo_for("smbtorture") else { return };
    for (opts, user) in
        [("seal", "alice%wrong-password"), ("seal,ntlm", "alice%wrong-password"), ("seal", "mallory%Passw0rd-1")]
    {
        let r = smbtorture(&demo.binding(opts), user, &["rpc.clusapi.cluster.OpenCluster"], &[]);
        r.assert_refused("cluster.OpenCluster", &["NT_STATUS_LOGON_FAILURE", "NT_STATUS_ACCESS_DENIED"]);
    }
    let r = smbtorture(&demo.binding("seal"), ALICE, &["rpc.clusapi.cluster.OpenCluster"], &[]);
    r.assert_success("cluster.OpenCluster");

    assert_serves(&mut demo);
}

#[test]
fn integrity_only_and_anonymous_are_refused_by_smbtorture() {
    let Some(mut demo) = demo_for("smbtorture") else { return };
    for (opts, user) in [("sign", ALICE), ("seal", ""), ("", "")] {
        let r = smbtorture(&demo.binding(opts), user, &["rpc.clusapi.cluster.OpenCluster"], &[]);
        r.assert_refused("cluster.OpenCluster", &["NT_STATUS_ACCESS_DENIED"]);
    }
    let r = smbtorture(&demo.binding("seal"), ALICE, &["rpc.clusapi.cluster.GetClusterName"], &[]);
    r.assert_success("cluster.GetClusterName");
    assert_serves(&mut demo);
}

#[test]
fn integrity_level_and_unauthenticated_binds_get_access_denied_faults() {
    let mut demo = Demo::start(&[]);
    for auth in [
        Auth::Ntlm { user: ALICE_USER, password: ALICE_PASSWORD, level: auth_level::PKT_INTEGRITY },
        Auth::Spnego { user: ALICE_USER, password: ALICE_PASSWORD, level: auth_level::PKT_INTEGRITY },
        Auth::Spnego { user: ALICE_USER, password: ALICE_PASSWORD, level: auth_level::CONNECT },
        Auth::None,
    ] {
        let mut c = RpcClient::connect(demo.port, auth);
        let r = c.bind(clusapi_syntax(), 0).unwrap_or_else(|e| panic!("{auth:?}: bind {e:?}"));
        assert_eq!(r[0].result, pdu::result::ACCEPTANCE, "{auth:?}");
        let res = c.call(ApiGetClusterNameRequest::OPNUM, &ApiGetClusterNameRequest {}.to_stub());
        assert_eq!(res.map(|s| s.len()), Err(fault::ACCESS_DENIED), "{auth:?}: ApiGetClusterName must fault with 5");
    }
    // the same account at privacy, over both auth types
    for auth in
        [Auth::Ntlm { user: ALICE_USER, password: ALICE_PASSWORD, level: auth_level::PKT_PRIVACY }, Auth::alice()]
    {
        let mut c = RpcClient::clusapi_as(demo.port, auth);
        assert_eq!(get_cluster_name(&mut c), (CLUSTER_NAME.to_string(), "CTDB_NODE_0".to_string()), "{auth:?}");
    }
    assert_serves(&mut demo);
}

#[test]
fn wrong_password_with_the_rust_client() {
    let mut demo = Demo::start(&[]);
    // SPNEGO: refused during the bind (alter_context answered with a fault) or at the first call
    let mut c = RpcClient::connect(
        demo.port,
        Auth::Spnego { user: ALICE_USER, password: "nope", level: auth_level::PKT_PRIVACY },
    );
    match c.bind(clusapi_syntax(), 0) {
        Err(RpcError::Fault(f)) => assert_eq!(f, fault::ACCESS_DENIED),
        Err(RpcError::Closed) => {}
        Ok(_) => match c.try_call(3, &[]) {
            Err(RpcError::Fault(5)) | Err(RpcError::Closed) => {}
            other => panic!("SPNEGO wrong password: call answered {other:?}"),
        },
        Err(e) => panic!("SPNEGO wrong password: {e:?}"),
    }
    // raw NTLM: auth3 has no answer, so the first request is refused
    let mut c = RpcClient::connect(
        demo.port,
        Auth::Ntlm { user: ALICE_USER, password: "nope", level: auth_level::PKT_PRIVACY },
    );
    if c.bind(clusapi_syntax(), 0).is_ok() {
        match c.try_call(ApiGetClusterNameRequest::OPNUM, &[]) {
            Err(RpcError::Fault(5)) | Err(RpcError::Closed) => {}
            other => panic!("NTLM wrong password: call answered {other:?}"),
        }
    }
    assert_serves(&mut demo);
}

/// Sends `bytes`, optionally half-closes, and requires the server to answer with nothing but
/// bind_naks and then close the connection within the read timeout.
fn expect_nak_or_close(port: u16, bytes: &[u8], half_close: bool, what: &str) -> Vec<Vec<u8>> {
    let mut s = tcp_connect(port);
    s.write_all(bytes).unwrap_or_else(|e| panic!("{what}: write {e}"));
    if half_close {
        s.shutdown(Shutdown::Write).expect("half close");
    }
    let pdus =
        read_until_close(&mut s).unwrap_or_else(|e| panic!("{what}: the server neither answered nor closed: {e:?}"));
    for p in &pdus {
        assert_eq!(p.get(2), Some(&(pdu::PacketType::BindNak as u8)), "{what}: unexpected PDU {p:02x?}");
    }
    pdus
}

#[test]
fn garbage_truncated_and_wrong_version_pdus_never_kill_the_server() {
    let mut demo = Demo::start(&[]);
    for port in [demo.port, demo.epm_port] {
        // not DCE/RPC at all, but with a frame length the transport can act on
        let mut junk = vec![0xa5u8; 64];
        junk[4] = 0x10;
        junk[8..10].copy_from_slice(&64u16.to_le_bytes());
        expect_nak_or_close(port, &junk, false, "junk");
        // a fragment length below the header size
        let mut tiny = vec![5u8, 0, 11, 3, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
        expect_nak_or_close(port, &tiny, false, "frag_length 0");
        tiny[8] = 15;
        expect_nak_or_close(port, &tiny, false, "frag_length 15");
        // random bytes, then end of stream
        let noise: Vec<u8> = (0..300).map(|_| rand::random::<u8>()).collect();
        expect_nak_or_close(port, &noise, true, "random bytes");
        // a real bind cut short, then end of stream
        let mut bind = Vec::new();
        dcerpc::client::ClientConnection::anonymous().bind(&[(0, clusapi_syntax())], 0, &mut bind);
        expect_nak_or_close(port, &bind[..30], true, "truncated bind");
        // a bind with rpc_vers 4
        let mut v4 = bind.clone();
        v4[0] = 4;
        let naks = expect_nak_or_close(port, &v4, false, "rpc_vers 4 bind");
        if let Some(n) = naks.first() {
            assert_eq!(
                u16::from_le_bytes([n[16], n[17]]),
                pdu::nak::PROTOCOL_VERSION_NOT_SUPPORTED,
                "bind_nak reason for rpc_vers 4"
            );
        }
        // a request before any bind
        let mut req = Vec::new();
        dcerpc::client::ClientConnection::anonymous().request(0, 3, &[], &mut req);
        let mut s = tcp_connect(port);
        s.write_all(&req).expect("write");
        s.shutdown(Shutdown::Write).expect("half close");
        let pdus = read_until_close(&mut s).expect("request before bind: no close");
        for p in &pdus {
            assert!(
                p[2] == pdu::PacketType::Fault as u8 || p[2] == pdu::PacketType::BindNak as u8,
                "request before bind answered with {p:02x?}"
            );
        }
        demo.assert_alive();
    }
    assert_serves(&mut demo);
}

// ---------------------------------------------------------------------------------------------
// Opnums
// ---------------------------------------------------------------------------------------------

#[test]
fn out_of_range_unimplemented_and_malformed_requests() {
    let mut demo = Demo::start(&[]);
    let mut c = RpcClient::clusapi(demo.port);
    // 80 is "not used on the wire"; 400 is past the end of the interface
    for opnum in [80u16, 111, 140, 185, 186, 400, u16::MAX] {
        assert_eq!(c.call(opnum, &[]).map(|s| s.len()), Err(fault::NCA_S_OP_RNG_ERROR), "opnum {opnum}");
    }
    // the connection survives a fault
    assert_eq!(get_cluster_name(&mut c).0, CLUSTER_NAME);

    // declared, not implemented: a normal response with status 120
    let req = ApiBackupClusterDatabaseRequest { path_name: WString::new("C:\\backup") };
    let stub =
        c.call(ApiBackupClusterDatabaseRequest::OPNUM, &req.to_stub()).expect("ApiBackupClusterDatabase faulted");
    let r = ApiBackupClusterDatabaseResponse::decode_stub(&stub, LE).expect("decoding ApiBackupClusterDatabase");
    assert_eq!(r.result.0, ERROR_CALL_NOT_IMPLEMENTED);
    assert_eq!(stub.len(), 8, "rpc_status and result");

    // truncated stubs: nca_s_fault_ndr
    let full = ApiOpenClusterExRequest { desired_access: MAXIMUM_ALLOWED }.to_stub();
    assert_eq!(c.call(ApiOpenClusterExRequest::OPNUM, &full[..2]).map(|s| s.len()), Err(fault::NCA_S_FAULT_NDR));
    let full = req.to_stub();
    assert_eq!(
        c.call(ApiBackupClusterDatabaseRequest::OPNUM, &full[..full.len() - 6]).map(|s| s.len()),
        Err(fault::NCA_S_FAULT_NDR)
    );
    assert_eq!(c.call(ApiCreateEnumRequest::OPNUM, &[]).map(|s| s.len()), Err(fault::NCA_S_FAULT_NDR));
    // still usable
    assert_eq!(get_cluster_name(&mut c).1, "CTDB_NODE_0");
    assert_serves(&mut demo);
}

// ---------------------------------------------------------------------------------------------
// Access
// ---------------------------------------------------------------------------------------------

#[test]
fn open_cluster_ex_access_evaluation() {
    let mut demo = Demo::start(&["--read-only-user", BOB]);
    let mut alice = RpcClient::clusapi(demo.port);
    let mut bob = RpcClient::clusapi_as(
        demo.port,
        Auth::Spnego { user: BOB_USER, password: BOB_PASSWORD, level: auth_level::PKT_PRIVACY },
    );

    let r = open_cluster_ex(&mut alice, MAXIMUM_ALLOWED);
    assert_eq!((r.status.0, r.granted_access), (0, GENERIC_ALL), "alice MAXIMUM_ALLOWED");
    assert!(!r.cluster.is_null());
    assert_eq!(close_cluster(&mut alice, r.cluster).result.0, 0);

    let r = open_cluster_ex(&mut bob, MAXIMUM_ALLOWED);
    assert_eq!((r.status.0, r.granted_access), (0, GENERIC_READ), "bob MAXIMUM_ALLOWED");
    assert!(!r.cluster.is_null());
    assert_eq!(close_cluster(&mut bob, r.cluster).result.0, 0);

    let r = open_cluster_ex(&mut bob, GENERIC_ALL);
    assert_eq!(r.status.0, ERROR_ACCESS_DENIED, "bob GENERIC_ALL");
    assert!(r.cluster.is_null(), "a refused open returns a null handle: {:?}", r.cluster);

    let r = open_cluster_ex(&mut alice, CLUSAPI_CHANGE_ACCESS);
    assert_eq!(r.status.0, ERROR_INVALID_PARAMETER, "CLUSAPI_CHANGE_ACCESS alone");
    assert!(r.cluster.is_null());

    let r = open_cluster_ex(&mut alice, GENERIC_ALL);
    assert_eq!((r.status.0, r.granted_access), (0, GENERIC_ALL), "alice GENERIC_ALL");
    assert_eq!(close_cluster(&mut alice, r.cluster).result.0, 0);
    assert_serves(&mut demo);
}

#[test]
fn handles_die_with_their_association() {
    let mut demo = Demo::start(&[]);
    let mut a = RpcClient::clusapi(demo.port);
    let group = a.assoc_group_id;
    assert_ne!(group, 0);
    let h1 = open_cluster_ex(&mut a, MAXIMUM_ALLOWED).cluster;
    let h2 = open_cluster_ex(&mut a, MAXIMUM_ALLOWED).cluster;
    assert!(!h1.is_null() && !h2.is_null() && h1 != h2);

    // another connection that joins the association shares its handles
    let mut b = RpcClient::connect(demo.port, Auth::alice());
    b.bind(clusapi_syntax(), group).expect("joining the association group");
    assert_eq!(b.assoc_group_id, group);
    assert_eq!(close_cluster(&mut b, h1).result.0, 0, "h1 through a second connection of the same association");
    assert_eq!(close_cluster(&mut b, h1).result.0, ERROR_INVALID_HANDLE, "h1 closed twice");

    // a connection of another association does not see them
    let mut other = RpcClient::clusapi(demo.port);
    assert_ne!(other.assoc_group_id, group);
    assert_eq!(close_cluster(&mut other, h2).result.0, ERROR_INVALID_HANDLE, "h2 from another association");

    // end the association: the group disappears (joining it is refused) ...
    a.close();
    b.close();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut c = RpcClient::connect(demo.port, Auth::alice());
        match c.bind(clusapi_syntax(), group) {
            Err(RpcError::Client(dcerpc::client::ClientError::BindNak(_))) | Err(RpcError::Closed) => break,
            Ok(_) => {
                // the server has not noticed the close yet; let go and retry
                c.close();
                assert!(
                    Instant::now() < deadline,
                    "association group {group:#x} still joinable 10 s after its connections closed"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("joining a dead association: {e:?}"),
        }
    }
    // ... and its handle is invalid everywhere
    let mut d = RpcClient::clusapi(demo.port);
    let r = close_cluster(&mut d, h2);
    assert_eq!(r.result.0, ERROR_INVALID_HANDLE, "h2 after its association ended");
    // while handles of the live association still work
    let h3 = open_cluster_ex(&mut d, MAXIMUM_ALLOWED).cluster;
    assert_eq!(close_cluster(&mut d, h3).result.0, 0);
    assert_serves(&mut demo);
}

// ---------------------------------------------------------------------------------------------
// Endpoint mapper, fragmentation
// ---------------------------------------------------------------------------------------------

fn ept_map(c: &mut RpcClient, iface: Guid, major: u16) -> EptMapResponse {
    tests::ept_map(c, iface, major, 0)
}

#[test]
fn endpoint_mapper_maps_clusapi_only() {
    let mut demo = Demo::start(&[]);
    let mut c = RpcClient::epm(demo.epm_port);
    let r = ept_map(&mut c, Clusapi::UUID, 3);
    assert_eq!(r.status.0, 0);
    assert_eq!(r.num_towers, 1);
    assert_eq!(r.towers.towers.len(), 1);
    let tw = Tower::parse(&r.towers.towers[0].as_ref().expect("non-null tower").0).expect("parsing the tower");
    assert!(tw.is_ncacn_ip_tcp(), "{tw:?}");
    assert_eq!(tw.interface(), Some((Clusapi::UUID, 3, 0)));
    assert_eq!(tw.transfer(), Some((idl::NDR20_UUID, 2)));
    assert_eq!(u16::from_be_bytes([tw.floors[3].rhs[0], tw.floors[3].rhs[1]]), demo.port, "the tower's TCP port");
    assert_eq!(tw.floors[4].rhs, vec![127, 0, 0, 1]);

    // an interface nobody registered (lsarpc)
    let r = ept_map(&mut c, Guid::parse("12345778-1234-abcd-ef00-0123456789ab"), 0);
    assert_eq!((r.num_towers, r.status.0), (0, EPT_S_NOT_REGISTERED));
    assert!(r.towers.towers.is_empty());
    // clusapi with another major version
    let r = ept_map(&mut c, Clusapi::UUID, 2);
    assert_eq!((r.num_towers, r.status.0), (0, EPT_S_NOT_REGISTERED));

    // the mapper does not serve clusapi itself
    let mut wrong = RpcClient::connect(demo.epm_port, Auth::None);
    let res = wrong.bind(clusapi_syntax(), 0).expect("bind");
    assert_eq!(res[0].result, pdu::result::PROVIDER_REJECTION);
    demo.assert_alive();
}

#[test]
fn large_create_enum_response_is_fragmented_and_decodes() {
    let mut demo = Demo::start(&["--nodes", "40"]);
    let mut c = RpcClient::clusapi(demo.port);
    let stub = c
        .call(ApiCreateEnumRequest::OPNUM, &ApiCreateEnumRequest { enum_type: CLUSTER_ENUM_ALL }.to_stub())
        .expect("ApiCreateEnum faulted");
    assert!(
        stub.len() > usize::from(pdu::MAX_FRAG),
        "stub of {} bytes fits one fragment; the test needs more nodes",
        stub.len()
    );
    let r = ApiCreateEnumResponse::decode_stub(&stub, LE).expect("decoding a reassembled ApiCreateEnum");
    assert_eq!((r.result.0, r.rpc_status), (0, 0));
    let entries = r.return_enum.expect("ENUM_LIST").entries;
    let nodes: Vec<String> =
        entries.iter().filter(|e| e.entry_type == 1).map(|e| e.name.as_ref().expect("name").0.clone()).collect();
    assert_eq!(nodes.len(), 40);
    for i in 0..40 {
        assert!(nodes.contains(&format!("CTDB_NODE_{i}")), "CTDB_NODE_{i} missing from {nodes:?}");
    }
    assert!(entries.iter().any(|e| e.entry_type == 0x20), "no net interfaces in the enumeration");
    // and the next call on the same connection is fine
    assert_eq!(get_cluster_name(&mut c).0, CLUSTER_NAME);
    demo.assert_alive();
}
