//! The SMB Witness server ([MS-SWN] 3.1, witness v1.1, opnums 0-5): tells SMB3 clients that
//! the CTDB public IP they are connected to went away, came back or moved, so they reconnect
//! at once instead of waiting for TCP timeouts.
//!
//! * **Interfaces** ([`WitnessService::witnessr_get_interface_list`]) are the CTDB public
//!   addresses, one WITNESS_INTERFACE_INFO each, grouped under the cluster's NetBIOS name. An
//!   address is AVAILABLE while a node that is up hosts it; addresses this node does not host
//!   carry INTERFACE_WITNESS (a client registers with a witness on another node than its SMB
//!   one).
//! * **Registrations** are context handles of the caller's association group (freed with it),
//!   one per WitnessrRegister / WitnessrRegisterEx, keyed by the registered public IP.
//! * **Notifications** ([`WitnessService::witnessr_async_notify`]) are derived from the cluster
//!   state each time the backend reports an event ([`ClusterBackend::subscribe`]): every
//!   registration remembers what it last reported and queues the difference, one
//!   notification per WitnessrAsyncNotify reply (RESOURCE_CHANGE items found together share
//!   one reply, the registered IP's first). Notices about the registration's own address go
//!   before a queued IP_CHANGE, and one IP_CHANGE waits at a time (later changes update it), so
//!   with 10,000 clients and a node's addresses moving one after the other a client learns of
//!   its own address in its next replies, not after one IP_CHANGE per address. IP_CHANGE
//!   itself waits until the cluster's addresses have settled ([`WitnessService::ip_change_settle`],
//!   2 s without a further change, at most 5 times that since the first): a `ctdb disable` or
//!   `ctdb moveip` takes addresses offline and brings them back on another node within a
//!   second or two, and an address that is back ONLINE by then has not changed availability
//!   for the client at all. Without the wait every registration of the cluster would be
//!   answered (and would call again) during the takeover, exactly while the clients whose own
//!   address moved need their notices:
//!
//! | Cluster change (CTDB) | Registration sees |
//! |---|---|
//! | the registered IP leaves its node (node paused = `ctdb disable`, node down, IP moved, IP unassigned) | RESOURCE_CHANGE UNAVAILABLE, resource name = the IP text (as Samba's rpcd_witness) |
//! | … and is hosted by another up node (v2 with IP_NOTIFICATION only) | CLIENT_MOVE: IPADDR_INFO_LIST of the new node's public IPs, flags V4/V6 + ONLINE |
//! | the registered IP is hosted by an up node again (moved, node resumed) | RESOURCE_CHANGE AVAILABLE |
//! | any public IP changes availability (v2 with IP_NOTIFICATION only) | IP_CHANGE: the changed IPs, ONLINE or OFFLINE |
//! | the cluster's network name resource ("Cluster Name") goes offline / online | RESOURCE_CHANGE UNAVAILABLE / AVAILABLE, resource name = the net name |
//!
//! So pausing a node through clusapi (ApiPauseNode → `ctdb disable` → its IPs move away)
//! completes the pending WitnessrAsyncNotify of every client registered on that node's IPs.
//! Changes are computed from state, not replayed from events: a change that is undone before
//! the registration's next look (between two WitnessrAsyncNotify calls) is not reported.
//!
//! One task per service ([`dispatch`]) follows the backend's events and wakes only the pending
//! calls a change concerns: the registrations of an address whose serving node changed, all of
//! them when a Network Name resource changes state, and the IP_NOTIFICATION ones once changed
//! addresses have settled. A pending call does not look at the cluster otherwise, so with
//! 10,000 registrations an address move costs work for its own clients only.
//!
//! Registrations also sit in this node's [`registry::Registry`], which the unused-registration
//! timer ([MS-SWN] 3.1.5.1: no pending WitnessrAsyncNotify for [`DEFAULT_UNUSED_TIMEOUT`]) and
//! administrators' commands use: SHARE_MOVE, forced client moves and responses, forced
//! unregistration (`clusapid witness ...`, over the [`crate::admin`] socket), applied on
//! whichever node holds the registration ([`peers`]).
//!
//! A registration's NetName must be the cluster's NetBIOS name, or a DNS name whose first
//! label it is (`labcluster.lab.example`), as clients use the name they connected to.

pub mod peers;
pub mod registry;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use idl::witness::*;
use idl::{ContextHandle, WError, WString};
use nodes::ids::names_equal;
use nodes::{ClusterBackend, ClusterState, NodeState, ResourceState};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::CallCtx;

pub const ERROR_SUCCESS: u32 = 0;
pub const ERROR_ACCESS_DENIED: u32 = 5;
pub const ERROR_INVALID_PARAMETER: u32 = 87;
pub const ERROR_NO_MORE_ITEMS: u32 = 259;
pub const ERROR_NOT_FOUND: u32 = 1168;
pub const ERROR_REVISION_MISMATCH: u32 = 1306;
pub const ERROR_NO_SYSTEM_RESOURCES: u32 = 1450;
pub const ERROR_TIMEOUT: u32 = 1460;
pub const ERROR_INVALID_STATE: u32 = 5023;

/// The keep-alive applied to a v2 registration made with KeepAliveTimeout 0. [MS-SWN] leaves
/// 0 open; Windows answers WitnessrAsyncNotify with ERROR_TIMEOUT then too (smbtorture's
/// AsyncNotify_timeouts expects it), Samba treats 0 as "no timer". 30 s matches Samba's
/// unused-registration timer and keeps AsyncNotify_timeouts at 0+1+10+100+120 → 261 s per
/// interface.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(30);

/// How long a registration may stay without a pending WitnessrAsyncNotify before the unused-
/// registration timer removes it ([MS-SWN] 3.1.5.1 leaves it to the implementation; Samba uses
/// 30 s too). Clients that use their registration keep a call pending nearly all the time.
pub const DEFAULT_UNUSED_TIMEOUT: Duration = Duration::from_secs(30);

/// The witness service.
pub struct WitnessService {
    backend: Arc<dyn ClusterBackend>,
    /// See [`crate::config::DEFAULT_WITNESS_IP_CHANGE_SETTLE`]; zero: IP_CHANGE at once.
    pub ip_change_settle: Duration,
    /// When the cluster's address availability last changed (IP_CHANGE settling).
    addresses: Arc<Mutex<AddressWatch>>,
    /// The [`dispatch`] task, started with the first WitnessrAsyncNotify.
    dispatcher: std::sync::OnceLock<tokio::task::JoinHandle<()>>,
    /// See [`DEFAULT_KEEP_ALIVE`].
    pub default_keep_alive: Duration,
    /// See [`DEFAULT_UNUSED_TIMEOUT`].
    pub unused_timeout: Duration,
    /// This node's registrations.
    pub registry: Arc<registry::Registry>,
    /// The other nodes' (list and steer).
    pub peers: Arc<peers::Peers>,
    /// Registrations per client address (`limits.witness_registrations_per_client`).
    per_client_limit: usize,
    per_client: crate::transport::ClientCounts,
}

/// The value of a witness context handle in its association group.
pub struct RegHandle(pub Arc<Registration>);

/// One WitnessRegistration ([MS-SWN] 3.1.1).
pub struct Registration {
    /// Number in this node's [`registry::Registry`].
    pub id: u64,
    pub version: u32,
    pub net_name: String,
    pub share_name: Option<String>,
    pub ip: IpAddr,
    pub client_computer_name: String,
    /// [`register_flags`] bits (v2).
    pub flags: u32,
    /// How long a WitnessrAsyncNotify may stay pending (v2 only).
    pub keep_alive: Option<Duration>,
    /// Where the registering connection came from.
    pub client_address: SocketAddr,
    /// Who registered.
    pub user: String,
    pub registered_at: SystemTime,
    /// Set by WitnessrUnRegister(Ex); pending calls then end with ERROR_NOT_FOUND.
    closed: AtomicBool,
    wake: Notify,
    tracked: Mutex<Tracked>,
    /// WitnessrAsyncNotify calls now pending (IsAsyncNotifyRegistered).
    pending: AtomicUsize,
    /// LastUseTime: registration, or the end of the last WitnessrAsyncNotify.
    last_use: Mutex<Instant>,
    /// Notifications delivered.
    sent: AtomicU64,
    /// The client's place under its registration limit, given back when this is dropped.
    _slot: Option<crate::transport::ClientSlot>,
}

/// What a registration last reported, and the messages not yet delivered.
struct Tracked {
    /// The node the registered IP was last reported available on (`None`: unavailable).
    host: Option<u32>,
    /// While the IP is unavailable: the node it was last available on. A move shows as the
    /// address leaving its node, then arriving on the new one once that node serves it (the
    /// ctdb backend holds it back until then), and CLIENT_MOVE goes out on arrival.
    left: Option<u32>,
    net_name_online: bool,
    /// Availability of every public IP as last reported (IP_NOTIFICATION registrations).
    ips: Vec<(IpAddr, bool)>,
    queue: VecDeque<RespAsyncNotify>,
}

/// The availability of the cluster's public addresses as last seen, and since when it has been
/// changing.
#[derive(Default)]
struct AddressWatch {
    ips: Option<Vec<(IpAddr, bool)>>,
    changed_at: Option<Instant>,
    unsettled_since: Option<Instant>,
}

impl AddressWatch {
    /// Takes in the addresses of a snapshot; `None` when they have settled for `settle`, else
    /// the instant they will have (unless they change again).
    fn observe(&mut self, ips: Vec<(IpAddr, bool)>, settle: Duration, now: Instant) -> Option<Instant> {
        match &self.ips {
            None => self.ips = Some(ips),
            Some(seen) if *seen != ips => {
                self.ips = Some(ips);
                self.changed_at = Some(now);
                self.unsettled_since.get_or_insert(now);
            }
            Some(_) => {}
        }
        let (since, changed) = (self.unsettled_since?, self.changed_at?);
        let at = (changed + settle).min(since + settle * 5);
        if now >= at {
            self.unsettled_since = None;
            None
        } else {
            Some(at)
        }
    }
}

/// The node that serves `ip` for SMB: the CTDB host of the address, if that node is up.
pub(crate) fn serving_node(snap: &ClusterState, ip: IpAddr) -> Option<u32> {
    serving(snap, snap.ip_host(ip).flatten())
}

/// `host` if that node is up (what [`serving_node`] says once the address's host is known;
/// walks over every address use it, so they stay linear in the number of addresses).
fn serving(snap: &ClusterState, host: Option<u32>) -> Option<u32> {
    let pnn = host?;
    (snap.node_by_pnn(pnn)?.state == NodeState::Up).then_some(pnn)
}

/// Whether the network name `net_name` is online: false when a Network Name resource of that
/// name (the cluster's "Cluster Name", or the File Server role's client access point) is not.
fn net_name_online(snap: &ClusterState, net_name: &str) -> bool {
    !snap.resources.iter().any(|r| {
        names_equal(&r.type_name, nodes::model::type_names::NETWORK_NAME)
            && r.private_prop("Name").is_some_and(|v| matches!(v, nodes::PropValue::Sz(n) if same_host(n, net_name)))
            && r.state != ResourceState::Online
    })
}

/// Whether `net_name` names the cluster: its NetBIOS name, or a DNS name whose first label it
/// is.
fn is_cluster_net_name(snap: &ClusterState, net_name: &str) -> bool {
    same_host(&snap.cluster.name, net_name)
}

/// Whether `name` (a NetBIOS name) is `net_name`, or the first label of the DNS name `net_name`.
fn same_host(name: &str, net_name: &str) -> bool {
    let first = net_name.split('.').next().unwrap_or("");
    names_equal(net_name, name) || (!first.is_empty() && names_equal(first, name))
}

fn all_ips(snap: &ClusterState) -> Vec<(IpAddr, bool)> {
    snap.public_ips.iter().map(|p| (p.addr, serving(snap, p.pnn).is_some())).collect()
}

pub(crate) fn ipaddr_info(addr: IpAddr, online: bool) -> IpAddrInfo {
    let state = if online { ipaddr_flags::ONLINE } else { ipaddr_flags::OFFLINE };
    match addr {
        IpAddr::V4(a) => IpAddrInfo { flags: ipaddr_flags::V4 | state, ipv4: a.octets(), ipv6: [0; 16] },
        IpAddr::V6(a) => IpAddrInfo { flags: ipaddr_flags::V6 | state, ipv4: [0; 4], ipv6: a.octets() },
    }
}

impl Registration {
    fn new(id: u64, ctx: &CallCtx, snap: &ClusterState, version: u32, net_name: String, ip: IpAddr) -> Self {
        Registration {
            id,
            version,
            share_name: None,
            ip,
            client_computer_name: String::new(),
            flags: 0,
            keep_alive: None,
            client_address: ctx.peer,
            user: ctx
                .principal
                .as_ref()
                .map(|p| if p.domain.is_empty() { p.user.clone() } else { format!("{}\\{}", p.domain, p.user) })
                .unwrap_or_default(),
            registered_at: SystemTime::now(),
            closed: AtomicBool::new(false),
            wake: Notify::new(),
            tracked: Mutex::new(Tracked {
                host: serving_node(snap, ip),
                left: None,
                net_name_online: net_name_online(snap, &net_name),
                ips: all_ips(snap),
                queue: VecDeque::new(),
            }),
            net_name,
            _slot: None,
            pending: AtomicUsize::new(0),
            last_use: Mutex::new(Instant::now()),
            sent: AtomicU64::new(0),
        }
    }

    /// How long it has been without a pending WitnessrAsyncNotify (zero while one is pending).
    pub fn unused_for(&self) -> Duration {
        if self.pending.load(Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        self.last_use.lock().unwrap_or_else(PoisonError::into_inner).elapsed()
    }

    /// Queues `m` for the next WitnessrAsyncNotify and wakes a pending one.
    pub fn push(&self, m: RespAsyncNotify) {
        self.tracked().queue.push_back(m);
        self.wake.notify_waiters();
    }

    /// What an administrator sees of it.
    pub fn info(&self, snap: &ClusterState) -> registry::RegistrationInfo {
        let node_name = |p: u32| snap.node_name(p).map(str::to_string).unwrap_or_else(|| format!("pnn {p}"));
        let queued = !self.tracked().queue.is_empty();
        let state = if self.pending.load(Ordering::SeqCst) > 0 {
            "RequestedNotification"
        } else if queued {
            "NotificationQueued"
        } else {
            "Idle"
        };
        let mut flags = Vec::new();
        if self.flags & register_flags::IP_NOTIFICATION != 0 {
            flags.push("IP_NOTIFICATION".to_string());
        }
        registry::RegistrationInfo {
            id: format!("{}:{}", snap.cluster.this_pnn, self.id),
            client_name: self.client_computer_name.clone(),
            client_address: self.client_address.to_string(),
            user: self.user.clone(),
            file_server_node: serving_node(snap, self.ip).map(node_name),
            witness_node: node_name(snap.cluster.this_pnn),
            net_name: self.net_name.clone(),
            share_name: self.share_name.clone(),
            ip_address: self.ip.to_string(),
            version: if self.version == WITNESS_V2 { 2 } else { 1 },
            flags,
            state: state.into(),
            keep_alive_secs: self.keep_alive.map(|d| d.as_secs()),
            registered_since: registry::rfc3339(self.registered_at),
            notifications_sent: self.sent.load(Ordering::Relaxed),
        }
    }

    fn ip_notification(&self) -> bool {
        self.version == WITNESS_V2 && self.flags & register_flags::IP_NOTIFICATION != 0
    }

    fn tracked(&self) -> MutexGuard<'_, Tracked> {
        self.tracked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues what changed for this registration since it last looked at the cluster; the
    /// IP_CHANGE part only when `addresses_settled`.
    fn refresh(&self, snap: &ClusterState, addresses_settled: bool) {
        let mut t = self.tracked();
        let t = &mut *t;
        // RESOURCE_CHANGE messages that happen together go out in one reply
        let mut changes = Vec::new();
        let mut later = Vec::new();
        let now = serving_node(snap, self.ip);
        if t.host != now {
            let ip = self.ip.to_string();
            if t.host.is_some() {
                changes.push(ResourceChange { change_type: resource_state::UNAVAILABLE, name: ip.clone() });
            }
            // CLIENT_MOVE when the address is served by another node than before, whether it
            // went there at once or was nowhere in between
            let from = t.host.or(t.left);
            if let (Some(from), Some(to), true) = (from, now, self.ip_notification()) {
                if from != to {
                    let list = IpAddrInfoList { addrs: snap.ips_hosted_by(to).map(|a| ipaddr_info(a, true)).collect() };
                    later.push(RespAsyncNotify::ip_list(message_type::CLIENT_MOVE_NOTIFICATION, &[list]));
                }
            }
            t.left = if now.is_none() { from } else { None };
            if now.is_some() {
                let available = ResourceChange { change_type: resource_state::AVAILABLE, name: ip };
                // after UNAVAILABLE and CLIENT_MOVE, never before them
                if changes.is_empty() && later.is_empty() {
                    changes.push(available);
                } else {
                    later.push(RespAsyncNotify::resource_change(&[available]));
                }
            }
            t.host = now;
        }
        let online = net_name_online(snap, &self.net_name);
        if online != t.net_name_online {
            let change_type = if online { resource_state::AVAILABLE } else { resource_state::UNAVAILABLE };
            changes.push(ResourceChange { change_type, name: self.net_name.clone() });
            t.net_name_online = online;
        }
        // The registration's own address first: its notices go before any IP_CHANGE still
        // queued, so a client whose address moved learns it in its next replies even while the
        // rest of the cluster's addresses change too (`ctdb disable` of a node: several moves).
        let mut own: Vec<RespAsyncNotify> = Vec::new();
        if !changes.is_empty() {
            own.push(RespAsyncNotify::resource_change(&changes));
        }
        own.extend(later);
        let at = t.queue.iter().position(is_ip_change).unwrap_or(t.queue.len());
        for (k, m) in own.into_iter().enumerate() {
            t.queue.insert(at + k, m);
        }
        if self.ip_notification() && addresses_settled {
            let ips = all_ips(snap);
            let changed: Vec<IpAddrInfo> = ips
                .iter()
                .filter(|(a, on)| !t.ips.iter().any(|(b, was)| a == b && on == was))
                .map(|&(a, on)| ipaddr_info(a, on))
                .collect();
            if !changed.is_empty() {
                // one IP_CHANGE waits at a time: later changes update it (the latest state of
                // each address), so a client is not sent one reply per address that moved
                match t.queue.iter_mut().find(|m| is_ip_change(m)) {
                    Some(queued) => {
                        let mut addrs = queued
                            .ip_lists()
                            .ok()
                            .and_then(|l| l.into_iter().next())
                            .map(|l| l.addrs)
                            .unwrap_or_default();
                        for c in changed {
                            match addrs.iter_mut().find(|a| same_address(a, &c)) {
                                Some(slot) => *slot = c,
                                None => addrs.push(c),
                            }
                        }
                        *queued =
                            RespAsyncNotify::ip_list(message_type::IP_CHANGE_NOTIFICATION, &[IpAddrInfoList { addrs }]);
                    }
                    None => {
                        let list = IpAddrInfoList { addrs: changed };
                        t.queue.push_back(RespAsyncNotify::ip_list(message_type::IP_CHANGE_NOTIFICATION, &[list]));
                    }
                }
            }
            t.ips = ips;
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }
}

fn is_ip_change(m: &RespAsyncNotify) -> bool {
    m.message_type == message_type::IP_CHANGE_NOTIFICATION
}

/// Whether two IPADDR_INFO entries are about the same address (their ONLINE/OFFLINE aside).
fn same_address(a: &IpAddrInfo, b: &IpAddrInfo) -> bool {
    let family = ipaddr_flags::V4 | ipaddr_flags::V6;
    a.flags & family == b.flags & family && a.ipv4 == b.ipv4 && a.ipv6 == b.ipv6
}

/// What of a cluster state decides which registrations an event concerns.
#[derive(PartialEq)]
struct Concerns {
    /// Every public address and the node serving it.
    serving: Vec<(IpAddr, Option<u32>)>,
    /// Every Network Name resource: its name and whether it is online.
    net_names: Vec<(String, bool)>,
}

impl Concerns {
    fn of(snap: &ClusterState) -> Self {
        let net_names = snap
            .resources
            .iter()
            .filter(|r| names_equal(&r.type_name, nodes::model::type_names::NETWORK_NAME))
            .map(|r| {
                let name = match r.private_prop("Name") {
                    Some(nodes::PropValue::Sz(n)) => n.clone(),
                    _ => String::new(),
                };
                (name, r.state == ResourceState::Online)
            })
            .collect();
        Concerns { serving: snap.public_ips.iter().map(|p| (p.addr, serving(snap, p.pnn))).collect(), net_names }
    }
}

/// Follows the backend's events and wakes the pending WitnessrAsyncNotify calls a change
/// concerns (module docs); ends when the service's registry is gone or the backend's event
/// stream closes.
async fn dispatch(
    backend: Arc<dyn ClusterBackend>,
    mut events: tokio::sync::broadcast::Receiver<nodes::ClusterEvent>,
    registry: std::sync::Weak<registry::Registry>,
    addresses: Arc<Mutex<AddressWatch>>,
    settle: Duration,
) {
    let mut seen = backend.snapshot();
    let mut last = Concerns::of(&seen);
    let mut settle_at: Option<Instant> = None;
    loop {
        let settled = async {
            match settle_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let event = tokio::select! {
            e = events.recv() => e,
            _ = settled => {
                settle_at = None;
                let Some(registry) = registry.upgrade() else { return };
                registry.wake_where(|r| r.ip_notification());
                continue;
            }
        };
        if let Err(RecvError::Closed) = event {
            return;
        }
        // an event, or several missed (Lagged): either way compare states, once per snapshot
        // (one snapshot brings a burst of events; looking at each would make the cost of a
        // change grow with the number of events times the number of addresses)
        loop {
            match events.try_recv() {
                Ok(_) | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::TryRecvError::Closed) => return,
                Err(tokio::sync::broadcast::error::TryRecvError::Empty) => break,
            }
        }
        let snap = backend.snapshot();
        if Arc::ptr_eq(&snap, &seen) {
            continue;
        }
        seen = snap.clone();
        let Some(registry) = registry.upgrade() else { return };
        let now = Concerns::of(&snap);
        let availability = |c: &Concerns| c.serving.iter().map(|(a, n)| (*a, n.is_some())).collect::<Vec<_>>();
        let addresses_changed = availability(&now) != availability(&last);
        if now != last {
            if now.net_names != last.net_names || now.serving.len() != last.serving.len() {
                registry.wake_where(|_| true);
            } else {
                let moved: Vec<IpAddr> =
                    now.serving.iter().zip(&last.serving).filter(|(a, b)| a != b).map(|(a, _)| a.0).collect();
                if !moved.is_empty() {
                    registry.wake_where(|r| moved.contains(&r.ip));
                }
            }
            last = now;
        }
        if settle.is_zero() {
            // IP_CHANGE at every change: the IP_NOTIFICATION registrations look now
            if addresses_changed {
                registry.wake_where(|r| r.ip_notification());
            }
        } else if let Some(at) =
            addresses.lock().unwrap_or_else(PoisonError::into_inner).observe(all_ips(&snap), settle, Instant::now())
        {
            settle_at = Some(at);
        }
    }
}

/// The checks WitnessrRegister and WitnessrRegisterEx share once the version is right: the
/// strings, the net name and the address. Returns the address or the error code.
fn check_names(
    snap: &ClusterState,
    net_name: Option<&WString>,
    ip_address: Option<&WString>,
    client: Option<&WString>,
) -> Result<IpAddr, u32> {
    let (Some(net_name), Some(ip_address), Some(_)) = (net_name, ip_address, client) else {
        return Err(ERROR_INVALID_PARAMETER);
    };
    if !is_cluster_net_name(snap, net_name.as_str()) {
        return Err(ERROR_INVALID_PARAMETER);
    }
    let ip: IpAddr = ip_address.as_str().trim().parse().map_err(|_| ERROR_INVALID_STATE)?;
    if snap.ip_host(ip).is_none() {
        return Err(ERROR_INVALID_STATE);
    }
    Ok(ip)
}

impl WitnessService {
    pub fn new(backend: Arc<dyn ClusterBackend>) -> Self {
        let registry = Arc::new(registry::Registry::default());
        let peers = peers::Peers::new(backend.clone(), registry.clone());
        WitnessService {
            backend,
            ip_change_settle: crate::config::DEFAULT_WITNESS_IP_CHANGE_SETTLE,
            addresses: Arc::default(),
            dispatcher: std::sync::OnceLock::new(),
            default_keep_alive: DEFAULT_KEEP_ALIVE,
            unused_timeout: DEFAULT_UNUSED_TIMEOUT,
            registry,
            peers,
            per_client_limit: usize::MAX,
            per_client: Default::default(),
        }
    }

    /// The cluster it serves.
    pub fn backend(&self) -> &Arc<dyn ClusterBackend> {
        &self.backend
    }

    /// Starts what runs beside the calls: the unused-registration timer and the answers to
    /// the other nodes' requests. The tasks end when the returned handles are aborted.
    pub async fn start_background(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        let (registry, timeout) = (self.registry.clone(), self.unused_timeout);
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval((timeout / 4).max(Duration::from_millis(100)));
            loop {
                tick.tick().await;
                let n = registry.sweep_unused(timeout);
                if n > 0 {
                    tracing::info!(removed = n, "Unused witness registrations removed ([MS-SWN] 3.1.5.1)");
                }
            }
        }));
        self.start_dispatcher();
        match self.peers.start().await {
            Ok(t) => tasks.push(t),
            Err(e) => tracing::info!(error = %e, "Witness registrations are listed and steered on this node only"),
        }
        tasks
    }

    /// Sets [`WitnessService::ip_change_settle`].
    pub fn with_ip_change_settle(mut self, settle: Duration) -> Self {
        self.ip_change_settle = settle;
        self
    }

    /// Whether the addresses of `snap` have settled (IP_CHANGE may go out): `None` if so,
    /// else when they will have.
    fn addresses_settle_at(&self, snap: &ClusterState) -> Option<Instant> {
        if self.ip_change_settle.is_zero() {
            return None;
        }
        let ips = all_ips(snap);
        let mut w = self.addresses.lock().unwrap_or_else(PoisonError::into_inner);
        w.observe(ips, self.ip_change_settle, Instant::now())
    }

    /// Starts [`dispatch`] unless it runs.
    fn start_dispatcher(&self) {
        self.dispatcher.get_or_init(|| {
            let events = self.backend.subscribe();
            let (backend, registry, addresses) =
                (self.backend.clone(), Arc::downgrade(&self.registry), self.addresses.clone());
            tokio::spawn(dispatch(backend, events, registry, addresses, self.ip_change_settle))
        });
    }

    /// Limits the registrations one client address may hold; beyond it WitnessrRegister(Ex)
    /// answers ERROR_NO_SYSTEM_RESOURCES.
    pub fn with_registrations_per_client(mut self, limit: usize) -> Self {
        self.per_client_limit = limit;
        self
    }

    /// A place for one more registration of the caller's address.
    fn client_slot(&self, ctx: &CallCtx) -> Result<crate::transport::ClientSlot, u32> {
        self.per_client.acquire(ctx.peer.ip(), self.per_client_limit).ok_or_else(|| {
            tracing::warn!(peer = %ctx.peer, limit = self.per_client_limit, "Witness registration refused: client limit");
            ERROR_NO_SYSTEM_RESOURCES
        })
    }

    /// The interface list of `snap`.
    pub fn interfaces(snap: &ClusterState) -> Vec<WitnessInterfaceInfo> {
        let group = snap.cluster.name.to_uppercase();
        snap.public_ips
            .iter()
            .map(|p| {
                let available = serving(snap, p.pnn).is_some();
                let mut info = WitnessInterfaceInfo {
                    interface_group_name: group.clone(),
                    version: WITNESS_V2,
                    state: if available { state::AVAILABLE } else { state::UNAVAILABLE },
                    ..Default::default()
                };
                match p.addr {
                    IpAddr::V4(a) => {
                        info.ipv4 = a.octets();
                        info.flags = interface_flags::IPV4_VALID;
                    }
                    IpAddr::V6(a) => {
                        info.ipv6 = a.octets();
                        info.flags = interface_flags::IPV6_VALID;
                    }
                }
                if p.pnn != Some(snap.cluster.this_pnn) {
                    info.flags |= interface_flags::INTERFACE_WITNESS;
                }
                info
            })
            .collect()
    }

    /// The steps Register and RegisterEx share, in the order smbtorture expects: an
    /// authenticated caller, the method's protocol version (ERROR_REVISION_MISMATCH before
    /// anything else), the names ([`check_names`]), the share (RegisterEx: one of the Samba
    /// shares, the File Server role's, else ERROR_INVALID_STATE), then the client's limit.
    /// Returns the new registration, not yet added, and the snapshot it was checked against.
    #[allow(clippy::too_many_arguments)]
    fn new_registration(
        &self,
        ctx: &CallCtx,
        want_version: u32,
        version: u32,
        net_name: Option<WString>,
        share_name: Option<WString>,
        ip_address: &Option<WString>,
        client: Option<WString>,
    ) -> Result<(Arc<ClusterState>, Registration), u32> {
        if ctx.principal.is_none() && ctx.access.is_none() {
            return Err(ERROR_ACCESS_DENIED);
        }
        if version != want_version {
            return Err(ERROR_REVISION_MISMATCH);
        }
        let snap = self.backend.snapshot();
        let ip = check_names(&snap, net_name.as_ref(), ip_address.as_ref(), client.as_ref())?;
        if let Some(share) = &share_name {
            if !snap.shares.iter().any(|s| names_equal(s, share.as_str())) {
                return Err(ERROR_INVALID_STATE);
            }
        }
        let slot = self.client_slot(ctx)?;
        let net_name = net_name.map(|s| s.0).unwrap_or_default();
        let mut reg = Registration::new(self.registry.next_id(), ctx, &snap, version, net_name, ip);
        reg._slot = Some(slot);
        reg.share_name = share_name.map(|s| s.0);
        reg.client_computer_name = client.map(|s| s.0).unwrap_or_default();
        Ok((snap, reg))
    }

    fn remove(&self, ctx: &CallCtx, h: &ContextHandle) -> u32 {
        if ctx.principal.is_none() && ctx.access.is_none() {
            return ERROR_ACCESS_DENIED;
        }
        let Some(reg) = ctx.group.get::<RegHandle>(h) else {
            return ERROR_INVALID_PARAMETER;
        };
        if !ctx.group.remove::<RegHandle>(h) {
            return ERROR_INVALID_PARAMETER;
        }
        self.registry.forget(reg.0.id);
        reg.0.close();
        ERROR_SUCCESS
    }
}

/// Marks a WitnessrAsyncNotify pending for as long as it lives (also when the call is
/// dropped with its connection), and stamps LastUseTime at its end.
struct PendingCall<'a>(&'a Registration);

impl<'a> PendingCall<'a> {
    fn new(reg: &'a Registration) -> Self {
        reg.pending.fetch_add(1, Ordering::SeqCst);
        PendingCall(reg)
    }
}

impl Drop for PendingCall<'_> {
    fn drop(&mut self) {
        *self.0.last_use.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
        self.0.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

impl WitnessServer for WitnessService {
    type Ctx = CallCtx;

    /// [MS-SWN 3.1.4.1] WitnessrGetInterfaceList: one entry per CTDB public address. "If no
    /// interfaces are available, the server MUST return ERROR_NO_MORE_ITEMS"; "if none of the
    /// interfaces are in the AVAILABLE state, the server MUST wait until at least one of the
    /// interfaces becomes available" (the wait ends with the connection, which drops the call).
    async fn witnessr_get_interface_list(
        &self,
        ctx: &CallCtx,
        _req: WitnessrGetInterfaceListRequest,
    ) -> WitnessrGetInterfaceListResponse {
        let fail = WitnessrGetInterfaceListResponse::error;
        if ctx.principal.is_none() && ctx.access.is_none() {
            return fail(ERROR_ACCESS_DENIED);
        }
        let mut events = self.backend.subscribe();
        loop {
            let list = Self::interfaces(&self.backend.snapshot());
            if list.is_empty() {
                return fail(ERROR_NO_MORE_ITEMS);
            }
            if list.iter().any(|i| i.state == state::AVAILABLE) {
                return WitnessrGetInterfaceListResponse {
                    interface_list: Some(WitnessInterfaceList::new(list)),
                    result: WError(ERROR_SUCCESS),
                };
            }
            if let Err(RecvError::Closed) = events.recv().await {
                std::future::pending::<()>().await;
            }
        }
    }

    /// [MS-SWN 3.1.4.2] WitnessrRegister. "If the Version field of the request is not
    /// 0x00010001, the server MUST stop processing the request and return the error code
    /// ERROR_REVISION_MISMATCH" (checked before anything else, as smbtorture expects); NULL
    /// strings and a NetName that is not the cluster name → ERROR_INVALID_PARAMETER; "if
    /// IpAddress does not match any of the IP addresses of the interfaces, the server MUST stop
    /// processing the request and return ERROR_INVALID_STATE".
    async fn witnessr_register(&self, ctx: &CallCtx, req: WitnessrRegisterRequest) -> WitnessrRegisterResponse {
        let (net, ip, client) = (req.net_name, &req.ip_address, req.client_computer_name);
        let reg = self.new_registration(ctx, WITNESS_V1, req.version, net, None, ip, client);
        match reg.and_then(|(_, reg)| self.registry.add(reg, &ctx.group).ok_or(ERROR_NO_SYSTEM_RESOURCES)) {
            Ok(context) => WitnessrRegisterResponse { context, result: WError(ERROR_SUCCESS) },
            Err(code) => WitnessrRegisterResponse::error(code),
        }
    }

    /// [MS-SWN 3.1.4.3] WitnessrUnRegister. "If no matching entry is found, the server SHOULD
    /// stop processing the request and return the error code ERROR_INVALID_PARAMETER" (the
    /// Windows behaviour smbtorture checks; the spec's error table, and Samba, give
    /// ERROR_NOT_FOUND instead). "The server MUST remove the WitnessRegistration entry"; a
    /// WitnessrAsyncNotify pending on it ends with ERROR_NOT_FOUND.
    async fn witnessr_un_register(&self, ctx: &CallCtx, req: WitnessrUnRegisterRequest) -> WitnessrUnRegisterResponse {
        WitnessrUnRegisterResponse { result: WError(self.remove(ctx, &req.context)) }
    }

    /// [MS-SWN 3.1.4.4] WitnessrAsyncNotify. "If no matching entry is found, the server MUST
    /// fail the request and return the error code ERROR_NOT_FOUND". Otherwise the call waits
    /// until the registration has a change to report (table in the module docs). For version 2
    /// registrations, when KeepAliveTimeout expires first the server "MUST complete the
    /// request with ERROR_TIMEOUT" and the registration stays.
    async fn witnessr_async_notify(
        &self,
        ctx: &CallCtx,
        req: WitnessrAsyncNotifyRequest,
    ) -> WitnessrAsyncNotifyResponse {
        let fail = WitnessrAsyncNotifyResponse::error;
        if ctx.principal.is_none() && ctx.access.is_none() {
            return fail(ERROR_ACCESS_DENIED);
        }
        let Some(reg) = ctx.group.get::<RegHandle>(&req.context).map(|h| h.0.clone()) else {
            return fail(ERROR_NOT_FOUND);
        };
        self.start_dispatcher();
        let _pending = PendingCall::new(&reg);
        let deadline = reg.keep_alive.map(|d| Instant::now() + d);
        loop {
            let woken = pin!(reg.wake.notified());
            if reg.closed.load(Ordering::SeqCst) {
                return fail(ERROR_NOT_FOUND);
            }
            let snap = self.backend.snapshot();
            let settled = !reg.ip_notification() || self.addresses_settle_at(&snap).is_none();
            reg.refresh(&snap, settled);
            drop(snap);
            let next = reg.tracked().queue.pop_front();
            if let Some(m) = next {
                reg.sent.fetch_add(1, Ordering::Relaxed);
                return WitnessrAsyncNotifyResponse { resp: Some(m), result: WError(ERROR_SUCCESS) };
            }
            // woken by the dispatcher (a change that concerns it, addresses settled), an
            // administrator's message or its unregistration
            match deadline {
                Some(d) => tokio::select! {
                    _ = tokio::time::sleep_until(d) => return fail(ERROR_TIMEOUT),
                    _ = woken => {}
                },
                None => woken.await,
            }
        }
    }

    /// [MS-SWN 3.1.4.5] WitnessrRegisterEx. "If the Version field of the request is not
    /// 0x00020000, the server MUST stop processing the request and return the error code
    /// ERROR_REVISION_MISMATCH"; NULL NetName, IpAddress or ClientComputerName and a NetName
    /// that is not the cluster name → ERROR_INVALID_PARAMETER; a ShareName that is not one of
    /// the Samba shares (the File Server role's) → ERROR_INVALID_STATE, as is an IpAddress that
    /// is not a public address. KeepAliveTimeout is in seconds; 0 means
    /// [`WitnessService::default_keep_alive`].
    async fn witnessr_register_ex(&self, ctx: &CallCtx, req: WitnessrRegisterExRequest) -> WitnessrRegisterExResponse {
        let (net, share, ip, client) = (req.net_name, req.share_name, &req.ip_address, req.client_computer_name);
        let (snap, mut reg) = match self.new_registration(ctx, WITNESS_V2, req.version, net, share, ip, client) {
            Ok(v) => v,
            Err(code) => return WitnessrRegisterExResponse::error(code),
        };
        reg.flags = req.flags;
        if reg.ip_notification() {
            // what the registration starts from is what address changes are measured against
            self.addresses_settle_at(&snap);
        }
        reg.keep_alive = Some(match req.keep_alive_timeout {
            0 => self.default_keep_alive,
            s => Duration::from_secs(u64::from(s)),
        });
        match self.registry.add(reg, &ctx.group) {
            Some(context) => WitnessrRegisterExResponse { context, result: WError(ERROR_SUCCESS) },
            None => WitnessrRegisterExResponse::error(ERROR_NO_SYSTEM_RESOURCES),
        }
    }

    /// [MS-SWN 3.1.4.6] WitnessrUnRegisterEx. "If no matching entry is found, the server MUST
    /// stop processing the request and return the error code ERROR_INVALID_PARAMETER";
    /// otherwise "the server MUST set ppContext to NULL and return ERROR_SUCCESS".
    async fn witnessr_un_register_ex(
        &self,
        ctx: &CallCtx,
        req: WitnessrUnRegisterExRequest,
    ) -> WitnessrUnRegisterExResponse {
        let code = self.remove(ctx, &req.context);
        let context = if code == ERROR_SUCCESS { ContextHandle::NULL } else { req.context };
        WitnessrUnRegisterExResponse { context, result: WError(code) }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use futures_util::FutureExt;
    use idl::clusapi::{ApiOpenNodeRequest, ApiPauseNodeRequest, ApiResumeNodeRequest};
    use nodes::{SimConfig, SimulatedCluster};

    use super::*;
    use crate::accounts::AccessLevel;
    use crate::services::clusapi::{node, ClusapiService};

    const IP1: &str = "127.0.100.1";

    struct Fx {
        sim: Arc<SimulatedCluster>,
        svc: WitnessService,
        ctx: CallCtx,
    }

    fn fx_with(config: SimConfig) -> Fx {
        let sim = Arc::new(SimulatedCluster::new(config).unwrap());
        // IP_CHANGE at once unless a test is about settling
        let svc = WitnessService::new(sim.clone()).with_ip_change_settle(Duration::ZERO);
        Fx { svc, sim, ctx: CallCtx::local(Some(AccessLevel::ReadOnly)) }
    }

    fn fx() -> Fx {
        fx_with(SimConfig::with_nodes(3))
    }

    fn w(s: &str) -> Option<WString> {
        Some(WString::new(s))
    }

    /// The answer of a call that must not wait (Register, UnRegister and their Ex forms).
    fn now<T>(call: impl std::future::Future<Output = T>) -> T {
        call.now_or_never().expect("the call waited")
    }

    fn reg_req(
        version: u32,
        net: Option<WString>,
        ip: Option<WString>,
        client: Option<WString>,
    ) -> WitnessrRegisterRequest {
        WitnessrRegisterRequest { version, net_name: net, ip_address: ip, client_computer_name: client }
    }

    #[allow(clippy::too_many_arguments)]
    fn reg_ex_req(
        version: u32,
        net: Option<WString>,
        share: Option<WString>,
        ip: Option<WString>,
        client: Option<WString>,
        flags: u32,
        keep_alive_timeout: u32,
    ) -> WitnessrRegisterExRequest {
        WitnessrRegisterExRequest {
            version,
            net_name: net,
            share_name: share,
            ip_address: ip,
            client_computer_name: client,
            flags,
            keep_alive_timeout,
        }
    }

    impl Fx {
        /// The pnn hosting `ip`.
        fn host(&self, ip: &str) -> u32 {
            self.sim.snapshot().ip_host(ip.parse().unwrap()).flatten().unwrap()
        }

        fn register(&self, ip: &str) -> ContextHandle {
            let r =
                now(self.svc.witnessr_register(&self.ctx, reg_req(WITNESS_V1, w("ctdb-cluster"), w(ip), w("CLIENT"))));
            assert_eq!(r.result.0, 0);
            r.context
        }

        fn register_ex(&self, ip: &str, flags: u32, keep_alive: u32) -> ContextHandle {
            let req = reg_ex_req(WITNESS_V2, w("CTDB-CLUSTER"), None, w(ip), w("CLIENT"), flags, keep_alive);
            let r = now(self.svc.witnessr_register_ex(&self.ctx, req));
            assert_eq!(r.result.0, 0);
            r.context
        }

        async fn notify(&self, context: ContextHandle) -> WitnessrAsyncNotifyResponse {
            let call = self.svc.witnessr_async_notify(&self.ctx, WitnessrAsyncNotifyRequest { context });
            tokio::time::timeout(Duration::from_secs(5), call).await.expect("AsyncNotify did not complete")
        }

        async fn assert_pending(&self, context: ContextHandle) {
            let call = self.svc.witnessr_async_notify(&self.ctx, WitnessrAsyncNotifyRequest { context });
            assert!(tokio::time::timeout(Duration::from_millis(100), call).await.is_err(), "AsyncNotify completed");
        }
    }

    fn all_changes(r: &WitnessrAsyncNotifyResponse) -> Vec<ResourceChange> {
        assert_eq!(r.result.0, 0);
        let m = r.resp.as_ref().unwrap();
        assert_eq!(m.message_type, message_type::RESOURCE_CHANGE_NOTIFICATION);
        m.resource_changes().unwrap()
    }

    /// The reply's change of the registered IP (the net name may change with it when a pause
    /// takes the cluster group offline).
    fn changes(r: &WitnessrAsyncNotifyResponse) -> Vec<ResourceChange> {
        all_changes(r).into_iter().filter(|c| c.name.parse::<IpAddr>().is_ok()).collect()
    }

    fn change(change_type: u32, name: &str) -> Vec<ResourceChange> {
        vec![ResourceChange { change_type, name: name.into() }]
    }

    fn ip_list(r: &WitnessrAsyncNotifyResponse, kind: u32) -> Vec<(Ipv4Addr, u32)> {
        assert_eq!(r.result.0, 0);
        let m = r.resp.as_ref().unwrap();
        assert_eq!(m.message_type, kind);
        let lists = m.ip_lists().unwrap();
        assert_eq!(lists.len(), 1);
        lists[0].addrs.iter().map(|a| (Ipv4Addr::from(a.ipv4), a.flags)).collect()
    }

    #[tokio::test]
    async fn interface_list_is_the_public_ips() {
        let f = fx();
        let r = f.svc.witnessr_get_interface_list(&f.ctx, WitnessrGetInterfaceListRequest {}).await;
        assert_eq!(r.result.0, 0);
        let list = r.interface_list.unwrap();
        assert_eq!(list.number_of_interfaces, 3);
        let snap = f.sim.snapshot();
        for (i, info) in list.interface_info.unwrap().0.iter().enumerate() {
            let ip = Ipv4Addr::new(127, 0, 100, i as u8 + 1);
            assert_eq!(info.ipv4_addr(), ip);
            assert_eq!(info.interface_group_name, "CTDB-CLUSTER");
            assert_eq!(info.version, WITNESS_V2);
            assert_eq!(info.state, state::AVAILABLE);
            let mut flags = interface_flags::IPV4_VALID;
            if snap.ip_host(ip.into()).flatten() != Some(0) {
                flags |= interface_flags::INTERFACE_WITNESS;
            }
            assert_eq!(info.flags, flags, "{ip}");
        }
        // one IP per node: the two hosted elsewhere are witness interfaces for node 0
        assert_eq!(count_witness(&snap), 2);

        // unauthenticated callers are refused
        assert_eq!(
            f.svc.witnessr_get_interface_list(&CallCtx::local(None), WitnessrGetInterfaceListRequest {}).await.result.0,
            ERROR_ACCESS_DENIED
        );
    }

    fn count_witness(snap: &ClusterState) -> usize {
        WitnessService::interfaces(snap).iter().filter(|i| i.flags & interface_flags::INTERFACE_WITNESS != 0).count()
    }

    #[tokio::test]
    async fn interface_list_without_ips_and_while_none_is_available() {
        let f = fx_with(SimConfig { public_ips: vec![], ..SimConfig::with_nodes(2) });
        let r = f.svc.witnessr_get_interface_list(&f.ctx, WitnessrGetInterfaceListRequest {}).await;
        assert_eq!((r.result.0, r.interface_list), (ERROR_NO_MORE_ITEMS, None));

        // a one-node cluster whose node is paused: its IP is unassigned, the call waits
        let f = fx_with(SimConfig::with_nodes(1));
        f.sim.pause_node(0).await.unwrap();
        let list = WitnessService::interfaces(&f.sim.snapshot());
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].state, state::UNAVAILABLE);
        let mut call = pin!(f.svc.witnessr_get_interface_list(&f.ctx, WitnessrGetInterfaceListRequest {}));
        assert!(tokio::time::timeout(Duration::from_millis(100), &mut call).await.is_err());
        f.sim.resume_node(0).await.unwrap();
        let r = tokio::time::timeout(Duration::from_secs(5), call).await.unwrap();
        assert_eq!(r.result.0, 0);
        let info = &r.interface_list.unwrap().interface_info.unwrap().0[0];
        assert_eq!(info.state, state::AVAILABLE);
        assert_eq!(info.flags, interface_flags::IPV4_VALID); // hosted by this node
    }

    #[test]
    fn register_errors() {
        let f = fx();
        let bad = |version, net: Option<&str>, ip: Option<&str>, client: Option<&str>| {
            let req = reg_req(version, net.and_then(w), ip.and_then(w), client.and_then(w));
            now(f.svc.witnessr_register(&f.ctx, req)).result.0
        };
        // smbtorture rpc.witness.Register's table
        for v in [0, 1, 123_456, 0xffff_ffff, WITNESS_V2] {
            assert_eq!(bad(v, None, None, None), ERROR_REVISION_MISMATCH, "{v:#x}");
        }
        assert_eq!(bad(WITNESS_V1, Some(""), Some(""), Some("")), ERROR_INVALID_PARAMETER);
        assert_eq!(bad(WITNESS_V1, None, None, Some("CLIENT")), ERROR_INVALID_PARAMETER);
        assert_eq!(bad(WITNESS_V2, None, None, Some("CLIENT")), ERROR_REVISION_MISMATCH);
        assert_eq!(bad(WITNESS_V1, Some("127.0.0.1"), None, Some("CLIENT")), ERROR_INVALID_PARAMETER);
        // the rest of the rules
        assert_eq!(bad(WITNESS_V1, Some("CTDB-CLUSTER"), Some(IP1), None), ERROR_INVALID_PARAMETER);
        assert_eq!(bad(WITNESS_V1, Some("OTHER"), Some(IP1), Some("C")), ERROR_INVALID_PARAMETER);
        assert_eq!(bad(WITNESS_V1, Some("CTDB-CLUSTER"), Some("10.9.9.9"), Some("C")), ERROR_INVALID_STATE);
        assert_eq!(bad(WITNESS_V1, Some("CTDB-CLUSTER"), Some("not an ip"), Some("C")), ERROR_INVALID_STATE);
        assert_eq!(bad(WITNESS_V1, Some("ctdb-cluster"), Some(IP1), Some("C")), 0);
        let denied =
            now(f.svc.witnessr_register(&CallCtx::local(None), reg_req(WITNESS_V1, w("CTDB-CLUSTER"), w(IP1), w("C"))));
        assert_eq!(denied.result.0, ERROR_ACCESS_DENIED);
    }

    #[test]
    fn register_ex_errors() {
        let f = fx();
        let bad = |version, net: Option<&str>, share: Option<&str>, ip: Option<&str>, client: Option<&str>| {
            let req = reg_ex_req(version, net.and_then(w), share.and_then(w), ip.and_then(w), client.and_then(w), 0, 0);
            now(f.svc.witnessr_register_ex(&f.ctx, req)).result.0
        };
        // smbtorture rpc.witness.RegisterEx's table
        for v in [0, 1, 123_456, 0xffff_ffff, WITNESS_V1] {
            assert_eq!(bad(v, None, None, None, None), ERROR_REVISION_MISMATCH, "{v:#x}");
        }
        assert_eq!(bad(WITNESS_V2, Some(""), None, Some(""), Some("")), ERROR_INVALID_PARAMETER);
        assert_eq!(bad(WITNESS_V2, None, None, None, Some("CLIENT")), ERROR_INVALID_PARAMETER);
        assert_eq!(bad(WITNESS_V1, None, None, None, Some("CLIENT")), ERROR_REVISION_MISMATCH);
        assert_eq!(bad(WITNESS_V2, Some("127.0.0.1"), None, None, Some("CLIENT")), ERROR_INVALID_PARAMETER);
        // per interface: an unknown share, then no share
        let net = Some("CTDB-CLUSTER");
        assert_eq!(bad(WITNESS_V2, net, Some("any_invalid_share_name"), Some(IP1), Some("C")), ERROR_INVALID_STATE);
        assert_eq!(bad(WITNESS_V2, net, None, Some("10.9.9.9"), Some("C")), ERROR_INVALID_STATE);
        assert_eq!(bad(WITNESS_V2, net, Some("SHARE"), Some(IP1), Some("C")), 0);
        assert_eq!(bad(WITNESS_V2, net, None, Some(IP1), Some("C")), 0);
    }

    #[test]
    fn unregister_twice_and_unregister_ex() {
        let f = fx();
        let h = f.register(IP1);
        let un = |context| now(f.svc.witnessr_un_register(&f.ctx, WitnessrUnRegisterRequest { context })).result.0;
        assert_eq!(un(h), 0);
        assert_eq!(un(h), ERROR_INVALID_PARAMETER);
        assert_eq!(un(ContextHandle::NULL), ERROR_INVALID_PARAMETER);

        let h = f.register_ex(IP1, 0, 0);
        // another association group does not see the registration
        let other = CallCtx::local(Some(AccessLevel::Full));
        assert_eq!(now(f.svc.witnessr_un_register(&other, WitnessrUnRegisterRequest { context: h })).result.0, 87);
        let r = now(f.svc.witnessr_un_register_ex(&f.ctx, WitnessrUnRegisterExRequest { context: h }));
        assert_eq!((r.result.0, r.context), (0, ContextHandle::NULL));
        let r = now(f.svc.witnessr_un_register_ex(&f.ctx, WitnessrUnRegisterExRequest { context: h }));
        assert_eq!((r.result.0, r.context), (ERROR_INVALID_PARAMETER, h));
    }

    #[tokio::test]
    async fn async_notify_unknown_and_unregistered_while_pending() {
        let f = fx();
        let r = f.notify(ContextHandle::NULL).await;
        assert_eq!((r.result.0, r.resp), (ERROR_NOT_FOUND, None));
        let h = f.register(IP1);
        let call = f.svc.witnessr_async_notify(&f.ctx, WitnessrAsyncNotifyRequest { context: h });
        let unregister = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            now(f.svc.witnessr_un_register(&f.ctx, WitnessrUnRegisterRequest { context: h })).result.0
        };
        let (r, u) = tokio::join!(call, unregister);
        assert_eq!(u, 0);
        assert_eq!(r.result.0, ERROR_NOT_FOUND);
        assert_eq!(f.notify(h).await.result.0, ERROR_NOT_FOUND);
    }

    /// ApiPauseNode (clusapi) → ctdb disable → the node's IP moves away → the pending
    /// AsyncNotify of a client registered on that IP completes with UNAVAILABLE; the next one
    /// reports the IP AVAILABLE on its new node.
    #[tokio::test]
    async fn pause_through_clusapi_completes_pending_async_notify() {
        let f = fx();
        let pnn = f.host(IP1);
        let h = f.register(IP1);
        f.assert_pending(h).await;

        let clusapi = ClusapiService::new(f.sim.clone());
        let admin = CallCtx::local(Some(AccessLevel::Full));
        let node_name = format!("CTDB_NODE_{pnn}");
        let hn = node::api_open_node(&clusapi, &admin, ApiOpenNodeRequest { node_name: WString::new(node_name) }).node;
        let call = f.svc.witnessr_async_notify(&f.ctx, WitnessrAsyncNotifyRequest { context: h });
        let pause = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            node::api_pause_node(&clusapi, &admin, ApiPauseNodeRequest { node: hn }).await.result.0
        };
        let (r, paused) =
            tokio::time::timeout(Duration::from_secs(5), async { tokio::join!(call, pause) }).await.unwrap();
        assert_eq!(paused, 0);
        assert_eq!(changes(&r), change(resource_state::UNAVAILABLE, IP1));
        let moved_to = f.host(IP1);
        assert_ne!(moved_to, pnn);
        assert_eq!(changes(&f.notify(h).await), change(resource_state::AVAILABLE, IP1));
        f.assert_pending(h).await;

        let r = node::api_resume_node(&clusapi, &admin, ApiResumeNodeRequest { node: hn }).await;
        assert_eq!(r.result.0, 0);
        // the simulated CTDB rebalances on resume: if the IP went back, that is a move again
        if f.host(IP1) != moved_to {
            assert_eq!(changes(&f.notify(h).await), change(resource_state::UNAVAILABLE, IP1));
            assert_eq!(changes(&f.notify(h).await), change(resource_state::AVAILABLE, IP1));
        }
        f.assert_pending(h).await;
    }

    /// Where no other node can take the IP, AVAILABLE comes with the resume.
    #[tokio::test]
    async fn available_again_after_resume() {
        let f = fx_with(SimConfig::with_nodes(1));
        let h = f.register_ex(IP1, 0, 60);
        f.assert_pending(h).await;
        f.sim.pause_node(0).await.unwrap();
        assert_eq!(changes(&f.notify(h).await), change(resource_state::UNAVAILABLE, IP1));
        f.assert_pending(h).await;
        f.sim.resume_node(0).await.unwrap();
        assert_eq!(changes(&f.notify(h).await), change(resource_state::AVAILABLE, IP1));
    }

    /// Notices about the registration's own address overtake a queued IP_CHANGE, and later
    /// availability changes update that IP_CHANGE instead of queueing another one.
    #[tokio::test]
    async fn own_address_first_and_one_ip_change_at_a_time() {
        // one node, two addresses: pausing it takes both offline, resuming brings both back
        let f = fx_with(SimConfig::with_nodes_and_ips(1, 2));
        let h = f.register_ex(IP1, register_flags::IP_NOTIFICATION, 60);
        f.sim.pause_node(0).await.unwrap();
        // queued: UNAVAILABLE, IP_CHANGE (both offline); the first goes out
        assert_eq!(changes(&f.notify(h).await), change(resource_state::UNAVAILABLE, IP1));
        f.sim.resume_node(0).await.unwrap();
        // the resume's AVAILABLE overtakes the queued IP_CHANGE, which now says both are online
        assert_eq!(changes(&f.notify(h).await), change(resource_state::AVAILABLE, IP1));
        let online = ipaddr_flags::V4 | ipaddr_flags::ONLINE;
        assert_eq!(
            ip_list(&f.notify(h).await, message_type::IP_CHANGE_NOTIFICATION),
            vec![(Ipv4Addr::new(127, 0, 100, 1), online), (Ipv4Addr::new(127, 0, 100, 2), online)]
        );
        f.assert_pending(h).await;
    }

    /// v2 with IP_NOTIFICATION: UNAVAILABLE, CLIENT_MOVE to the IPs of the node that took the
    /// address, AVAILABLE, then IP_CHANGE listing the addresses whose availability changed.
    #[tokio::test]
    async fn ip_notification_registration_gets_client_move_and_ip_change() {
        let f = fx_with(SimConfig::with_nodes(2));
        let pnn = f.host(IP1);
        let h = f.register_ex(IP1, register_flags::IP_NOTIFICATION, 60);
        f.sim.pause_node(pnn).await.unwrap();
        let to = f.host(IP1);
        assert_ne!(to, pnn);
        assert_eq!(changes(&f.notify(h).await), change(resource_state::UNAVAILABLE, IP1));
        let moved = ip_list(&f.notify(h).await, message_type::CLIENT_MOVE_NOTIFICATION);
        // both addresses now sit on the other node
        let online = ipaddr_flags::V4 | ipaddr_flags::ONLINE;
        assert_eq!(moved, vec![(Ipv4Addr::new(127, 0, 100, 1), online), (Ipv4Addr::new(127, 0, 100, 2), online)]);
        assert_eq!(changes(&f.notify(h).await), change(resource_state::AVAILABLE, IP1));
        // availability did not change for either address: the move was instant
        f.assert_pending(h).await;

        // a node going down with nowhere to move: IP_CHANGE lists the address OFFLINE
        let f = fx_with(SimConfig::with_nodes(1));
        let h = f.register_ex(IP1, register_flags::IP_NOTIFICATION, 60);
        f.sim.pause_node(0).await.unwrap();
        assert_eq!(changes(&f.notify(h).await), change(resource_state::UNAVAILABLE, IP1));
        let offline = ipaddr_flags::V4 | ipaddr_flags::OFFLINE;
        assert_eq!(
            ip_list(&f.notify(h).await, message_type::IP_CHANGE_NOTIFICATION),
            vec![([127, 0, 100, 1].into(), offline)]
        );
        f.assert_pending(h).await;
    }

    /// A move seen as the address leaving its node and later arriving on another (the ctdb
    /// backend holds a moving address back until the new node has taken it): UNAVAILABLE when
    /// it leaves; CLIENT_MOVE to the new node, then AVAILABLE, when it arrives; only AVAILABLE
    /// when it comes back to the node it left.
    #[test]
    fn a_move_through_nowhere_sends_client_move_on_arrival() {
        let f = fx_with(SimConfig::with_nodes(2));
        let snap = f.sim.snapshot();
        let ip: IpAddr = IP1.parse().unwrap();
        let from = f.host(IP1);
        let to = 1 - from;
        let hosted_by = |h: Option<u32>| {
            let mut s = (*snap).clone();
            s.public_ips.iter_mut().filter(|p| p.addr == ip).for_each(|p| p.pnn = h);
            s
        };
        let mut reg = Registration::new(1, &f.ctx, &snap, WITNESS_V2, "NAME".into(), ip);
        reg.flags = register_flags::IP_NOTIFICATION;
        let kinds = |reg: &Registration| {
            let q: Vec<(u32, Vec<u32>)> = reg
                .tracked()
                .queue
                .drain(..)
                .map(|m| {
                    let states = match m.message_type {
                        message_type::RESOURCE_CHANGE_NOTIFICATION => {
                            m.resource_changes().map(|c| c.iter().map(|c| c.change_type).collect()).unwrap()
                        }
                        _ => Vec::new(),
                    };
                    (m.message_type, states)
                })
                .collect();
            q
        };
        let (rc, mv) = (message_type::RESOURCE_CHANGE_NOTIFICATION, message_type::CLIENT_MOVE_NOTIFICATION);

        reg.refresh(&hosted_by(None), false);
        assert_eq!(kinds(&reg), [(rc, vec![resource_state::UNAVAILABLE])]);
        let arrived = hosted_by(Some(to));
        reg.refresh(&arrived, false);
        assert_eq!(kinds(&reg), [(mv, vec![]), (rc, vec![resource_state::AVAILABLE])]);
        reg.refresh(&arrived, false);
        assert_eq!(kinds(&reg), []);

        // away and back to the same node: no CLIENT_MOVE
        reg.refresh(&hosted_by(None), false);
        reg.refresh(&arrived, false);
        assert_eq!(kinds(&reg), [(rc, vec![resource_state::UNAVAILABLE]), (rc, vec![resource_state::AVAILABLE])]);
    }

    /// IP_CHANGE waits until the addresses have settled; the registration's own notices do not.
    /// An address that went offline and came back within the wait never shows up in one.
    #[tokio::test]
    async fn ip_change_waits_for_the_addresses_to_settle() {
        let settle = Duration::from_millis(300);
        let f = fx_with(SimConfig::with_nodes_and_ips(1, 2));
        let f = Fx { svc: WitnessService::new(f.sim.clone()).with_ip_change_settle(settle), ..f };
        let h = f.register_ex(IP1, register_flags::IP_NOTIFICATION, 60);

        // offline and back at once: the own notices now, no IP_CHANGE ever
        let t0 = Instant::now();
        f.sim.pause_node(0).await.unwrap();
        assert_eq!(changes(&f.notify(h).await), change(resource_state::UNAVAILABLE, IP1));
        f.sim.resume_node(0).await.unwrap();
        assert_eq!(changes(&f.notify(h).await), change(resource_state::AVAILABLE, IP1));
        assert!(t0.elapsed() < settle, "own notices waited for the addresses to settle");
        let call = f.svc.witnessr_async_notify(&f.ctx, WitnessrAsyncNotifyRequest { context: h });
        assert!(tokio::time::timeout(settle * 3, call).await.is_err(), "an IP_CHANGE about nothing changed");

        // offline for good: IP_CHANGE once the addresses have been still for `settle`
        let t0 = Instant::now();
        f.sim.pause_node(0).await.unwrap();
        assert_eq!(changes(&f.notify(h).await), change(resource_state::UNAVAILABLE, IP1));
        let offline = ipaddr_flags::V4 | ipaddr_flags::OFFLINE;
        assert_eq!(
            ip_list(&f.notify(h).await, message_type::IP_CHANGE_NOTIFICATION),
            vec![(Ipv4Addr::new(127, 0, 100, 1), offline), (Ipv4Addr::new(127, 0, 100, 2), offline)]
        );
        assert!(t0.elapsed() >= settle, "IP_CHANGE after {:?}", t0.elapsed());
        f.assert_pending(h).await;
    }

    /// The settling rule: `settle` after the last change, but no later than 5 × `settle` after
    /// the first change of a run.
    #[test]
    fn addresses_settle_after_the_last_change_within_a_bound() {
        let s = Duration::from_secs(2);
        let t0 = Instant::now();
        let a: IpAddr = [192, 0, 2, 1].into();
        let mut w = AddressWatch::default();
        assert_eq!(w.observe(vec![(a, true)], s, t0), None, "the first look is not a change");
        assert_eq!(w.observe(vec![(a, false)], s, t0), Some(t0 + s));
        assert_eq!(w.observe(vec![(a, false)], s, t0 + s), None);
        // flapping every second: each change pushes the instant on, up to 10 s after the first
        let start = t0 + s * 2;
        for k in 0..10u32 {
            let now = start + Duration::from_secs(u64::from(k));
            let at = w.observe(vec![(a, k % 2 == 0)], s, now);
            assert_eq!(at, Some((now + s).min(start + s * 5)), "change {k}");
        }
        // the tenth second: settled although the last change was a second ago
        assert_eq!(w.observe(vec![(a, false)], s, start + s * 5), None);
    }

    #[tokio::test]
    async fn keep_alive_expiry_is_error_timeout_and_keeps_the_registration() {
        let mut f = fx();
        f.svc.default_keep_alive = Duration::from_millis(200);
        for keep_alive in [1, 0] {
            let h = f.register_ex(IP1, 0, keep_alive);
            let started = std::time::Instant::now();
            let r = f.notify(h).await;
            assert_eq!((r.result.0, r.resp), (ERROR_TIMEOUT, None));
            let want = if keep_alive == 0 { Duration::from_millis(200) } else { Duration::from_secs(1) };
            assert!(started.elapsed() >= want, "{keep_alive}: {:?}", started.elapsed());
            // still registered
            assert_eq!(now(f.svc.witnessr_un_register(&f.ctx, WitnessrUnRegisterRequest { context: h })).result.0, 0);
        }
        // version 1 registrations have no keep-alive
        let h = f.register(IP1);
        f.assert_pending(h).await;
    }

    /// The cluster's network name resource going offline is the net name becoming unavailable
    /// (what smbtorture's AsyncNotify toggles).
    #[tokio::test]
    async fn net_name_resource_offline_and_online() {
        let f = fx();
        let h = f.register(IP1);
        let id = f.sim.snapshot().cluster_name_resource().unwrap().id.clone();
        f.sim.set_resource_offline(&id).await.unwrap();
        assert_eq!(all_changes(&f.notify(h).await), change(resource_state::UNAVAILABLE, "ctdb-cluster"));
        f.sim.set_resource_online(&id).await.unwrap();
        assert_eq!(all_changes(&f.notify(h).await), change(resource_state::AVAILABLE, "ctdb-cluster"));
        f.assert_pending(h).await;
    }

    /// The File Server role's network name (named like the SMB server) toggled offline and
    /// online, as smbtorture's AsyncNotify does through clusapi; registered by DNS name.
    #[tokio::test]
    async fn file_server_name_offline_and_fqdn_net_name() {
        let f = fx();
        let r = now(f
            .svc
            .witnessr_register(&f.ctx, reg_req(WITNESS_V1, w("ctdb-cluster.lab.example"), w(IP1), w("CLIENT"))));
        assert_eq!(r.result.0, 0);
        let h = r.context;
        let bad =
            now(f.svc.witnessr_register(&f.ctx, reg_req(WITNESS_V1, w("other.lab.example"), w(IP1), w("CLIENT"))));
        assert_eq!(bad.result.0, ERROR_INVALID_PARAMETER);
        let snap = f.sim.snapshot();
        let fs_name = snap.find_resource_by_name("CTDB-CLUSTER").expect("the role's network name");
        f.sim.set_resource_offline(&fs_name.id).await.unwrap();
        let c = all_changes(&f.notify(h).await);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].change_type, resource_state::UNAVAILABLE);
        f.sim.set_resource_online(&fs_name.id).await.unwrap();
        assert_eq!(all_changes(&f.notify(h).await)[0].change_type, resource_state::AVAILABLE);
    }

    /// [MS-SWN] 3.1.5.1: a registration without a pending WitnessrAsyncNotify for longer than
    /// the timeout is removed; one with a pending call is not.
    #[tokio::test]
    async fn unused_registrations_are_removed() {
        let f = fx();
        let idle = f.register(IP1);
        let busy = f.register_ex(IP1, 0, 60);
        let call = {
            let svc = &f.svc;
            let ctx = &f.ctx;
            async move { svc.witnessr_async_notify(ctx, WitnessrAsyncNotifyRequest { context: busy }).await }
        };
        let sweep = async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let n = f.svc.registry.sweep_unused(Duration::from_millis(100));
            // the busy one is only made unused once its call ends
            let after = f.svc.registry.len();
            f.svc.registry.unregister(f.svc.registry.live()[0].id);
            (n, after)
        };
        let (r, (n, after)) = tokio::join!(call, sweep);
        assert_eq!((n, after), (1, 1));
        assert_eq!(r.result.0, ERROR_NOT_FOUND, "the forced unregistration ended the pending call");
        assert_eq!(
            now(f.svc.witnessr_un_register(&f.ctx, WitnessrUnRegisterRequest { context: idle })).result.0,
            ERROR_INVALID_PARAMETER
        );
        assert!(f.svc.registry.is_empty());
    }

    /// What `clusapid witness` does, on a simulated cluster (one daemon): list with filters,
    /// move-client, move-share (version 2 with a share only), force-response, force-unregister.
    #[tokio::test]
    async fn administrator_commands() {
        use registry::{Command, Filter, ForcedResponse};
        let f = fx();
        let _tasks = f.svc.start_background().await;
        let h1 = f.register(IP1);
        let r = now(f.svc.witnessr_register_ex(
            &f.ctx,
            reg_ex_req(
                WITNESS_V2,
                w("CTDB-CLUSTER"),
                w("share"),
                w(IP1),
                w("WIN11"),
                register_flags::IP_NOTIFICATION,
                60,
            ),
        ));
        assert_eq!(r.result.0, 0);
        let h2 = r.context;

        let all = f.svc.peers.list(Filter::default()).await;
        assert_eq!(all.registrations.len(), 2, "{all:?}");
        assert!(all.silent_nodes.is_empty());
        let win = f.svc.peers.list(Filter { client_name: Some("win*".into()), ..Default::default() }).await;
        assert_eq!(win.registrations.len(), 1);
        let info = &win.registrations[0];
        assert_eq!((info.version, info.share_name.as_deref(), info.state.as_str()), (2, Some("share"), "Idle"));
        assert_eq!(info.flags, ["IP_NOTIFICATION"]);
        assert_eq!(info.witness_node, "CTDB_NODE_0");

        let to: IpAddr = "127.0.100.2".parse().unwrap();
        let out = f.svc.peers.command(Filter::default(), Command::MoveClient { ips: vec![to] }).await;
        assert_eq!(out.total(), 2);
        for h in [h1, h2] {
            assert_eq!(
                ip_list(&f.notify(h).await, message_type::CLIENT_MOVE_NOTIFICATION),
                vec![([127, 0, 100, 2].into(), ipaddr_flags::V4 | ipaddr_flags::ONLINE)]
            );
        }
        let out = f.svc.peers.command(Filter::default(), Command::MoveShare { ips: vec![to] }).await;
        assert_eq!(out.total(), 1, "only the version 2 registration with a share");
        assert_eq!(f.notify(h2).await.resp.unwrap().message_type, message_type::SHARE_MOVE_NOTIFICATION);
        f.assert_pending(h1).await;

        let forced = ForcedResponse::ResourceChange { available: false };
        let out = f
            .svc
            .peers
            .command(
                Filter { id: Some(info.id.clone()), ..Default::default() },
                Command::ForceResponse { response: forced },
            )
            .await;
        assert_eq!(out.total(), 1);
        assert_eq!(all_changes(&f.notify(h2).await), change(resource_state::UNAVAILABLE, "CTDB-CLUSTER"));

        let out = f
            .svc
            .peers
            .command(Filter { client_name: Some("CLIENT".into()), ..Default::default() }, Command::ForceUnregister)
            .await;
        assert_eq!(out.total(), 1);
        assert_eq!(f.notify(h1).await.result.0, ERROR_NOT_FOUND);
        assert_eq!(f.svc.peers.list(Filter::default()).await.registrations.len(), 1);
    }
}
