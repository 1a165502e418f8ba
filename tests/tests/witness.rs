//! The SMB Witness server (MS-SWN) of a running `clusapid demo`: smbtorture's `rpc.witness`
//! tests that can pass without an SMB server, the endpoint mapper entry, the packet-integrity
//! floor (calls below it fault with access denied), and a pending WitnessrAsyncNotify completed by a node pause made over clusapi.

use std::net::Ipv4Addr;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use dcerpc::pdu::{self, SyntaxId};
use idl::clusapi::*;
use idl::epm::Tower;
use idl::witness::*;
use idl::{ByteOrder, WString};
use tests::*;

const LE: ByteOrder = ByteOrder::Little;

fn witness_syntax() -> SyntaxId {
    SyntaxId::new(Witness::UUID, Witness::VERSION_MAJOR, Witness::VERSION_MINOR)
}

/// Connects as alice at `level` and binds witness; returns the client or the bind's result.
fn witness_client(port: u16, level: u8) -> Result<RpcClient, String> {
    let mut c = RpcClient::connect(port, Auth::Spnego { user: ALICE_USER, password: ALICE_PASSWORD, level });
    match c.bind(witness_syntax(), 0) {
        Ok(r) if r[0].result == pdu::result::ACCEPTANCE => Ok(c),
        other => Err(format!("{other:?}")),
    }
}

fn interfaces(c: &mut RpcClient) -> Vec<WitnessInterfaceInfo> {
    let out = c.call(WitnessrGetInterfaceListRequest::OPNUM, &WitnessrGetInterfaceListRequest {}.to_stub()).unwrap();
    let r = WitnessrGetInterfaceListResponse::decode_stub(&out, LE).unwrap();
    assert_eq!(r.result.0, 0);
    r.interface_list.unwrap().interface_info.unwrap().0
}

#[test]
fn smbtorture_rpc_witness() {
    if !require_tool("smbtorture") {
        return;
    }
    let mut demo = Demo::start(&[]);
    let tests = [
        "rpc.witness.witness.GetInterfaceList",
        "rpc.witness.witness.Register",
        "rpc.witness.witness.UnRegister",
        "rpc.witness.witness.RegisterEx",
    ];
    let run = smbtorture(&demo.binding("sign"), ALICE, &tests, &["--option=torture:net_name=CTDB-CLUSTER"]);
    for t in ["witness.GetInterfaceList", "witness.UnRegister"] {
        run.assert_success(t);
    }
    // Register and RegisterEx look for a share through srvsvc over SMB named pipes, which
    // needs an SMB server on the host; every witness call they make answers as expected (the
    // RPC-level test below repeats them), only that lookup fails
    for t in ["witness.Register", "witness.RegisterEx"] {
        let o = run.outcome(t).unwrap_or_else(|| panic!("{t} missing:\n{}", run.output));
        assert!(o.passed() || o.detail().contains("srvsvc"), "{t}: {}\n{}", o.detail(), run.output);
    }
    demo.assert_alive();
}

#[test]
fn witness_is_mapped_and_needs_packet_integrity() {
    let demo = Demo::start(&[]);
    let mut epm = RpcClient::epm(demo.epm_port);
    let r = tests::ept_map(&mut epm, Witness::UUID, 1, 1);
    assert_eq!(r.status.0, 0);
    let t = Tower::parse(&r.towers.towers[0].as_ref().unwrap().0).unwrap();
    assert_eq!(t.interface(), Some((Witness::UUID, 1, 1)));
    assert_eq!(u16::from_be_bytes([t.floors[3].rhs[0], t.floors[3].rhs[1]]), demo.port, "the tower's TCP port");

    // below packet integrity the bind may succeed, but every call faults with access denied
    let stub = WitnessrGetInterfaceListRequest {}.to_stub();
    let mut c = witness_client(demo.port, pdu::auth_level::CONNECT).unwrap();
    assert_eq!(c.call(WitnessrGetInterfaceListRequest::OPNUM, &stub).err(), Some(5));
    for level in [pdu::auth_level::PKT_INTEGRITY, pdu::auth_level::PKT_PRIVACY] {
        let mut c = witness_client(demo.port, level).unwrap();
        assert_eq!(interfaces(&mut c).len(), 3);
    }
}

/// A client registered on node 1's address waits in WitnessrAsyncNotify; an administrator
/// pauses node 1 over clusapi; the call completes with RESOURCE_CHANGE UNAVAILABLE.
#[test]
fn node_pause_over_clusapi_completes_async_notify() {
    let demo = Demo::start(&[]);
    let mut w = witness_client(demo.port, pdu::auth_level::PKT_INTEGRITY).unwrap();
    let ifs = interfaces(&mut w);
    assert_eq!(ifs.len(), 3);
    let witness_ifs: Vec<Ipv4Addr> = ifs
        .iter()
        .filter(|i| i.flags & interface_flags::INTERFACE_WITNESS != 0 && i.state == state::AVAILABLE)
        .map(|i| i.ipv4_addr())
        .collect();
    assert_eq!(witness_ifs.len(), 2, "{ifs:?}");

    // which node hosts which address: ask clusapi for the owner of the IP's group
    let mut admin = RpcClient::clusapi(demo.port);
    let ip = witness_ifs[0].to_string();
    let req = WitnessrRegisterRequest {
        version: WITNESS_V1,
        net_name: Some(WString::new("CTDB-CLUSTER")),
        ip_address: Some(WString::new(ip.clone())),
        client_computer_name: Some(WString::new("TESTCLIENT")),
    };
    let out = w.call(WitnessrRegisterRequest::OPNUM, &req.to_stub()).unwrap();
    let reg = WitnessrRegisterResponse::decode_stub(&out, LE).unwrap();
    assert_eq!(reg.result.0, 0);

    let (tx, rx) = mpsc::channel();
    let context = reg.context;
    thread::spawn(move || {
        let stub = WitnessrAsyncNotifyRequest { context }.to_stub();
        let out = w.call(WitnessrAsyncNotifyRequest::OPNUM, &stub).unwrap();
        let _ = tx.send((w, WitnessrAsyncNotifyResponse::decode_stub(&out, LE).unwrap()));
    });
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "AsyncNotify completed without a change");

    // pause every node but this one (0): the registered address is hosted by one of them
    let mut paused = Vec::new();
    for pnn in 1..3 {
        let out = admin
            .call(
                ApiOpenNodeRequest::OPNUM,
                &ApiOpenNodeRequest { node_name: WString::new(format!("CTDB_NODE_{pnn}")) }.to_stub(),
            )
            .unwrap();
        let node = ApiOpenNodeResponse::decode_stub(&out, LE).unwrap().node;
        let out = admin.call(ApiPauseNodeRequest::OPNUM, &ApiPauseNodeRequest { node }.to_stub()).unwrap();
        assert_eq!(ApiPauseNodeResponse::decode_stub(&out, LE).unwrap().result.0, 0);
        paused.push(node);
    }
    let (mut w, r) = rx.recv_timeout(Duration::from_secs(10)).expect("AsyncNotify did not complete");
    assert_eq!(r.result.0, 0);
    let m = r.resp.unwrap();
    assert_eq!(m.message_type, message_type::RESOURCE_CHANGE_NOTIFICATION);
    let changes = m.resource_changes().unwrap();
    assert_eq!(changes[0], ResourceChange { change_type: resource_state::UNAVAILABLE, name: ip.clone() });

    // the address now sits on node 0: the next call reports it available again
    let out = w.call(WitnessrAsyncNotifyRequest::OPNUM, &WitnessrAsyncNotifyRequest { context }.to_stub()).unwrap();
    let r = WitnessrAsyncNotifyResponse::decode_stub(&out, LE).unwrap();
    let changes = r.resp.unwrap().resource_changes().unwrap();
    assert_eq!(changes[0], ResourceChange { change_type: resource_state::AVAILABLE, name: ip });

    for node in paused {
        let out = admin.call(ApiResumeNodeRequest::OPNUM, &ApiResumeNodeRequest { node }.to_stub()).unwrap();
        assert_eq!(ApiResumeNodeResponse::decode_stub(&out, LE).unwrap().result.0, 0);
    }
    let un = |w: &mut RpcClient| {
        let out = w.call(WitnessrUnRegisterRequest::OPNUM, &WitnessrUnRegisterRequest { context }.to_stub()).unwrap();
        WitnessrUnRegisterResponse::decode_stub(&out, LE).unwrap().result.0
    };
    assert_eq!(un(&mut w), 0);
    assert_eq!(un(&mut w), 87);
}

/// Runs `clusapid witness ARGS --socket <the demo's>`; (success, stdout, stderr).
fn witness_cmd(demo: &Demo, args: &[&str]) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(clusapid_bin());
    cmd.arg("witness").args(args).arg("--socket").arg(&demo.admin_socket);
    let (o, timed_out) = run_with_timeout(&mut cmd, None, Duration::from_secs(30));
    assert!(!timed_out, "clusapid witness {args:?} timed out");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn register_ex(w: &mut RpcClient, ip: &str, client: &str, share: Option<&str>) -> idl::ContextHandle {
    let req = WitnessrRegisterExRequest {
        version: WITNESS_V2,
        net_name: Some(WString::new("ctdb-cluster")),
        share_name: share.map(WString::new),
        ip_address: Some(WString::new(ip)),
        client_computer_name: Some(WString::new(client)),
        flags: register_flags::IP_NOTIFICATION,
        keep_alive_timeout: 120,
    };
    let out = w.call(WitnessrRegisterExRequest::OPNUM, &req.to_stub()).unwrap();
    let r = WitnessrRegisterExResponse::decode_stub(&out, LE).unwrap();
    assert_eq!(r.result.0, 0);
    r.context
}

/// `clusapid witness list`, `move-client`, `move-share`, `force-response` and
/// `force-unregister` through the demo's administration socket, seen by a registered client;
/// and the socket's refusal of someone who is not root.
#[test]
fn witness_administration_commands() {
    let demo = Demo::start(&[]);
    let mut w = witness_client(demo.port, pdu::auth_level::PKT_PRIVACY).unwrap();
    let ip = interfaces(&mut w)[1].ipv4_addr().to_string();
    let win = register_ex(&mut w, &ip, "WIN11-ADMIN", Some("share"));
    let mut w2 = witness_client(demo.port, pdu::auth_level::PKT_PRIVACY).unwrap();
    let other = register_ex(&mut w2, &ip, "LINUXBOX", None);

    let (ok, out, err) = witness_cmd(&demo, &["list"]);
    assert!(ok, "{err}");
    assert!(out.contains("WIN11-ADMIN") && out.contains("LINUXBOX") && out.contains("2 registration(s)"), "{out}");
    let (ok, out, err) = witness_cmd(&demo, &["list", "--json", "--client", "win*"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let regs = v["registrations"].as_array().unwrap();
    assert_eq!(regs.len(), 1, "{out}");
    assert_eq!(regs[0]["share_name"], "share");
    assert_eq!(regs[0]["ip_address"], ip.as_str());
    assert_eq!(regs[0]["witness_node"], "CTDB_NODE_0");
    assert!(regs[0]["registered_since"].as_str().unwrap().ends_with('Z'));

    // steering without naming anyone is refused by the command itself
    let (ok, _, err) = witness_cmd(&demo, &["move-client", "--to-node", "CTDB_NODE_2"]);
    assert!(!ok && err.contains("--all"), "{err}");
    let (ok, out, err) = witness_cmd(&demo, &["move-client", "--to-ip", "127.0.100.3", "--client", "WIN11-ADMIN"]);
    assert!(ok && out.contains("1 registration(s) reached"), "{out}{err}");
    let notify = |w: &mut RpcClient, context| {
        let out = w.call(WitnessrAsyncNotifyRequest::OPNUM, &WitnessrAsyncNotifyRequest { context }.to_stub()).unwrap();
        WitnessrAsyncNotifyResponse::decode_stub(&out, LE).unwrap()
    };
    let r = notify(&mut w, win);
    let m = r.resp.unwrap();
    assert_eq!(m.message_type, message_type::CLIENT_MOVE_NOTIFICATION);
    assert_eq!(Ipv4Addr::from(m.ip_lists().unwrap()[0].addrs[0].ipv4), Ipv4Addr::new(127, 0, 100, 3));

    // SHARE_MOVE reaches only the registration with a share
    let (ok, out, err) = witness_cmd(&demo, &["move-share", "--to-ip", "127.0.100.3", "--all"]);
    assert!(ok && out.contains("1 registration(s) reached"), "{out}{err}");
    assert_eq!(notify(&mut w, win).resp.unwrap().message_type, message_type::SHARE_MOVE_NOTIFICATION);

    let (ok, out, err) =
        witness_cmd(&demo, &["force-response", "--resource-change", "unavailable", "--client", "LINUXBOX"]);
    assert!(ok, "{out}{err}");
    let changes = notify(&mut w2, other).resp.unwrap().resource_changes().unwrap();
    assert_eq!(changes, [ResourceChange { change_type: resource_state::UNAVAILABLE, name: "ctdb-cluster".into() }]);

    let (ok, out, err) = witness_cmd(&demo, &["force-unregister", "--client", "LINUXBOX"]);
    assert!(ok, "{out}{err}");
    assert_eq!(notify(&mut w2, other).result.0, 1168, "ERROR_NOT_FOUND for the removed registration");
    let (ok, _, err) = witness_cmd(&demo, &["force-unregister", "--client", "NOBODY"]);
    assert!(!ok && err.contains("no registration matched"), "{err}");

    // not root: the socket file (0660 root) refuses the connection; opened up, the daemon
    // itself refuses the request and says why
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 && have_tool("setpriv") {
        let as_nobody = |demo: &Demo| {
            let mut cmd = std::process::Command::new("setpriv");
            cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(clusapid_bin());
            cmd.args(["witness", "list", "--socket"]).arg(&demo.admin_socket);
            let (o, _) = run_with_timeout(&mut cmd, None, Duration::from_secs(30));
            (o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned())
        };
        let dir = demo.admin_socket.parent().unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (ok, err) = as_nobody(&demo);
        assert!(!ok && err.contains("permission denied"), "{err}");
        std::fs::set_permissions(&demo.admin_socket, std::fs::Permissions::from_mode(0o666)).unwrap();
        let (ok, err) = as_nobody(&demo);
        assert!(!ok && err.contains("only root may administer clusapid"), "{err}");
    }
}
