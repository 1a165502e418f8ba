//! clusapid on the lab (`scripts/lab`): a 3-node clustered Samba file server in network
//! namespaces with real CTDB IP takeover, clustered smbd and a clusapid on every node.
//!
//! - the File Server role lists the shares smbd really serves (smb.conf and the clustered
//!   registry configuration), and follows `net conf addshare`/`delshare` within seconds;
//! - `smbclient -L`, rpcclient and smbtorture rpc.clusapi from the client namespace, through
//!   the endpoint mapper on a node address and on a public IP;
//! - failover is real: `ctdb disable` of a node, and SIGKILL of a node's ctdbd, move its public
//!   IPs to other nodes' interfaces (`ip addr`), smbclient works on them before and after, and
//!   clusapi, reached through the endpoint mapper on a moved IP, reports the node Paused/Down and
//!   the IP's group owned by its new node;
//! - `clusapid check --running` is OK on every node (ctdbd healthy, 135 and the clusapi port
//!   held by clusapid, Samba's samba-dcerpcd on demand, the share capabilities, the accounts,
//!   the cluster name resolving to the public addresses).
//!
//! Needs root (skipped with a loud message otherwise; CI runs as root). One lab for the whole
//! binary (tests::lab::shared), its tests taking turns; it goes down when the binary exits.

use std::net::IpAddr;
use std::time::Duration;

use idl::clusapi::*;
use idl::{ByteOrder, ContextHandle, WString};
use tests::clusapi_nodes::{self, open_node};
use tests::lab::{self, node_ip, public_ips, Lab, CLIENT, LAB_CLUSTER, LAB_PASSWORD, LAB_USER};
use tests::win::{NODE_DOWN, NODE_PAUSED, NODE_UP};
use tests::RpcClient;

const NODES: u32 = 3;
const CLUSTER_ENUM_RESOURCE: u32 = 0x4;
const GROUP_ENUM_CONTAINS: u32 = 0x1;

fn user() -> String {
    format!("{LAB_USER}%{LAB_PASSWORD}")
}

fn node_state(c: &mut RpcClient, name: &str) -> u32 {
    let h = open_node(c, name);
    clusapi_nodes::node_state(c, h)
}

/// Calls `opnum` with `stub` and decodes the reply with `decode`; a fault or an undecodable reply
/// panics.
fn call<T>(c: &mut RpcClient, opnum: u16, stub: &[u8], decode: fn(&[u8], ByteOrder) -> idl::NdrResult<T>) -> T {
    decode(&c.call(opnum, stub).expect("no fault"), ByteOrder::Little).expect("decodes")
}

/// ApiOpenGroup of `name`; asserts the status is 0.
fn open_group(c: &mut RpcClient, name: &str) -> ContextHandle {
    let stub = ApiOpenGroupRequest { group_name: WString::new(name) }.to_stub();
    let r = call(c, ApiOpenGroupRequest::OPNUM, &stub, ApiOpenGroupResponse::decode_stub);
    assert_eq!(r.status.0, 0, "ApiOpenGroup {name}");
    r.group
}

/// The names in an enumeration's list.
fn names(list: Option<EnumList>) -> Vec<String> {
    list.map(|l| l.entries).unwrap_or_default().into_iter().filter_map(|x| Some(x.name?.0)).collect()
}

/// ApiOpenGroup + ApiGetGroupState: (state, owner node name).
fn group_state(c: &mut RpcClient, name: &str) -> (u32, String) {
    let stub = ApiGetGroupStateRequest { group: open_group(c, name) }.to_stub();
    let s = call(c, ApiGetGroupStateRequest::OPNUM, &stub, ApiGetGroupStateResponse::decode_stub);
    assert_eq!(s.result.0, 0, "ApiGetGroupState {name}");
    (s.state, s.node_name.map(|n| n.as_str().to_string()).unwrap_or_default())
}

/// The resources of the File Server group (ApiCreateGroupResourceEnum CONTAINS).
fn file_server_resources(c: &mut RpcClient) -> Vec<String> {
    let group = open_group(c, "File Server");
    let stub = ApiCreateGroupResourceEnumRequest { group, enum_type: GROUP_ENUM_CONTAINS }.to_stub();
    let e = call(c, ApiCreateGroupResourceEnumRequest::OPNUM, &stub, ApiCreateGroupResourceEnumResponse::decode_stub);
    assert_eq!(e.result.0, 0, "ApiCreateGroupResourceEnum");
    names(e.return_enum)
}

/// Every resource name of the cluster (ApiCreateEnum RESOURCE).
fn resources(c: &mut RpcClient) -> Vec<String> {
    let stub = ApiCreateEnumRequest { enum_type: CLUSTER_ENUM_RESOURCE }.to_stub();
    let e = call(c, ApiCreateEnumRequest::OPNUM, &stub, ApiCreateEnumResponse::decode_stub);
    assert_eq!(e.result.0, 0, "ApiCreateEnum");
    names(e.return_enum)
}

/// `smbclient //ADDR/data -c ls` from the client, as the lab user: succeeds?
fn smb_ls(lab: &Lab, addr: IpAddr) -> Result<String, String> {
    let o = lab.exec(CLIENT, &["smbclient", &format!("//{addr}/data"), "-U", &user(), "-c", "ls"]);
    let out = tests::output_text(&o);
    if o.status.success() && out.contains("hello.txt") {
        Ok(out)
    } else {
        Err(out)
    }
}

/// Polls clusapi (through the endpoint mapper on `addr`) until `f` holds.
fn clusapi_until<T>(lab: &Lab, addr: IpAddr, what: &str, mut f: impl FnMut(&mut RpcClient) -> Option<T>) -> T {
    lab::wait_for(what, Duration::from_secs(10), || {
        let mut c = lab.clusapi(addr).ok()?;
        let v = f(&mut c);
        c.close();
        v
    })
    .0
}

#[test]
fn file_server_role_lists_the_real_shares() {
    let Some(lab) = lab::shared("lab", NODES) else { return };
    let list = lab.exec_ok(CLIENT, &["smbclient", "-L", "//192.0.2.101", "-U", &user()]);
    for share in ["data", "projects", "IPC$"] {
        assert!(list.lines().any(|l| l.split_whitespace().next() == Some(share)), "{share} not in:\n{list}");
    }
    let mut c = lab.clusapi(node_ip(0)).expect("clusapi through the endpoint mapper on node0");
    let fs = file_server_resources(&mut c);
    assert!(fs.contains(&"File Share data".into()) && fs.contains(&"File Share projects".into()), "{fs:?}");
    c.close();

    // a share added through the clustered registry, on another node, shows up everywhere
    lab.exec_ok("node1", &["net", "conf", "addshare", "scratch", &format!("{}/shared/data", lab.dir().display())]);
    let (_, took) = lab::wait_for("File Share scratch on every node", Duration::from_secs(15), || {
        (0..NODES)
            .all(|i| {
                lab.clusapi(node_ip(i)).is_ok_and(|mut c| resources(&mut c).contains(&"File Share scratch".into()))
            })
            .then_some(())
    });
    eprintln!("net conf addshare: the share was a resource on every node's clusapid after {took:?}");
    lab.exec_ok("node2", &["net", "conf", "delshare", "scratch"]);
    let (_, took) = lab::wait_for("File Share scratch gone", Duration::from_secs(15), || {
        (0..NODES)
            .all(|i| {
                lab.clusapi(node_ip(i)).is_ok_and(|mut c| !resources(&mut c).contains(&"File Share scratch".into()))
            })
            .then_some(())
    });
    eprintln!("net conf delshare: gone from every node's clusapid after {took:?}");
}

#[test]
fn rpcclient_and_smbtorture_from_the_client() {
    let Some(lab) = lab::shared("lab", NODES) else { return };
    let out = lab.exec_ok(
        CLIENT,
        &[
            "rpcclient",
            "-U",
            &user(),
            "ncacn_ip_tcp:192.0.2.101[seal]",
            "-c",
            "clusapi_get_cluster_name; clusapi_create_enum",
        ],
    );
    assert!(out.contains(&format!("ClusterName: {LAB_CLUSTER}")), "{out}");
    assert!(out.contains("NodeName: CTDB_NODE_"), "{out}");

    let args = ["smbtorture", "ncacn_ip_tcp:192.0.2.11[seal]", "-U", &user(), "rpc.clusapi"];
    let o = lab.exec(CLIENT, &args);
    let run = tests::TortureRun::from_output(format!("scripts/lab exec DIR client -- {}", args.join(" ")), &o, false);
    assert!(!run.outcomes.is_empty(), "smbtorture reported no test at all:\n{}", run.output);
    eprintln!("smbtorture rpc.clusapi on the lab: {} results", run.outcomes.len());
    tests::check_against_knownfail(&run, "rpc.clusapi");
}

#[test]
fn clusapid_check_is_ok_on_every_node() {
    let Some(lab) = lab::shared("lab", NODES) else { return };
    let bin = tests::clusapid_bin();
    for i in 0..NODES {
        let cfg = lab.dir().join(format!("node{i}/clusapid.toml"));
        let args = [bin.to_str().unwrap(), "check", "--running", "--config", cfg.to_str().unwrap()];
        // another test may have just paused a node or restarted a ctdbd: give the cluster time
        let t0 = std::time::Instant::now();
        let text = loop {
            let o = lab.exec(&format!("node{i}"), &args);
            let text = tests::output_text(&o);
            if o.status.success() && text.contains("Result: OK") {
                break text;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "clusapid check on node{i} ({:?}):\n{text}", o.status);
            std::thread::sleep(Duration::from_millis(500));
        };
        for want in [
            "OK    ctdbd: /run/ctdb/ctdbd.socket answers",
            "OK    port 135 (endpoint mapper): held by clusapid",
            "OK    port 4135 (clusapi): held by clusapid",
            "OK    samba-dcerpcd: runs on demand",
            "OK    witness share capabilities",
            "OK    cluster name: LABCLUSTER → 192.0.2.101",
        ] {
            assert!(text.contains(want), "node{i}: no {want:?} in\n{text}");
        }
    }
}

/// After node `victim`'s addresses `moved` went to `holders`: each answers SMB from its new
/// node within `smb_within`, and clusapi through it reports the victim in `state` (value, name)
/// and the address's group owned by the new node.
fn taken_over(lab: &Lab, victim: u32, state: (u32, &str), moved: &[IpAddr], holders: &[u32], smb_within: Duration) {
    let (want, state_name) = state;
    for (a, n) in moved.iter().zip(holders) {
        let (_, took) =
            lab::wait_for(&format!("smbclient //{a}/data from node{n}"), smb_within, || smb_ls(lab, *a).ok());
        eprintln!("  {a}: SMB answers from node{n} {took:?} after the move was seen");
        let owner = clusapi_until(lab, *a, &format!("node {state_name} and the group's new owner"), |c| {
            let in_state = node_state(c, &format!("CTDB_NODE_{victim}")) == want;
            let (_, owner) = group_state(c, &format!("Public IP {a}"));
            (in_state && owner == format!("CTDB_NODE_{n}")).then_some(owner)
        });
        eprintln!("  clusapi through {a}: CTDB_NODE_{victim} {state_name}, \"Public IP {a}\" owned by {owner}");
    }
}

#[test]
fn ctdb_disable_moves_the_ips_and_clusapi_sees_it() {
    let Some(lab) = lab::shared("lab", NODES) else { return };
    let victim = 0;
    let moved = lab.ips_on(victim);
    assert!(!moved.is_empty(), "node{victim} hosts no public IP before the test");
    for a in &moved {
        smb_ls(&lab, *a).unwrap_or_else(|e| panic!("smbclient //{a}/data before: {e}"));
    }
    let t = std::time::Instant::now();
    lab.ctdb(victim, &["disable"]);
    let (holders, took) = lab::wait_for("the disabled node's IPs on other nodes", Duration::from_secs(10), || {
        let h: Vec<u32> = moved.iter().filter_map(|a| lab.ip_holder(*a)).collect();
        (h.len() == moved.len() && h.iter().all(|&n| n != victim)).then_some(h)
    });
    eprintln!("ctdb disable: {moved:?} on nodes {holders:?} after {took:?} (since the command: {:?})", t.elapsed());
    taken_over(&lab, victim, (NODE_PAUSED, "Paused"), &moved, &holders, Duration::from_secs(10));
    lab.ctdb(victim, &["enable"]);
    lab::wait_for("node back and hosting again", Duration::from_secs(20), || {
        (!lab.ips_on(victim).is_empty()).then_some(())
    });
    let a = lab.ips_on(victim)[0];
    clusapi_until(&lab, a, "node Up again", |c| {
        (node_state(c, &format!("CTDB_NODE_{victim}")) == NODE_UP).then_some(())
    });
}

#[test]
fn killed_ctdbd_moves_the_ips_and_clusapi_reports_the_node_down() {
    let Some(lab) = lab::shared("lab", NODES) else { return };
    // a node that is not the leader: a dead leader's cluster lock holds up the takeover by
    // seconds (the lab notes measure 5-11 s), which is CTDB's business, not ours
    let leader: u32 = lab.ctdb(0, &["leader"]).trim().parse().expect("ctdb leader");
    let victim = (0..NODES).rev().find(|&i| i != leader).expect("a non-leader");
    let moved = lab.ips_on(victim);
    assert!(!moved.is_empty(), "node{victim} hosts no public IP");
    for a in &moved {
        smb_ls(&lab, *a).unwrap_or_else(|e| panic!("smbclient //{a}/data before: {e}"));
    }
    let pid = lab.pid(&format!("node{victim}"), "ctdbd").expect("ctdbd pid");
    // SAFETY: a pid read from the lab's own pid file, checked to exist.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    // a crashed ctdbd releases nothing: its kernel keeps the addresses, so look for them on the
    // survivors' interfaces
    let survivors: Vec<u32> = (0..NODES).filter(|&i| i != victim).collect();
    let (holders, took) = lab::wait_for("the dead node's IPs on the survivors", Duration::from_secs(20), || {
        let h: Option<Vec<u32>> =
            moved.iter().map(|a| survivors.iter().copied().find(|&i| lab.ips_on(i).contains(a))).collect();
        h
    });
    eprintln!("SIGKILL of node{victim}'s ctdbd: {moved:?} taken over by nodes {holders:?} after {took:?}");
    // the dead node still answers ARP for them: fence it, as a real crash would
    let ns = lab.netns(&format!("node{victim}"));
    let st =
        std::process::Command::new("ip").args(["-n", &ns, "link", "set", "eth0", "down"]).status().expect("ip link");
    assert!(st.success());
    let _ = lab.exec(CLIENT, &["ip", "neigh", "flush", "dev", "eth0"]);
    taken_over(&lab, victim, (NODE_DOWN, "Down"), &moved, &holders, Duration::from_secs(15));
    // back: link up, ctdbd (its init removes the stale addresses), smbd with it
    let st = std::process::Command::new("ip").args(["-n", &ns, "link", "set", "eth0", "up"]).status().expect("ip link");
    assert!(st.success());
    lab.start(&[victim]);
    lab::wait_for("every public IP on exactly one node", Duration::from_secs(20), || {
        public_ips(NODES).iter().all(|a| lab.ip_holder(*a).is_some()).then_some(())
    });
}

// ---------------------------------------------------------------------------------------------
// SMB Witness on the lab
// ---------------------------------------------------------------------------------------------

/// smbtorture rpc.witness from the client against node0's clusapid: everything but
/// AsyncNotify_timeouts, which waits out keep-alive timers of 0 (our default, 30 s), 1, 10,
/// 100 and 120 s on every usable interface (over 17 minutes on this lab):
/// `witness_async_notify_timeouts_on_the_lab` (ignored by default) runs it.
#[test]
fn smbtorture_rpc_witness_on_the_lab() {
    let Some(lab) = lab::shared("lab", NODES) else { return };
    let tests = ["GetInterfaceList", "Register", "UnRegister", "RegisterEx", "AsyncNotify"];
    let mut args = vec![
        "smbtorture",
        "ncacn_ip_tcp:192.0.2.11[seal]",
        "-U",
        "alice%Passw0rd-1",
        "--option=torture:net_name=LABCLUSTER",
    ];
    let names: Vec<String> = tests.iter().map(|t| format!("rpc.witness.witness.{t}")).collect();
    args.extend(names.iter().map(String::as_str));
    let o = lab.exec(CLIENT, &args);
    let run = tests::TortureRun::from_output(args.join(" "), &o, false);
    for t in tests {
        run.assert_success(&format!("witness.{t}"));
    }
}

#[test]
#[ignore = "over 17 minutes: cargo test -p tests --test lab -- --ignored"]
fn witness_async_notify_timeouts_on_the_lab() {
    let Some(lab) = lab::shared("lab", NODES) else { return };
    let args = [
        "smbtorture",
        "ncacn_ip_tcp:192.0.2.11[seal]",
        "-U",
        "alice%Passw0rd-1",
        "--option=torture:net_name=LABCLUSTER",
        "rpc.witness.witness.AsyncNotify_timeouts",
    ];
    // it waits out time-outs of 0, 1, 10 and 100 s on each interface: about 17 minutes
    let o = lab.exec_for(CLIENT, &args, std::time::Duration::from_secs(40 * 60));
    tests::TortureRun::from_output(args.join(" "), &o, false).assert_success("witness.AsyncNotify_timeouts");
}

/// `clusapid witness watch` in the client namespace, registered through node0 for an address
/// of another node: `ctdb moveip` and `ctdb disable` reach it within a second; node1's
/// `clusapid witness list` shows the registration node0 holds, and node2's `move-client`
/// reaches it.
#[test]
fn witness_watch_moveip_disable_and_cluster_wide_administration() {
    use std::io::BufRead;
    let Some(lab) = lab::shared("lab", NODES) else { return };
    // an address node0 does not host, so node0 is a witness for it
    let ip = lab.ips_on(1)[0];
    let mut watch = lab.spawn(
        CLIENT,
        &[
            "clusapid",
            "witness",
            "watch",
            "--server",
            "192.0.2.11",
            "--net-name",
            "labcluster.lab.example",
            "--share",
            "data",
            "--ip",
            &ip.to_string(),
            "-U",
            "alice%Passw0rd-1",
            "--json",
        ],
    );
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    let out = watch.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    let next = |what: &str, timeout: Duration| -> serde_json::Value {
        rx.recv_timeout(timeout).unwrap_or_else(|e| panic!("no {what} from `witness watch` within {timeout:?}: {e}"))
    };
    let reg = next("registration", Duration::from_secs(20));
    assert_eq!(reg["event"], "registered", "{reg}");
    assert_eq!(reg["witness"], "192.0.2.11");
    assert_eq!(reg["version"], 2);

    // the registration node0 holds, listed on node1
    let list: serde_json::Value = serde_json::from_str(
        &lab.exec_ok("node1", &["clusapid", "witness", "list", "--json", "--ip", &ip.to_string()]),
    )
    .unwrap();
    let regs = list["registrations"].as_array().unwrap();
    assert_eq!(regs.len(), 1, "{list}");
    assert_eq!(
        (regs[0]["witness_node"].as_str(), regs[0]["file_server_node"].as_str()),
        (Some("CTDB_NODE_0"), Some("CTDB_NODE_1"))
    );
    assert_eq!(regs[0]["share_name"], "data");

    // ctdb moveip to node2: UNAVAILABLE, CLIENT_MOVE to node2's addresses, AVAILABLE
    let t = std::time::Instant::now();
    lab.ctdb(0, &["moveip", &ip.to_string(), "2"]);
    let first = next("notification after moveip", Duration::from_secs(10));
    let took = t.elapsed();
    assert_eq!(first["type"], "RESOURCE_CHANGE", "{first}");
    assert_eq!(first["changes"][0]["state"], "UNAVAILABLE");
    let mv = next("CLIENT_MOVE", Duration::from_secs(2));
    assert_eq!(mv["type"], "CLIENT_MOVE", "{mv}");
    let ips: Vec<&str> = mv["ips"].as_array().unwrap().iter().filter_map(|i| i["ip"].as_str()).collect();
    assert!(ips.contains(&ip.to_string().as_str()), "{mv}");
    let back = next("AVAILABLE", Duration::from_secs(2));
    assert_eq!(back["changes"][0]["state"], "AVAILABLE", "{back}");
    eprintln!("ctdb moveip {ip} 2: first notification {took:?} after the command started");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(lab.ip_holder(ip), Some(2));

    // ctdb disable of node2: the address leaves it
    let t = std::time::Instant::now();
    lab.ctdb(2, &["disable"]);
    let n = next("notification after disable", Duration::from_secs(10));
    eprintln!("ctdb disable of the serving node: {} {:?} after the command started", n["type"], t.elapsed());
    assert_eq!(n["type"], "RESOURCE_CHANGE", "{n}");
    lab.ctdb(2, &["enable"]);

    // steering from node2 reaches the client registered through node0
    while rx.recv_timeout(Duration::from_millis(1500)).is_ok() {}
    let out = lab
        .exec_ok("node2", &["clusapid", "witness", "move-client", "--to-node", "CTDB_NODE_1", "--ip", &ip.to_string()]);
    assert!(out.contains("1 registration(s) reached"), "{out}");
    let mv = next("forced CLIENT_MOVE", Duration::from_secs(5));
    assert_eq!(mv["type"], "CLIENT_MOVE", "{mv}");
    let hosted: Vec<String> = lab.ips_on(1).iter().map(ToString::to_string).collect();
    let ips: Vec<String> =
        mv["ips"].as_array().unwrap().iter().filter_map(|i| i["ip"].as_str().map(String::from)).collect();
    assert_eq!(ips.iter().collect::<std::collections::BTreeSet<_>>(), hosted.iter().collect(), "{mv}");

    let _ = watch.kill();
    let _ = watch.wait();
}
