//! `clusapid-bench`: a DCE/RPC load generator for clusapid and Samba's `samba-dcerpcd`, built on
//! the project's own client state machine ([`dcerpc::client::ClientConnection`]) with NTLMSSP
//! or SPNEGO at packet privacy.
//!
//! Modes:
//! - `calls`: `--conns` connections, each bound, authenticated and set up once, then one call
//!   outstanding per connection, back to back, for `--warmup` + `--duration` seconds.
//! - `bind`: `--conns` connectors, each looping TCP connect + bind + authentication + one call +
//!   close; for a time window, or for `--count` connections with a report every `--block`
//!   (the ageing run).
//! - `mem`: the server's PSS after one sealed connection (idle), with `--conns` sealed
//!   connections held open, and after they closed.
//! - `soak`: `--conns` concurrent sealed clusapi clients doing a Failover-Cluster-Manager-like
//!   mix (opens, enumerations, controls, registry reads, notification ports) for `--duration`
//!   seconds, with the server's RSS sampled throughout (see `soak.rs`).
//! - `floor`: no RPC server at all: an in-process TCP ping-pong of `--req-bytes` /
//!   `--resp-bytes` (blocking or tokio server thread), the CPU floor of one round trip.
//!
//! Every reply's status must be 0; anything else (a status, a fault, a broken connection) is
//! counted as an error. The server's CPU is utime + stime of `--server-pid` and all its
//! descendants and threads; its memory is the PSS sum over the same tree. One JSON object per
//! run goes to stdout and is appended to `--json`; `--md` appends a markdown table row.

mod conn;
mod floor;
mod json;
mod procfs;
mod profiles;
mod scale;
mod soak;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use auth::AuthType;
use clap::{Parser, ValueEnum};
use dcerpc::pdu::auth_level;

use conn::{AuthCfg, RpcConnection, RpcFailure};
use json::Json;
use profiles::{Call, Profile, StatusAt};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    Calls,
    Bind,
    Mem,
    Floor,
    Soak,
    /// Enumerations, registry walk, read batch and event cost at the server's size (scale.rs).
    EnumScale,
    /// `--conns` notification ports, `--events` node state changes (scale.rs).
    NotifyFanout,
    /// `--conns` witness registrations with pending notifications (scale.rs).
    WitnessScale,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum AuthKind {
    Ntlm,
    Spnego,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Level {
    Privacy,
    Integrity,
    Connect,
}

#[derive(Parser, Debug, Clone)]
#[command(
    name = "clusapid-bench",
    about = "DCE/RPC load generator: sealed calls and authenticated binds, with the server's CPU and memory per operation"
)]
struct Args {
    /// Server address (loopback, or the lab's own 192.0.2.0/24 inside its namespaces).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port of the profile's interface (default: the endpoint mapper port for epm_map and
    /// mgmt_inq, else looked up with ept_map).
    #[arg(long)]
    port: Option<u16>,
    /// Endpoint mapper port.
    #[arg(long, default_value_t = 135)]
    epm_port: u16,
    #[arg(long, value_enum, default_value = "epm_map")]
    profile: ProfileArg,
    #[arg(long, value_enum, default_value = "calls")]
    mode: Mode,
    #[arg(long, value_enum, default_value = "ntlm")]
    auth: AuthKind,
    #[arg(long, value_enum, default_value = "privacy")]
    level: Level,
    /// Connections (calls, mem) or parallel connectors (bind).
    #[arg(long, default_value_t = 1)]
    conns: usize,
    /// Measured window, seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Unmeasured warm-up before the window, seconds.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Bind mode: stop after this many connections instead of a time window (no warm-up).
    #[arg(long)]
    count: Option<u64>,
    /// With --count: report every this many connections.
    #[arg(long, default_value_t = 1000)]
    block: u64,
    /// The server process (its threads and descendants are measured).
    #[arg(long)]
    server_pid: Option<i32>,
    /// File holding the server's pid.
    #[arg(long)]
    server_pidfile: Option<PathBuf>,
    /// Client TCP_NODELAY (the default).
    #[arg(long, overrides_with = "no_nodelay")]
    nodelay: bool,
    /// Leave Nagle on in the client, as Samba's client and impacket ship.
    #[arg(long, overrides_with = "nodelay")]
    no_nodelay: bool,
    #[arg(long, default_value = "alice")]
    user: String,
    #[arg(long, default_value = "Passw0rd-1")]
    password: String,
    #[arg(long, default_value = "WORKGROUP")]
    domain: String,
    /// Append the JSON result line to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Append a markdown table row to this file (header first when the file is new).
    #[arg(long)]
    md: Option<PathBuf>,
    /// Free-form labels recorded in the result.
    #[arg(long, default_value = "")]
    tag: String,
    #[arg(long, default_value = "")]
    server: String,
    #[arg(long, default_value = "")]
    placement: String,
    /// Pin the generator to these CPUs (e.g. "1" or "0,1").
    #[arg(long)]
    client_cpus: Option<String>,
    /// Client threads (each a single-threaded runtime; default: min(conns, usable CPUs)).
    #[arg(long)]
    threads: Option<usize>,
    /// Mem mode: seconds to wait before each PSS sample.
    #[arg(long, default_value_t = 1.0)]
    settle: f64,
    /// Floor mode: the echo server's kind.
    #[arg(long, value_enum, default_value = "tokio")]
    floor_server: floor::FloorServer,
    /// Floor mode: request and response sizes (a sealed mgmt inq_if_ids call is 48 / 100 bytes).
    #[arg(long, default_value_t = 48)]
    req_bytes: usize,
    #[arg(long, default_value_t = 100)]
    resp_bytes: usize,
    /// Floor mode: pin the echo server thread to these CPUs.
    #[arg(long)]
    server_cpus: Option<String>,
    /// Soak mode: mean think time between a client's calls, milliseconds (uniform 0..2x).
    #[arg(long, default_value_t = 200)]
    think_ms: u64,
    /// Soak mode: a client reconnects after this many calls.
    #[arg(long, default_value_t = 150)]
    reconnect_every: u64,
    /// Soak mode: pause / resume CTDB_NODE_2 every this many seconds (0 = never).
    #[arg(long, default_value_t = 30)]
    events_every: u64,
    /// Soak mode: clients start evenly over this many seconds.
    #[arg(long, default_value_t = 10)]
    ramp: u64,
    /// Notify-fanout mode: node state changes made back to back.
    #[arg(long, default_value_t = 1000)]
    events: usize,
    /// Witness-scale mode: a witness server (repeatable; clients are spread over them).
    #[arg(long)]
    witness_host: Vec<IpAddr>,
    /// Witness-scale mode: a public address to register for (repeatable; spread likewise).
    #[arg(long)]
    witness_ip: Vec<IpAddr>,
    /// Witness-scale mode: NetName of the registrations.
    #[arg(long, default_value = "LABCLUSTER")]
    net_name: String,
    /// Witness-scale mode: ShareName of the registrations.
    #[arg(long, default_value = "data")]
    share: String,
    /// Witness-scale mode: registrations in flight at once.
    #[arg(long, default_value_t = 32)]
    parallel: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ProfileArg {
    #[value(name = "epm_map")]
    EpmMap,
    #[value(name = "mgmt_inq")]
    MgmtInq,
    #[value(name = "clusapi_qv")]
    ClusapiQv,
    #[value(name = "winreg_qv")]
    WinregQv,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Self {
        match p {
            ProfileArg::EpmMap => Profile::EpmMap,
            ProfileArg::MgmtInq => Profile::MgmtInq,
            ProfileArg::ClusapiQv => Profile::ClusapiQv,
            ProfileArg::WinregQv => Profile::WinregQv,
        }
    }
}

/// Everything a connection task needs.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    nodelay: bool,
    auth: AuthCfg,
    profile: Profile,
}

impl Target {
    async fn open(&self) -> Result<RpcConnection, RpcFailure> {
        conn::open(self.addr, self.nodelay, &self.auth, self.profile.syntax()).await
    }
}

/// Checks one reply's status.
fn check(call: &Call, r: Result<Vec<u8>, RpcFailure>) -> Result<(), String> {
    match r {
        Ok(stub) => match call.status.get(&stub) {
            Some(0) => Ok(()),
            Some(s) => Err(format!("{} answered {}", call.name, profiles::status_text(s))),
            None => Err(format!("{}: short reply ({} bytes)", call.name, stub.len())),
        },
        Err(e) => Err(format!("{}: {e}", call.name)),
    }
}

async fn call_status(c: &mut RpcConnection, opnum: u16, stub: &[u8], name: &str) -> Result<Vec<u8>, String> {
    c.call(opnum, stub).await.map_err(|e| format!("{name}: {e}"))
}

/// Per-connection setup of a calls-mode connection; returns the call to repeat.
async fn setup(c: &mut RpcConnection, p: Profile) -> Result<Call, String> {
    Ok(match p {
        Profile::EpmMap | Profile::MgmtInq => p.bind_call(),
        Profile::WinregQv => {
            let r = call_status(c, 2, &profiles::open_hklm_stub(), "OpenHKLM").await?;
            match StatusAt::Last.get(&r) {
                Some(0) => {}
                s => return Err(format!("OpenHKLM answered {}", s.map_or("nothing".into(), profiles::status_text))),
            }
            let h = profiles::handle_at(&r, 0).ok_or("OpenHKLM: short reply")?;
            let r = call_status(c, 15, &profiles::open_key_stub(&h, profiles::WINREG_KEY), "OpenKey").await?;
            match StatusAt::Last.get(&r) {
                Some(0) => {}
                s => {
                    return Err(format!(
                        "OpenKey {} answered {}",
                        profiles::WINREG_KEY,
                        s.map_or("nothing".into(), profiles::status_text)
                    ))
                }
            }
            let k = profiles::handle_at(&r, 0).ok_or("OpenKey: short reply")?;
            Call {
                opnum: 17,
                stub: profiles::query_value_stub(&k, profiles::WINREG_VALUE),
                status: StatusAt::Last,
                name: "QueryValue",
            }
        }
        Profile::ClusapiQv => {
            let not_there = |what: &str, s: u32| {
                if s == profiles::ERROR_CALL_NOT_IMPLEMENTED {
                    format!(
                        "{what} answered {}: this server does not implement the clusapi registry API yet, clusapi_qv cannot run",
                        profiles::status_text(s)
                    )
                } else {
                    format!("{what} answered {}", profiles::status_text(s))
                }
            };
            let r = call_status(c, 28, &profiles::get_root_key_stub(), "ApiGetRootKey").await?;
            let (s, root) = profiles::decode_root_key(&r).map_err(|e| format!("ApiGetRootKey: {e}"))?;
            if s != 0 {
                return Err(not_there("ApiGetRootKey", s));
            }
            let r = call_status(c, 30, &profiles::open_key_clus_stub(root, profiles::CLUS_KEY), "ApiOpenKey").await?;
            let (mut s, mut key) = profiles::decode_open_key(&r).map_err(|e| format!("ApiOpenKey: {e}"))?;
            if s == profiles::ERROR_FILE_NOT_FOUND {
                let r = call_status(c, 29, &profiles::create_key_clus_stub(root, profiles::CLUS_KEY), "ApiCreateKey")
                    .await?;
                (s, key) = profiles::decode_create_key(&r).map_err(|e| format!("ApiCreateKey: {e}"))?;
                if s != 0 {
                    return Err(not_there("ApiCreateKey", s));
                }
            } else if s != 0 {
                return Err(not_there("ApiOpenKey", s));
            }
            let q = Call {
                opnum: 34,
                stub: profiles::query_value_clus_stub(key, profiles::CLUS_VALUE),
                status: StatusAt::Last,
                name: "ApiQueryValue",
            };
            let r = call_status(c, q.opnum, &q.stub, q.name).await?;
            match StatusAt::Last.get(&r) {
                Some(0) => {}
                Some(profiles::ERROR_FILE_NOT_FOUND) => {
                    let st = profiles::set_value_clus_stub(key, profiles::CLUS_VALUE, profiles::CLUS_DATA);
                    let r = call_status(c, 32, &st, "ApiSetValue").await?;
                    let s = profiles::decode_set_value(&r).map_err(|e| format!("ApiSetValue: {e}"))?;
                    if s != 0 {
                        return Err(not_there("ApiSetValue", s));
                    }
                }
                Some(s) => return Err(not_there("ApiQueryValue", s)),
                None => return Err("ApiQueryValue: short reply".into()),
            }
            q
        }
    })
}

/// What one connection task measured.
#[derive(Default)]
struct TaskResult {
    /// (completion index or 0, latency ns) of each successful op in the window.
    lat: Vec<(u64, u32)>,
    errors: u64,
    first_error: Option<String>,
}

impl TaskResult {
    fn error(&mut self, e: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }
}

/// The window, in absolute instants.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    warm_end: Instant,
    end: Instant,
}

fn ns(d: Duration) -> u32 {
    u32::try_from(d.as_nanos()).unwrap_or(u32::MAX)
}

async fn run_calls(mut c: RpcConnection, call: Call, w: Window) -> TaskResult {
    let mut r = TaskResult { lat: Vec::with_capacity(1 << 16), ..Default::default() };
    tokio::time::sleep_until(w.start.into()).await;
    loop {
        let t0 = Instant::now();
        if t0 >= w.end {
            break;
        }
        let res = c.call(call.opnum, &call.stub).await;
        let t1 = Instant::now();
        let broken = matches!(res, Err(RpcFailure::Io(_) | RpcFailure::Protocol(_)));
        let ok = check(&call, res);
        if t0 >= w.warm_end {
            match ok {
                Ok(()) => r.lat.push((0, ns(t1 - t0))),
                Err(e) => r.error(e),
            }
        }
        if broken {
            break;
        }
    }
    r
}

/// Ageing bookkeeping for `--count` bind runs.
struct Counter {
    count: u64,
    block: u64,
    started: AtomicU64,
    done: AtomicU64,
    samples: Mutex<Vec<Sample>>,
    server: Option<i32>,
}

#[derive(Clone)]
struct Sample {
    done: u64,
    at: Instant,
    server_cpu: Option<f64>,
    client_cpu: f64,
    pss_kib: Option<u64>,
    machine: Vec<(u64, u64)>,
}

impl Counter {
    fn sample(&self, done: u64) {
        let s = Sample {
            done,
            at: Instant::now(),
            server_cpu: self.server.map(|p| procfs::tree_cpu(p).total),
            client_cpu: procfs::self_cpu(),
            pss_kib: self.server.map(|p| procfs::tree_mem(p).pss_kib),
            machine: procfs::machine(),
        };
        self.samples.lock().unwrap_or_else(|e| e.into_inner()).push(s);
    }
}

async fn run_binds(t: Target, w: Window, counter: Option<Arc<Counter>>) -> TaskResult {
    let mut r = TaskResult { lat: Vec::with_capacity(1 << 12), ..Default::default() };
    let call = t.profile.bind_call();
    tokio::time::sleep_until(w.start.into()).await;
    loop {
        if let Some(c) = &counter {
            if c.started.fetch_add(1, Ordering::Relaxed) >= c.count {
                break;
            }
        }
        let t0 = Instant::now();
        if counter.is_none() && t0 >= w.end {
            break;
        }
        let res = match t.open().await {
            Ok(mut c) => {
                let res = c.call(call.opnum, &call.stub).await;
                drop(c);
                check(&call, res)
            }
            Err(e) => Err(format!("connect/bind: {e}")),
        };
        let t1 = Instant::now();
        let idx = match &counter {
            Some(c) => {
                let d = c.done.fetch_add(1, Ordering::Relaxed) + 1;
                if d % c.block == 0 || d == c.count {
                    c.sample(d);
                }
                d
            }
            None => 0,
        };
        if counter.is_some() || t0 >= w.warm_end {
            match res {
                Ok(()) => r.lat.push((idx, ns(t1 - t0))),
                Err(e) => {
                    r.error(e);
                    // do not spin on a refused port
                    if counter.is_some() && r.errors > 100 {
                        break;
                    }
                }
            }
        }
    }
    r
}

fn pct(sorted: &[u32], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((q / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    Some(f64::from(sorted[i.min(sorted.len() - 1)]) / 1e3)
}

fn parse_cpus(s: &str) -> anyhow::Result<Vec<usize>> {
    let mut v = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        if let Some((a, b)) = part.split_once('-') {
            for c in a.trim().parse::<usize>()?..=b.trim().parse::<usize>()? {
                v.push(c);
            }
        } else {
            v.push(part.trim().parse()?);
        }
    }
    Ok(v)
}

fn current_thread_rt() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// Finds the profile's port.
fn resolve_port(a: &Args, p: Profile) -> anyhow::Result<u16> {
    if let Some(port) = a.port {
        return Ok(port);
    }
    let Some(iface) = p.mapped_interface() else { return Ok(a.epm_port) };
    let epm = SocketAddr::new(a.host, a.epm_port);
    current_thread_rt()?.block_on(async {
        let anon = AuthCfg {
            kind: None,
            level: auth_level::NONE,
            user: String::new(),
            domain: String::new(),
            nt_hash: [0; 16],
            workstation: String::new(),
        };
        let mut c = conn::open(epm, true, &anon, Profile::EpmMap.syntax())
            .await
            .map_err(|e| anyhow::anyhow!("endpoint mapper {epm}: {e}"))?;
        let r = c.call(3, &profiles::ept_map_stub(iface)).await.map_err(|e| anyhow::anyhow!("ept_map: {e}"))?;
        profiles::ept_map_port(&r).map_err(|e| anyhow::anyhow!("{e}"))
    })
}

/// Raises the soft limit of open files to the hard one (thousands of connections).
fn raise_nofile() {
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        let mut l = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

/// Splits `n` connections over `threads` (round robin).
fn split(n: usize, threads: usize) -> Vec<usize> {
    let mut v = vec![0; threads];
    for i in 0..n {
        v[i % threads] += 1;
    }
    v
}

enum Ready {
    Ok,
    Failed(String),
}

/// Runs calls or bind mode; returns the result object.
fn run_load(a: &Args, t: &Target, server: Option<i32>, threads: usize) -> anyhow::Result<Json> {
    let per_thread = split(a.conns, threads);
    let (ready_tx, ready_rx) = mpsc::channel::<Ready>();
    let counter = a.count.map(|count| {
        Arc::new(Counter {
            count,
            block: a.block.max(1),
            started: AtomicU64::new(0),
            done: AtomicU64::new(0),
            samples: Mutex::new(Vec::new()),
            server,
        })
    });
    let mut go_txs = Vec::new();
    let mut handles = Vec::new();
    for n in per_thread.into_iter().filter(|&n| n > 0) {
        let (go_tx, go_rx) = mpsc::channel::<Option<Window>>();
        go_txs.push(go_tx);
        let ready_tx = ready_tx.clone();
        let t = t.clone();
        let mode = a.mode;
        let counter = counter.clone();
        handles.push(std::thread::spawn(move || -> Vec<TaskResult> {
            let rt = match current_thread_rt() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Ready::Failed(e.to_string()));
                    return Vec::new();
                }
            };
            rt.block_on(async move {
                let mut prepared = Vec::new();
                if mode == Mode::Calls {
                    for _ in 0..n {
                        let mut c = match t.open().await {
                            Ok(c) => c,
                            Err(e) => {
                                let _ = ready_tx.send(Ready::Failed(format!("connect/bind: {e}")));
                                return Vec::new();
                            }
                        };
                        let call = match setup(&mut c, t.profile).await {
                            Ok(call) => call,
                            Err(e) => {
                                let _ = ready_tx.send(Ready::Failed(format!("setup: {e}")));
                                return Vec::new();
                            }
                        };
                        if let Err(e) = check(&call, c.call(call.opnum, &call.stub).await) {
                            let _ = ready_tx.send(Ready::Failed(format!("first call: {e}")));
                            return Vec::new();
                        }
                        prepared.push((c, call));
                    }
                }
                let _ = ready_tx.send(Ready::Ok);
                let Ok(Some(w)) = go_rx.recv() else { return Vec::new() };
                let mut set = tokio::task::JoinSet::new();
                if mode == Mode::Calls {
                    for (c, call) in prepared {
                        set.spawn(run_calls(c, call, w));
                    }
                } else {
                    for _ in 0..n {
                        set.spawn(run_binds(t.clone(), w, counter.clone()));
                    }
                }
                let mut out = Vec::new();
                while let Some(r) = set.join_next().await {
                    if let Ok(r) = r {
                        out.push(r);
                    }
                }
                out
            })
        }));
    }
    drop(ready_tx);
    let mut setup_error = None;
    for _ in 0..handles.len() {
        match ready_rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Ready::Ok) => {}
            Ok(Ready::Failed(e)) => {
                setup_error.get_or_insert(e);
            }
            Err(_) => {
                setup_error.get_or_insert("a client thread did not get ready within 120 s".into());
            }
        }
    }
    if let Some(e) = setup_error {
        for g in &go_txs {
            let _ = g.send(None);
        }
        for h in handles {
            let _ = h.join();
        }
        let mut o = base_json(a, t);
        o.set("ops", 0u64).set("errors", a.conns).set("first_error", e.clone()).set("setup_error", e);
        return Ok(o);
    }
    let start = Instant::now() + Duration::from_millis(50);
    let (warm, dur) = if a.count.is_some() { (0.0, 0.0) } else { (a.warmup, a.duration) };
    let warm_end = start + Duration::from_secs_f64(warm);
    let end = warm_end + Duration::from_secs_f64(dur);
    let w = Window { start, warm_end, end };
    if let Some(c) = &counter {
        // the baseline sample of the ageing run
        c.sample(0);
    }
    for g in &go_txs {
        let _ = g.send(Some(w));
    }
    let mut mem_mid = None;
    let (cpu0, ccpu0, m0, t0);
    if a.count.is_none() {
        sleep_until(warm_end);
        cpu0 = server.map(procfs::tree_cpu);
        ccpu0 = procfs::self_cpu();
        m0 = procfs::machine();
        t0 = Instant::now();
        sleep_until(warm_end + (end - warm_end) / 2);
        mem_mid = server.map(procfs::tree_mem);
        sleep_until(end);
    } else {
        cpu0 = server.map(procfs::tree_cpu);
        ccpu0 = procfs::self_cpu();
        m0 = procfs::machine();
        t0 = Instant::now();
    }
    let mut results = Vec::new();
    for h in handles {
        if let Ok(r) = h.join() {
            results.extend(r);
        }
    }
    // in count mode the window ends when the last connection is done
    let t1 = if a.count.is_some() { Instant::now() } else { end.max(t0) };
    let cpu1 = server.map(procfs::tree_cpu);
    let ccpu1 = procfs::self_cpu();
    let m1 = procfs::machine();
    if a.count.is_some() {
        mem_mid = server.map(procfs::tree_mem);
    }
    let window = if a.count.is_some() { (t1 - t0).as_secs_f64() } else { a.duration };

    let mut all: Vec<(u64, u32)> = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for r in results {
        all.extend(r.lat);
        errors += r.errors;
        if first_error.is_none() {
            first_error = r.first_error;
        }
    }
    let n = all.len() as u64;
    let mut lat: Vec<u32> = all.iter().map(|x| x.1).collect();
    lat.sort_unstable();
    let ccpu = ccpu1 - ccpu0;
    let scpu = match (&cpu0, &cpu1) {
        (Some(a), Some(b)) => Some(b.total - a.total),
        _ => None,
    };
    let per_op = |x: f64| (n > 0).then(|| 1e6 * x / n as f64);
    let mut o = base_json(a, t);
    o.set("ops", n)
        .set("errors", errors)
        .set("first_error", first_error)
        .set("window_s", Json::round(Some(window), 3))
        .set("ops_per_s", Json::round(Some(n as f64 / window), 1));
    let mut l = Json::obj();
    l.set("p50", Json::round(pct(&lat, 50.0), 1))
        .set("p90", Json::round(pct(&lat, 90.0), 1))
        .set("p99", Json::round(pct(&lat, 99.0), 1))
        .set("max", Json::round(lat.last().map(|&x| f64::from(x) / 1e3), 1));
    o.set("lat_us", l);
    o.set("client_cpu_pct", Json::round(Some(100.0 * ccpu / window), 1))
        .set("client_cpu_us_per_op", Json::round(per_op(ccpu), 2))
        .set("server_cpu_pct", Json::round(scpu.map(|s| 100.0 * s / window), 1))
        .set("server_cpu_us_per_op", Json::round(scpu.and_then(per_op), 2));
    let mut by = Json::obj();
    if let (Some(c0), Some(c1)) = (&cpu0, &cpu1) {
        let mut names: Vec<&String> = c1.by_name.keys().collect();
        names.sort();
        for k in names {
            let d = c1.by_name[k] - c0.by_name.get(k).copied().unwrap_or(0.0);
            if d > 0.0 {
                by.set(k, Json::round(Some(100.0 * d / window), 1));
            }
        }
    }
    o.set("server_cpu_by_proc", by);
    let (busy, per_cpu) = procfs::busy(&m0, &m1);
    // CPU used by anything else on the machine during the window (other processes, interrupts):
    // large values mean the run was disturbed
    let other = busy.map(|b| b - 100.0 * ccpu / window - scpu.map_or(0.0, |s| 100.0 * s / window));
    o.set("other_cpu_pct", Json::round(other, 1));
    o.set("machine_busy_pct", Json::round(busy, 1))
        .set("per_cpu_busy_pct", Json::Arr(per_cpu.into_iter().map(|p| Json::round(p, 1)).collect()));
    o.set("server_mem", mem_json(mem_mid.as_ref()));
    if let Some(c) = &counter {
        o.set("blocks", blocks_json(c, &all));
    }
    Ok(o)
}

/// Per-block figures of an ageing run.
fn blocks_json(c: &Counter, all: &[(u64, u32)]) -> Json {
    let mut s = c.samples.lock().unwrap_or_else(|e| e.into_inner()).clone();
    s.sort_by_key(|x| x.done);
    let mut out = Vec::new();
    for pair in s.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let n = b.done - a.done;
        if n == 0 {
            continue;
        }
        let secs = (b.at - a.at).as_secs_f64();
        let mut lat: Vec<u32> = all.iter().filter(|x| x.0 > a.done && x.0 <= b.done).map(|x| x.1).collect();
        lat.sort_unstable();
        let scpu = a.server_cpu.zip(b.server_cpu).map(|(x, y)| y - x);
        let ccpu = b.client_cpu - a.client_cpu;
        let other =
            procfs::busy(&a.machine, &b.machine).0.map(|busy| busy - 100.0 * (ccpu + scpu.unwrap_or(0.0)) / secs);
        let mut o = Json::obj();
        o.set("from", a.done)
            .set("to", b.done)
            .set("ops_per_s", Json::round(Some(n as f64 / secs), 1))
            .set("p50_us", Json::round(pct(&lat, 50.0), 1))
            .set("p99_us", Json::round(pct(&lat, 99.0), 1))
            .set(
                "server_cpu_us_per_op",
                Json::round(a.server_cpu.zip(b.server_cpu).map(|(x, y)| 1e6 * (y - x) / n as f64), 1),
            )
            .set("client_cpu_us_per_op", Json::round(Some(1e6 * (b.client_cpu - a.client_cpu) / n as f64), 1))
            .set("pss_kib", b.pss_kib)
            .set("other_cpu_pct", Json::round(other, 1));
        out.push(o);
    }
    Json::Arr(out)
}

fn mem_json(m: Option<&procfs::TreeMem>) -> Json {
    match m {
        None => Json::Null,
        Some(m) => {
            let mut o = Json::obj();
            o.set("rss_kib", m.rss_kib)
                .set("pss_kib", m.pss_kib)
                .set("procs", m.procs.len())
                .set("by_proc", Json::Arr(m.procs.iter().map(|(n, r, p)| Json::Str(format!("{n}:{r}/{p}"))).collect()));
            o
        }
    }
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

fn base_json(a: &Args, t: &Target) -> Json {
    let mut o = Json::obj();
    o.set("tag", a.tag.as_str())
        .set("server", a.server.as_str())
        .set("placement", a.placement.as_str())
        .set("client", "clusapid-bench")
        .set("auth", format!("{:?}", a.auth).to_lowercase())
        .set("level", if a.auth == AuthKind::None { "none".into() } else { format!("{:?}", a.level).to_lowercase() })
        .set("profile", t.profile.name())
        .set("mode", format!("{:?}", a.mode).to_lowercase())
        .set("conns", a.conns)
        .set("port", t.addr.port())
        .set("duration_s", Json::round(Some(a.duration), 3))
        .set("count", a.count)
        .set("client_nodelay", t.nodelay)
        .set("client_cpus", a.client_cpus.clone().unwrap_or_else(|| "any".into()));
    o
}

/// Mem mode: PSS after one sealed connection, with `conns` held, and after they closed.
fn run_mem(a: &Args, t: &Target, server: Option<i32>) -> anyhow::Result<Json> {
    let Some(pid) = server else { bail!("mem mode needs --server-pid or --server-pidfile") };
    let settle = Duration::from_secs_f64(a.settle);
    let rt = current_thread_rt()?;
    let res: Result<(procfs::TreeMem, procfs::TreeMem, procfs::TreeMem), String> = rt.block_on(async {
        async fn one(t: &Target) -> Result<RpcConnection, String> {
            let mut c = t.open().await.map_err(|e| format!("connect/bind: {e}"))?;
            let call = setup(&mut c, t.profile).await.map_err(|e| format!("setup: {e}"))?;
            check(&call, c.call(call.opnum, &call.stub).await)?;
            Ok(c)
        }
        drop(one(t).await?);
        tokio::time::sleep(settle).await;
        let idle = procfs::tree_mem(pid);
        let mut held = Vec::new();
        for _ in 0..a.conns {
            held.push(one(t).await?);
        }
        tokio::time::sleep(settle).await;
        let with = procfs::tree_mem(pid);
        drop(held);
        tokio::time::sleep(settle).await;
        let after = procfs::tree_mem(pid);
        Ok((idle, with, after))
    });
    let mut o = base_json(a, t);
    match res {
        Err(e) => {
            o.set("ops", 0u64).set("errors", 1u64).set("first_error", e.clone()).set("setup_error", e);
        }
        Ok((idle, with, after)) => {
            let per = (with.pss_kib as f64 - idle.pss_kib as f64) / a.conns.max(1) as f64;
            o.set("ops", a.conns)
                .set("errors", 0u64)
                .set("pss_idle_kib", idle.pss_kib)
                .set("pss_held_kib", with.pss_kib)
                .set("pss_after_kib", after.pss_kib)
                .set("pss_per_conn_kib", Json::round(Some(per), 2))
                .set("rss_idle_kib", idle.rss_kib)
                .set("rss_held_kib", with.rss_kib)
                .set("server_mem", mem_json(Some(&with)))
                .set("server_mem_idle", mem_json(Some(&idle)));
        }
    }
    Ok(o)
}

fn get<'a>(o: &'a Json, path: &[&str]) -> Option<&'a Json> {
    let mut cur = o;
    for k in path {
        let Json::Obj(m) = cur else { return None };
        cur = &m.iter().find(|(n, _)| n == k)?.1;
    }
    Some(cur)
}

fn cell(o: &Json, path: &[&str]) -> String {
    match get(o, path) {
        None | Some(Json::Null) => "-".into(),
        Some(Json::Num(x)) => {
            if x.abs() >= 100.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            }
        }
        Some(Json::Str(s)) => s.replace('|', "/"),
        Some(v) => v.to_string(),
    }
}

/// The cells at `keys` (space-separated; `a.b` is key `b` inside `a`), as [`cell`] writes each.
fn cells(o: &Json, keys: &str) -> Vec<String> {
    keys.split_whitespace().map(|k| cell(o, &k.split('.').collect::<Vec<_>>())).collect()
}

/// A markdown table row of `cells`.
fn md_line(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

const MD_HEADER: &str = "| server | profile | mode | auth | placement | conns | ops/s | p50 µs | p99 µs | server CPU µs/op | client CPU µs/op | server CPU % | PSS KiB | errors |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";

fn md_row(o: &Json) -> String {
    let pss = if get(o, &["pss_held_kib"]).is_some() {
        format!(
            "idle {} / held {} ({} per conn)",
            cell(o, &["pss_idle_kib"]),
            cell(o, &["pss_held_kib"]),
            cell(o, &["pss_per_conn_kib"])
        )
    } else {
        cell(o, &["server_mem", "pss_kib"])
    };
    let mut errors = cell(o, &["errors"]);
    if let Some(Json::Str(e)) = get(o, &["first_error"]) {
        errors = format!("{errors} ({})", e.replace('|', "/"));
    }
    let mut row = cells(
        o,
        "server profile mode auth placement conns ops_per_s lat_us.p50 lat_us.p99 server_cpu_us_per_op \
         client_cpu_us_per_op server_cpu_pct",
    );
    row.extend([pss, errors]);
    md_line(&row)
}

fn append(path: &PathBuf, text: &str, header: Option<&str>) -> anyhow::Result<()> {
    let new = std::fs::metadata(path).map(|m| m.len() == 0).unwrap_or(true);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("{}", path.display()))?;
    if new {
        if let Some(h) = header {
            f.write_all(h.as_bytes())?;
        }
    }
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Prints a result as one JSON line on stdout and appends that line to `--json` when given.
fn emit(o: &Json, json: Option<&PathBuf>) -> anyhow::Result<()> {
    let line = o.to_string();
    println!("{line}");
    if let Some(p) = json {
        append(p, &format!("{line}\n"), None)?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let lab = matches!(a.host, IpAddr::V4(v) if v.octets()[..3] == [192, 0, 2]);
    if !a.host.is_loopback() && !lab {
        bail!("--host: loopback addresses, or the lab's 192.0.2.0/24, only");
    }
    if a.conns == 0 {
        bail!("--conns: at least 1");
    }
    if let Some(c) = &a.client_cpus {
        procfs::set_affinity(&parse_cpus(c)?).context("--client-cpus")?;
    }
    let server = match (&a.server_pid, &a.server_pidfile) {
        (Some(p), _) => Some(*p),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("{}", f.display()))?
                .trim()
                .parse()
                .with_context(|| format!("pid in {}", f.display()))?,
        ),
        (None, None) => None,
    };
    let profile: Profile = a.profile.into();
    if a.mode == Mode::Floor {
        let sc = a.server_cpus.as_deref().map(parse_cpus).transpose()?.unwrap_or_default();
        let mut o = Json::obj();
        o.set("tag", a.tag.as_str())
            .set("server", "floor")
            .set("placement", a.placement.as_str())
            .set("mode", "floor")
            .set("conns", 1u64)
            .set("client_cpus", a.client_cpus.clone().unwrap_or_else(|| "any".into()))
            .set("server_cpus", a.server_cpus.clone().unwrap_or_else(|| "any".into()));
        if let Json::Obj(m) =
            floor::run(a.floor_server, a.req_bytes, a.resp_bytes, a.warmup, a.duration, &sc, !a.no_nodelay)?
        {
            for (k, v) in m {
                o.set(&k, v);
            }
        }
        emit(&o, a.json.as_ref())?;
        return Ok(());
    }
    let auth_cfg = |kind, level| AuthCfg {
        kind,
        level,
        user: a.user.clone(),
        domain: a.domain.clone(),
        nt_hash: auth::nt_hash(&a.password),
        workstation: "BENCHCLIENT".into(),
    };
    let sealed = || auth_cfg(Some(AuthType::Ntlmssp), auth_level::PKT_PRIVACY);
    if a.mode == Mode::WitnessScale {
        raise_nofile();
        return scale::run_witness(scale::WitnessCfg {
            hosts: a.witness_host.clone(),
            epm_port: a.epm_port,
            auth: sealed(),
            clients: a.conns,
            ips: a.witness_ip.clone(),
            net_name: a.net_name.clone(),
            share: a.share.clone(),
            duration: Duration::from_secs_f64(a.duration),
            threads: a.threads.unwrap_or(2).max(1),
            parallel: a.parallel,
        });
    }
    if matches!(a.mode, Mode::EnumScale | Mode::NotifyFanout) {
        raise_nofile();
        let addr = SocketAddr::new(a.host, a.port.unwrap_or(4135));
        let mut o = if a.mode == Mode::EnumScale {
            scale::run_enum(scale::EnumCfg {
                addr,
                auth: sealed(),
                server_pid: server,
                window: Duration::from_secs_f64(a.duration),
            })?
        } else {
            scale::run_fanout(scale::FanoutCfg {
                addr,
                auth: sealed(),
                server_pid: server,
                ports: a.conns,
                events: a.events,
                threads: a.threads.unwrap_or(2),
            })?
        };
        o.set("tag", a.tag.as_str()).set("server", a.server.as_str());
        emit(&o, a.json.as_ref())?;
        return Ok(());
    }
    let port = if a.mode == Mode::Soak { a.port.unwrap_or(4135) } else { resolve_port(&a, profile)? };
    let (kind, level) = match a.auth {
        AuthKind::None => (None, auth_level::NONE),
        k => (
            Some(if k == AuthKind::Ntlm { AuthType::Ntlmssp } else { AuthType::Spnego }),
            match a.level {
                Level::Privacy => auth_level::PKT_PRIVACY,
                Level::Integrity => auth_level::PKT_INTEGRITY,
                Level::Connect => auth_level::CONNECT,
            },
        ),
    };
    let t =
        Target { addr: SocketAddr::new(a.host, port), nodelay: !a.no_nodelay, auth: auth_cfg(kind, level), profile };
    let usable = procfs::affinity(0).map_or(1, |v| v.len().max(1));
    if a.mode == Mode::Soak {
        let o = soak::run(soak::SoakCfg {
            addr: t.addr,
            auth: t.auth.clone(),
            clients: a.conns,
            duration: Duration::from_secs_f64(a.duration),
            think: Duration::from_millis(a.think_ms),
            reconnect_every: a.reconnect_every.max(15),
            events_every: Duration::from_secs(a.events_every),
            server_pid: server,
            threads: a.threads.unwrap_or(usable).max(1),
            ramp: Duration::from_secs(a.ramp),
        })?;
        emit(&o, a.json.as_ref())?;
        let title = if a.tag.is_empty() { "soak".to_string() } else { a.tag.clone() };
        let md = soak::markdown(&o, &title);
        if let Some(p) = &a.md {
            append(p, &md, None)?;
        }
        eprint!("{md}");
        return Ok(());
    }
    let threads = a.threads.unwrap_or(usable).clamp(1, a.conns);
    let mut o = match a.mode {
        Mode::Mem => run_mem(&a, &t, server)?,
        Mode::Floor => unreachable!("handled above"),
        _ => run_load(&a, &t, server, threads)?,
    };
    o.set("client_threads", threads);
    if let Some(pid) = server {
        o.set("server_pid", i64::from(pid));
        o.set("server_affinity", procfs::affinity(pid).map(|v| v.into_iter().map(|c| c as u64).collect::<Vec<u64>>()));
    }
    emit(&o, a.json.as_ref())?;
    if let Some(p) = &a.md {
        append(p, &md_row(&o), Some(MD_HEADER))?;
    }
    eprint!("{MD_HEADER}{}", md_row(&o));
    if get(&o, &["setup_error"]).is_some() {
        std::process::exit(2);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_row_cells() {
        let mut lat = Json::obj();
        lat.set("p50", 120u64).set("p99", Json::Num(7.25));
        let mut o = Json::obj();
        o.set("server", "clusapid").set("conns", 8u64).set("lat_us", lat).set("errors", 0u64);
        o.set("first_error", "bind: a|b");
        assert_eq!(cells(&o, "server lat_us.p50 lat_us.p99 profile"), ["clusapid", "120", "7.2", "-"]);
        assert_eq!(md_row(&o), "| clusapid | - | - | - | - | 8 | - | 120 | 7.2 | - | - | - | - | 0 (bind: a/b) |\n");
    }
}
