//! The loopback floor: what one request/response round trip over TCP costs with no RPC work at
//! all, in the same placement. A server thread answers each `req`-byte message with a
//! `resp`-byte one, either with blocking read/write (the cheapest possible server) or from a
//! tokio event loop (epoll + read + write, the syscalls clusapid makes per call). Its CPU per
//! round trip is the part of "server CPU per call" no RPC server can go below.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::json::Json;

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FloorServer {
    Blocking,
    /// tokio current-thread runtime.
    Tokio,
    /// tokio multi-thread runtime with one worker (clusapid's runtime when pinned to one CPU).
    TokioMt,
}

fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Nanoseconds a thread of this process has run (schedstat; all CPU time, user and system).
fn thread_ns(tid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Run time of every thread of this process except `but` (the client thread).
fn others_ns(but: i32) -> Option<u64> {
    let mut sum = 0;
    for e in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|t| t.parse::<i32>().ok()) else { continue };
        if tid != but {
            sum += thread_ns(tid).unwrap_or(0);
        }
    }
    Some(sum)
}

fn pin_thread(cpus: &[usize]) {
    if cpus.is_empty() {
        return;
    }
    let _ = crate::procfs::set_affinity(cpus);
}

fn serve_blocking(mut s: TcpStream, req: usize, resp: usize) {
    let _ = s.set_nodelay(true);
    let mut inb = vec![0u8; req];
    let out = vec![0x5au8; resp];
    while s.read_exact(&mut inb).is_ok() {
        if s.write_all(&out).is_err() {
            break;
        }
    }
}

async fn serve_tokio(s: tokio::net::TcpStream, req: usize, resp: usize) {
    let mut s = s;
    let _ = s.set_nodelay(true);
    let mut inb = vec![0u8; req];
    let out = vec![0x5au8; resp];
    while s.read_exact(&mut inb).await.is_ok() {
        if s.write_all(&out).await.is_err() {
            break;
        }
    }
}

/// Runs the floor measurement; returns the result object members.
pub fn run(
    kind: FloorServer,
    req: usize,
    resp: usize,
    warmup: f64,
    duration: f64,
    server_cpus: &[usize],
    nodelay: bool,
) -> anyhow::Result<Json> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (tid_tx, tid_rx) = mpsc::channel::<i32>();
    let sc = server_cpus.to_vec();
    let server = std::thread::spawn(move || {
        pin_thread(&sc);
        let _ = tid_tx.send(gettid());
        let Ok((s, _)) = listener.accept() else { return };
        match kind {
            FloorServer::Blocking => serve_blocking(s, req, resp),
            FloorServer::Tokio | FloorServer::TokioMt => {
                let rt = if kind == FloorServer::Tokio {
                    tokio::runtime::Builder::new_current_thread().enable_all().build()
                } else {
                    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()
                };
                let Ok(rt) = rt else { return };
                // the connection runs as a spawned task, as clusapid's connections do
                rt.block_on(async move {
                    let _ = s.set_nonblocking(true);
                    if let Ok(s) = tokio::net::TcpStream::from_std(s) {
                        let _ = tokio::spawn(serve_tokio(s, req, resp)).await;
                    }
                });
            }
        }
    });
    let _server_tid = tid_rx.recv_timeout(Duration::from_secs(5))?;
    let mut c = TcpStream::connect(addr)?;
    c.set_nodelay(nodelay)?;
    let ctid = gettid();
    let msg = vec![0xa5u8; req];
    let mut inb = vec![0u8; resp];
    let mut lat: Vec<u32> = Vec::with_capacity(1 << 20);
    let start = Instant::now();
    let warm_end = start + Duration::from_secs_f64(warmup);
    let end = warm_end + Duration::from_secs_f64(duration);
    let mut s0 = None;
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        if s0.is_none() && t0 >= warm_end {
            s0 = Some((others_ns(ctid), thread_ns(ctid)));
        }
        c.write_all(&msg)?;
        c.read_exact(&mut inb)?;
        if t0 >= warm_end {
            lat.push(u32::try_from((Instant::now() - t0).as_nanos()).unwrap_or(u32::MAX));
        }
    }
    let s1 = (others_ns(ctid), thread_ns(ctid));
    drop(c);
    let _ = server.join();
    let n = lat.len() as f64;
    lat.sort_unstable();
    let p = |q: f64| {
        lat.get(((q / 100.0) * (lat.len().saturating_sub(1)) as f64).round() as usize).map(|&x| f64::from(x) / 1e3)
    };
    let per = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) if n > 0.0 => Some((b.saturating_sub(a)) as f64 / 1e3 / n),
        _ => None,
    };
    let (ss0, cs0) = s0.unwrap_or((None, None));
    let mut o = Json::obj();
    o.set("floor_server", format!("{kind:?}").to_lowercase())
        .set("req_bytes", req)
        .set("resp_bytes", resp)
        .set("ops", lat.len())
        .set("errors", 0u64)
        .set("ops_per_s", Json::round(Some(n / duration), 1));
    let mut l = Json::obj();
    l.set("p50", Json::round(p(50.0), 1)).set("p99", Json::round(p(99.0), 1));
    o.set("lat_us", l)
        .set("server_cpu_us_per_op", Json::round(per(ss0, s1.0), 2))
        .set("client_cpu_us_per_op", Json::round(per(cs0, s1.1), 2));
    Ok(o)
}
