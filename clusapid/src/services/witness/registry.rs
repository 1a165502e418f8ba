//! This node's WitnessRegistrationList ([MS-SWN] 3.1.1): every live registration with where its
//! context handle lives, so that an administrator's command (a forced client or share move, a
//! forced response, a forced unregistration) and the unused-registration timer
//! ([MS-SWN] 3.1.5.1) can reach registrations made on any connection.
//!
//! Registrations belong to their association group (a context handle each); the table holds
//! only weak references, so a registration whose client went away (its association group
//! freed) disappears from it by itself. [`RegistrationInfo`] is what `clusapid witness list`
//! shows, [`Filter`] selects registrations, [`Command`] is what an administrator asks for; both
//! travel between nodes as JSON (see [`super::peers`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dcerpc::AssociationGroup;
use idl::witness::*;
use idl::ContextHandle;
use nodes::ClusterState;
use serde::{Deserialize, Serialize};

use super::{ipaddr_info, serving_node, RegHandle, Registration};

/// One registration as an administrator sees it (`clusapid witness list`), with the columns
/// `Get-SmbWitnessClient` shows on Windows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationInfo {
    /// `<witness node pnn>:<number>`, unique in the cluster while the daemons run.
    pub id: String,
    /// ClientComputerName of the registration.
    pub client_name: String,
    /// Where the witness connection comes from (address:port).
    pub client_address: String,
    /// The account the client authenticated as.
    pub user: String,
    /// The node that serves the registered address over SMB (`None`: no up node hosts it).
    pub file_server_node: Option<String>,
    /// The node whose clusapid holds the registration.
    pub witness_node: String,
    pub net_name: String,
    pub share_name: Option<String>,
    /// The registered address (the one the client uses for SMB).
    pub ip_address: String,
    /// 1 (WitnessrRegister) or 2 (WitnessrRegisterEx).
    pub version: u32,
    /// RegisterEx flags by name ("IP_NOTIFICATION").
    pub flags: Vec<String>,
    /// `RequestedNotification` (a WitnessrAsyncNotify is waiting), `NotificationQueued`
    /// (messages wait for the next call) or `Idle`.
    pub state: String,
    /// KeepAliveTimeout in seconds (version 2).
    pub keep_alive_secs: Option<u64>,
    /// Registration time, RFC 3339 UTC.
    pub registered_since: String,
    /// Notifications delivered so far.
    pub notifications_sent: u64,
}

/// Which registrations a list or a command is about: every given field must match (patterns
/// are case-insensitive, `*` matches any run of characters). An empty filter matches all. The
/// field docs are the options' help in `clusapid witness`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
pub struct Filter {
    /// Registration id (`<pnn>:<n>`, from `list`).
    #[arg(long)]
    pub id: Option<String>,
    /// Client computer name (`*` wildcards, case-insensitive).
    #[arg(long = "client", value_name = "CLIENT")]
    pub client_name: Option<String>,
    /// Net name the client registered.
    #[arg(long)]
    pub net_name: Option<String>,
    /// Share name (version 2 registrations).
    #[arg(long = "share", value_name = "SHARE")]
    pub share_name: Option<String>,
    /// Registered address.
    #[arg(long = "ip", value_name = "IP")]
    pub ip_address: Option<String>,
    /// Witness node or file server node (name or pnn).
    #[arg(long)]
    pub node: Option<String>,
}

impl Filter {
    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether `info` (and its nodes' pnns) match.
    pub fn matches(&self, info: &RegistrationInfo, witness_pnn: u32, file_server_pnn: Option<u32>) -> bool {
        let m = |pat: &Option<String>, value: &str| pat.as_deref().is_none_or(|p| glob_match(p, value));
        let node_ok = self.node.as_deref().is_none_or(|p| {
            glob_match(p, &info.witness_node)
                || glob_match(p, &witness_pnn.to_string())
                || info.file_server_node.as_deref().is_some_and(|n| glob_match(p, n))
                || file_server_pnn.is_some_and(|n| glob_match(p, &n.to_string()))
        });
        m(&self.id, &info.id)
            && m(&self.client_name, &info.client_name)
            && m(&self.net_name, &info.net_name)
            && self.share_name.as_deref().is_none_or(|p| info.share_name.as_deref().is_some_and(|s| glob_match(p, s)))
            && m(&self.ip_address, &info.ip_address)
            && node_ok
    }
}

/// Case-insensitive match with `*` wildcards.
pub fn glob_match(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let v: Vec<char> = value.to_lowercase().chars().collect();
    // classic two-pointer match with backtracking to the last star
    let (mut pi, mut vi, mut star, mut mark) = (0usize, 0usize, None, 0usize);
    while vi < v.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == v[vi] {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A message an administrator forces on registrations ([`Command::ForceResponse`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ForcedResponse {
    /// RESOURCE_CHANGE for the registration's net name.
    ResourceChange { available: bool },
    /// CLIENT_MOVE to these addresses.
    ClientMove { ips: Vec<IpAddr> },
    /// SHARE_MOVE to these addresses (version 2 registrations with a share).
    ShareMove { ips: Vec<IpAddr> },
    /// IP_CHANGE: these addresses went online (`true`) or offline.
    IpChange { ips: Vec<(IpAddr, bool)> },
}

/// What an administrator asks of the registrations a [`Filter`] selects; addresses are
/// resolved by the node that received the request, so every node applies the same ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum Command {
    /// CLIENT_MOVE to `ips` (`Move-SmbWitnessClient`, `net witness client-move`).
    MoveClient { ips: Vec<IpAddr> },
    /// SHARE_MOVE to `ips`, for registrations with a share name (`net witness share-move`).
    MoveShare { ips: Vec<IpAddr> },
    /// Removes the registrations; a pending WitnessrAsyncNotify ends with ERROR_NOT_FOUND, as
    /// after WitnessrUnRegister (`net witness force-unregister`).
    ForceUnregister,
    /// Delivers `response` (`net witness force-response`).
    ForceResponse { response: ForcedResponse },
}

impl ForcedResponse {
    /// The notification, or `None` when it does not apply to `reg` (SHARE_MOVE without a
    /// share, or messages of version 2 to a version 1 registration).
    fn message(&self, reg: &Registration) -> Option<RespAsyncNotify> {
        let v2 = reg.version == WITNESS_V2;
        let list = |ips: &[IpAddr], online: bool| IpAddrInfoList {
            addrs: ips.iter().map(|&a| ipaddr_info(a, online)).collect(),
        };
        Some(match self {
            ForcedResponse::ResourceChange { available } => {
                let change_type = if *available { resource_state::AVAILABLE } else { resource_state::UNAVAILABLE };
                RespAsyncNotify::resource_change(&[ResourceChange { change_type, name: reg.net_name.clone() }])
            }
            ForcedResponse::ClientMove { ips } => {
                RespAsyncNotify::ip_list(message_type::CLIENT_MOVE_NOTIFICATION, &[list(ips, true)])
            }
            ForcedResponse::ShareMove { ips } if v2 && reg.share_name.is_some() => {
                RespAsyncNotify::ip_list(message_type::SHARE_MOVE_NOTIFICATION, &[list(ips, true)])
            }
            ForcedResponse::IpChange { ips } if v2 => {
                let addrs = ips.iter().map(|&(a, online)| ipaddr_info(a, online)).collect();
                RespAsyncNotify::ip_list(message_type::IP_CHANGE_NOTIFICATION, &[IpAddrInfoList { addrs }])
            }
            _ => return None,
        })
    }
}

struct Entry {
    reg: Weak<Registration>,
    group: Weak<AssociationGroup>,
    handle: ContextHandle,
}

/// The table.
pub struct Registry {
    next: AtomicU64,
    entries: Mutex<HashMap<u64, Entry>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry { next: AtomicU64::new(1), entries: Mutex::new(HashMap::new()) }
    }
}

impl Registry {
    /// A number for the next registration.
    pub fn next_id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Puts `reg` into `group` as a context handle and records it here; `None` when the group
    /// holds as many handles as it may.
    pub fn add(&self, reg: Registration, group: &Arc<AssociationGroup>) -> Option<ContextHandle> {
        let reg = Arc::new(reg);
        let handle = group.insert(RegHandle(reg.clone()))?;
        let e = Entry { reg: Arc::downgrade(&reg), group: Arc::downgrade(group), handle };
        self.table().insert(reg.id, e);
        Some(handle)
    }

    /// Forgets registration `id` (its handle is the caller's to remove).
    pub fn forget(&self, id: u64) {
        self.table().remove(&id);
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live registrations (dropping entries whose client went away).
    pub fn live(&self) -> Vec<Arc<Registration>> {
        let mut t = self.table();
        t.retain(|_, e| e.reg.strong_count() > 0 && e.group.strong_count() > 0);
        t.values().filter_map(|e| e.reg.upgrade()).collect()
    }

    /// Wakes the pending WitnessrAsyncNotify of every live registration `which` selects (it
    /// then looks at the cluster again).
    pub fn wake_where(&self, which: impl Fn(&Registration) -> bool) {
        let t = self.table();
        for reg in t.values().filter_map(|e| e.reg.upgrade()) {
            if which(&reg) {
                reg.wake.notify_waiters();
            }
        }
    }

    /// How many live registrations there are.
    pub fn len(&self) -> usize {
        self.live().len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes registration `id` as WitnessrUnRegister would: its context handle is freed and
    /// a pending WitnessrAsyncNotify ends. False if it is not (or no longer) here.
    pub fn unregister(&self, id: u64) -> bool {
        let Some(e) = self.table().remove(&id) else { return false };
        let (Some(reg), Some(group)) = (e.reg.upgrade(), e.group.upgrade()) else { return false };
        group.remove::<RegHandle>(&e.handle);
        reg.close();
        true
    }

    /// [MS-SWN] 3.1.5.1: removes every registration without a pending WitnessrAsyncNotify
    /// whose last use is more than `timeout` ago. Returns how many.
    pub fn sweep_unused(&self, timeout: Duration) -> usize {
        let stale: Vec<u64> = self.live().iter().filter(|r| r.unused_for() > timeout).map(|r| r.id).collect();
        stale.iter().filter(|&&id| self.unregister(id)).count()
    }

    /// What `clusapid witness list` shows of the registrations `filter` selects.
    pub fn infos(&self, snap: &ClusterState, filter: &Filter) -> Vec<RegistrationInfo> {
        let mut v: Vec<RegistrationInfo> = self.live().iter().filter_map(|r| matching_info(r, snap, filter)).collect();
        v.sort_by(|a, b| a.registered_since.cmp(&b.registered_since).then_with(|| a.id.cmp(&b.id)));
        v
    }

    /// Applies `cmd` to the registrations `filter` selects; returns how many it reached.
    pub fn apply(&self, snap: &ClusterState, filter: &Filter, cmd: &Command) -> usize {
        let targets: Vec<Arc<Registration>> =
            self.live().into_iter().filter(|r| matching_info(r, snap, filter).is_some()).collect();
        let mut n = 0;
        for reg in targets {
            let msg = match cmd {
                Command::ForceUnregister => {
                    if self.unregister(reg.id) {
                        n += 1;
                    }
                    continue;
                }
                Command::MoveClient { ips } => ForcedResponse::ClientMove { ips: ips.clone() }.message(&reg),
                Command::MoveShare { ips } => ForcedResponse::ShareMove { ips: ips.clone() }.message(&reg),
                Command::ForceResponse { response } => response.message(&reg),
            };
            if let Some(m) = msg {
                reg.push(m);
                n += 1;
            }
        }
        n
    }
}

fn matching_info(reg: &Registration, snap: &ClusterState, filter: &Filter) -> Option<RegistrationInfo> {
    let info = reg.info(snap);
    let fs = serving_node(snap, reg.ip);
    filter.matches(&info, snap.cluster.this_pnn, fs).then_some(info)
}

/// `t` as RFC 3339 UTC with seconds (`2026-12-03T21:42:10Z`).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("win*", "WIN11-ADMIN"));
        assert!(glob_match("*admin", "WIN11-ADMIN"));
        assert!(glob_match("w*1*n", "WIN11-ADMIN"));
        assert!(glob_match("192.0.2.10?", "192.0.2.10?"));
        assert!(!glob_match("192.0.2.10", "192.0.2.101"));
        assert!(!glob_match("a*b", "acd"));
        assert!(glob_match("CTDB_NODE_1", "ctdb_node_1"));
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_796_333_330)), "2026-12-03T21:28:50Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn filter_fields() {
        let info = RegistrationInfo {
            id: "1:7".into(),
            client_name: "WIN11".into(),
            witness_node: "CTDB_NODE_1".into(),
            file_server_node: Some("CTDB_NODE_0".into()),
            net_name: "LABCLUSTER".into(),
            share_name: Some("data".into()),
            ip_address: "192.0.2.101".into(),
            ..Default::default()
        };
        assert!(Filter::default().matches(&info, 1, Some(0)));
        let f = |g: fn(&mut Filter)| {
            let mut f = Filter::default();
            g(&mut f);
            f
        };
        assert!(f(|f| f.node = Some("0".into())).matches(&info, 1, Some(0)));
        assert!(f(|f| f.node = Some("ctdb_node_1".into())).matches(&info, 1, Some(0)));
        assert!(!f(|f| f.node = Some("2".into())).matches(&info, 1, Some(0)));
        assert!(f(|f| f.share_name = Some("DATA".into())).matches(&info, 1, Some(0)));
        assert!(!f(|f| f.share_name = Some("x".into())).matches(&info, 1, Some(0)));
        assert!(f(|f| f.client_name = Some("win*".into())).matches(&info, 1, Some(0)));
        assert!(!f(|f| f.id = Some("1:8".into())).matches(&info, 1, Some(0)));
    }
}
