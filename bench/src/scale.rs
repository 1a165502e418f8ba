//! The scale modes (`bench/compare --scale`):
//!
//! - `enum-scale`: one sealed clusapi connection measures, against a server of any size (run
//!   it against `clusapid demo --nodes N --public-ips M` at several sizes), the latency and the
//!   server CPU of ApiCreateEnum of every object type, ApiCreateEnumEx, a full registry walk
//!   (ApiEnumKey / ApiOpenKey / ApiEnumValue / ApiCloseKey from the root), an
//!   ApiExecuteReadBatch reading every group's `Name`, and an event (ApiPauseNode +
//!   ApiResumeNode of one node: a new snapshot, IPs moved and back).
//! - `notify-fanout`: `--conns` notification ports (version 2, each on its own connection, as
//!   that many open Failover Cluster Managers) with filters on every object type, each with
//!   ApiGetNotifyV2 always pending; an admin connection then makes `--events` node state
//!   changes back to back (pause / resume, node after node); every port must see every one
//!   (matched by node name and order), and the delay from the admin's request to each port's
//!   receipt is recorded.
//! - `witness-scale`: `--conns` witness clients, spread over the `--witness-host`s, each
//!   registered (WitnessrRegisterEx, version 2) for one of the `--witness-ip`s with a
//!   WitnessrAsyncNotify always pending; prints one JSON line when all are registered, then
//!   one per notification received (with the wall-clock time), until its stdin closes or
//!   `--duration` passes; the orchestrator (`bench/compare --scale`) moves addresses
//!   meanwhile and matches notifications to takeovers.
//!
//! Server CPU is utime + stime of `--server-pid` and its descendants (clock ticks, so every
//! figure is taken over at least `--duration` seconds of repeated calls).

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dcerpc::pdu::SyntaxId;
use idl::clusapi::*;
use idl::witness::{
    register_flags, Witness, WitnessrAsyncNotifyRequest, WitnessrAsyncNotifyResponse, WitnessrRegisterExRequest,
    WitnessrRegisterExResponse, WITNESS_V2,
};
use idl::{Bool32, ByteOrder, ContextHandle, WString};

use crate::conn::{AuthCfg, RpcConnection};
use crate::json::Json;
use crate::procfs;

const LE: ByteOrder = ByteOrder::Little;
const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
const ERROR_NO_MORE_ITEMS: u32 = 259;
const ERROR_MORE_DATA: u32 = 234;

/// CLUSTER_ENUM types measured ([MS-CMRP] 2.2.2.6).
const ENUM_TYPES: [(&str, u32); 6] =
    [("node", 0x1), ("restype", 0x2), ("resource", 0x4), ("group", 0x8), ("network", 0x10), ("netinterface", 0x20)];

/// CLUSTER_OBJECT_TYPE and every CLUSTER_CHANGE_*_V2 bit of it a port registers for (all
/// but the client-only ones: RECONNECT, STATE and HANDLE_CLOSE, [MS-CMRP] 2.2.2.12-2.2.2.21).
const FANOUT_FILTERS: [(u32, i64); 7] = [
    (1, 0x1ff4), // cluster (LOST_NOTIFICATIONS included)
    (2, 0x1ff),  // group
    (3, 0x1ff),  // resource
    (4, 0x1f),   // resource type
    (5, 0xf),    // network interface
    (6, 0xf),    // network
    (7, 0x7f),   // node
];
const OBJECT_TYPE_CLUSTER: u32 = 1;
const OBJECT_TYPE_NODE: u32 = 7;
const CLUSTER_LOST_NOTIFICATIONS_V2: i64 = 0x200;
const NODE_STATE_V2: i64 = 0x10;

fn clusapi() -> SyntaxId {
    SyntaxId::new(Clusapi::UUID, Clusapi::VERSION_MAJOR, Clusapi::VERSION_MINOR)
}

fn pct(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    Some(sorted[i.min(sorted.len() - 1)])
}

fn server_cpu(pid: Option<i32>) -> Option<f64> {
    pid.map(|p| procfs::tree_cpu(p).total)
}

/// A sealed connection and its calls; every failure is a message.
struct Client {
    conn: RpcConnection,
}

impl Client {
    async fn open(addr: SocketAddr, auth: &AuthCfg, syntax: SyntaxId) -> Result<Client, String> {
        crate::conn::open(addr, true, auth, syntax)
            .await
            .map(|conn| Client { conn })
            .map_err(|e| format!("connect {addr}: {e}"))
    }

    async fn raw(&mut self, opnum: u16, stub: &[u8], what: &str) -> Result<Vec<u8>, String> {
        self.conn.call(opnum, stub).await.map_err(|e| format!("{what}: {e}"))
    }
}

macro_rules! call {
    ($c:expr, $req:expr, $resp:ident) => {{
        let req = $req;
        let out = $c.raw(req.opnum(), &req.to_stub(), stringify!($resp)).await?;
        $resp::decode_stub(&out, LE).map_err(|e| format!("{}: {e:?}", stringify!($resp)))?
    }};
}

/// Opnums of the request types used here.
trait Op {
    fn opnum(&self) -> u16;
}
macro_rules! op {
    ($($t:ident),*) => { $(impl Op for $t { fn opnum(&self) -> u16 { $t::OPNUM } })* };
}
op!(
    ApiOpenClusterRequest,
    ApiCreateEnumRequest,
    ApiCreateEnumExRequest,
    ApiGetRootKeyRequest,
    ApiOpenKeyRequest,
    ApiEnumKeyRequest,
    ApiEnumValueRequest,
    ApiCloseKeyRequest,
    ApiExecuteReadBatchRequest,
    ApiOpenNodeRequest,
    ApiPauseNodeRequest,
    ApiResumeNodeRequest,
    ApiCreateNotifyV2Request,
    ApiAddNotifyV2Request,
    ApiGetNotifyV2Request,
    WitnessrRegisterExRequest,
    WitnessrAsyncNotifyRequest
);

/// Runs `$op` (an async block's body, `?` allowed) once to warm up, then repeatedly for at
/// least `$window` and `$min` times; evaluates to (latencies µs sorted, server CPU µs per op).
macro_rules! repeat {
    ($window:expr, $min:expr, $pid:expr, $op:block) => {{
        $op;
        let cpu0 = server_cpu($pid);
        let t0 = Instant::now();
        let mut lat: Vec<f64> = Vec::new();
        while lat.len() < $min || t0.elapsed() < $window {
            let t = Instant::now();
            $op;
            lat.push(t.elapsed().as_secs_f64() * 1e6);
        }
        let cpu = server_cpu($pid).zip(cpu0).map(|(b, a)| (b - a) * 1e6 / lat.len() as f64);
        lat.sort_by(f64::total_cmp);
        (lat, cpu)
    }};
}

fn figure(o: &mut Json, name: &str, lat: &[f64], cpu: Option<f64>, extra: &[(&str, Json)]) {
    let mut e = Json::obj();
    e.set("n", lat.len())
        .set("p50_us", Json::round(pct(lat, 0.5), 1))
        .set("p99_us", Json::round(pct(lat, 0.99), 1))
        .set("server_cpu_us", Json::round(cpu, 1));
    for (k, v) in extra {
        e.set(k, v.clone());
    }
    o.set(name, e);
}

/// What the enumeration bench is told.
pub struct EnumCfg {
    pub addr: SocketAddr,
    pub auth: AuthCfg,
    pub server_pid: Option<i32>,
    pub window: Duration,
}

/// A registry key walked: its path, subkeys and value names.
struct Walked {
    keys: usize,
    values: usize,
    calls: usize,
    /// Paths of keys that have a value `Name` (group and resource keys, ...).
    named: Vec<String>,
}

async fn walk(c: &mut Client, root: ContextHandle) -> Result<Walked, String> {
    let mut w = Walked { keys: 0, values: 0, calls: 0, named: Vec::new() };
    // paths relative to the root; one key open at a time
    let mut todo: Vec<String> = vec![String::new()];
    while let Some(path) = todo.pop() {
        w.keys += 1;
        let key = if path.is_empty() {
            root
        } else {
            let r = call!(
                c,
                ApiOpenKeyRequest { key: root, sub_key: WString::new(&path), sam_desired: MAXIMUM_ALLOWED },
                ApiOpenKeyResponse
            );
            w.calls += 1;
            if r.status.0 != 0 {
                return Err(format!("ApiOpenKey {path}: status {}", r.status.0));
            }
            r.key
        };
        let mut i = 0u32;
        loop {
            let r = call!(c, ApiEnumValueRequest { key, index: i, cb_data: 4096 }, ApiEnumValueResponse);
            w.calls += 1;
            match r.result.0 {
                0 | ERROR_MORE_DATA => {
                    w.values += 1;
                    if r.value_name.as_ref().is_some_and(|n| n.0.eq_ignore_ascii_case("Name")) {
                        w.named.push(path.clone());
                    }
                }
                ERROR_NO_MORE_ITEMS => break,
                s => return Err(format!("ApiEnumValue {path:?} #{i}: status {s}")),
            }
            i += 1;
        }
        let mut i = 0u32;
        loop {
            let r = call!(c, ApiEnumKeyRequest { key, index: i }, ApiEnumKeyResponse);
            w.calls += 1;
            match r.result.0 {
                0 => {
                    let s = r.key_name.map(|n| n.0).unwrap_or_default();
                    todo.push(if path.is_empty() { s } else { format!("{path}\\{s}") });
                }
                ERROR_NO_MORE_ITEMS => break,
                s => return Err(format!("ApiEnumKey {path:?} #{i}: status {s}")),
            }
            i += 1;
        }
        if !path.is_empty() {
            call!(c, ApiCloseKeyRequest { key }, ApiCloseKeyResponse);
            w.calls += 1;
        }
    }
    Ok(w)
}

/// The enumeration bench (see the module doc).
pub fn run_enum(cfg: EnumCfg) -> anyhow::Result<Json> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(enum_inner(cfg)).map_err(|e| anyhow::anyhow!(e))
}

async fn enum_inner(cfg: EnumCfg) -> Result<Json, String> {
    let mut c = Client::open(cfg.addr, &cfg.auth, clusapi()).await?;
    let pid = cfg.server_pid;
    let w = cfg.window;
    let mut o = Json::obj();
    o.set("mode", "enum-scale").set("addr", cfg.addr.to_string());
    let cl = call!(c, ApiOpenClusterRequest {}, ApiOpenClusterResponse);
    if cl.status.0 != 0 {
        return Err(format!("ApiOpenCluster: status {}", cl.status.0));
    }
    let mut counts = Json::obj();
    let mut node_count = 0usize;
    for (name, t) in ENUM_TYPES {
        let r = call!(c, ApiCreateEnumRequest { enum_type: t }, ApiCreateEnumResponse);
        if r.result.0 != 0 {
            return Err(format!("ApiCreateEnum {name}: status {}", r.result.0));
        }
        let n = r.return_enum.map_or(0, |l| l.entries.len());
        if name == "node" {
            node_count = n;
        }
        counts.set(name, n);
        let (lat, cpu) = repeat!(w, 20, pid, {
            let r = call!(c, ApiCreateEnumRequest { enum_type: t }, ApiCreateEnumResponse);
            if r.result.0 != 0 {
                return Err(format!("ApiCreateEnum {name}: status {}", r.result.0));
            }
        });
        figure(&mut o, &format!("create_enum_{name}"), &lat, cpu, &[("entries", Json::from(n))]);
    }
    for (name, t) in ENUM_TYPES {
        let probe =
            call!(c, ApiCreateEnumExRequest { cluster: cl.cluster, enum_type: t, options: 0 }, ApiCreateEnumExResponse);
        if probe.result.0 != 0 {
            o.set(&format!("create_enum_ex_{name}"), Json::Str(format!("status {}", probe.result.0)));
            continue;
        }
        let cluster = cl.cluster;
        let (lat, cpu) = repeat!(w, 20, pid, {
            let r = call!(c, ApiCreateEnumExRequest { cluster, enum_type: t, options: 0 }, ApiCreateEnumExResponse);
            if r.result.0 != 0 {
                return Err(format!("ApiCreateEnumEx {name}: status {}", r.result.0));
            }
        });
        figure(&mut o, &format!("create_enum_ex_{name}"), &lat, cpu, &[]);
    }
    o.set("entries", counts);
    // registry
    let rk = call!(c, ApiGetRootKeyRequest { sam_desired: MAXIMUM_ALLOWED }, ApiGetRootKeyResponse);
    if rk.status.0 != 0 {
        return Err(format!("ApiGetRootKey: status {}", rk.status.0));
    }
    let root = rk.key;
    let first = walk(&mut c, root).await?;
    let (keys, values, calls) = (first.keys, first.values, first.calls);
    let (lat, cpu) = repeat!(w, 3, pid, {
        walk(&mut c, root).await?;
    });
    figure(
        &mut o,
        "registry_walk",
        &lat,
        cpu,
        &[("keys", Json::from(keys)), ("values", Json::from(values)), ("calls", Json::from(calls))],
    );
    // a read batch: every key with a Name value (groups, resources, ...), its Name
    let mut batch = ClusterRegBatchUpdate::default();
    for p in &first.named {
        batch.commands.push(BatchUpdateCommand {
            command_type: batch_command::CLUSREG_READ_KEY,
            value_type: 0,
            name: p.clone(),
            data: Vec::new(),
        });
        batch.commands.push(BatchUpdateCommand {
            command_type: batch_command::CLUSREG_READ_VALUE,
            value_type: 0,
            name: "Name".into(),
            data: Vec::new(),
        });
    }
    let bytes = batch.to_bytes();
    let reads = first.named.len();
    let (lat, cpu) = repeat!(w, 20, pid, {
        let req = ApiExecuteReadBatchRequest {
            key: root,
            cb_in_data: bytes.len() as u32,
            in_data: idl::ConfBytes(bytes.clone()),
        };
        let r = call!(c, req, ApiExecuteReadBatchResponse);
        if r.result.0 != 0 {
            return Err(format!("ApiExecuteReadBatch: status {}", r.result.0));
        }
    });
    figure(
        &mut o,
        "execute_read_batch",
        &lat,
        cpu,
        &[("reads", Json::from(reads)), ("bytes", Json::from(bytes.len()))],
    );
    // an event: pause and resume the last node (its IPs move away and back)
    if node_count >= 2 {
        let name = format!("CTDB_NODE_{}", node_count - 1);
        let nd = call!(c, ApiOpenNodeRequest { node_name: WString::new(&name) }, ApiOpenNodeResponse);
        if nd.status.0 != 0 {
            return Err(format!("ApiOpenNode {name}: status {}", nd.status.0));
        }
        let node = nd.node;
        let (lat, cpu) = repeat!(w, 5, pid, {
            let r = call!(c, ApiPauseNodeRequest { node }, ApiPauseNodeResponse);
            if r.result.0 != 0 {
                return Err(format!("ApiPauseNode: status {}", r.result.0));
            }
            let r = call!(c, ApiResumeNodeRequest { node }, ApiResumeNodeResponse);
            if r.result.0 != 0 {
                return Err(format!("ApiResumeNode: status {}", r.result.0));
            }
        });
        figure(&mut o, "event_pause_resume", &lat, cpu, &[("node", Json::from(name.as_str()))]);
    }
    Ok(o)
}

/// What the notification fan-out bench is told.
pub struct FanoutCfg {
    pub addr: SocketAddr,
    pub auth: AuthCfg,
    pub server_pid: Option<i32>,
    pub ports: usize,
    pub events: usize,
    pub threads: usize,
}

/// What one port saw: per node name, the arrival instants of its NODE_STATE indications.
#[derive(Default)]
struct PortLog {
    node_state: HashMap<String, Vec<Instant>>,
    total: u64,
    lost_flags: u64,
    error: Option<String>,
}

async fn port_setup(cfg: &FanoutCfg) -> Result<(Client, ContextHandle), String> {
    let mut c = Client::open(cfg.addr, &cfg.auth, clusapi()).await?;
    let cl = call!(c, ApiOpenClusterRequest {}, ApiOpenClusterResponse);
    if cl.status.0 != 0 {
        return Err(format!("ApiOpenCluster: status {}", cl.status.0));
    }
    let r = call!(c, ApiCreateNotifyV2Request {}, ApiCreateNotifyV2Response);
    if r.rpc_error.0 != 0 {
        return Err(format!("ApiCreateNotifyV2: status {}", r.rpc_error.0));
    }
    let port = r.notify;
    for (i, (t, flags)) in FANOUT_FILTERS.iter().enumerate() {
        let add = ApiAddNotifyV2Request {
            notify: port,
            object: cl.cluster,
            filter: NotifyFilterAndTypeRpc { dw_object_type: *t, filter_flags: *flags },
            notify_key: i as u32,
            version: 2,
            is_targeted_at_object: Bool32(false),
        };
        let r = call!(c, add, ApiAddNotifyV2Response);
        if r.result.0 != 0 {
            return Err(format!("ApiAddNotifyV2 type {t}: status {}", r.result.0));
        }
    }
    Ok((c, port))
}

async fn port_loop(mut c: Client, port: ContextHandle, log: Arc<Mutex<PortLog>>, stop: Arc<AtomicU64>) {
    loop {
        let req = ApiGetNotifyV2Request { notify: port };
        let stub = req.to_stub();
        let fut = c.raw(req.opnum(), &stub, "ApiGetNotifyV2");
        let out = tokio::select! {
            r = fut => r,
            _ = async { while stop.load(Ordering::Relaxed) == 0 { tokio::time::sleep(Duration::from_millis(20)).await } } => return,
        };
        let now = Instant::now();
        let r = match out.and_then(|o| ApiGetNotifyV2Response::decode_stub(&o, LE).map_err(|e| format!("{e:?}"))) {
            Ok(r) => r,
            Err(e) => {
                log.lock().unwrap_or_else(|e| e.into_inner()).error.get_or_insert(e);
                return;
            }
        };
        if r.result.0 != 0 {
            log.lock()
                .unwrap_or_else(|e| e.into_inner())
                .error
                .get_or_insert(format!("ApiGetNotifyV2: status {}", r.result.0));
            return;
        }
        let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
        for n in r.notifications.map(|a| a.0).unwrap_or_default() {
            l.total += 1;
            let d = &n.notification_data;
            let ft = &d.filter_and_type;
            if ft.dw_object_type == OBJECT_TYPE_CLUSTER && ft.filter_flags & CLUSTER_LOST_NOTIFICATIONS_V2 != 0 {
                l.lost_flags += 1;
            }
            if ft.dw_object_type == OBJECT_TYPE_NODE && ft.filter_flags & NODE_STATE_V2 != 0 {
                let name = d.name.as_ref().map(|n| n.0.clone()).unwrap_or_default();
                l.node_state.entry(name).or_default().push(now);
            }
        }
    }
}

/// The notification fan-out bench (see the module doc).
pub fn run_fanout(cfg: FanoutCfg) -> anyhow::Result<Json> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(cfg.threads.max(1)).enable_all().build()?;
    rt.block_on(fanout_inner(cfg)).map_err(|e| anyhow::anyhow!(e))
}

async fn fanout_inner(cfg: FanoutCfg) -> Result<Json, String> {
    let cfg = Arc::new(cfg);
    let mut admin = Client::open(cfg.addr, &cfg.auth, clusapi()).await?;
    let r = call!(admin, ApiCreateEnumRequest { enum_type: 1 }, ApiCreateEnumResponse);
    let nodes: Vec<String> = r
        .return_enum
        .map(|l| l.entries.iter().map(|e| e.name.as_ref().map(|n| n.0.clone()).unwrap_or_default()).collect())
        .unwrap_or_default();
    if nodes.len() < 2 {
        return Err("notify-fanout needs a cluster of at least 2 nodes".into());
    }
    // the nodes that change state: all but the first (the one the daemon runs as)
    let mut handles = Vec::new();
    for n in &nodes[1..] {
        let r = call!(admin, ApiOpenNodeRequest { node_name: WString::new(n) }, ApiOpenNodeResponse);
        if r.status.0 != 0 {
            return Err(format!("ApiOpenNode {n}: status {}", r.status.0));
        }
        handles.push((n.clone(), r.node));
    }
    let t_setup = Instant::now();
    let mut ports = Vec::new();
    for i in 0..cfg.ports {
        let (c, port) = port_setup(&cfg).await.map_err(|e| format!("port {i}: {e}"))?;
        ports.push((c, port));
    }
    let setup_s = t_setup.elapsed().as_secs_f64();
    let stop = Arc::new(AtomicU64::new(0));
    let mut logs = Vec::new();
    let mut tasks = Vec::new();
    for (c, port) in ports {
        let log = Arc::new(Mutex::new(PortLog::default()));
        logs.push(log.clone());
        tasks.push(tokio::spawn(port_loop(c, port, log, stop.clone())));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu0 = server_cpu(cfg.server_pid);
    // the burst: pause, resume, next node ...
    let mut sent: HashMap<String, Vec<Instant>> = HashMap::new();
    let t_burst = Instant::now();
    for i in 0..cfg.events {
        let (name, node) = &handles[(i / 2) % handles.len()];
        let t = Instant::now();
        let status = if i % 2 == 0 {
            call!(admin, ApiPauseNodeRequest { node: *node }, ApiPauseNodeResponse).result.0
        } else {
            call!(admin, ApiResumeNodeRequest { node: *node }, ApiResumeNodeResponse).result.0
        };
        if status != 0 {
            return Err(format!("event {i} on {name}: status {status}"));
        }
        sent.entry(name.clone()).or_default().push(t);
    }
    let burst_s = t_burst.elapsed().as_secs_f64();
    // wait for every port to see every event (or 30 s)
    let expected = cfg.events;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = logs.iter().all(|l| {
            let l = l.lock().unwrap_or_else(|e| e.into_inner());
            l.error.is_some() || l.node_state.values().map(Vec::len).sum::<usize>() >= expected
        });
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained_s = t_burst.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await; // spurious late ones
    let cpu = server_cpu(cfg.server_pid).zip(cpu0).map(|(b, a)| b - a);
    stop.store(1, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let mut lat = Vec::new();
    let (mut missed, mut extra, mut lost_flags, mut total, mut ports_missing, mut errors) =
        (0u64, 0u64, 0u64, 0u64, 0u64, Vec::new());
    for l in &logs {
        let l = l.lock().unwrap_or_else(|e| e.into_inner());
        total += l.total;
        lost_flags += l.lost_flags;
        if let Some(e) = &l.error {
            errors.push(e.clone());
        }
        let mut port_missed = 0u64;
        for (name, ts) in &sent {
            let got = l.node_state.get(name).map_or(&[][..], Vec::as_slice);
            for (k, t) in ts.iter().enumerate() {
                match got.get(k) {
                    Some(a) => lat.push(a.saturating_duration_since(*t).as_secs_f64() * 1e3),
                    None => port_missed += 1,
                }
            }
            extra += got.len().saturating_sub(ts.len()) as u64;
        }
        for (name, got) in &l.node_state {
            if !sent.contains_key(name) {
                extra += got.len() as u64;
            }
        }
        missed += port_missed;
        if port_missed > 0 {
            ports_missing += 1;
        }
    }
    lat.sort_by(f64::total_cmp);
    let mut o = Json::obj();
    o.set("mode", "notify-fanout")
        .set("ports", cfg.ports)
        .set("events", cfg.events)
        .set("nodes", nodes.len())
        .set("port_setup_s", Json::round(Some(setup_s), 2))
        .set("burst_s", Json::round(Some(burst_s), 3))
        .set("events_per_s", Json::round(Some(cfg.events as f64 / burst_s), 0))
        .set("all_delivered_after_s", Json::round(Some(drained_s), 3))
        .set("expected_node_state", (cfg.events * cfg.ports) as u64)
        .set("delivered_node_state", lat.len())
        .set("missed", missed)
        .set("ports_missing_some", ports_missing)
        .set("spurious", extra)
        .set("lost_notifications_flags", lost_flags)
        .set("indications_total", total)
        .set("p50_ms", Json::round(pct(&lat, 0.5), 2))
        .set("p99_ms", Json::round(pct(&lat, 0.99), 2))
        .set("max_ms", Json::round(lat.last().copied(), 2))
        .set("server_cpu_s", Json::round(cpu, 2))
        .set("errors", errors.len())
        .set("first_error", errors.first().cloned().map_or(Json::Null, Json::Str));
    Ok(o)
}

/// What the witness bench is told.
pub struct WitnessCfg {
    pub hosts: Vec<IpAddr>,
    pub epm_port: u16,
    pub auth: AuthCfg,
    pub clients: usize,
    pub ips: Vec<IpAddr>,
    pub net_name: String,
    pub share: String,
    pub duration: Duration,
    pub threads: usize,
    /// Registrations in flight at once while registering.
    pub parallel: usize,
}

fn unix_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// How often the stdout writer thread looks for lines ([`out_channel`]).
const OUT_POLL: Duration = Duration::from_millis(10);

/// What the stdout writer thread is asked.
enum Out {
    Line(String),
    /// Everything sent before is written and flushed: answer on the channel.
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// The channel to the thread that writes the witness bench's JSON lines. The clients'
/// runtime threads never write to stdout themselves: a full pipe (the orchestrator reading
/// slowly) would stop every connection of that thread, and delay the next WitnessrAsyncNotify
/// call of clients that were just notified. The writer looks at the channel every
/// [`OUT_POLL`] instead of sleeping in `recv`: a sleeping receiver is woken (a futex call and
/// a task switch) by every line, which during a 5,000-client notification burst took CPU
/// from the servers being measured on the same machine. The lines carry their own receipt
/// times, so writing them a few milliseconds later changes no figure.
fn out_channel() -> &'static std::sync::mpsc::Sender<Out> {
    static TX: std::sync::OnceLock<std::sync::mpsc::Sender<Out>> = std::sync::OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Out>();
        std::thread::spawn(move || {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            loop {
                let m = match rx.try_recv() {
                    Ok(m) => m,
                    Err(std::sync::mpsc::TryRecvError::Empty) => {
                        std::thread::sleep(OUT_POLL);
                        continue;
                    }
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
                };
                let mut next = Some(m);
                while let Some(m) = next {
                    match m {
                        Out::Line(l) => {
                            let _ = writeln!(out, "{l}");
                        }
                        Out::Flush(ack) => {
                            let _ = out.flush();
                            let _ = ack.send(());
                        }
                    }
                    next = rx.try_recv().ok();
                }
                let _ = out.flush();
            }
        });
        tx
    })
}

fn emit(o: &Json) {
    let _ = out_channel().send(Out::Line(o.to_string()));
}

/// Waits until every line emitted so far is written.
fn emit_flush() {
    let (ack, done) = std::sync::mpsc::sync_channel(1);
    if out_channel().send(Out::Flush(ack)).is_ok() {
        let _ = done.recv_timeout(Duration::from_secs(10));
    }
}

async fn witness_port(host: IpAddr, epm_port: u16) -> Result<u16, String> {
    let anon = AuthCfg {
        kind: None,
        level: dcerpc::pdu::auth_level::NONE,
        user: String::new(),
        domain: String::new(),
        nt_hash: [0; 16],
        workstation: String::new(),
    };
    let epm = SocketAddr::new(host, epm_port);
    let mut c = crate::conn::open(epm, true, &anon, crate::profiles::Profile::EpmMap.syntax())
        .await
        .map_err(|e| format!("endpoint mapper {epm}: {e}"))?;
    let iface = (Witness::UUID, Witness::VERSION_MAJOR, Witness::VERSION_MINOR);
    let r = c.call(3, &crate::profiles::ept_map_stub(iface)).await.map_err(|e| format!("ept_map {epm}: {e}"))?;
    crate::profiles::ept_map_port(&r).map_err(|e| format!("ept_map {epm}: {e}"))
}

/// One registered witness client: registers, then keeps a notification pending and reports
/// every one.
async fn witness_client(
    i: usize,
    addr: SocketAddr,
    cfg: Arc<WitnessCfg>,
    ip: IpAddr,
    ready: Arc<tokio::sync::Semaphore>,
    registered: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
) -> Result<(), String> {
    let permit = ready.acquire().await.map_err(|e| e.to_string())?;
    let t = Instant::now();
    let registration = async {
        let mut c =
            Client::open(addr, &cfg.auth, SyntaxId::new(Witness::UUID, Witness::VERSION_MAJOR, Witness::VERSION_MINOR))
                .await?;
        let req = WitnessrRegisterExRequest {
            version: WITNESS_V2,
            net_name: Some(WString::new(&cfg.net_name)),
            share_name: Some(WString::new(&cfg.share)),
            ip_address: Some(WString::new(ip.to_string())),
            client_computer_name: Some(WString::new(format!("BENCH{i:05}"))),
            flags: register_flags::IP_NOTIFICATION,
            keep_alive_timeout: 0,
        };
        let r = call!(c, req, WitnessrRegisterExResponse);
        if r.result.0 != 0 {
            return Err(format!("WitnessrRegisterEx: status {}", r.result.0));
        }
        Ok((c, r))
    }
    .await;
    let (mut c, r) = match registration {
        Ok(v) => v,
        Err(e) => {
            refused.fetch_add(1, Ordering::Relaxed);
            return Err(e);
        }
    };
    let reg_ms = t.elapsed().as_secs_f64() * 1e3;
    drop(permit);
    registered.fetch_add(1, Ordering::Relaxed);
    let mut o = Json::obj();
    o.set("event", "client_registered")
        .set("client", i)
        .set("ip", ip.to_string())
        .set("witness", addr.ip().to_string())
        .set("ms", Json::round(Some(reg_ms), 1));
    emit(&o);
    let context = r.context;
    loop {
        let r = call!(c, WitnessrAsyncNotifyRequest { context }, WitnessrAsyncNotifyResponse);
        let t = unix_ms();
        match (r.result.0, r.resp) {
            (0, Some(m)) => {
                let mut o = Json::obj();
                o.set("event", "notification")
                    .set("client", i)
                    .set("ip", ip.to_string())
                    .set("time_unix_ms", Json::round(Some(t), 3))
                    .set("type", m.message_type as u64);
                if m.message_type == idl::witness::message_type::RESOURCE_CHANGE_NOTIFICATION {
                    if let Ok(ch) = m.resource_changes() {
                        let v: Vec<Json> = ch
                            .iter()
                            .map(|c| {
                                let mut e = Json::obj();
                                e.set("name", c.name.as_str()).set("state", c.change_type as u64);
                                e
                            })
                            .collect();
                        o.set("changes", Json::Arr(v));
                    }
                }
                emit(&o);
            }
            (1460, _) => continue,
            (s, _) => return Err(format!("WitnessrAsyncNotify: status {s}")),
        }
    }
}

/// The witness bench (see the module doc): runs until stdin closes or `duration` passes.
pub fn run_witness(cfg: WitnessCfg) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(cfg.threads.max(1)).enable_all().build()?;
    let r = rt.block_on(witness_inner(cfg)).map_err(|e| anyhow::anyhow!(e));
    // the stdin reader may still block: do not wait for it
    rt.shutdown_background();
    r
}

async fn witness_inner(cfg: WitnessCfg) -> Result<(), String> {
    if cfg.hosts.is_empty() || cfg.ips.is_empty() {
        return Err("--witness-host and --witness-ip are needed".into());
    }
    let mut addrs = Vec::new();
    for h in &cfg.hosts {
        addrs.push(SocketAddr::new(*h, witness_port(*h, cfg.epm_port).await?));
    }
    let cfg = Arc::new(cfg);
    let ready = Arc::new(tokio::sync::Semaphore::new(cfg.parallel.max(1)));
    let registered = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let failures: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..cfg.clients {
        let addr = addrs[i % addrs.len()];
        let ip = cfg.ips[(i / addrs.len()) % cfg.ips.len()];
        let (cfg, ready, registered, refused, failures) =
            (cfg.clone(), ready.clone(), registered.clone(), refused.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = witness_client(i, addr, cfg, ip, ready, registered, refused).await {
                let mut o = Json::obj();
                o.set("event", "client_failed").set("client", i).set("error", e.as_str());
                emit(&o);
                *failures.lock().unwrap_or_else(|e| e.into_inner()).entry(e).or_default() += 1;
            }
        }));
    }
    // registered: everybody, or those that could not register account for the rest
    loop {
        let n = registered.load(Ordering::Relaxed) as usize;
        let failed = refused.load(Ordering::Relaxed) as usize;
        if n + failed >= cfg.clients || t0.elapsed() > cfg.duration {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let reg_s = t0.elapsed().as_secs_f64();
    let n = registered.load(Ordering::Relaxed);
    let mut o = Json::obj();
    let mut f = Json::obj();
    for (k, v) in failures.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        f.set(k, *v);
    }
    o.set("event", "registered")
        .set("clients", cfg.clients)
        .set("registered", n)
        .set("refused", refused.load(Ordering::Relaxed))
        .set("seconds", Json::round(Some(reg_s), 3))
        .set("per_s", Json::round(Some(n as f64 / reg_s), 0))
        .set("failures", f)
        .set("time_unix_ms", Json::round(Some(unix_ms()), 3));
    emit(&o);
    // until stdin closes (the orchestrator is done) or the time is up
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let mut s = String::new();
        while std::io::stdin().read_line(&mut s).map(|n| n > 0).unwrap_or(false) {
            s.clear();
        }
    });
    let _ = tokio::time::timeout(cfg.duration.saturating_sub(t0.elapsed()), stdin_closed).await;
    let mut o = Json::obj();
    let mut f = Json::obj();
    for (k, v) in failures.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        f.set(k, *v);
    }
    o.set("event", "done").set("failures", f);
    emit(&o);
    emit_flush();
    for t in tasks {
        t.abort();
    }
    Ok(())
}
