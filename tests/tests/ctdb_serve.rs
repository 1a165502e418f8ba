//! `clusapid serve` on a real 3-node CTDB cluster (scripts/ctdb-local-cluster): node pause and
//! resume through clusapi are real `ctdb disable`/`enable` actions, changes made outside
//! clusapid show up in ApiGetNodeState within a second, a dead ctdbd is reported Down, and the
//! whole smbtorture rpc.clusapi suite holds the same known-failure list as on the demo.
//!
//! Skipped loudly when ctdbd is not installed, unless CI=true (then it must run).

use std::process::Command;
use std::time::{Duration, Instant};

use idl::clusapi::*;
use idl::{ByteOrder, ContextHandle};
use tests::clusapi_nodes::{node_state, open_node, pause_node, resume_node};
use tests::ctdb::LocalCluster;
use tests::win::{NODE_DOWN, NODE_PAUSED, NODE_UP};
use tests::*;

/// Polls ApiGetNodeState until it is `want`; returns the time it took.
fn wait_state(c: &mut RpcClient, h: ContextHandle, want: u32, timeout: Duration) -> Duration {
    let t = Instant::now();
    loop {
        let s = node_state(c, h);
        if s == want {
            return t.elapsed();
        }
        assert!(t.elapsed() < timeout, "node state stayed {s}, wanted {want} within {timeout:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn serve_config(cluster: &LocalCluster, dir: &std::path::Path, epm_port: u16) -> std::path::PathBuf {
    let accounts = dir.join("accounts");
    for (user, ro) in [(ALICE, false), (BOB, true)] {
        let (name, pw) = user.split_once('%').expect("NAME%PASSWORD");
        let mut cmd = Command::new(clusapid_bin());
        cmd.args(["user", "add", "--accounts", accounts.to_str().expect("utf-8")]);
        if ro {
            cmd.arg("--read-only");
        }
        cmd.arg(name);
        let (o, timed_out) = run_with_timeout(&mut cmd, Some(format!("{pw}\n").as_bytes()), Duration::from_secs(30));
        assert!(!timed_out && o.status.success(), "user add: {}", output_text(&o));
    }
    let smb_conf = dir.join("smb.conf");
    std::fs::write(&smb_conf, "[global]\n netbios name = CTDB-CLUSTER\n[share]\n path = /tmp\n[data]\n path = /tmp\n")
        .expect("smb.conf");
    let cfg = dir.join("clusapid.toml");
    std::fs::write(
        &cfg,
        format!(
            "listen = [\"127.0.0.1\"]\nport = 0\nepm_port = {epm_port}\naccounts = \"{}\"\nbackend = \"ctdb\"\nctdb_socket = \"{}\"\nstate_dir = \"{}\"\nsmb_conf = \"{}\"\n",
            accounts.display(),
            cluster.socket(0).display(),
            dir.display(),
            smb_conf.display()
        ),
    )
    .expect("config");
    cfg
}

#[test]
fn serve_on_a_real_ctdb_cluster() {
    if !require_tool("ctdbd") || !require_tool("smbtorture") {
        return;
    }
    let cluster = LocalCluster::start(3);
    let scratch = scratch_dir();
    // rpcclient always asks the endpoint mapper on 135, so take it when we can
    let _epm = port135_lock();
    let have_135 = std::net::TcpListener::bind(("127.0.0.1", 135)).is_ok();
    let cfg = serve_config(&cluster, scratch.path(), if have_135 { 135 } else { 0 });
    let mut d = Demo::serve(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let mut c = RpcClient::clusapi(d.port);

    // the cluster name and the serving node come from the config and the local ctdbd
    let stub = ApiGetClusterNameRequest {}.to_stub();
    let r = ApiGetClusterNameResponse::decode_stub(&c.call(3, &stub).expect("no fault"), ByteOrder::Little)
        .expect("decodes");
    assert_eq!(r.cluster_name.map(|s| s.0).as_deref(), Some(CLUSTER_NAME));
    assert_eq!(r.node_name.map(|s| s.0).as_deref(), Some("CTDB_NODE_0"));

    // pause through clusapi = ctdb disable: pnn 1 DISABLED and its IPs moved away
    let n1 = open_node(&mut c, "CTDB_NODE_1");
    assert_eq!(node_state(&mut c, n1), NODE_UP);
    assert_eq!(pause_node(&mut c, n1), 0);
    assert!(cluster.status_line(1).contains("DISABLED"), "ctdb status: {}", cluster.status_line(1));
    assert!(cluster.ips_on(1).is_empty(), "pnn 1 still hosts {:?}", cluster.ips_on(1));
    assert_eq!(node_state(&mut c, n1), NODE_PAUSED);
    assert_eq!(resume_node(&mut c, n1), 0);
    assert!(cluster.status_line(1).ends_with("OK"), "ctdb status: {}", cluster.status_line(1));
    assert_eq!(node_state(&mut c, n1), NODE_UP);
    // [MS-CMRP] resuming a node that is not paused
    assert_eq!(resume_node(&mut c, n1), 5058);

    // a read-only account may look but not pause
    let mut ro = RpcClient::clusapi_as(
        d.port,
        Auth::Spnego { user: BOB_USER, password: BOB_PASSWORD, level: dcerpc::pdu::auth_level::PKT_PRIVACY },
    );
    let n1_ro = open_node(&mut ro, "CTDB_NODE_1");
    assert_eq!(pause_node(&mut ro, n1_ro), 5);
    assert!(cluster.status_line(1).ends_with("OK"));

    // the same through rpcclient, as an admin would
    if have_135 {
        let o = rpcclient(&d.binding("seal"), ALICE, "clusapi_pause_node CTDB_NODE_1");
        assert!(output_text(&o).contains("has been paused"), "{}", output_text(&o));
        assert!(cluster.status_line(1).contains("DISABLED"));
        let o = rpcclient(&d.binding("seal"), ALICE, "clusapi_resume_node CTDB_NODE_1");
        assert!(output_text(&o).contains("has been resumed"), "{}", output_text(&o));
        assert!(cluster.status_line(1).ends_with("OK"));
    } else {
        loud("127.0.0.1:135 is taken: the rpcclient part of serve_on_a_real_ctdb_cluster did not run");
        assert!(!under_ci(), "CI=true needs port 135 for rpcclient");
    }

    // `ctdb disable -n 2` done outside clusapid is Paused within a second
    let n2 = open_node(&mut c, "CTDB_NODE_2");
    // (timed from starting the tool: `ctdb disable` itself then waits ~2 s for the takeover run)
    let mut tool = cluster.ctdb_spawn(&["disable", "-n", "2"]);
    let seen = wait_state(&mut c, n2, NODE_PAUSED, Duration::from_secs(5));
    eprintln!("external `ctdb disable -n 2`: ApiGetNodeState says Paused {seen:?} after the tool started");
    assert!(seen < Duration::from_secs(1), "external disable took {seen:?} to show up");
    assert!(tool.wait().expect("ctdb disable").success());
    cluster.ctdb(&["enable", "-n", "2"]);
    wait_state(&mut c, n2, NODE_UP, Duration::from_secs(5));

    // a killed ctdbd of node 2 is Down
    let pid = cluster.pid(2);
    let t = Instant::now();
    // SAFETY: plain kill(2) of the ctdbd this test's cluster started, by its pid file
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let seen = wait_state(&mut c, n2, NODE_DOWN, Duration::from_secs(10));
    eprintln!("killed ctdbd of node 2: Down after {seen:?}");
    assert!(t.elapsed() < Duration::from_secs(3), "dead node took {:?} to show Down", t.elapsed());
    cluster.restart_missing(3);
    wait_state(&mut c, n2, NODE_UP, Duration::from_secs(60));

    // the whole suite, same known failures as on the demo
    let run = smbtorture(&d.binding("seal"), ALICE, &["rpc.clusapi"], &[]);
    check_against_knownfail(&run, "rpc.clusapi");
    d.assert_alive();
}
