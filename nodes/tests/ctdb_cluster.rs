//! `CtdbBackend` against a real 3-node CTDB cluster on loopback, started
//! with `scripts/ctdb-local-cluster` (127.0.0.1-3, public IPs
//! 127.0.100.1-3/24 on lo, `CTDB_TEST_MODE`).
//!
//! Skipped with a loud message when `ctdbd` is not installed, unless
//! `CI=true` (then it must run). Only one such cluster can exist per host
//! (the addresses are fixed), so the test takes an exclusive `flock` on
//! `/tmp/clusapid-ctdb-cluster.lock` and uses the fixed directory
//! `/tmp/clusapid-ctdb-cluster-test`; daemons a crashed earlier run left
//! there are stopped through their pid files first. A guard stops the
//! cluster when the test ends, pass or fail.
//!
//! `ctdb` commands are run as `CTDB_TEST_MODE=yes CTDB_BASE=DIR/node.0 ctdb
//! ...`: test mode makes the tool find node 0's socket under its CTDB_BASE.

use std::net::IpAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nodes::conformance;
use nodes::{BackendError, ClusterBackend, ClusterEvent, CtdbBackend, CtdbConfig, Destination, GroupKind, NodeState};

#[macro_use]
mod common;

use common::Cluster;

trait ClusterExt {
    fn ctdb(&self, args: &[&str]) -> String;
    fn ip_all(&self) -> Vec<(IpAddr, Option<u32>)>;
    fn status_line(&self, pnn: u32) -> String;
}

impl ClusterExt for Cluster {
    /// `ctdb ARGS` against node 0.
    fn ctdb(&self, args: &[&str]) -> String {
        self.ctdb_on(0, args)
    }

    /// `ctdb ip all` as (address, pnn or None for -1).
    fn ip_all(&self) -> Vec<(IpAddr, Option<u32>)> {
        let mut v: Vec<_> = self
            .ctdb(&["ip", "all"])
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let a = it.next()?.parse().ok()?;
                let p: i64 = it.next()?.parse().ok()?;
                Some((a, u32::try_from(p).ok()))
            })
            .collect();
        v.sort();
        v
    }

    /// The `ctdb status` line of `pnn` ("pnn:1 127.0.0.2 DISABLED").
    fn status_line(&self, pnn: u32) -> String {
        let prefix = format!("pnn:{pnn} ");
        self.ctdb(&["status"]).lines().find(|l| l.starts_with(&prefix)).unwrap_or_default().to_string()
    }
}

fn snapshot_ips(b: &CtdbBackend) -> Vec<(IpAddr, Option<u32>)> {
    let mut v: Vec<_> = b.snapshot().public_ips.iter().map(|p| (p.addr, p.pnn)).collect();
    v.sort();
    v
}

fn node_state(b: &CtdbBackend, pnn: u32) -> Option<NodeState> {
    b.snapshot().node_by_pnn(pnn).map(|n| n.state)
}

/// Polls the snapshot every 5 ms; returns the time until `pred` held.
async fn measure(b: &CtdbBackend, what: &str, timeout: Duration, pred: impl Fn(&CtdbBackend) -> bool) -> Duration {
    let t = Instant::now();
    loop {
        if pred(b) {
            return t.elapsed();
        }
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn all_up(b: &CtdbBackend, timeout: Duration) {
    conformance::wait_for(b, "all nodes Up, all IPs hosted", timeout, |s| {
        s.nodes.len() == 3
            && s.nodes.iter().all(|n| n.state == NodeState::Up)
            && s.public_ips.iter().all(|p| p.pnn.is_some())
    })
    .await;
}

on_both_ctdb_versions!(
    "ctdb_cluster",
    /// The installed CTDB (4.22 in CI).
    real_ctdb_cluster,
    /// Debian 12's own CTDB 4.17: the backend supports both.
    real_ctdb_cluster_4_17
);

async fn exercise(cluster: Cluster) {
    // ---- connect ----
    let state_file = cluster.dir.join("overlay.toml");
    let b: Arc<CtdbBackend> = CtdbBackend::connect(CtdbConfig {
        socket: cluster.socket(0),
        cluster_name: "CTDBTEST".into(),
        shares: vec![nodes::Share::named("share")],
        state_file: Some(state_file.clone()),
        ..CtdbConfig::new(cluster.socket(0), "CTDBTEST")
    })
    .await
    .expect("connect to node 0");
    assert!(b.available());
    all_up(&b, Duration::from_secs(10)).await;
    let s = b.snapshot();
    assert_eq!(s.cluster.this_pnn, 0);
    assert_eq!(s.cluster.name, "CTDBTEST");
    let names: Vec<_> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["CTDB_NODE_0", "CTDB_NODE_1", "CTDB_NODE_2"]);
    let ip_groups: Vec<_> = s.groups.iter().filter(|g| matches!(g.kind, GroupKind::PublicIp(_))).collect();
    assert_eq!(ip_groups.len(), 3);
    let tool = cluster.ip_all();
    assert_eq!(snapshot_ips(&b), tool, "snapshot vs `ctdb ip all`");
    for (addr, host) in &tool {
        assert_eq!(s.group_for_ip(*addr).and_then(|g| g.owner), *host);
    }
    let p = s.public_ips.first().expect("an IP");
    assert_eq!(p.prefix_len, 24, "from DIR/node.0/public_addresses");
    assert_eq!(p.interfaces, ["lo"]);
    assert!(s.net_interfaces.len() == 3, "{:?}", s.net_interfaces);
    assert!(s.cluster.leader.is_some(), "leader broadcast seen");
    conformance::check_invariants(&s);

    // ---- messages between the clusapid of two nodes ----
    {
        let b1 = CtdbBackend::connect(CtdbConfig::new(cluster.socket(1), "CTDBTEST")).await.expect("connect to node 1");
        const SRVID: u64 = 0xBE00_0000_0000_7E57;
        let mut rx1 = b1.listen(SRVID).await.expect("listen on node 1");
        let mut rx0 = b.listen(SRVID).await.expect("listen on node 0");
        b.send(Destination::Node(1), SRVID, b"to one".to_vec()).await.expect("send to node 1");
        let m = tokio::time::timeout(Duration::from_secs(5), rx1.recv()).await.expect("message within 5 s");
        assert_eq!(m, Some(b"to one".to_vec()));
        b1.send(Destination::AllConnected, SRVID, b"to all".to_vec()).await.expect("broadcast");
        for rx in [&mut rx0, &mut rx1] {
            let m = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("broadcast within 5 s");
            assert_eq!(m, Some(b"to all".to_vec()));
        }
        assert_eq!(b.daemon_nodes(), [0, 1, 2]);
    }

    // ---- pause / resume through the backend ----
    let mut rx = b.subscribe();
    let t = Instant::now();
    b.pause_node(1).await.expect("pause node 1");
    println!("pause_node(1) took {:?}", t.elapsed());
    assert_eq!(node_state(&b, 1), Some(NodeState::Paused));
    assert!(cluster.status_line(1).contains("DISABLED"), "{}", cluster.status_line(1));
    assert!(cluster.ip_all().iter().all(|(_, h)| *h != Some(1)), "{:?}", cluster.ip_all());
    assert_eq!(b.snapshot().ips_hosted_by(1).count(), 0);
    conformance::expect_node_state(&mut rx, 1, NodeState::Paused, Duration::from_secs(2)).await;
    b.pause_node(1).await.expect("pausing a paused node");

    b.resume_node(1).await.expect("resume node 1");
    conformance::wait_for(&*b, "node 1 Up", Duration::from_secs(5), |s| {
        s.node_by_pnn(1).map(|n| n.state) == Some(NodeState::Up)
    })
    .await;
    assert!(cluster.status_line(1).contains("OK"), "{}", cluster.status_line(1));
    assert_eq!(b.resume_node(1).await, Err(BackendError::NodeNotPaused(1)));
    assert_eq!(b.pause_node(7).await, Err(BackendError::NodeNotFound(7)));

    // ---- `ctdb disable` outside the backend ----
    // The tool sets the flag at once, then waits for a takeover run (about
    // a second); the clock runs from its start.
    let t0 = Instant::now();
    let mut tool = cluster.ctdb_spawn(0, &["disable", "-n", "2"]);
    let seen =
        measure(&b, "node 2 Paused", Duration::from_secs(5), |b| node_state(b, 2) == Some(NodeState::Paused)).await;
    let st = tool.wait().expect("ctdb disable");
    assert!(st.success(), "ctdb disable -n 2 failed");
    println!(
        "external `ctdb disable -n 2`: backend reported Paused {:?} after the tool started \
         (tool itself took {:?})",
        seen,
        t0.elapsed()
    );
    assert!(seen < Duration::from_secs(1), "Paused seen after {seen:?}");
    let mut tool = cluster.ctdb_spawn(0, &["enable", "-n", "2"]);
    let seen = measure(&b, "node 2 Up", Duration::from_secs(5), |b| node_state(b, 2) == Some(NodeState::Up)).await;
    assert!(tool.wait().expect("ctdb enable").success(), "ctdb enable -n 2 failed");
    println!("external `ctdb enable -n 2`: Up reported {seen:?} after the tool started");
    assert!(seen < Duration::from_secs(1), "Up seen after {seen:?}");
    all_up(&b, Duration::from_secs(10)).await;

    // ---- stop / continue ----
    let t = Instant::now();
    b.stop_node(2).await.expect("stop node 2");
    println!("stop_node(2) took {:?}", t.elapsed());
    assert_eq!(node_state(&b, 2), Some(NodeState::Down));
    assert!(cluster.status_line(2).contains("STOPPED"));
    assert_eq!(b.snapshot().ips_hosted_by(2).count(), 0);
    b.stop_node(2).await.expect("stop is idempotent");
    let t = Instant::now();
    b.continue_node(2).await.expect("continue node 2");
    println!("continue_node(2) took {:?}", t.elapsed());
    conformance::wait_for(&*b, "node 2 back", Duration::from_secs(10), |s| {
        s.node_by_pnn(2).map(|n| n.state) == Some(NodeState::Up)
    })
    .await;
    b.continue_node(2).await.expect("continue is idempotent");
    all_up(&b, Duration::from_secs(15)).await;

    // ---- move_ip, checked against the tool ----
    let (addr, from) = cluster.ip_all().into_iter().find_map(|(a, h)| h.map(|h| (a, h))).expect("hosted IP");
    let to = (from + 1) % 3;
    let t = Instant::now();
    b.move_ip(addr, to).await.expect("move_ip");
    println!("move_ip({addr} {from} -> {to}) took {:?}", t.elapsed());
    assert_eq!(b.snapshot().ip_host(addr), Some(Some(to)));
    assert!(cluster.ip_all().contains(&(addr, Some(to))));
    b.move_ip(addr, from).await.expect("move back");
    assert!(matches!(b.move_ip("192.0.2.1".parse().expect("ip"), 0).await, Err(BackendError::ResourceNotFound(_))));

    // ---- an address node 0 takes: its clusapid relays ctdbd's TAKE_IP (with the address) ----
    {
        use nodes::ctdb::backend::ADDRESS_MOVED_SRVID;
        let (_c2, mut relayed) = nodes::ctdb::client::Connection::connect(&cluster.socket(2), &[ADDRESS_MOVED_SRVID])
            .await
            .expect("connect to node 2");
        let (addr, from) = cluster
            .ip_all()
            .into_iter()
            .find_map(|(a, h)| h.filter(|&h| h != 0).map(|h| (a, h)))
            .expect("an IP off node 0");
        b.move_ip(addr, 0).await.expect("move_ip to node 0");
        let m = tokio::time::timeout(Duration::from_secs(5), relayed.recv())
            .await
            .expect("relay within 5 s")
            .expect("a message");
        assert_eq!(
            nodes::ctdb::arrivals::decode_relay(&m.data),
            Some(nodes::ctdb::arrivals::Relay { pnn: 0, moved: Some((addr, true)) }),
            "node 0's clusapid relays that it took {addr}: {:?}",
            m.data
        );
        b.move_ip(addr, from).await.expect("move back");
    }

    // ---- kill node 2's ctdbd ----
    let pid = cluster.pid(2);
    let t = Instant::now();
    let st = Command::new("kill").args(["-KILL", &pid.to_string()]).status().expect("kill");
    assert!(st.success());
    let seen = measure(&b, "node 2 Down", Duration::from_secs(5), |b| node_state(b, 2) == Some(NodeState::Down)).await;
    println!(
        "killed ctdbd of node 2 (pid {pid}): reported Down after {seen:?} (flags {})",
        b.snapshot().node_by_pnn(2).map(|n| n.flags).unwrap_or_default()
    );
    assert!(seen < Duration::from_secs(2), "Down after {:?}", t.elapsed());
    conformance::wait_for(&*b, "IPs off node 2", Duration::from_secs(15), |s| {
        s.ips_hosted_by(2).next().is_none() && s.public_ips.iter().all(|p| p.pnn.is_some())
    })
    .await;
    let e = b.pause_node(2).await;
    assert_eq!(e, Err(BackendError::NodeDown(2)));
    cluster.start(); // restarts node 2 only
    let t = Instant::now();
    all_up(&b, Duration::from_secs(30)).await;
    println!("node 2 Up again {:?} after the script returned", t.elapsed());

    // ---- generic conformance checks ----
    let t = Instant::now();
    conformance::run_all(&*b).await;
    println!("conformance::run_all took {:?}", t.elapsed());
    all_up(&b, Duration::from_secs(15)).await;

    // ---- the overlay is persisted (in clusapid.tdb, cached in the state file) ----
    let stored_overlay = |r: nodes::ctdb::pdb::DbSnapshot| {
        String::from_utf8_lossy(r.payload(nodes::ctdb::backend::OVERLAY_KEY).unwrap_or_default()).into_owned()
    };
    let gid = b.create_group("persisted-group").await.expect("group");
    assert!(stored_overlay(b.stored_records().await).contains("persisted-group"));
    let saved = std::fs::read_to_string(&state_file).expect("state file");
    assert!(saved.contains("persisted-group"), "{saved}");
    b.delete_group(&gid).await.expect("delete group");
    assert!(!stored_overlay(b.stored_records().await).contains("persisted-group"));
    assert!(!std::fs::read_to_string(&state_file).expect("state file").contains("persisted-group"));

    // ---- the registry blob is persisted (cached next to the state file) ----
    b.store_registry_blob(b"registry-bytes".to_vec()).await.expect("store blob");
    assert_eq!(b.registry_blob().await, Ok(Some(b"registry-bytes".to_vec())));
    assert_eq!(std::fs::read(cluster.dir.join("overlay.registry")).expect("blob file"), b"registry-bytes");

    // ---- node 0's ctdbd goes away ----
    let mut rx = b.subscribe();
    let pid = cluster.pid(0);
    let st = Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill");
    assert!(st.success());
    let seen = measure(&b, "unavailable", Duration::from_secs(5), |b| !b.available()).await;
    println!("SIGTERM to node 0's ctdbd (pid {pid}): available() false after {seen:?}");
    assert!(seen < Duration::from_secs(1));
    cluster.stop_node(0); // its eventd, and makes sure it is gone
    conformance::expect_event(&mut rx, "BackendUnavailable", Duration::from_secs(2), |e| {
        *e == ClusterEvent::BackendUnavailable
    })
    .await;
    let s = b.snapshot();
    assert!(s.nodes.iter().all(|n| n.state == NodeState::Unknown), "{:?}", s.nodes);
    let t = Instant::now();
    assert!(matches!(b.pause_node(1).await, Err(BackendError::Unavailable(_))));
    assert!(matches!(b.move_ip(addr, 1).await, Err(BackendError::Unavailable(_))));
    assert!(matches!(b.create_group("while-down").await, Err(BackendError::Unavailable(_))));
    assert!(matches!(b.registry_blob().await, Err(BackendError::Unavailable(_))));
    let fail_fast = t.elapsed();
    println!("four calls while unavailable failed in {fail_fast:?}");
    assert!(fail_fast < Duration::from_millis(100));

    // restart node 0 in the background; the backend reconnects (back-off
    // at most 5 s) while the script still waits for the cluster to settle
    let t = Instant::now();
    let ctdb = cluster.ctdb.clone();
    let starter = std::thread::spawn(move || {
        ctdb.start_cluster();
        Instant::now()
    });
    let seen = measure(&b, "available again", Duration::from_secs(40), |b| b.available()).await;
    let script_done = starter.join().expect("start thread");
    println!(
        "node 0 restarted: available() true {seen:?} after the restart began (script took {:?})",
        script_done.duration_since(t)
    );
    conformance::expect_event(&mut rx, "BackendAvailable", Duration::from_secs(2), |e| {
        *e == ClusterEvent::BackendAvailable
    })
    .await;
    all_up(&b, Duration::from_secs(30)).await;
    println!("all Up {:?} after the restart", t.elapsed());
    b.pause_node(1).await.expect("pause after reconnect");
    b.resume_node(1).await.expect("resume after reconnect");
    assert_eq!(snapshot_ips(&b).len(), 3);

    drop(b);
}
