//! What the daemon counts for the status and metrics endpoint (README "Status and metrics"):
//! calls per interface, opnum and status with latency histograms, authentications by kind and
//! result, and the open connections (who is connected). Counting happens in the transport;
//! rendering the Prometheus text is here, gauges read at scrape time (associations, handles,
//! witness registrations, ctdbd) are passed in by the caller ([`Gauges`]).
//!
//! Nothing is counted when no `metrics_listen` is configured: the transport holds no
//! [`Metrics`] then and every call path skips it. With it, a call costs two clock reads and a
//! handful of relaxed atomic increments on counters of its own opnum; the status slots of an
//! opnum are claimed lock-free, so there is no lock on the call path.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use dashmap::DashMap;

use crate::services::Interface;

/// Upper bounds (inclusive, microseconds) of the latency histogram buckets; one more bucket
/// (`+Inf`) holds the rest. From 100 µs (a sealed call on loopback) to a minute (a
/// notification wait that ran its course).
pub const BUCKETS_US: [u64; 12] =
    [100, 500, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000, 1_000_000, 5_000_000, 30_000_000, 60_000_000];

/// Distinct statuses counted per opnum; further ones are counted as `status="other"`.
const STATUS_SLOTS: usize = 8;

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallStatus {
    /// A response; the operation's Win32 status when it returns one.
    Response(Option<u32>),
    /// A fault PDU with this status.
    Fault(u32),
}

impl CallStatus {
    /// Packs into a non-zero u64 (0 marks a free slot).
    fn key(self) -> u64 {
        match self {
            CallStatus::Response(Some(s)) => (1 << 32) | u64::from(s),
            CallStatus::Response(None) => 2 << 32,
            CallStatus::Fault(s) => (3 << 32) | u64::from(s),
        }
    }

    fn from_key(k: u64) -> Option<CallStatus> {
        let code = (k & 0xffff_ffff) as u32;
        match k >> 32 {
            1 => Some(CallStatus::Response(Some(code))),
            2 => Some(CallStatus::Response(None)),
            3 => Some(CallStatus::Fault(code)),
            _ => None,
        }
    }

    /// The `status` label: the Win32 status in decimal (`0`, `5`, `5072`), `none` for an
    /// operation without one, `fault:<name or 0x code>` for a fault.
    pub fn label(self) -> String {
        match self {
            CallStatus::Response(Some(s)) => s.to_string(),
            CallStatus::Response(None) => "none".into(),
            CallStatus::Fault(s) => format!("fault:{}", fault_name(s)),
        }
    }
}

/// The name of a fault status clusapid sends.
pub fn fault_name(code: u32) -> String {
    use dcerpc::pdu::fault;
    match code {
        fault::NCA_S_OP_RNG_ERROR => "nca_s_op_rng_error".into(),
        fault::NCA_S_UNK_IF => "nca_s_unk_if".into(),
        fault::NCA_S_PROTO_ERROR => "nca_s_proto_error".into(),
        fault::NCA_S_FAULT_NDR => "rpc_x_bad_stub_data".into(),
        fault::ACCESS_DENIED => "access_denied".into(),
        fault::SERVER_TOO_BUSY => "rpc_s_server_too_busy".into(),
        other => format!("{other:#010x}"),
    }
}

/// Counters of one opnum.
struct OpStats {
    /// (status key, count); key 0 = free.
    statuses: [(AtomicU64, AtomicU64); STATUS_SLOTS],
    other_statuses: AtomicU64,
    /// Non-cumulative: bucket i counts durations in (BUCKETS_US[i-1], BUCKETS_US[i]]; the
    /// last one those above every bound.
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl Default for OpStats {
    fn default() -> Self {
        OpStats {
            statuses: std::array::from_fn(|_| (AtomicU64::new(0), AtomicU64::new(0))),
            other_statuses: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_us: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
}

impl OpStats {
    fn record(&self, status: CallStatus, took: Duration) {
        let key = status.key();
        let mut counted = false;
        for (k, n) in &self.statuses {
            let cur = k.load(Ordering::Relaxed);
            let mine = cur == key
                || (cur == 0
                    && match k.compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire) {
                        Ok(_) => true,
                        Err(now) => now == key,
                    });
            if mine {
                n.fetch_add(1, Ordering::Relaxed);
                counted = true;
                break;
            }
        }
        if !counted {
            self.other_statuses.fetch_add(1, Ordering::Relaxed);
        }
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(us)].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// The bucket index of a duration in microseconds.
pub fn bucket_of(us: u64) -> usize {
    BUCKETS_US.iter().position(|&b| us <= b).unwrap_or(BUCKETS_US.len())
}

/// One interface's opnums: slots `0..n-1` by opnum, the last slot for every opnum beyond.
struct IfaceStats {
    ops: Box<[OpStats]>,
}

impl IfaceStats {
    fn new(opnums: usize) -> Self {
        IfaceStats { ops: (0..=opnums).map(|_| OpStats::default()).collect() }
    }

    fn slot(&self, opnum: u16) -> &OpStats {
        let last = self.ops.len() - 1;
        &self.ops[usize::from(opnum).min(last)]
    }
}

/// The interfaces in the order of [`Metrics::ifaces`], with the opnums each keeps apart
/// (clusapi 0-185, the others 0-15; beyond: opnum="other").
const IFACES: [(Interface, usize); 4] =
    [(Interface::Epmapper, 16), (Interface::Clusapi, 186), (Interface::Mgmt, 16), (Interface::Witness, 16)];

fn iface_index(i: Interface) -> usize {
    match i {
        Interface::Epmapper => 0,
        Interface::Clusapi => 1,
        Interface::Mgmt => 2,
        Interface::Witness => 3,
    }
}

/// The result of an authentication attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AuthResult {
    Success,
    Failure,
}

/// The `auth_type` label of a DCE/RPC auth type octet.
pub fn auth_type_label(t: Option<u8>) -> &'static str {
    match t.and_then(auth::AuthType::from_u8) {
        Some(auth::AuthType::Spnego) => "spnego",
        Some(auth::AuthType::Ntlmssp) => "ntlmssp",
        Some(auth::AuthType::Kerberos) => "kerberos",
        None => "other",
    }
}

/// One open connection, as the status page shows it.
pub struct ConnEntry {
    pub endpoint: &'static str,
    pub peer: SocketAddr,
    pub local: Option<SocketAddr>,
    pub since: SystemTime,
    /// `DOMAIN\user` and how, once authenticated.
    pub who: Mutex<Option<(String, String)>>,
    pub calls: AtomicU64,
}

/// A connection as the status page lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ConnectionInfo {
    pub endpoint: &'static str,
    pub peer: String,
    pub local: Option<String>,
    /// RFC 3339 UTC.
    pub since: String,
    pub user: Option<String>,
    pub auth: Option<String>,
    pub calls: u64,
}

/// Removes its connection from the registry when dropped.
pub struct ConnGuard {
    metrics: Arc<Metrics>,
    id: u64,
    pub entry: Arc<ConnEntry>,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.metrics.connections.remove(&self.id);
    }
}

/// Everything counted.
pub struct Metrics {
    ifaces: [IfaceStats; 4],
    /// (auth_type, mechanism, result) → count.
    auth: Mutex<BTreeMap<(&'static str, &'static str, AuthResult), u64>>,
    /// Open connections by a number of their own.
    connections: DashMap<u64, Arc<ConnEntry>>,
    next_conn: AtomicU64,
    connections_total: [AtomicU64; 2],
    started: SystemTime,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            ifaces: IFACES.map(|(_, n)| IfaceStats::new(n)),
            auth: Mutex::new(BTreeMap::new()),
            connections: DashMap::new(),
            next_conn: AtomicU64::new(1),
            connections_total: [AtomicU64::new(0), AtomicU64::new(0)],
            started: SystemTime::now(),
        }
    }
}

/// Values read when the endpoint is scraped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gauges {
    pub associations: usize,
    pub handles: usize,
    pub witness_registrations: usize,
    /// Registrations with a WitnessrAsyncNotify waiting.
    pub witness_waiting: usize,
    /// Registrations with notifications queued for their next WitnessrAsyncNotify.
    pub witness_queued: usize,
    /// The backend reaches its cluster (ctdbd; always true for the simulation).
    pub backend_available: bool,
    /// "ctdb" or "simulated".
    pub backend: &'static str,
    pub ctdb: Option<nodes::BackendStats>,
}

impl Metrics {
    /// Counts one call.
    pub fn record_call(&self, iface: Interface, opnum: u16, status: CallStatus, took: Duration) {
        self.ifaces[iface_index(iface)].slot(opnum).record(status, took);
    }

    /// Counts one authentication outcome.
    /// A failed exchange has no principal to take the mechanism from: NTLMSSP and Kerberos
    /// auth types name theirs, SPNEGO's is `unknown`.
    pub fn record_auth(&self, auth_type: Option<u8>, mechanism: Option<auth::Mechanism>, result: AuthResult) {
        let mechanism = mechanism.or(match auth_type.and_then(auth::AuthType::from_u8) {
            Some(auth::AuthType::Ntlmssp) => Some(auth::Mechanism::Ntlm),
            Some(auth::AuthType::Kerberos) => Some(auth::Mechanism::Kerberos),
            _ => None,
        });
        let mech = match mechanism {
            Some(auth::Mechanism::Ntlm) => "ntlm",
            Some(auth::Mechanism::Kerberos) => "kerberos",
            None => "unknown",
        };
        let mut m = self.auth.lock().unwrap_or_else(PoisonError::into_inner);
        *m.entry((auth_type_label(auth_type), mech, result)).or_insert(0) += 1;
    }

    /// Registers an open connection; it is listed until the guard is dropped.
    pub fn open_connection(
        self: &Arc<Self>,
        endpoint: &'static str,
        peer: SocketAddr,
        local: Option<SocketAddr>,
    ) -> ConnGuard {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let ep = usize::from(endpoint != "clusapi");
        self.connections_total[ep].fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(ConnEntry {
            endpoint,
            peer,
            local,
            since: SystemTime::now(),
            who: Mutex::new(None),
            calls: AtomicU64::new(0),
        });
        self.connections.insert(id, entry.clone());
        ConnGuard { metrics: self.clone(), id, entry }
    }

    /// The open connections, oldest first.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        let mut v: Vec<(SystemTime, u64, ConnectionInfo)> = self
            .connections
            .iter()
            .map(|e| {
                let c = e.value();
                let who = c.who.lock().unwrap_or_else(PoisonError::into_inner).clone();
                let (user, auth) = match who {
                    Some((u, a)) => (Some(u), Some(a)),
                    None => (None, None),
                };
                let info = ConnectionInfo {
                    endpoint: c.endpoint,
                    peer: c.peer.to_string(),
                    local: c.local.map(|l| l.to_string()),
                    since: crate::services::witness::registry::rfc3339(c.since),
                    user,
                    auth,
                    calls: c.calls.load(Ordering::Relaxed),
                };
                (c.since, *e.key(), info)
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        v.into_iter().map(|(_, _, i)| i).collect()
    }

    /// When counting started.
    pub fn started(&self) -> SystemTime {
        self.started
    }

    /// The Prometheus text exposition (format 0.0.4) of everything counted plus `g`.
    pub fn render(&self, g: &Gauges) -> String {
        let mut o = String::with_capacity(16 * 1024);
        let up = self.started.elapsed().unwrap_or_default().as_secs_f64();
        gauge(&mut o, "clusapid_uptime_seconds", "Seconds since the daemon started counting.", up);

        o.push_str("# HELP clusapid_rpc_calls_total RPC calls answered, by interface, opnum and status (Win32 status in decimal, or fault:<name>).\n");
        o.push_str("# TYPE clusapid_rpc_calls_total counter\n");
        let mut hist = String::new();
        hist.push_str("# HELP clusapid_rpc_call_duration_seconds Time from a call's arrival to its answer being ready, by interface and opnum.\n");
        hist.push_str("# TYPE clusapid_rpc_call_duration_seconds histogram\n");
        for ((iface, _), stats) in IFACES.iter().zip(&self.ifaces) {
            for (i, op) in stats.ops.iter().enumerate() {
                let count = op.count.load(Ordering::Relaxed);
                if count == 0 {
                    continue;
                }
                let (opnum, name) = if i + 1 == stats.ops.len() {
                    ("other".to_string(), "?")
                } else {
                    (i.to_string(), iface.op_name(i as u16))
                };
                let labels = format!("interface=\"{}\",opnum=\"{opnum}\",op=\"{name}\"", iface.name());
                for (k, n) in &op.statuses {
                    let Some(s) = CallStatus::from_key(k.load(Ordering::Acquire)) else { continue };
                    let _ = writeln!(
                        o,
                        "clusapid_rpc_calls_total{{{labels},status=\"{}\"}} {}",
                        s.label(),
                        n.load(Ordering::Relaxed)
                    );
                }
                let other = op.other_statuses.load(Ordering::Relaxed);
                if other > 0 {
                    let _ = writeln!(o, "clusapid_rpc_calls_total{{{labels},status=\"other\"}} {other}");
                }
                let mut cumulative = 0;
                for (b, n) in op.buckets.iter().enumerate() {
                    cumulative += n.load(Ordering::Relaxed);
                    let le = BUCKETS_US.get(b).map_or("+Inf".to_string(), |us| seconds(*us));
                    let _ = writeln!(
                        hist,
                        "clusapid_rpc_call_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                    );
                }
                let sum = op.sum_us.load(Ordering::Relaxed);
                let _ = writeln!(hist, "clusapid_rpc_call_duration_seconds_sum{{{labels}}} {}", seconds(sum));
                let _ = writeln!(hist, "clusapid_rpc_call_duration_seconds_count{{{labels}}} {cumulative}");
            }
        }
        o.push_str(&hist);

        o.push_str("# HELP clusapid_auth_total Authentications by DCE/RPC auth type, mechanism and result.\n");
        o.push_str("# TYPE clusapid_auth_total counter\n");
        for ((t, m, r), n) in self.auth.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            let r = match r {
                AuthResult::Success => "success",
                AuthResult::Failure => "failure",
            };
            let _ = writeln!(o, "clusapid_auth_total{{auth_type=\"{t}\",mechanism=\"{m}\",result=\"{r}\"}} {n}");
        }

        o.push_str("# HELP clusapid_connections Open TCP connections, by endpoint.\n");
        o.push_str("# TYPE clusapid_connections gauge\n");
        let open_clusapi = self.connections.iter().filter(|e| e.value().endpoint == "clusapi").count();
        let open_all = self.connections.len();
        let _ = writeln!(o, "clusapid_connections{{endpoint=\"clusapi\"}} {open_clusapi}");
        let _ = writeln!(o, "clusapid_connections{{endpoint=\"epmapper\"}} {}", open_all - open_clusapi);
        o.push_str("# HELP clusapid_connections_accepted_total TCP connections accepted, by endpoint.\n");
        o.push_str("# TYPE clusapid_connections_accepted_total counter\n");
        for (i, ep) in ["clusapi", "epmapper"].iter().enumerate() {
            let _ = writeln!(
                o,
                "clusapid_connections_accepted_total{{endpoint=\"{ep}\"}} {}",
                self.connections_total[i].load(Ordering::Relaxed)
            );
        }
        gauge(&mut o, "clusapid_associations", "Live DCE/RPC association groups.", g.associations as f64);
        gauge(&mut o, "clusapid_context_handles", "Context handles held by all association groups.", g.handles as f64);
        gauge(
            &mut o,
            "clusapid_witness_registrations",
            "SMB Witness registrations held by this node.",
            g.witness_registrations as f64,
        );
        o.push_str("# HELP clusapid_witness_pending Witness registrations by what is pending: a WitnessrAsyncNotify waiting for an event (waiting), or notifications waiting for the client's next call (queued).\n");
        o.push_str("# TYPE clusapid_witness_pending gauge\n");
        let _ = writeln!(o, "clusapid_witness_pending{{kind=\"waiting\"}} {}", g.witness_waiting);
        let _ = writeln!(o, "clusapid_witness_pending{{kind=\"queued\"}} {}", g.witness_queued);
        let _ = writeln!(
            o,
            "# HELP clusapid_backend_available Whether the backend reaches its cluster (ctdbd), by backend.\n# TYPE clusapid_backend_available gauge\nclusapid_backend_available{{backend=\"{}\"}} {}",
            g.backend,
            u8::from(g.backend_available)
        );
        if let Some(c) = &g.ctdb {
            counter(
                &mut o,
                "clusapid_ctdb_connects_total",
                "Connections made to ctdbd (the first and every reconnect).",
                c.connects as f64,
            );
            counter(
                &mut o,
                "clusapid_ctdb_refreshes_total",
                "Complete reads of the cluster state from ctdbd.",
                c.refreshes as f64,
            );
            if let Some(age) = c.since_refresh {
                gauge(&mut o, "clusapid_ctdb_snapshot_age_seconds", "Seconds since the cluster state was last read from ctdbd (polled every 0.1 s while ctdbd answers).", age.as_secs_f64());
            }
            o.push_str("# HELP clusapid_ctdb_event_lag_seconds From a ctdbd notification (node flags, IP takeover and release, recovery, leader) to the state that reflects it being served.\n");
            o.push_str("# TYPE clusapid_ctdb_event_lag_seconds summary\n");
            let _ = writeln!(o, "clusapid_ctdb_event_lag_seconds_sum {}", seconds(c.event_lag_sum_us));
            let _ = writeln!(o, "clusapid_ctdb_event_lag_seconds_count {}", c.events);
            if let Some(last) = c.last_event_lag {
                gauge(
                    &mut o,
                    "clusapid_ctdb_event_lag_last_seconds",
                    "The lag of the latest ctdbd notification.",
                    last.as_secs_f64(),
                );
            }
        }
        o
    }
}

fn seconds(us: u64) -> String {
    let s = us as f64 / 1e6;
    format!("{s}")
}

fn gauge(o: &mut String, name: &str, help: &str, v: f64) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
}

fn counter(o: &mut String, name: &str, help: &str, v: f64) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample `line_prefix` (metric name with labels) in `text`.
    fn sample(text: &str, line_prefix: &str) -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(line_prefix)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn buckets_are_inclusive_upper_bounds() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(100), 0);
        assert_eq!(bucket_of(101), 1);
        assert_eq!(bucket_of(500), 1);
        assert_eq!(bucket_of(501), 2);
        assert_eq!(bucket_of(60_000_000), BUCKETS_US.len() - 1);
        assert_eq!(bucket_of(60_000_001), BUCKETS_US.len());
        assert_eq!(bucket_of(u64::MAX), BUCKETS_US.len());
    }

    #[test]
    fn calls_by_status_and_histogram() {
        let m = Metrics::default();
        m.record_call(Interface::Clusapi, 3, CallStatus::Response(Some(0)), Duration::from_micros(80));
        m.record_call(Interface::Clusapi, 3, CallStatus::Response(Some(0)), Duration::from_micros(300));
        m.record_call(Interface::Clusapi, 3, CallStatus::Response(Some(5)), Duration::from_millis(2));
        m.record_call(Interface::Clusapi, 999, CallStatus::Fault(0x1c01_0002), Duration::from_micros(10));
        let t = m.render(&Gauges::default());
        let l = "interface=\"clusapi\",opnum=\"3\",op=\"ApiGetClusterName\"";
        assert_eq!(sample(&t, &format!("clusapid_rpc_calls_total{{{l},status=\"0\"}}")), Some(2.0), "{t}");
        assert_eq!(sample(&t, &format!("clusapid_rpc_calls_total{{{l},status=\"5\"}}")), Some(1.0));
        assert_eq!(sample(&t, &format!("clusapid_rpc_call_duration_seconds_bucket{{{l},le=\"0.0001\"}}")), Some(1.0));
        assert_eq!(sample(&t, &format!("clusapid_rpc_call_duration_seconds_bucket{{{l},le=\"0.0005\"}}")), Some(2.0));
        assert_eq!(sample(&t, &format!("clusapid_rpc_call_duration_seconds_bucket{{{l},le=\"+Inf\"}}")), Some(3.0));
        assert_eq!(sample(&t, &format!("clusapid_rpc_call_duration_seconds_count{{{l}}}")), Some(3.0));
        assert_eq!(sample(&t, &format!("clusapid_rpc_call_duration_seconds_sum{{{l}}}")), Some(0.00238));
        // an opnum beyond the table is counted, under opnum="other"
        let other = "clusapid_rpc_calls_total{interface=\"clusapi\",opnum=\"other\",op=\"?\",status=\"fault:nca_s_op_rng_error\"}";
        assert_eq!(sample(&t, other), Some(1.0), "{t}");
        // nothing is printed for opnums never called
        assert!(!t.contains("ApiOpenCluster\""), "{t}");
    }

    #[test]
    fn statuses_beyond_the_slots_are_other() {
        let m = Metrics::default();
        for s in 0..(STATUS_SLOTS as u32 + 3) {
            m.record_call(Interface::Witness, 0, CallStatus::Response(Some(s)), Duration::ZERO);
        }
        let t = m.render(&Gauges::default());
        let l = "clusapid_rpc_calls_total{interface=\"witness\",opnum=\"0\",op=\"WitnessrGetInterfaceList\"";
        assert_eq!(sample(&t, &format!("{l},status=\"other\"}}")), Some(3.0), "{t}");
        assert_eq!(sample(&t, &format!("{l},status=\"7\"}}")), Some(1.0), "{t}");
    }

    #[test]
    fn concurrent_counting_loses_nothing() {
        let m = Arc::new(Metrics::default());
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for k in 0..10_000u32 {
                        m.record_call(Interface::Mgmt, 1, CallStatus::Response(Some((k + i) % 3)), Duration::ZERO);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let t = m.render(&Gauges::default());
        let total: f64 = (0..3)
            .map(|s| {
                sample(&t, &format!("clusapid_rpc_calls_total{{interface=\"mgmt\",opnum=\"1\",op=\"RpcMgmtInqStats\",status=\"{s}\"}}"))
                    .unwrap_or(0.0)
            })
            .sum();
        assert_eq!(total, 40_000.0, "{t}");
    }

    #[test]
    fn auth_and_connections() {
        let m = Arc::new(Metrics::default());
        m.record_auth(Some(9), Some(auth::Mechanism::Ntlm), AuthResult::Success);
        m.record_auth(Some(9), Some(auth::Mechanism::Ntlm), AuthResult::Success);
        m.record_auth(Some(10), None, AuthResult::Failure);
        m.record_auth(Some(9), None, AuthResult::Failure);
        let g = m.open_connection("clusapi", "127.0.0.1:5000".parse().unwrap(), None);
        *g.entry.who.lock().unwrap() = Some(("W\\alice".into(), "spnego".into()));
        let e = m.open_connection("epmapper", "127.0.0.1:5001".parse().unwrap(), None);
        let t = m.render(&Gauges::default());
        assert_eq!(
            sample(&t, "clusapid_auth_total{auth_type=\"spnego\",mechanism=\"ntlm\",result=\"success\"}"),
            Some(2.0)
        );
        assert_eq!(
            sample(&t, "clusapid_auth_total{auth_type=\"ntlmssp\",mechanism=\"ntlm\",result=\"failure\"}"),
            Some(1.0),
            "NTLMSSP names its mechanism"
        );
        assert_eq!(
            sample(&t, "clusapid_auth_total{auth_type=\"spnego\",mechanism=\"unknown\",result=\"failure\"}"),
            Some(1.0)
        );
        assert_eq!(sample(&t, "clusapid_connections{endpoint=\"clusapi\"}"), Some(1.0));
        assert_eq!(sample(&t, "clusapid_connections{endpoint=\"epmapper\"}"), Some(1.0));
        let list = m.connections();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].user.as_deref(), Some("W\\alice"));
        drop(g);
        drop(e);
        assert!(m.connections().is_empty(), "closed connections leave the list");
        let t = m.render(&Gauges::default());
        assert_eq!(sample(&t, "clusapid_connections_accepted_total{endpoint=\"clusapi\"}"), Some(1.0));
    }

    #[test]
    fn every_sample_line_is_well_formed() {
        let m = Metrics::default();
        m.record_call(Interface::Epmapper, 3, CallStatus::Response(None), Duration::from_micros(5));
        let g = Gauges {
            backend: "ctdb",
            ctdb: Some(nodes::BackendStats {
                connects: 1,
                refreshes: 7,
                since_refresh: Some(Duration::from_millis(40)),
                events: 2,
                event_lag_sum_us: 3000,
                last_event_lag: Some(Duration::from_millis(1)),
            }),
            ..Gauges::default()
        };
        let t = m.render(&g);
        for line in t.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
            assert!(value.parse::<f64>().is_ok(), "value of {line}");
            assert!(name.starts_with("clusapid_"), "{line}");
            assert_eq!(name.matches('{').count(), name.matches('}').count(), "{line}");
        }
        assert_eq!(sample(&t, "clusapid_ctdb_event_lag_seconds_count"), Some(2.0), "{t}");
        assert_eq!(sample(&t, "clusapid_ctdb_snapshot_age_seconds"), Some(0.04));
    }
}
