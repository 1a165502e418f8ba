//! `--mode soak`: many concurrent sealed clusapi clients doing what Failover Cluster Manager
//! does, for minutes, with the server's memory sampled throughout.
//!
//! Each of `--conns` clients binds clusapi (SPNEGO or NTLMSSP at packet privacy) and loops a
//! Windows-like refresh: ApiOpenCluster, ApiCreateEnum (nodes, resources, groups), a node
//! opened, its state and read-only common properties read and closed, the Cluster Group
//! likewise with its common properties, the cluster's read-only common properties, a registry
//! read (ApiGetRootKey, ApiQueryValue ClusterName, ApiCloseKey) and ApiCloseCluster, with a
//! random think time around `--think-ms` between calls; after about `--reconnect-every` calls
//! (0.5x to 1.5x) it drops its connection and binds again (the association and its handles go with it). One
//! client in ten is a notification client instead: a version 2 notification port registered
//! for every node's state, with ApiGetNotifyV2 always pending. An admin connection pauses and
//! resumes CTDB_NODE_2 every `--events-every` seconds, which the notification clients see.
//!
//! Every reply must be a response with status 0 (ApiGetNotifyV2: a notification); anything
//! else is an error. Latency percentiles are per call kind and overall (blocking
//! ApiGetNotifyV2 waits excluded). The server's RSS (sum over its process tree) is sampled
//! every 5 s; the report gives it after the first minute and at the end.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dcerpc::pdu::SyntaxId;
use idl::clusapi::*;
use idl::{Bool32, ByteOrder, ContextHandle, WString};

use crate::conn::{AuthCfg, RpcConnection};
use crate::json::Json;
use crate::procfs;

const LE: ByteOrder = ByteOrder::Little;
const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
const CLUSTER_ENUM_NODE_RESOURCE_GROUP: u32 = 0x1 | 0x4 | 0x8;
const NODE_GET_RO_COMMON_PROPERTIES: u32 = 0x0400_0055;
const GROUP_GET_COMMON_PROPERTIES: u32 = 0x0300_0059;
const CLUSTER_GET_RO_COMMON_PROPERTIES: u32 = 0x0700_0055;
const OBJECT_TYPE_NODE: u32 = 7;
const NODE_STATE_V2: i64 = 0x10;

/// What a soak run is told.
#[derive(Clone, Debug)]
pub struct SoakCfg {
    pub addr: SocketAddr,
    pub auth: AuthCfg,
    pub clients: usize,
    pub duration: Duration,
    pub think: Duration,
    pub reconnect_every: u64,
    pub events_every: Duration,
    pub server_pid: Option<i32>,
    pub threads: usize,
    /// Clients are started evenly over this long.
    pub ramp: Duration,
}

#[derive(Default)]
struct Stats {
    /// µs per call kind.
    lat: BTreeMap<&'static str, Vec<u32>>,
    errors: BTreeMap<String, u64>,
    notifications: u64,
    connects: u64,
}

impl Stats {
    fn merge(&mut self, o: Stats) {
        for (k, mut v) in o.lat {
            self.lat.entry(k).or_default().append(&mut v);
        }
        for (k, n) in o.errors {
            *self.errors.entry(k).or_default() += n;
        }
        self.notifications += o.notifications;
        self.connects += o.connects;
    }
    fn error(&mut self, what: &str, e: impl std::fmt::Display) {
        *self.errors.entry(format!("{what}: {e}")).or_default() += 1;
    }
}

struct Client {
    conn: RpcConnection,
    stats: Stats,
}

impl Client {
    /// One call of `req`: its latency is recorded under the operation's name; the reply must
    /// decode and carry status 0.
    async fn op<R: Op>(&mut self, req: R) -> Result<R::Response, ()> {
        let (opnum, stub) = req.opnum_stub();
        let name = Clusapi::op_name(opnum).unwrap_or("unknown operation");
        let t = Instant::now();
        let r = self.conn.call(opnum, &stub).await;
        let us = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
        match r.map(|out| R::decode(&out)) {
            Ok(Some(resp)) => match R::status(&resp) {
                0 => {
                    self.stats.lat.entry(name).or_default().push(us);
                    Ok(resp)
                }
                s => {
                    self.stats.error(name, format!("status {s}"));
                    Err(())
                }
            },
            Ok(None) => {
                self.stats.error(name, "undecodable response");
                Err(())
            }
            Err(e) => {
                self.stats.error(name, e);
                Err(())
            }
        }
    }
}

fn clusapi() -> SyntaxId {
    SyntaxId::new(Clusapi::UUID, Clusapi::VERSION_MAJOR, Clusapi::VERSION_MINOR)
}

async fn think(cfg: &SoakCfg) {
    if cfg.think.is_zero() {
        return;
    }
    let ms = cfg.think.as_millis() as u64;
    let d = Duration::from_millis(rand::random::<u64>() % (2 * ms + 1));
    tokio::time::sleep(d).await;
}

async fn connect(cfg: &SoakCfg, stats: &mut Stats) -> Option<RpcConnection> {
    let t = Instant::now();
    match crate::conn::open(cfg.addr, true, &cfg.auth, clusapi()).await {
        Ok(c) => {
            stats.connects += 1;
            stats.lat.entry("connect+bind+auth").or_default().push(t.elapsed().as_micros() as u32);
            Some(c)
        }
        Err(e) => {
            stats.error("connect", e);
            None
        }
    }
}

/// One Failover-Cluster-Manager-like refresh. Returns the number of calls made.
async fn refresh(c: &mut Client, cfg: &SoakCfg, node: &str) -> Result<u64, ()> {
    let mut n = 0u64;
    macro_rules! call {
        ($req:expr) => {{
            let r = c.op($req).await?;
            n += 1;
            think(cfg).await;
            r
        }};
    }
    // the *Control calls: one control code on one object, no input, up to 8 KiB of output
    macro_rules! control {
        ($req:ident { $obj:ident: $h:expr }, $code:expr) => {
            call!($req { $obj: $h, control_code: $code, in_buffer: None, in_buffer_size: 0, out_buffer_size: 8192 })
        };
    }
    let cl = call!(ApiOpenClusterRequest {});
    call!(ApiCreateEnumRequest { enum_type: CLUSTER_ENUM_NODE_RESOURCE_GROUP });
    let nd = call!(ApiOpenNodeRequest { node_name: WString::new(node) });
    call!(ApiGetNodeStateRequest { node: nd.node });
    control!(ApiNodeControlRequest { node: nd.node }, NODE_GET_RO_COMMON_PROPERTIES);
    call!(ApiCloseNodeRequest { node: nd.node });
    let g = call!(ApiOpenGroupRequest { group_name: WString::new("Cluster Group") });
    call!(ApiGetGroupStateRequest { group: g.group });
    control!(ApiGroupControlRequest { group: g.group }, GROUP_GET_COMMON_PROPERTIES);
    call!(ApiCloseGroupRequest { group: g.group });
    control!(ApiClusterControlRequest { cluster: cl.cluster }, CLUSTER_GET_RO_COMMON_PROPERTIES);
    let k = call!(ApiGetRootKeyRequest { sam_desired: MAXIMUM_ALLOWED });
    call!(ApiQueryValueRequest { key: k.key, value_name: WString::new("ClusterName"), cb_data: 512 });
    call!(ApiCloseKeyRequest { key: k.key });
    call!(ApiCloseClusterRequest { cluster: cl.cluster });
    Ok(n)
}

/// A clusapi request this bench sends, tied to its response type.
trait Op {
    type Response;
    fn opnum_stub(&self) -> (u16, Vec<u8>);
    fn decode(out: &[u8]) -> Option<Self::Response>;
    /// The reply's Win32 status: its one status member (the result, or `Status` / `rpc_error`
    /// of an Open or Create method).
    fn status(r: &Self::Response) -> u32;
}

macro_rules! ops {
    ($($req:ident => $resp:ident),* $(,)?) => {
        $(impl Op for $req {
            type Response = $resp;
            fn opnum_stub(&self) -> (u16, Vec<u8>) {
                ($req::OPNUM, self.to_stub())
            }
            fn decode(out: &[u8]) -> Option<$resp> {
                $resp::decode_stub(out, LE).ok()
            }
            fn status(r: &$resp) -> u32 {
                r.status().unwrap_or(0)
            }
        })*
    };
}
ops!(
    ApiOpenClusterRequest => ApiOpenClusterResponse,
    ApiCreateEnumRequest => ApiCreateEnumResponse,
    ApiOpenNodeRequest => ApiOpenNodeResponse,
    ApiGetNodeStateRequest => ApiGetNodeStateResponse,
    ApiNodeControlRequest => ApiNodeControlResponse,
    ApiCloseNodeRequest => ApiCloseNodeResponse,
    ApiOpenGroupRequest => ApiOpenGroupResponse,
    ApiGetGroupStateRequest => ApiGetGroupStateResponse,
    ApiGroupControlRequest => ApiGroupControlResponse,
    ApiCloseGroupRequest => ApiCloseGroupResponse,
    ApiClusterControlRequest => ApiClusterControlResponse,
    ApiGetRootKeyRequest => ApiGetRootKeyResponse,
    ApiQueryValueRequest => ApiQueryValueResponse,
    ApiCloseKeyRequest => ApiCloseKeyResponse,
    ApiCloseClusterRequest => ApiCloseClusterResponse,
    ApiCreateNotifyV2Request => ApiCreateNotifyV2Response,
    ApiAddNotifyV2Request => ApiAddNotifyV2Response,
    ApiPauseNodeRequest => ApiPauseNodeResponse,
    ApiResumeNodeRequest => ApiResumeNodeResponse,
);

async fn worker(i: usize, cfg: Arc<SoakCfg>, deadline: Instant) -> Stats {
    let mut stats = Stats::default();
    let node = format!("CTDB_NODE_{}", i % 3);
    while Instant::now() < deadline {
        let Some(conn) = connect(&cfg, &mut stats).await else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        let mut c = Client { conn, stats: std::mem::take(&mut stats) };
        let mut calls = 0u64;
        // each connection lives for 0.5x to 1.5x --reconnect-every calls, so reconnections
        // spread over time instead of coming in waves
        let n = cfg.reconnect_every;
        let life = n / 2 + rand::random::<u64>() % (n + 1);
        while Instant::now() < deadline && calls < life {
            match refresh(&mut c, &cfg, &node).await {
                Ok(n) => calls += n,
                Err(()) => break,
            }
        }
        stats = c.stats;
    }
    stats
}

async fn notifier(cfg: Arc<SoakCfg>, deadline: Instant) -> Stats {
    let mut stats = Stats::default();
    'outer: while Instant::now() < deadline {
        let Some(conn) = connect(&cfg, &mut stats).await else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        let mut c = Client { conn, stats: std::mem::take(&mut stats) };
        let setup = async {
            let port = c.op(ApiCreateNotifyV2Request {}).await?.notify;
            for pnn in 0..3 {
                let node = c.op(ApiOpenNodeRequest { node_name: WString::new(format!("CTDB_NODE_{pnn}")) }).await?.node;
                let add = ApiAddNotifyV2Request {
                    notify: port,
                    object: node,
                    filter: NotifyFilterAndTypeRpc { dw_object_type: OBJECT_TYPE_NODE, filter_flags: NODE_STATE_V2 },
                    notify_key: pnn,
                    version: 2,
                    is_targeted_at_object: Bool32(true),
                };
                c.op(add).await?;
            }
            Ok::<ContextHandle, ()>(port)
        };
        let Ok(port) = setup.await else {
            stats = c.stats;
            continue;
        };
        loop {
            let stub = ApiGetNotifyV2Request { notify: port }.to_stub();
            let wait = c.conn.call(ApiGetNotifyV2Request::OPNUM, &stub);
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, wait).await {
                // the run is over while the wait is pending: that is how it ends
                Err(_) => {
                    stats = c.stats;
                    break 'outer;
                }
                Ok(Ok(out)) => match ApiGetNotifyV2Response::decode_stub(&out, LE) {
                    Ok(r) if r.result.0 == 0 => c.stats.notifications += u64::from(r.num_notifications),
                    Ok(r) => {
                        c.stats.error("ApiGetNotifyV2", format!("status {}", r.result.0));
                        break;
                    }
                    Err(_) => {
                        c.stats.error("ApiGetNotifyV2", "undecodable response");
                        break;
                    }
                },
                Ok(Err(e)) => {
                    c.stats.error("ApiGetNotifyV2", e);
                    break;
                }
            }
        }
        stats = c.stats;
    }
    stats
}

/// Pauses and resumes CTDB_NODE_2 in turn, every `events_every`.
async fn admin(cfg: Arc<SoakCfg>, deadline: Instant) -> Stats {
    let mut stats = Stats::default();
    if cfg.events_every.is_zero() {
        return stats;
    }
    let Some(conn) = connect(&cfg, &mut stats).await else { return stats };
    let mut c = Client { conn, stats };
    let Ok(node) = c.op(ApiOpenNodeRequest { node_name: WString::new("CTDB_NODE_2") }).await.map(|r| r.node) else {
        return c.stats;
    };
    let mut paused = false;
    loop {
        let next = Instant::now() + cfg.events_every;
        // stop early enough to resume the node before the end
        if next + Duration::from_secs(5) >= deadline {
            break;
        }
        tokio::time::sleep_until(next.into()).await;
        let _ = if paused {
            c.op(ApiResumeNodeRequest { node }).await.map(drop)
        } else {
            c.op(ApiPauseNodeRequest { node }).await.map(drop)
        };
        paused = !paused;
    }
    if paused {
        let _ = c.op(ApiResumeNodeRequest { node }).await;
    }
    c.stats
}

fn pct(sorted: &[u32], q: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    Some(sorted[i.min(sorted.len() - 1)])
}

/// Runs the soak and returns its JSON report.
pub fn run(cfg: SoakCfg) -> anyhow::Result<Json> {
    let cfg = Arc::new(cfg);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(cfg.threads).enable_all().build()?;
    let started = Instant::now();
    let deadline = started + cfg.duration;
    // memory sampler
    let samples: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let cpu_start = cfg.server_pid.map(|p| procfs::tree_cpu(p).total);
    let sampler = cfg.server_pid.map(|pid| {
        let (samples, stop) = (samples.clone(), stop.clone());
        std::thread::spawn(move || {
            let t0 = Instant::now();
            let mut next = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let secs = t0.elapsed().as_secs();
                if secs >= next {
                    let m = procfs::tree_mem(pid);
                    samples.lock().unwrap_or_else(|e| e.into_inner()).push((secs, m.rss_kib));
                    next = secs + 5;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            let m = procfs::tree_mem(pid);
            samples.lock().unwrap_or_else(|e| e.into_inner()).push((t0.elapsed().as_secs(), m.rss_kib));
        })
    });
    let live = Arc::new(AtomicU64::new(0));
    let stats = rt.block_on(async {
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(admin(cfg.clone(), deadline)));
        for i in 0..cfg.clients {
            let cfg = cfg.clone();
            let live = live.clone();
            let delay = cfg.ramp.mul_f64(i as f64 / cfg.clients.max(1) as f64);
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                live.fetch_add(1, Ordering::Relaxed);
                if i % 10 == 0 {
                    notifier(cfg, deadline).await
                } else {
                    worker(i, cfg, deadline).await
                }
            }));
        }
        let mut all = Stats::default();
        for t in tasks {
            match t.await {
                Ok(s) => all.merge(s),
                Err(e) => all.error("task", e),
            }
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    if let Some(s) = sampler {
        let _ = s.join();
    }
    let cpu = cfg.server_pid.zip(cpu_start).map(|(p, s)| procfs::tree_cpu(p).total - s);
    let samples = samples.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let rss_at = |secs: u64| samples.iter().find(|(t, _)| *t >= secs).map(|s| s.1);
    let rss_1min = rss_at(60);
    // the last sample taken while the load ran (the sampler's final one is after the close)
    let load_end = cfg.duration.as_secs();
    let rss_end = samples.iter().rev().find(|(t, _)| *t <= load_end).map(|s| s.1);
    let rss_closed = samples.last().map(|s| s.1);
    let rss_max = samples.iter().filter(|(t, _)| *t >= 60 && *t <= load_end).map(|s| s.1).max();

    let mut o = Json::obj();
    let mut all: Vec<u32> = Vec::new();
    let mut per = Json::obj();
    let mut calls = 0u64;
    for (k, v) in &stats.lat {
        let mut v = v.clone();
        v.sort_unstable();
        if *k != "connect+bind+auth" {
            all.extend_from_slice(&v);
            calls += v.len() as u64;
        }
        let mut e = Json::obj();
        e.set("n", v.len()).set("p50_us", pct(&v, 0.5)).set("p99_us", pct(&v, 0.99)).set("max_us", v.last().copied());
        per.set(k, e);
    }
    all.sort_unstable();
    let errors: u64 = stats.errors.values().sum();
    let mut errs = Json::obj();
    for (k, n) in &stats.errors {
        errs.set(k, *n);
    }
    o.set("mode", "soak")
        .set("clients", cfg.clients)
        .set("notification_clients", cfg.clients.div_ceil(10))
        .set("addr", cfg.addr.to_string())
        .set("duration_s", Json::round(Some(elapsed), 1))
        .set("think_ms", cfg.think.as_millis() as u64)
        .set("connects", stats.connects)
        .set("calls", calls)
        .set("calls_per_s", Json::round(Some(calls as f64 / elapsed), 0))
        .set("notifications", stats.notifications)
        .set("errors", errors)
        .set("error_kinds", errs)
        .set("p50_us", pct(&all, 0.5))
        .set("p99_us", pct(&all, 0.99))
        .set("p999_us", pct(&all, 0.999))
        .set("per_call", per)
        .set("server_cpu_s", Json::round(cpu, 1))
        .set("rss_kib_after_1min", rss_1min)
        .set("rss_kib_end", rss_end)
        .set("rss_kib_max_after_1min", rss_max)
        .set("rss_kib_after_close", rss_closed)
        .set(
            "rss_end_vs_1min_pct",
            Json::round(rss_1min.zip(rss_end).map(|(a, b)| (b as f64 / a as f64 - 1.0) * 100.0), 1),
        )
        .set("rss_kib_samples", samples.iter().map(|s| vec![s.0, s.1]).collect::<Vec<Vec<u64>>>());
    Ok(o)
}

/// The markdown report of a soak run.
pub fn markdown(o: &Json, title: &str) -> String {
    use crate::{cell, cells, get, md_line};
    let mut s = format!("## {title}\n\n");
    s += "| clients (notification) | duration s | calls | calls/s | notifications | connects | errors | p50 µs | p99 µs | p99.9 µs | server CPU s | RSS after 1 min KiB | RSS at end KiB | end vs 1 min % | RSS max after 1 min KiB | RSS after the clients closed KiB |\n";
    s += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    let mut row = vec![format!("{} ({})", cell(o, &["clients"]), cell(o, &["notification_clients"]))];
    row.extend(cells(
        o,
        "duration_s calls calls_per_s notifications connects errors p50_us p99_us p999_us server_cpu_s \
         rss_kib_after_1min rss_kib_end rss_end_vs_1min_pct rss_kib_max_after_1min rss_kib_after_close",
    ));
    s += &md_line(&row);
    s += "\n";
    if let Some(Json::Obj(m)) = get(o, &["error_kinds"]) {
        if !m.is_empty() {
            s += "Errors:\n\n";
            for (k, v) in m {
                s += &format!("- {k}: {v}\n");
            }
            s += "\n";
        }
    }
    s += "| call | n | p50 µs | p99 µs | max µs |\n|---|---|---|---|---|\n";
    if let Some(Json::Obj(m)) = get(o, &["per_call"]) {
        for (k, v) in m {
            let mut row = vec![k.clone()];
            row.extend(cells(v, "n p50_us p99_us max_us"));
            s += &md_line(&row);
        }
    }
    s += "\n";
    s
}
