//! The registry read path of the ctdb backend against the simulated backend's (a benchmark
//! for `bench/compare --scale`, not a test): needs a running loopback CTDB cluster
//! (`scripts/ctdb-local-cluster start DIR`) and prints one JSON line.
//!
//! ```text
//! read_path SOCKET_NODE0 SOCKET_NODE1 [READS] [WRITES]
//! ```
//!
//! * `ClusterBackend::registry_blob` (what clusapid asks on every clusapi registry call), with
//!   the same 16 KiB blob stored, `READS` times back to back on: the simulated backend; the
//!   ctdb backend with `read_cache` 0 (a GET_DB_SEQNUM + GETVNNMAP probe of ctdbd first, as
//!   every read did before the read cache); and with the default `read_cache`. Mean and p50 /
//!   p99 ns per read, and the probes the ctdb backend sent meanwhile.
//! * Promptness: `WRITES` times a backend on node 0 stores a new blob, and a backend on node
//!   1 (default `read_cache`) reads in a loop until it returns the new bytes: the delay from
//!   the write's return to the first read that saw it (p50 / p99 / max): how promptly other
//!   nodes' writes are seen (the writer's change message, else the `read_cache` bound).

use std::sync::Arc;
use std::time::{Duration, Instant};

use nodes::{ClusterBackend, CtdbBackend, CtdbConfig, SimConfig, SimulatedCluster};

fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[(((sorted.len() - 1) as f64) * q).round() as usize]
}

async fn reads(b: &dyn ClusterBackend, n: usize, want: &[u8]) -> (f64, f64, f64) {
    // warm-up
    for _ in 0..100 {
        let got = b.registry_blob().await.expect("registry_blob");
        assert_eq!(got.as_deref(), Some(want), "unexpected blob");
    }
    let mut v = Vec::with_capacity(n);
    let t0 = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let got = b.registry_blob().await.expect("registry_blob");
        v.push(t.elapsed().as_secs_f64() * 1e9);
        std::hint::black_box(got);
    }
    let mean = t0.elapsed().as_secs_f64() * 1e9 / n as f64;
    v.sort_by(f64::total_cmp);
    (mean, pct(&v, 0.5), pct(&v, 0.99))
}

async fn ctdb(socket: &str, read_cache: Duration) -> Arc<CtdbBackend> {
    CtdbBackend::connect(CtdbConfig { read_cache, ..CtdbConfig::new(socket, "CTDBTEST") })
        .await
        .unwrap_or_else(|e| panic!("connect {socket}: {e}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: read_path SOCKET_NODE0 SOCKET_NODE1 [READS] [WRITES]");
        std::process::exit(2);
    }
    let n: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let writes: usize = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(50);
    let blob: Vec<u8> = (0..16 * 1024).map(|i| (i % 251) as u8).collect();

    let sim = SimulatedCluster::new(SimConfig::with_nodes(3)).expect("simulated");
    sim.store_registry_blob(blob.clone()).await.expect("store");
    let (s_mean, s_p50, s_p99) = reads(&sim, n, &blob).await;

    let a = ctdb(&args[1], nodes::ctdb::backend::READ_CACHE).await;
    a.store_registry_blob(blob.clone()).await.expect("store on node 0");
    let probe_each = ctdb(&args[2], Duration::ZERO).await;
    let p0 = probe_each.db_stats().await.probes;
    let (u_mean, u_p50, u_p99) = reads(&*probe_each, n, &blob).await;
    let u_probes = probe_each.db_stats().await.probes - p0;
    drop(probe_each);
    let cached = ctdb(&args[2], nodes::ctdb::backend::READ_CACHE).await;
    let p0 = cached.db_stats().await.probes;
    let (c_mean, c_p50, c_p99) = reads(&*cached, n, &blob).await;
    let c_probes = cached.db_stats().await.probes - p0;

    // promptness: node 0 writes, node 1 reads until it sees the write
    let mut delays = Vec::new();
    for k in 0..writes {
        let mut new = blob.clone();
        new[..8].copy_from_slice(&(k as u64).to_le_bytes());
        a.store_registry_blob(new.clone()).await.expect("store on node 0");
        let t = Instant::now();
        loop {
            if cached.registry_blob().await.expect("read on node 1").as_deref() == Some(&new[..]) {
                break;
            }
            if t.elapsed() > Duration::from_secs(5) {
                panic!("node 1 did not see write {k} within 5 s");
            }
            tokio::task::yield_now().await;
        }
        delays.push(t.elapsed().as_secs_f64() * 1e3);
        // let the poll run now and then, as on a real daemon
        tokio::time::sleep(Duration::from_millis(37)).await;
    }
    delays.sort_by(f64::total_cmp);
    println!(
        "{{\"mode\":\"ctdb-read-path\",\"reads\":{n},\"blob_bytes\":{},\
\"simulated_ns\":{{\"mean\":{s_mean:.0},\"p50\":{s_p50:.0},\"p99\":{s_p99:.0}}},\
\"ctdb_probe_each_ns\":{{\"mean\":{u_mean:.0},\"p50\":{u_p50:.0},\"p99\":{u_p99:.0},\"probes\":{u_probes}}},\
\"ctdb_cached_ns\":{{\"mean\":{c_mean:.0},\"p50\":{c_p50:.0},\"p99\":{c_p99:.0},\"probes\":{c_probes}}},\
\"read_cache_ms\":{},\"writes\":{writes},\
\"other_node_write_seen_ms\":{{\"p50\":{:.3},\"p99\":{:.3},\"max\":{:.3}}}}}",
        blob.len(),
        nodes::ctdb::backend::READ_CACHE.as_millis(),
        pct(&delays, 0.5),
        pct(&delays, 0.99),
        delays.last().copied().unwrap_or(f64::NAN),
    );
}
