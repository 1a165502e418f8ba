//! The simulated backend's cost per event at a given size (a benchmark, not a test): a
//! cluster of NODES nodes and IPS public IPs; the mean time of `ctdb disable` + `enable` of
//! the last node through [`ClusterBackend`] (a reallocation, a new snapshot and its events,
//! twice), and of the parts: [`nodes::mapping::build`] of a snapshot and
//! [`nodes::events::diff`] of two.
//!
//! ```text
//! snapshot_cost [NODES] [IPS] [ROUNDS]
//! ```

use std::time::Instant;

use nodes::{ClusterBackend, SimConfig, SimulatedCluster};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a: Vec<u64> = std::env::args().skip(1).filter_map(|v| v.parse().ok()).collect();
    let (n, ips, rounds) =
        (a.first().copied().unwrap_or(64), a.get(1).copied().unwrap_or(1000), a.get(2).copied().unwrap_or(10));
    let sim = SimulatedCluster::new(SimConfig::with_nodes_and_ips(n as u32, ips as usize)).expect("simulated");
    let last = n as u32 - 1;
    let mut rx = sim.subscribe();
    let t = Instant::now();
    let mut events = 0usize;
    for _ in 0..rounds {
        sim.pause_node(last).await.expect("pause");
        sim.resume_node(last).await.expect("resume");
        while rx.try_recv().is_ok() {
            events += 1;
        }
    }
    let event_us = t.elapsed().as_secs_f64() * 1e6 / (2 * rounds) as f64;
    let before = sim.snapshot();
    sim.pause_node(last).await.expect("pause");
    let after = sim.snapshot();
    sim.resume_node(last).await.expect("resume");
    let t = Instant::now();
    let mut k = 0;
    for _ in 0..rounds {
        k += nodes::events::diff(&before, &after).len();
    }
    let diff_us = t.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    println!(
        "{{\"mode\":\"snapshot-cost\",\"nodes\":{n},\"public_ips\":{ips},\"event_us\":{event_us:.1},\"events_per_change\":{},\"diff_us\":{diff_us:.1},\"diff_events\":{}}}",
        events / (2 * rounds as usize).max(1),
        k / rounds as usize
    );
}
