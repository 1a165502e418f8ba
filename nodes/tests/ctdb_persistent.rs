//! The admin overlay and the cluster-registry blob in the CTDB persistent
//! database `clusapid.tdb`, on a real 3-node loopback cluster (see
//! `common/mod.rs`; serialised with the other cluster tests by a `flock`):
//!
//! * (a) a backend on node 0 stores a blob and creates a group and a
//!   resource; a backend on node 1 sees them (blob at once, snapshot and
//!   events within a poll) and its local cache files follow; local cache
//!   files are imported into an empty database;
//! * (b) new backends (no cache files) still see everything;
//! * (c) with node 0's ctdbd stopped, node 1 reads and writes; node 0's
//!   backend reconnects after the restart and reads what was written
//!   meanwhile;
//! * (d) backends on two nodes update the blob and the overlay concurrently
//!   (read-modify-write transactions): no update is lost;
//! * (e) a stopped node refuses reads and writes, and catches up once
//!   continued;
//! * (f) with host-name naming, backends on nodes 0 and 1 publish their host
//!   names and every backend names those nodes so (node 2 published none).

#[macro_use]
mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{within, Cluster};
use nodes::{BackendError, ClusterBackend, ClusterEvent, CtdbBackend, CtdbConfig};

async fn backend(cluster: &Cluster, pnn: u32, cache: Option<&Path>) -> Arc<CtdbBackend> {
    let t = Instant::now();
    let b = CtdbBackend::connect(CtdbConfig {
        socket: cluster.socket(pnn),
        cluster_name: "CTDBTEST".into(),
        shares: vec![nodes::Share::named("share")],
        state_file: cache.map(Path::to_path_buf),
        ..CtdbConfig::new(cluster.socket(pnn), "CTDBTEST")
    })
    .await
    .unwrap_or_else(|e| panic!("connect to node {pnn}: {e}"));
    println!("backend on node {pnn} connected in {:?}", t.elapsed());
    b
}

async fn blob(b: &CtdbBackend) -> Option<Vec<u8>> {
    b.registry_blob().await.expect("registry_blob")
}

fn has_group(b: &CtdbBackend, name: &str) -> bool {
    b.snapshot().find_group_by_name(name).is_some()
}

fn has_resource(b: &CtdbBackend, name: &str) -> bool {
    b.snapshot().find_resource_by_name(name).is_some()
}

/// Waits for an event matching `pred` (other events are skipped).
async fn event(
    rx: &mut tokio::sync::broadcast::Receiver<ClusterEvent>,
    what: &str,
    pred: impl Fn(&ClusterEvent) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) if pred(&e) => return,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(e)) => panic!("event channel: {e}"),
            Err(_) => panic!("no {what} event"),
        }
    }
}

/// Recoveries node 1 has been through (`ctdb statistics`).
fn recoveries(cluster: &Cluster) -> u64 {
    let out = cluster.ctdb_on(1, &["-X", "statistics"]);
    let mut lines = out.lines();
    let (Some(head), Some(vals)) = (lines.next(), lines.next()) else { return 0 };
    let i = head.split('|').position(|h| h == "num_recoveries");
    i.and_then(|i| vals.split('|').nth(i)).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// The `;`-separated tokens of a blob.
fn tokens(b: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(b).split(';').filter(|t| !t.is_empty()).map(str::to_string).collect()
}

on_both_ctdb_versions!(
    "ctdb_persistent",
    /// The installed CTDB (4.22 in CI).
    overlay_and_registry_in_persistent_database,
    /// Debian 12's own CTDB 4.17 (its persistent-transaction controls are the same).
    overlay_and_registry_in_persistent_database_4_17
);

async fn exercise(cluster: Cluster) {
    let dir = cluster.dir.clone();

    // ---- (a) one node writes, another sees it ----
    // node 0's cache files predate the database: they are imported
    let cache_a = dir.join("a/overlay.toml");
    let cache_b = dir.join("b/overlay.toml");
    std::fs::create_dir_all(dir.join("a")).expect("mkdir");
    std::fs::create_dir_all(dir.join("b")).expect("mkdir");
    std::fs::write(dir.join("a/overlay.registry"), b"imported-blob").expect("write cache");
    let a = backend(&cluster, 0, Some(&cache_a)).await;
    assert_eq!(blob(&a).await.as_deref(), Some(&b"imported-blob"[..]), "local cache imported");
    let b = backend(&cluster, 1, Some(&cache_b)).await;
    assert_eq!(blob(&b).await.as_deref(), Some(&b"imported-blob"[..]), "node 1 reads the import");
    // node 1's cache follows the database
    assert_eq!(std::fs::read(dir.join("b/overlay.registry")).expect("b cache"), b"imported-blob");

    let mut rx_b = b.subscribe();
    let t = Instant::now();
    a.store_registry_blob(b"blob-1".to_vec()).await.expect("store blob");
    println!("(a) store_registry_blob on node 0 took {:?}", t.elapsed());
    // node 1 serves reads from memory for up to READ_CACHE after its last check, unless node
    // 0's change message arrived first: it sees the write within that bound, normally at once
    let t = Instant::now();
    loop {
        if blob(&b).await.as_deref() == Some(&b"blob-1"[..]) {
            break;
        }
        assert!(
            t.elapsed() < nodes::ctdb::backend::READ_CACHE + Duration::from_millis(300),
            "node 1 did not read the new blob within the read cache's bound"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    println!("(a) node 1 read the new blob {:?} after the write returned", t.elapsed());
    let t = Instant::now();
    assert_eq!(blob(&b).await.as_deref(), Some(&b"blob-1"[..]));
    println!("(a) registry_blob on node 1 (unchanged) took {:?}", t.elapsed());
    // with nothing written, reads come from memory: no ctdbd round trip each
    let before = b.db_stats().await;
    for _ in 0..100 {
        assert_eq!(blob(&b).await.as_deref(), Some(&b"blob-1"[..]));
    }
    let after = b.db_stats().await;
    println!(
        "(a) 100 reads on node 1: {} from memory, {} probes",
        after.cached_reads - before.cached_reads,
        after.probes - before.probes
    );
    assert!(after.cached_reads - before.cached_reads >= 90, "{before:?} -> {after:?}");

    let t = Instant::now();
    let gid = a.create_group("persisted-group").await.expect("create group");
    println!("(a) create_group on node 0 took {:?}", t.elapsed());
    let t = Instant::now();
    let rid = a.create_resource(&gid, "persisted-res", "Generic Service").await.expect("create resource");
    let t_write = Instant::now();
    println!("(a) create_resource on node 0 took {:?}", t.elapsed());
    assert!(has_resource(&a, "persisted-res"), "the writer's snapshot has it when the call returns");
    let seen = within("node 1 to see the resource", Duration::from_secs(1), || has_resource(&b, "persisted-res")).await;
    println!("(a) node 1's snapshot showed the resource {:?} after the write returned", t_write.elapsed().min(seen));
    event(&mut rx_b, "GroupAdded", |e| matches!(e, ClusterEvent::GroupAdded { group_id, .. } if *group_id == gid))
        .await;
    event(
        &mut rx_b,
        "ResourceAdded",
        |e| matches!(e, ClusterEvent::ResourceAdded { resource_id, .. } if *resource_id == rid),
    )
    .await;
    let cached = std::fs::read_to_string(&cache_b).expect("b overlay cache");
    assert!(cached.contains("persisted-res"), "{cached}");
    // the database holds the same on every node
    let seqnums: Vec<String> =
        (0..3).map(|p| cluster.ctdb_on(p, &["getdbseqnum", "clusapid.tdb"]).trim().to_string()).collect();
    println!("(a) clusapid.tdb seqnum per node: {seqnums:?}");
    assert!(seqnums.iter().all(|s| *s == seqnums[0]), "{seqnums:?}");

    // ---- (b) new backends, no cache files ----
    drop(a);
    drop(b);
    let a = backend(&cluster, 0, None).await;
    let c = backend(&cluster, 2, None).await;
    for (name, x) in [("node 0", &a), ("node 2", &c)] {
        assert_eq!(blob(x).await.as_deref(), Some(&b"blob-1"[..]), "{name} after reconnect");
        assert!(has_resource(x, "persisted-res"), "{name} after reconnect");
        assert!(x.snapshot().find_group_by_name("persisted-group").is_some(), "{name}");
    }
    drop(c);
    println!("(b) reconnected backends see the blob and the resource");

    // ---- (c) node 0's ctdbd goes away and comes back ----
    let b = backend(&cluster, 1, None).await;
    let t = Instant::now();
    cluster.stop_node(0);
    within("node 0's backend unavailable", Duration::from_secs(5), || !a.available()).await;
    assert!(matches!(a.store_registry_blob(b"lost".to_vec()).await, Err(BackendError::Unavailable(_))));
    assert!(matches!(a.create_group("lost-group").await, Err(BackendError::Unavailable(_))));
    assert_eq!(blob(&b).await.as_deref(), Some(&b"blob-1"[..]), "node 1 reads with node 0 down");
    println!("(c) node 0 stopped; node 1 read the blob {:?} later", t.elapsed());
    let t = Instant::now();
    b.store_registry_blob(b"blob-2".to_vec()).await.expect("store with node 0 down");
    b.create_resource(&gid, "while-0-down", "Generic Service").await.expect("create with node 0 down");
    println!("(c) two writes on node 1 with node 0 down took {:?}", t.elapsed());
    let t = Instant::now();
    cluster.start();
    within("node 0's backend available", Duration::from_secs(40), || a.available()).await;
    println!("(c) node 0's backend available {:?} after the restart began", t.elapsed());
    assert_eq!(blob(&a).await.as_deref(), Some(&b"blob-2"[..]), "node 0 has the write made without it");
    within("node 0 to show the resource", Duration::from_secs(2), || has_resource(&a, "while-0-down")).await;
    assert!(has_resource(&a, "persisted-res"));
    assert!(a.snapshot().find_group_by_name("lost-group").is_none());

    // ---- (d) concurrent read-modify-write from two nodes ----
    let n: usize = std::env::var("CTDB_PERSIST_N").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    let recoveries_before = recoveries(&cluster);
    let t = Instant::now();
    // Both writers start each update together, so their commits race.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let mut tasks = Vec::new();
    for (tag, x) in [("x", a.clone()), ("y", b.clone())] {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let mut attempts = 0usize;
            for i in 0..n {
                barrier.wait().await;
                x.update_registry_blob(|old| {
                    attempts += 1;
                    let mut v = old.unwrap_or_default().to_vec();
                    v.extend_from_slice(format!("{tag}{i};").as_bytes());
                    Ok(v)
                })
                .await
                .expect("update blob");
            }
            for i in 0..4 {
                barrier.wait().await;
                x.create_group(&format!("concurrent-{tag}{i}")).await.expect("create group");
            }
            attempts
        }));
    }
    let mut attempts = 0;
    for task in tasks {
        attempts += task.await.expect("writer task");
    }
    println!(
        "(d) 2 x ({n} blob updates + 4 group creations) concurrently on nodes 0 and 1 took {:?}; \
         blob closure ran {attempts} times for {} updates; {} recoveries; stats node 0 {:?}, node 1 {:?}",
        t.elapsed(),
        2 * n,
        recoveries(&cluster) - recoveries_before,
        a.db_stats().await,
        b.db_stats().await,
    );
    for x in [&a, &b] {
        let v = blob(x).await.expect("blob");
        let toks = tokens(v.strip_prefix(b"blob-2").expect("based on blob-2"));
        assert_eq!(toks.len(), 2 * n, "every update kept once: {toks:?}");
        for tag in ["x", "y"] {
            let mine: Vec<_> = toks.iter().filter(|t| t.starts_with(tag)).cloned().collect();
            let want: Vec<_> = (0..n).map(|i| format!("{tag}{i}")).collect();
            assert_eq!(mine, want, "{tag}'s updates in order");
        }
    }
    within("both nodes to show all 8 groups", Duration::from_secs(2), || {
        [&a, &b].iter().all(|x| {
            let s = x.snapshot();
            ["x", "y"].iter().all(|tag| (0..4).all(|i| s.find_group_by_name(&format!("concurrent-{tag}{i}")).is_some()))
        })
    })
    .await;
    let ids: std::collections::BTreeSet<_> = a.overlay().groups.iter().map(|g| g.id.clone()).collect();
    assert_eq!(ids.len(), a.overlay().groups.len(), "distinct group ids");

    // ---- (e) a stopped node refuses reads and writes (its copy is not kept current) ----
    let t = Instant::now();
    a.stop_node(1).await.expect("stop node 1");
    within("node 1's backend to see itself stopped", Duration::from_secs(2), || {
        b.snapshot().node_by_pnn(1).map(|n| n.state) == Some(nodes::NodeState::Down)
    })
    .await;
    let e = b.create_group("from-a-stopped-node").await.expect_err("stopped node writes");
    assert!(matches!(e, BackendError::Unavailable(_)), "{e:?}");
    assert!(matches!(b.registry_blob().await, Err(BackendError::Unavailable(_))));
    a.create_group("while-1-stopped").await.expect("node 0 writes while 1 is stopped");
    // a backend starting on the stopped node connects, and opens the
    // database once the node is active again
    let late = backend(&cluster, 1, None).await;
    assert!(matches!(late.registry_blob().await, Err(BackendError::Unavailable(_))));
    a.continue_node(1).await.expect("continue node 1");
    within("node 1 to catch up", Duration::from_secs(15), || has_group(&b, "while-1-stopped")).await;
    b.create_group("after-continue").await.expect("node 1 writes again");
    within("the late backend to open the database", Duration::from_secs(15), || has_group(&late, "after-continue"))
        .await;
    assert!(blob(&late).await.is_some());
    drop(late);
    println!("(e) stop / refused write / continue / catch-up took {:?}", t.elapsed());

    // ---- (f) host names: published by each node's backend, shown by every backend ----
    let t = Instant::now();
    let named = |pnn: u32, host: &str| {
        let mut c = CtdbConfig::new(cluster.socket(pnn), "CTDBTEST");
        c.node_naming = nodes::NodeNaming::Hostname;
        c.host_name = Some((host.to_string(), format!("{host}.lab.example")));
        CtdbBackend::connect(c)
    };
    let fa = named(0, "fs-a").await.expect("connect node 0 (host names)");
    let fb = named(1, "fs-b").await.expect("connect node 1 (host names)");
    let names = |x: &CtdbBackend| x.snapshot().nodes.iter().map(|n| n.name.clone()).collect::<Vec<_>>();
    within("both backends to name nodes 0 and 1 by their host names", Duration::from_secs(5), || {
        [&fa, &fb].iter().all(|x| names(x) == ["fs-a", "fs-b", "CTDB_NODE_2"])
    })
    .await;
    let s = fa.snapshot();
    assert_eq!(s.find_node_by_name("FS-B.lab.example").map(|n| n.pnn), Some(1));
    // a backend with Samba's naming sees the published FQDNs but keeps CTDB_NODE_<pnn>
    within("the FQDNs to reach a ctdb-named backend", Duration::from_secs(2), || {
        a.snapshot().node_by_pnn(1).and_then(|n| n.fqdn.clone()).as_deref() == Some("fs-b.lab.example")
    })
    .await;
    assert_eq!(names(&a), ["CTDB_NODE_0", "CTDB_NODE_1", "CTDB_NODE_2"]);
    drop((fa, fb));
    println!("(f) host-name publication took {:?}", t.elapsed());

    drop(a);
    drop(b);
}
