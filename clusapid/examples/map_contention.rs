//! Is `dashmap` worth it for the status endpoint's table of open connections
//! (`metrics::Metrics::connections`)? Every accepted connection inserts one entry and removes
//! it when it closes, from whichever runtime thread serves it; a scrape walks the table.
//! This measures that churn from THREADS threads against `DashMap<u64, Arc<_>>` and against
//! `Mutex<HashMap<u64, Arc<_>>>`, with the table holding BASE long-lived entries, and the walk.
//!
//! `cargo run --release -p clusapid --example map_contention [THREADS...]`
//! (README "Dependencies" quotes a run).

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use dashmap::DashMap;

const OPS: u64 = 400_000;
const BASE: u64 = 1_000;

struct Entry {
    _peer: String,
}

trait Table: Sync {
    fn insert(&self, k: u64, v: Arc<Entry>);
    fn remove(&self, k: u64);
    fn walk(&self) -> usize;
}

impl Table for DashMap<u64, Arc<Entry>> {
    fn insert(&self, k: u64, v: Arc<Entry>) {
        DashMap::insert(self, k, v);
    }
    fn remove(&self, k: u64) {
        DashMap::remove(self, &k);
    }
    fn walk(&self) -> usize {
        self.iter().filter(|e| Arc::strong_count(e.value()) > 0).count()
    }
}

impl Table for Mutex<HashMap<u64, Arc<Entry>>> {
    fn insert(&self, k: u64, v: Arc<Entry>) {
        self.lock().unwrap().insert(k, v);
    }
    fn remove(&self, k: u64) {
        self.lock().unwrap().remove(&k);
    }
    fn walk(&self) -> usize {
        self.lock().unwrap().values().filter(|v| Arc::strong_count(v) > 0).count()
    }
}

/// Nanoseconds per insert+remove pair with `threads` threads churning.
fn churn(t: &dyn Table, threads: u64) -> f64 {
    for k in 0..BASE {
        t.insert(u64::MAX - k, Arc::new(Entry { _peer: format!("127.0.0.1:{k}") }));
    }
    let per = OPS / threads;
    let start = Instant::now();
    std::thread::scope(|s| {
        for th in 0..threads {
            s.spawn(move || {
                let e = Arc::new(Entry { _peer: "127.0.0.1:1".into() });
                for i in 0..per {
                    let k = th * per + i;
                    t.insert(k, e.clone());
                    t.remove(k);
                }
            });
        }
    });
    start.elapsed().as_nanos() as f64 / (per * threads) as f64
}

/// Microseconds per walk of BASE entries.
fn walk(t: &dyn Table) -> f64 {
    let start = Instant::now();
    for _ in 0..1_000 {
        black_box(t.walk());
    }
    start.elapsed().as_nanos() as f64 / 1_000.0 / 1_000.0
}

fn main() {
    let threads: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let threads = if threads.is_empty() { vec![1, 2, 4, 8] } else { threads };
    println!("cpus: {}", std::thread::available_parallelism().map_or(0, |n| n.get()));
    println!("{:>8} {:>22} {:>22}", "threads", "DashMap ns/open+close", "Mutex ns/open+close");
    for &n in &threads {
        let d = DashMap::new();
        let m = Mutex::new(HashMap::new());
        // alternate and keep the best of three, to damp a shared machine's noise
        let (mut bd, mut bm) = (f64::MAX, f64::MAX);
        for _ in 0..3 {
            bd = bd.min(churn(&d, n));
            bm = bm.min(churn(&m, n));
        }
        println!("{n:>8} {bd:>22.1} {bm:>22.1}");
    }
    let d = DashMap::new();
    let m = Mutex::new(HashMap::new());
    churn(&d, 1);
    churn(&m, 1);
    println!("walk of {BASE} entries: DashMap {:.1} µs, Mutex {:.1} µs", walk(&d), walk(&m));
}
