//! The simulated backend: an in-process N-node CTDB look-alike with CTDB's
//! public-IP failover rules (simplified), test hooks for external events, and
//! an optional crash-safe state file for the admin [`Overlay`].
//!
//! Simulation rules:
//! * Nodes have addresses 127.0.0.(pnn+1) and one interface "lo" each; public
//!   IPs default to 127.0.100.1..=N /24, spread round-robin over the nodes.
//! * A node can host an IP when its flags allow it
//!   ([`CtdbNodeFlags::can_host_ips`]) and it has a link-up interface the IP
//!   may use.
//! * When a node stops being able to host, its IPs move, lowest address
//!   first, to the capable node hosting the fewest IPs (ties: lowest pnn);
//!   with none left they become unassigned.
//! * When a node becomes able to host again, unassigned IPs are placed the
//!   same way and then IPs are rebalanced: while the most loaded capable node
//!   hosts at least two more than the least loaded, its highest address moves
//!   there. No rebalancing happens otherwise, so `move_ip` placements stick.
//! * The leader is the lowest-pnn node that is not inactive. The generation
//!   (and a `Recovery` event) bumps whenever the set of active nodes changes;
//!   `ctdb disable`/`enable` only move IPs, as in CTDB.
//!
//! The cluster-registry blob ([`ClusterBackend::registry_blob`]) is kept in memory and, with a
//! state file, in [`registry_file`] next to it (written crash-safely like the overlay).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tokio::sync::{broadcast, mpsc};

use crate::backend::{
    group_to_move, BackendError, BackendResult, BoxFuture, ClusterBackend, Destination, OverlayEdit, PeerMessage,
};
use crate::events::{self, ClusterEvent};
use crate::mapping;
use crate::model::{ClusterState, NodeState};
use crate::overlay::Overlay;
use crate::presentation::WindowsVersion;
use crate::raw::{CtdbInterface, CtdbNodeFlags, CtdbNodeInfo, PublicIp, RawCluster, Share};
use crate::state_file::{load_overlay, load_registry, persist_bytes, persist_overlay, registry_file};

/// Capacity of the event channel; slow subscribers see `Lagged`.
const EVENT_CAPACITY: usize = 1024;

/// Configuration of a simulated cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// Number of nodes (1..=254).
    pub nodes: u32,
    pub cluster_name: String,
    /// The node the daemon pretends to run on.
    pub this_pnn: u32,
    /// Public IPs with prefix lengths, spread round-robin over the nodes.
    pub public_ips: Vec<(IpAddr, u8)>,
    /// Samba share names.
    pub shares: Vec<Share>,
    /// Where the overlay is persisted (TOML); `None` keeps it in memory only.
    pub state_file: Option<PathBuf>,
    /// The Windows version the cluster presents.
    pub windows_version: WindowsVersion,
}

impl SimConfig {
    /// Defaults for an `n`-node cluster: name "CTDB-CLUSTER", this node 0,
    /// public IPs 127.0.100.1..=n /24, one share "share", no state file.
    pub fn with_nodes(n: u32) -> Self {
        Self::with_nodes_and_ips(n, n.min(254) as usize)
    }

    /// Defaults for an `n`-node cluster with `ips` public IPs: 127.0.100.1..=ips /24 up to
    /// 254 of them, else 127.100.x.y /16 (x = i / 250, y = i % 250 + 1), for clusters bigger
    /// than a /24 (the scale benchmarks).
    pub fn with_nodes_and_ips(n: u32, ips: usize) -> Self {
        let public_ips = if ips <= 254 {
            (1..=ips).map(|i| (IpAddr::V4(Ipv4Addr::new(127, 0, 100, i as u8)), 24)).collect()
        } else {
            (0..ips).map(|i| (IpAddr::V4(Ipv4Addr::new(127, 100, (i / 250) as u8, (i % 250 + 1) as u8)), 16)).collect()
        };
        Self {
            nodes: n,
            cluster_name: "CTDB-CLUSTER".into(),
            this_pnn: 0,
            public_ips,
            shares: vec![Share::named("share")],
            state_file: None,
            windows_version: WindowsVersion::default(),
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self::with_nodes(3)
    }
}

struct Inner {
    raw: RawCluster,
    overlay: Overlay,
}

/// An in-process CTDB cluster look-alike implementing [`ClusterBackend`].
pub struct SimulatedCluster {
    inner: Mutex<Inner>,
    current: RwLock<Arc<ClusterState>>,
    events: broadcast::Sender<ClusterEvent>,
    available: AtomicBool,
    state_file: Option<PathBuf>,
    /// The cluster-registry blob ([`ClusterBackend::registry_blob`]); `None` until stored.
    registry: Mutex<Option<Vec<u8>>>,
    /// Where the blob is persisted: [`registry_file`] of the state file.
    registry_file: Option<PathBuf>,
    /// [`ClusterBackend::listen`]ers by srvid.
    listeners: Mutex<HashMap<u64, mpsc::Sender<PeerMessage>>>,
}

impl std::fmt::Debug for SimulatedCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedCluster")
            .field("cluster", &self.snapshot().cluster)
            .field("state_file", &self.state_file)
            .finish_non_exhaustive()
    }
}

/// Whether `pnn` can host `ip` right now.
fn can_host(raw: &RawCluster, pnn: u32, ip: &PublicIp) -> bool {
    let flags_ok = raw.nodes.iter().any(|n| n.pnn == pnn && n.flags.can_host_ips());
    flags_ok && raw.interfaces.iter().any(|(p, i)| *p == pnn && i.link_up && ip.interfaces.contains(&i.name))
}

/// Which nodes may host addresses now, with their link-up interfaces, and how many addresses
/// each hosts: computed once per [`reallocate`], so a reallocation costs O(IPs x nodes) per
/// pass instead of recounting every node's load for every address (64 nodes x 1,000 IPs:
/// milliseconds, not seconds; see `bench/compare --scale`).
struct Placement {
    /// (pnn, link-up interface names) of the nodes whose flags allow hosting, in node order.
    capable: Vec<(u32, Vec<String>)>,
    /// Addresses hosted, by pnn (every node of the cluster, capable or not).
    loads: HashMap<u32, usize>,
}

impl Placement {
    fn new(raw: &RawCluster) -> Self {
        let capable = raw
            .nodes
            .iter()
            .filter(|n| n.flags.can_host_ips())
            .map(|n| {
                let ifaces = raw
                    .interfaces
                    .iter()
                    .filter(|(p, i)| *p == n.pnn && i.link_up)
                    .map(|(_, i)| i.name.clone())
                    .collect();
                (n.pnn, ifaces)
            })
            .collect();
        let mut loads: HashMap<u32, usize> = raw.nodes.iter().map(|n| (n.pnn, 0)).collect();
        for p in &raw.public_ips {
            if let Some(pnn) = p.pnn {
                *loads.entry(pnn).or_default() += 1;
            }
        }
        Placement { capable, loads }
    }

    fn load(&self, pnn: u32) -> usize {
        self.loads.get(&pnn).copied().unwrap_or(0)
    }

    /// Whether `pnn` can host `ip` right now.
    fn can_host(&self, pnn: u32, ip: &PublicIp) -> bool {
        self.capable.iter().any(|(p, ifaces)| *p == pnn && ifaces.iter().any(|i| ip.interfaces.contains(i)))
    }

    /// The capable node for `ip` with the fewest IPs (ties: lowest pnn).
    fn least_loaded(&self, ip: &PublicIp) -> Option<u32> {
        self.capable
            .iter()
            .filter(|(_, ifaces)| ifaces.iter().any(|i| ip.interfaces.contains(i)))
            .map(|(p, _)| *p)
            .min_by_key(|&pnn| (self.load(pnn), pnn))
    }

    fn assign(&mut self, ip: &mut PublicIp, to: Option<u32>) {
        if let Some(from) = ip.pnn {
            if let Some(l) = self.loads.get_mut(&from) {
                *l = l.saturating_sub(1);
            }
        }
        if let Some(to) = to {
            *self.loads.entry(to).or_default() += 1;
        }
        ip.pnn = to;
    }
}

fn ip_order(addr: &IpAddr) -> (u8, u128) {
    match addr {
        IpAddr::V4(a) => (4, u128::from(u32::from(*a))),
        IpAddr::V6(a) => (6, u128::from(*a)),
    }
}

/// Applies the simulation's takeover rules (see the module doc).
fn reallocate(raw: &mut RawCluster, rebalance: bool) {
    let mut order: Vec<usize> = (0..raw.public_ips.len()).collect();
    order.sort_by_key(|&i| ip_order(&raw.public_ips[i].addr));
    let mut pl = Placement::new(raw);

    // 1. release IPs from nodes that can no longer host them
    for &i in &order {
        if let Some(pnn) = raw.public_ips[i].pnn {
            if !pl.can_host(pnn, &raw.public_ips[i]) {
                pl.assign(&mut raw.public_ips[i], None);
            }
        }
    }
    // 2. place unassigned IPs
    for &i in &order {
        if raw.public_ips[i].pnn.is_none() {
            let to = pl.least_loaded(&raw.public_ips[i]);
            pl.assign(&mut raw.public_ips[i], to);
        }
    }
    // 3. rebalance after a node came back
    if rebalance {
        // Bounded: each move strictly lowers the spread's sum of squares.
        for _ in 0..raw.public_ips.len() * raw.public_ips.len().max(1) {
            let mut moved = false;
            let max_load = raw.nodes.iter().map(|n| pl.load(n.pnn)).max().unwrap_or(0);
            for &i in order.iter().rev() {
                let Some(from) = raw.public_ips[i].pnn else {
                    continue;
                };
                let Some(to) = pl.least_loaded(&raw.public_ips[i]) else {
                    continue;
                };
                if pl.load(from) == max_load && pl.load(from) >= pl.load(to) + 2 {
                    pl.assign(&mut raw.public_ips[i], Some(to));
                    moved = true;
                    break;
                }
            }
            if !moved {
                break;
            }
        }
    }
    // interface reference counts
    let mut refs: HashMap<(u32, &str), u32> = HashMap::new();
    for p in &raw.public_ips {
        if let Some(pnn) = p.pnn {
            for i in &p.interfaces {
                *refs.entry((pnn, i.as_str())).or_default() += 1;
            }
        }
    }
    let refs: Vec<u32> = raw
        .interfaces
        .iter()
        .map(|(pnn, iface)| refs.get(&(*pnn, iface.name.as_str())).copied().unwrap_or(0))
        .collect();
    for ((_, iface), r) in raw.interfaces.iter_mut().zip(refs) {
        iface.references = r;
    }
}

/// Active = not inactive and known.
fn active_set(raw: &RawCluster) -> Vec<u32> {
    raw.nodes
        .iter()
        .filter(|n| !n.flags.intersects(CtdbNodeFlags::INACTIVE | CtdbNodeFlags::UNKNOWN))
        .map(|n| n.pnn)
        .collect()
}

/// Recomputes leader, generation and IP placement after node flags changed.
fn after_flags_change(raw: &mut RawCluster, before_active: &[u32], before_hosting: &[u32]) {
    let active = active_set(raw);
    raw.leader = active.first().copied();
    if active != before_active {
        raw.generation = raw.generation.wrapping_add(1).max(1);
    }
    let hosting = hosting_set(raw);
    let gained = hosting.iter().any(|p| !before_hosting.contains(p));
    reallocate(raw, gained);
}

fn hosting_set(raw: &RawCluster) -> Vec<u32> {
    raw.nodes.iter().filter(|n| n.flags.can_host_ips()).map(|n| n.pnn).collect()
}

/// Changes the flags of `pnn` with `f` and applies the consequences.
fn change_flags(raw: &mut RawCluster, pnn: u32, f: impl FnOnce(CtdbNodeFlags) -> CtdbNodeFlags) -> BackendResult<()> {
    let before_active = active_set(raw);
    let before_hosting = hosting_set(raw);
    let node = raw.nodes.iter_mut().find(|n| n.pnn == pnn).ok_or(BackendError::NodeNotFound(pnn))?;
    node.flags = f(node.flags);
    after_flags_change(raw, &before_active, &before_hosting);
    Ok(())
}

fn node_flags(raw: &RawCluster, pnn: u32) -> BackendResult<CtdbNodeFlags> {
    raw.nodes.iter().find(|n| n.pnn == pnn).map(|n| n.flags).ok_or(BackendError::NodeNotFound(pnn))
}

/// Checks that `pnn` can take `ip` (`ctdb moveip` preconditions).
fn check_target(raw: &RawCluster, pnn: u32, ip: &PublicIp) -> BackendResult<()> {
    let flags = node_flags(raw, pnn)?;
    if flags.intersects(CtdbNodeFlags::INACTIVE | CtdbNodeFlags::UNKNOWN) {
        return Err(BackendError::NodeDown(pnn));
    }
    if flags.intersects(CtdbNodeFlags::DISABLED) {
        return Err(BackendError::NodePaused(pnn));
    }
    if !can_host(raw, pnn, ip) {
        return Err(BackendError::InvalidState(format!("node {pnn} has no usable interface for {}", ip.addr)));
    }
    Ok(())
}

impl SimulatedCluster {
    /// Builds the cluster; loads the overlay from `state_file` when it exists.
    pub fn new(config: SimConfig) -> BackendResult<Self> {
        if config.nodes == 0 || config.nodes > 254 {
            return Err(BackendError::InvalidParameter(format!("{} nodes (1..=254)", config.nodes)));
        }
        if config.this_pnn >= config.nodes {
            return Err(BackendError::NodeNotFound(config.this_pnn));
        }
        if config.cluster_name.trim().is_empty() {
            return Err(BackendError::InvalidParameter("empty cluster name".into()));
        }
        let nodes: Vec<CtdbNodeInfo> = (0..config.nodes)
            .map(|pnn| CtdbNodeInfo {
                pnn,
                address: IpAddr::V4(Ipv4Addr::new(127, 0, 0, pnn as u8 + 1)),
                flags: CtdbNodeFlags::OK,
            })
            .collect();
        let interfaces = (0..config.nodes)
            .map(|pnn| (pnn, CtdbInterface { name: "lo".into(), link_up: true, references: 0 }))
            .collect();
        let public_ips = config
            .public_ips
            .iter()
            .enumerate()
            .map(|(i, &(addr, prefix_len))| PublicIp {
                addr,
                prefix_len,
                pnn: Some(i as u32 % config.nodes),
                interfaces: vec!["lo".into()],
            })
            .collect();
        let mut raw = RawCluster {
            cluster_name: config.cluster_name,
            this_pnn: config.this_pnn,
            leader: Some(0),
            generation: 1,
            recovery_mode_active: false,
            nodes,
            public_ips,
            interfaces,
            shares: config.shares,
            windows_version: config.windows_version,
            ..RawCluster::default()
        };
        reallocate(&mut raw, false);
        let overlay = match &config.state_file {
            Some(p) => load_overlay(p)?,
            None => Overlay::default(),
        };
        let registry_file = config.state_file.as_deref().map(registry_file);
        let registry = match &registry_file {
            Some(p) => load_registry(p)?,
            None => None,
        };
        let state = Arc::new(mapping::build(&raw, &overlay));
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        Ok(Self {
            inner: Mutex::new(Inner { raw, overlay }),
            current: RwLock::new(state),
            events,
            available: AtomicBool::new(true),
            state_file: config.state_file,
            registry: Mutex::new(registry),
            registry_file,
            listeners: Mutex::new(HashMap::new()),
        })
    }

    /// Applies `f` to copies of the raw state and overlay; on success persists
    /// a changed overlay, swaps in the rebuilt snapshot and publishes the diff.
    /// On error nothing changes.
    fn update<T>(
        &self,
        f: impl FnOnce(&mut RawCluster, &mut Overlay, &ClusterState) -> BackendResult<T>,
    ) -> BackendResult<T> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let old = self.snapshot();
        let mut raw = inner.raw.clone();
        let mut overlay = inner.overlay.clone();
        let out = f(&mut raw, &mut overlay, &old)?;
        if overlay != inner.overlay {
            if let Some(path) = &self.state_file {
                persist_overlay(path, &overlay)?;
            }
        }
        let new = Arc::new(mapping::build(&raw, &overlay));
        inner.raw = raw;
        inner.overlay = overlay;
        let evs = events::diff(&old, &new);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = new;
        drop(inner);
        for e in evs {
            tracing::debug!(event = ?e, "simulated cluster event");
            let _ = self.events.send(e);
        }
        Ok(out)
    }

    // ---- test hooks: external events ----

    /// Replaces the CTDB flags of `pnn` (as if changed outside clusapi, e.g.
    /// `ctdb disable -n`, a ban, or monitoring marking it unhealthy).
    pub fn set_node_flags(&self, pnn: u32, flags: CtdbNodeFlags) -> BackendResult<()> {
        self.update(|raw, _, _| change_flags(raw, pnn, |_| flags))
    }

    /// The node crashes: DISCONNECTED is set.
    pub fn kill_node(&self, pnn: u32) -> BackendResult<()> {
        self.update(|raw, _, _| change_flags(raw, pnn, |f| f | CtdbNodeFlags::DISCONNECTED))
    }

    /// The node restarts cleanly: all flags are cleared.
    pub fn revive_node(&self, pnn: u32) -> BackendResult<()> {
        self.update(|raw, _, _| change_flags(raw, pnn, |_| CtdbNodeFlags::OK))
    }

    /// Sets the link state of interface `iface` on `pnn`; IPs leave a
    /// link-down interface.
    pub fn set_interface_link(&self, pnn: u32, iface: &str, up: bool) -> BackendResult<()> {
        self.update(|raw, _, _| {
            let i = raw
                .interfaces
                .iter_mut()
                .find(|(p, i)| *p == pnn && i.name == iface)
                .ok_or_else(|| BackendError::InvalidParameter(format!("no interface {iface} on node {pnn}")))?;
            i.1.link_up = up;
            reallocate(raw, up);
            Ok(())
        })
    }

    /// Replaces the list of Samba shares.
    pub fn replace_shares(&self, shares: Vec<Share>) -> BackendResult<()> {
        self.update(|raw, _, _| {
            raw.shares = shares;
            Ok(())
        })
    }

    /// Simulates ctdbd becoming unreachable (`false`) or back (`true`);
    /// publishes `BackendUnavailable` / `BackendAvailable` on a change.
    pub fn set_available(&self, available: bool) {
        if self.available.swap(available, Ordering::SeqCst) != available {
            let e = if available { ClusterEvent::BackendAvailable } else { ClusterEvent::BackendUnavailable };
            let _ = self.events.send(e);
        }
    }

    /// A copy of the simulated CTDB state.
    pub fn raw(&self) -> RawCluster {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).raw.clone()
    }

    /// A copy of the admin overlay.
    pub fn overlay(&self) -> Overlay {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).overlay.clone()
    }

    fn check_available(&self) -> BackendResult<()> {
        if self.available() {
            Ok(())
        } else {
            Err(BackendError::Unavailable("simulated ctdbd is unreachable".into()))
        }
    }

    // ---- synchronous versions of the trait operations ----

    fn do_pause(&self, pnn: u32) -> BackendResult<()> {
        self.check_available()?;
        self.update(|raw, _, _| {
            let flags = node_flags(raw, pnn)?;
            if flags.intersects(CtdbNodeFlags::INACTIVE | CtdbNodeFlags::UNKNOWN) {
                return Err(BackendError::NodeDown(pnn));
            }
            change_flags(raw, pnn, |f| f | CtdbNodeFlags::PERMANENTLY_DISABLED)
        })
    }

    fn do_resume(&self, pnn: u32) -> BackendResult<()> {
        self.check_available()?;
        self.update(|raw, _, _| {
            if !node_flags(raw, pnn)?.contains(CtdbNodeFlags::PERMANENTLY_DISABLED) {
                return Err(BackendError::NodeNotPaused(pnn));
            }
            raw.clear_drain(pnn);
            change_flags(raw, pnn, |f| f.without(CtdbNodeFlags::PERMANENTLY_DISABLED))
        })
    }

    fn do_stop(&self, pnn: u32) -> BackendResult<()> {
        self.check_available()?;
        self.update(|raw, _, _| {
            if node_flags(raw, pnn)?.intersects(CtdbNodeFlags::DISCONNECTED | CtdbNodeFlags::UNKNOWN) {
                return Err(BackendError::NodeDown(pnn));
            }
            change_flags(raw, pnn, |f| f | CtdbNodeFlags::STOPPED)
        })
    }

    fn do_continue(&self, pnn: u32) -> BackendResult<()> {
        self.check_available()?;
        self.update(|raw, _, _| {
            if node_flags(raw, pnn)?.intersects(CtdbNodeFlags::DISCONNECTED | CtdbNodeFlags::UNKNOWN) {
                return Err(BackendError::NodeDown(pnn));
            }
            change_flags(raw, pnn, |f| f.without(CtdbNodeFlags::STOPPED))
        })
    }

    fn do_move_ip(&self, addr: IpAddr, to: u32) -> BackendResult<()> {
        self.check_available()?;
        self.update(|raw, _, _| {
            let i = raw
                .public_ips
                .iter()
                .position(|p| p.addr == addr)
                .ok_or_else(|| BackendError::ResourceNotFound(format!("public IP {addr}")))?;
            if raw.public_ips[i].pnn == Some(to) {
                node_flags(raw, to)?;
                return Ok(());
            }
            check_target(raw, to, &raw.public_ips[i])?;
            raw.public_ips[i].pnn = Some(to);
            reallocate(raw, false);
            Ok(())
        })
    }

    /// The Up node other than `except` with the fewest IPs that can take `addr`
    /// (any Up node when `addr` is `None`).
    fn best_other(&self, state: &ClusterState, except: Option<u32>, addr: Option<IpAddr>) -> BackendResult<u32> {
        let raw = self.raw();
        state
            .nodes
            .iter()
            .filter(|n| n.state == NodeState::Up && Some(n.pnn) != except)
            .filter(|n| match addr.and_then(|a| raw.public_ips.iter().find(|p| p.addr == a)) {
                Some(ip) => can_host(&raw, n.pnn, ip),
                None => true,
            })
            .min_by_key(|n| (state.ips_hosted_by(n.pnn).count(), n.pnn))
            .map(|n| n.pnn)
            .ok_or(BackendError::NoOtherNodeUp)
    }

    fn do_move_group(&self, group_id: &str, to: Option<u32>) -> BackendResult<u32> {
        self.check_available()?;
        let state = self.snapshot();
        let (g, addr, target) =
            group_to_move(&state, group_id, to, |owner, addr| self.best_other(&state, owner, addr))?;
        match addr {
            Some(a) => self.do_move_ip(a, target)?,
            None => {
                let gid = g.id.clone();
                self.update(|raw, overlay, state| {
                    let flags = node_flags(raw, target)?;
                    if flags.intersects(CtdbNodeFlags::INACTIVE | CtdbNodeFlags::UNKNOWN) {
                        return Err(BackendError::NodeDown(target));
                    }
                    if flags.intersects(CtdbNodeFlags::DISABLED) {
                        return Err(BackendError::NodePaused(target));
                    }
                    overlay.set_created_group_owner(state, &gid, target)
                })?;
            }
        }
        Ok(target)
    }
}

/// Wraps a synchronous result as the trait's boxed future.
fn ready<'a, T: Send + 'a>(r: BackendResult<T>) -> BoxFuture<'a, BackendResult<T>> {
    Box::pin(std::future::ready(r))
}

impl ClusterBackend for SimulatedCluster {
    fn snapshot(&self) -> Arc<ClusterState> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set_shares(&self, shares: Vec<Share>) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(std::future::ready(self.replace_shares(shares)))
    }

    /// Only this process's clusapid exists in a simulation: messages to this node (or to
    /// every node) are delivered to its own listeners.
    fn listen(&self, srvid: u64) -> BoxFuture<'_, BackendResult<mpsc::Receiver<PeerMessage>>> {
        let (tx, rx) = mpsc::channel(4096);
        self.listeners.lock().unwrap_or_else(PoisonError::into_inner).insert(srvid, tx);
        Box::pin(std::future::ready(Ok(rx)))
    }

    fn send(&self, to: Destination, srvid: u64, data: Vec<u8>) -> BoxFuture<'_, BackendResult<()>> {
        let me = self.snapshot().cluster.this_pnn;
        let r = match to {
            Destination::Node(p) if p != me => {
                Err(BackendError::Unsupported("messages to other nodes (no clusapid runs there in a simulation)"))
            }
            _ => {
                let tx = self.listeners.lock().unwrap_or_else(PoisonError::into_inner).get(&srvid).cloned();
                if let Some(tx) = tx {
                    let _ = tx.try_send(data);
                }
                Ok(())
            }
        };
        Box::pin(std::future::ready(r))
    }

    fn daemon_nodes(&self) -> Vec<u32> {
        vec![self.snapshot().cluster.this_pnn]
    }

    fn subscribe(&self) -> broadcast::Receiver<ClusterEvent> {
        self.events.subscribe()
    }

    fn available(&self) -> bool {
        self.available.load(Ordering::SeqCst)
    }

    fn pause_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
        ready(self.do_pause(pnn))
    }

    fn resume_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
        ready(self.do_resume(pnn))
    }

    fn begin_drain(&self, pnn: u32, target: Option<u32>) -> BackendResult<()> {
        self.check_available()?;
        self.update(|raw, _, _| raw.begin_drain(pnn, target))
    }

    fn end_drain(&self, pnn: u32, ok: bool) {
        let _ = self.update(|raw, _, _| {
            raw.end_drain(pnn, ok);
            Ok(())
        });
    }

    fn stop_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
        ready(self.do_stop(pnn))
    }

    fn continue_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
        ready(self.do_continue(pnn))
    }

    fn move_ip(&self, addr: IpAddr, to_pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
        ready(self.do_move_ip(addr, to_pnn))
    }

    fn move_group<'a>(&'a self, group_id: &'a str, to_pnn: Option<u32>) -> BoxFuture<'a, BackendResult<u32>> {
        ready(self.do_move_group(group_id, to_pnn))
    }

    fn edit_overlay<'a>(&'a self, mut edit: OverlayEdit<'a>) -> BoxFuture<'a, BackendResult<String>> {
        ready(self.check_available().and_then(|()| self.update(|_, overlay, state| edit(overlay, state))))
    }

    /// The blob in memory (loaded from [`registry_file`] at start); fails while the
    /// simulated ctdbd is unreachable, as a CTDB persistent-database read would.
    fn registry_blob(&self) -> BoxFuture<'_, BackendResult<Option<Vec<u8>>>> {
        ready(self.check_available().map(|()| self.registry.lock().unwrap_or_else(PoisonError::into_inner).clone()))
    }

    /// Persists crash-safely to [`registry_file`] first (when there is a state file), then
    /// replaces the in-memory copy; on error neither changes.
    fn store_registry_blob(&self, bytes: Vec<u8>) -> BoxFuture<'_, BackendResult<()>> {
        ready(self.check_available().and_then(|()| {
            let mut current = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(path) = &self.registry_file {
                persist_bytes(path, &bytes)?;
            }
            *current = Some(bytes);
            Ok(())
        }))
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod registry_tests;
