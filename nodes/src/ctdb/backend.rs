//! [`CtdbBackend`]: the [`ClusterBackend`] that drives a real ctdbd over its
//! Unix socket (the protocol smbd and the `ctdb` tool speak).
//!
//! # Reading state
//!
//! A monitor task, on a thread of its own with the connection's reader (see
//! [`CtdbBackend::connect`]), keeps one [`Connection`] open and builds a
//! [`RawCluster`] from:
//! * GET_NODEMAP (node addresses and flags as the *local* ctdbd sees them,
//!   so a peer whose ctdbd died shows DISCONNECTED as soon as the local
//!   daemon notices: at once for a closed TCP connection, after
//!   KeepaliveInterval × KeepaliveLimit for a hung peer), GET_RECMODE,
//!   GETVNNMAP (database generation), GET_PNN (this node);
//! * GET_PUBLIC_IPS from every connected node, merged like `ctdb ip all`:
//!   an address is hosted by the node that claims it, else by the active
//!   node the local daemon names (see [`merge_public_ips`]), else nowhere;
//! * GET_NODEMAP from every connected node too: each node's flags are taken
//!   from its own node map ([`merge_node_flags`]), so `ctdb disable -n 2`
//!   shows at once instead of after the leader's next monitoring pass;
//! * GET_IFACES per node and GET_PUBLIC_IP_INFO per address (interfaces), on
//!   every tenth poll and whenever placement or flags changed;
//! * the leader from the `CTDB_SRVID_LEADER` broadcast (GET_RECMASTER is
//!   obsolete since CTDB 4.17).
//!
//! It polls every 100 ms (three local controls plus GET_NODEMAP and
//! GET_PUBLIC_IPS per connected node, all pipelined; no process is spawned)
//! and additionally refreshes at once on the srvid
//! messages it registers for (RECONFIGURE, TAKE_IP, RELEASE_IP,
//! SET_NODE_FLAGS, leader changes). ctdbd sends TAKE_IP and RELEASE_IP to its
//! own node's clients only, so the clusapid that hears one relays it to the
//! others ([`ADDRESS_MOVED_SRVID`]). An address that moves is published on its
//! new node only once that node's TAKE_IP says the address is up there
//! ([`Arrivals`]; at most [`arrivals::TAKE_WAIT`] later), the moment it is
//! heard. Each new `RawCluster`
//! becomes a snapshot through [`mapping::build`]; [`events::diff`] against the
//! previous one yields the published events.
//!
//! CTDB's protocol carries no netmask for public IPs. The prefix length is
//! taken from a `public_addresses` file: `<dir>/public_addresses` when the
//! socket is `<dir>/run/<name>` (the layout of `CTDB_TEST_MODE` and of
//! `scripts/ctdb-local-cluster`), else `/etc/ctdb/public_addresses`; an
//! address missing there gets /24 (IPv4) or /64 (IPv6).
//!
//! # Losing ctdbd
//!
//! When the socket closes (or a poll control times out) `available()` turns
//! false, every node is marked with [`CtdbNodeFlags::UNKNOWN`] (state
//! Unknown), `BackendUnavailable` is published, and actions fail at once
//! with [`BackendError::Unavailable`]. The monitor reconnects with
//! [`Backoff`] (100 ms doubling to 5 s); after the first successful read it
//! publishes `BackendAvailable` and the fresh state.
//!
//! # Actions
//!
//! Node and IP actions do what the `ctdb` tool of CTDB 4.17 does and return
//! once the effect is visible in fresh reads (bounded by 15 s):
//! * `pause_node`: DISABLE_NODE to the node, wait for PERMANENTLY_DISABLED in
//!   the node map, ask the leader for a takeover run (TAKEOVER_RUN message,
//!   answered on a private srvid), wait until no public IP is on the node.
//! * `resume_node`: ENABLE_NODE, wait for the flag to clear, takeover run.
//! * `stop_node` / `continue_node`: STOP_NODE / CONTINUE_NODE, likewise.
//! * `move_ip`: like `ctdb moveip`: DISABLE_IP_CHECK broadcast (which turns
//!   the recovery daemons' takeover runs off for a while), RELEASE_IP
//!   (naming the new owner) to every other active node, TAKEOVER_IP on the
//!   target, wait until GET_PUBLIC_IPS shows the new host, then
//!   DISABLE_IP_CHECK with 0 seconds to turn takeover runs back on.
//! * `move_group`: per-IP groups and the Cluster Group move their address;
//!   created groups change their overlay owner (as the simulated backend).
//!
//! # The admin overlay and the registry blob
//!
//! Created groups and resources, renames, descriptions, private and admin
//! properties, dependencies, owners and state overrides live in an
//! [`Overlay`] shared with the simulated backend and validated by the same
//! code (every overlay action here is the simulated backend's, behind an
//! availability check). The overlay (TOML, record [`OVERLAY_KEY`]) and the
//! cluster-registry blob (record [`REGISTRY_KEY`]) live in the CTDB
//! persistent database `clusapid.tdb` ([`pdb`]), so every node's clusapid
//! serves the same admin objects and registry, and they survive a clusapid
//! restart and the loss of nodes:
//!
//! * A write is a read-modify-write transaction ([`pdb::commit`]): the
//!   change is computed from the latest committed overlay (or blob),
//!   committed with TRANS3_COMMIT, and retried from a fresh read when a
//!   concurrent writer on another node won. It returns once ctdbd confirmed
//!   the commit on every active node; only then does the local snapshot
//!   change. Without ctdbd it fails at once with `Unavailable`; a commit
//!   cut off by a lost connection is either stored on every node or on
//!   none, and the next read shows which.
//! * Changes by other nodes: every poll sends GET_DB_SEQNUM; when it or the
//!   vnn map generation (a recovery) changed, the database is re-read, the
//!   overlay swapped in (publishing the [`events::diff`]) and the blob
//!   replaced. After every commit the writer also broadcasts
//!   [`DB_CHANGED_SRVID`] to the other nodes' clusapid, which marks their
//!   copy stale and polls at once.
//! * Reads ([`ClusterBackend::registry_blob`], asked on every clusapi registry
//!   call) serve the copy in memory without asking ctdbd while it was
//!   confirmed current (by a probe: GET_DB_SEQNUM and the generation, the
//!   poll's or a read's own) less than [`CtdbConfig::read_cache`] ago and no
//!   change message arrived since; otherwise they probe first, as every read
//!   did before. So a read returns every write another node's clusapid
//!   committed before its change message arrived here (measured on a
//!   loopback cluster: well under a millisecond after the commit returned),
//!   and in any case every write committed more than `read_cache` (default
//!   [`READ_CACHE`], 200 ms) earlier, should the message be lost. Writes
//!   always start from a fresh probe (no update is lost).
//! * A stopped or banned node is left out of commits and recoveries until
//!   it is active again, so its copy is stale (and frozen): there reads and
//!   writes fail with `Unavailable`, and the database is opened once the
//!   node is active.
//! * The optional `state_file` and the blob file next to it
//!   ([`registry_file`]) are a local cache, rewritten whenever the stored
//!   values change, and the migration source: when the database has no
//!   overlay (or blob) record yet and the file exists, it is imported on
//!   connect.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, MissedTickBehavior};

use super::arrivals::{self, Arrivals};
use super::client::{
    decode_db_seqnum_reply, decode_ifaces_reply, decode_public_ips_reply, Backoff, ClientError, Connection,
};
use super::pdb::{self, CommitOutcome, DbSnapshot};
use super::protocol::{self, opcode, srvid, PublicIpEntry, ReplyControl, ReqControl, ReqMessage, CTDB_CURRENT_NODE};
use crate::backend::{
    group_to_move, poll_until, BackendError, BackendResult, BoxFuture, ClusterBackend, Destination, OverlayEdit,
    PeerMessage,
};
use crate::events::{self, ClusterEvent};
use crate::mapping;
use crate::model::{ClusterState, NodeState};
use crate::overlay::Overlay;
use crate::presentation::{Drain, NodeHostName, NodeNaming, WindowsVersion};
use crate::raw::{CtdbInterface, CtdbNodeFlags, CtdbNodeInfo, PublicIp, RawCluster, Share};
use crate::state_file::{load_overlay, load_registry, persist_bytes, persist_overlay, registry_file};

/// Capacity of the event channel; slow subscribers see `Lagged`.
const EVENT_CAPACITY: usize = 1024;
/// Poll period of the safety-net poll.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Every this many polls also interfaces are read.
const FULL_REFRESH_EVERY: u32 = 10;
/// Timeout of controls answered by the local daemon during polls.
const POLL_TIMEOUT_LOCAL: Duration = Duration::from_secs(2);
/// Timeout of controls forwarded to other nodes during polls.
const POLL_TIMEOUT_REMOTE: Duration = Duration::from_secs(1);
/// Upper bound for an action to take effect.
pub const ACTION_TIMEOUT: Duration = Duration::from_secs(15);
/// Pause between fresh reads while an action waits for its effect.
const WAIT_STEP: Duration = Duration::from_millis(50);
/// A takeover-run request is repeated this often until answered.
const TAKEOVER_RESEND: Duration = Duration::from_secs(2);
/// How long `move_ip` keeps the leader's takeover runs off at most
/// (seconds); it turns them back on as soon as it is done.
const IP_CHECK_OFF_SECS: u32 = 10;
/// How long `connect` waits for the first leader broadcast.
const LEADER_WAIT: Duration = Duration::from_millis(1500);
/// Prefix lengths used when no `public_addresses` entry gives one.
const DEFAULT_PREFIX_V4: u8 = 24;
const DEFAULT_PREFIX_V6: u8 = 64;

/// Record of the admin overlay (TOML) in the persistent database.
pub const OVERLAY_KEY: &[u8] = b"overlay";
/// Record of the cluster-registry blob in the persistent database.
pub const REGISTRY_KEY: &[u8] = b"registry";
/// Records `<prefix><pnn>` (decimal) of the persistent database hold the host names nodes
/// published ([`NodeHostName::encode`]).
pub const HOST_NAME_PREFIX: &[u8] = b"node-host-name/";
/// Upper bound for a write to the persistent database, retries included.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(20);

/// The srvid of the change messages between clusapids: a node that committed to the
/// persistent database broadcasts its pnn (u32, little-endian) on it, and the others mark
/// their copy stale (in ctdb's client range, with upper bits no pid-derived srvid has).
pub const DB_CHANGED_SRVID: u64 = 0xBE00_C1A5_A1D0_0002;
/// The srvid on which a clusapid relays ctdbd's RELEASE_IP and TAKE_IP to the other nodes'
/// clusapid (payload: [`arrivals::encode_relay`], which starts with its pnn, u32
/// little-endian, all that older versions sent). ctdbd sends those two only to the clients of
/// the node that released or took the address, once its event script is done; without the
/// relay the other nodes would see the move at their next poll (up to [`POLL_INTERVAL`]
/// later), and would hold a moved address back until [`arrivals::TAKE_WAIT`].
pub const ADDRESS_MOVED_SRVID: u64 = 0xBE00_C1A5_A1D0_0003;
/// How long a read may serve the persistent database's copy in memory after a probe found
/// it current ([`CtdbConfig::read_cache`]'s default; see the module doc).
pub const READ_CACHE: Duration = Duration::from_millis(200);

/// How many [`ClusterBackend::listen`] messages may wait per srvid.
const PEER_QUEUE: usize = 4096;

/// The srvids whose messages trigger an immediate refresh.
const NOTIFY_SRVIDS: [u64; 5] =
    [srvid::LEADER, srvid::RECONFIGURE, srvid::RELEASE_IP, srvid::TAKE_IP, srvid::SET_NODE_FLAGS];

/// How to reach ctdbd and what to serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtdbConfig {
    /// ctdbd's Unix socket (`ctdb-path socket ctdbd`; `/run/ctdb/ctdbd.socket`
    /// on a standard install).
    pub socket: PathBuf,
    /// NetBIOS name of the clustered Samba server.
    pub cluster_name: String,
    /// The clustered Samba's shares at start ([`ClusterBackend::set_shares`] replaces them).
    pub shares: Vec<Share>,
    /// Local cache of the admin overlay (TOML; the blob goes to
    /// [`registry_file`] next to it), and the source imported into the
    /// persistent database when that has no overlay yet. `None`: no cache.
    pub state_file: Option<PathBuf>,
    /// The Windows version the cluster presents.
    pub windows_version: WindowsVersion,
    /// How nodes are named.
    pub node_naming: NodeNaming,
    /// The host name and fully qualified name this node publishes for itself (record
    /// [`HOST_NAME_PREFIX`]`<pnn>`), so that with [`NodeNaming::Hostname`] every node's
    /// daemon names it so. `None`: nothing is published.
    pub host_name: Option<(String, String)>,
    /// How long registry reads serve the persistent database's copy in memory after it was
    /// last confirmed current (see the module doc); zero: every read asks ctdbd first.
    pub read_cache: Duration,
}

impl CtdbConfig {
    /// A config for `socket` with one share "share" and no state file.
    pub fn new(socket: impl Into<PathBuf>, cluster_name: impl Into<String>) -> Self {
        Self {
            socket: socket.into(),
            cluster_name: cluster_name.into(),
            shares: vec![Share::named("share")],
            state_file: None,
            windows_version: WindowsVersion::default(),
            node_naming: NodeNaming::default(),
            host_name: None,
            read_cache: READ_CACHE,
        }
    }
}

/// Maps a client failure onto the backend's errors: a lost or unusable
/// connection is `Unavailable`; a refused or unanswered control (a remote
/// node may be slow while the local daemon is fine) is `Ctdb`.
fn client_err(e: ClientError) -> BackendError {
    match e {
        ClientError::Connect(_) | ClientError::Disconnected | ClientError::Protocol(_) => {
            BackendError::Unavailable(e.to_string())
        }
        ClientError::Timeout { .. } | ClientError::NoAnswer(_) | ClientError::Status { .. } => {
            BackendError::Ctdb(e.to_string())
        }
    }
}

/// `public_addresses` files that may hold the prefix lengths, best first.
fn public_addresses_candidates(socket: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(base) = socket.parent().and_then(Path::parent) {
        if socket.parent().and_then(Path::file_name) == Some("run".as_ref()) {
            v.push(base.join("public_addresses"));
        }
    }
    v.push(PathBuf::from("/etc/ctdb/public_addresses"));
    v
}

/// Parses `public_addresses` lines ("ADDR/BITS IFACE[,IFACE...]", `#`
/// comments) into prefix lengths; malformed lines are skipped.
pub fn parse_public_addresses(text: &str) -> HashMap<IpAddr, u8> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(first) = line.split_whitespace().next() else {
            continue;
        };
        let Some((addr, bits)) = first.split_once('/') else {
            continue;
        };
        let (Ok(addr), Ok(bits)) = (addr.parse::<IpAddr>(), bits.parse::<u8>()) else {
            continue;
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if bits <= max {
            out.insert(addr, bits);
        }
    }
    out
}

fn read_prefixes(socket: &Path) -> HashMap<IpAddr, u8> {
    for p in public_addresses_candidates(socket) {
        // Bounded: a public_addresses file is a few lines.
        if let Ok(meta) = fs::metadata(&p) {
            if meta.len() > 1024 * 1024 {
                continue;
            }
        }
        if let Ok(text) = fs::read_to_string(&p) {
            return parse_public_addresses(&text);
        }
    }
    HashMap::new()
}

fn default_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        DEFAULT_PREFIX_V4
    } else {
        DEFAULT_PREFIX_V6
    }
}

fn ip_key(addr: &IpAddr) -> (u8, u128) {
    match addr {
        IpAddr::V4(a) => (4, u128::from(u32::from(*a))),
        IpAddr::V6(a) => (6, u128::from(*a)),
    }
}

/// Merges GET_PUBLIC_IPS answers of several nodes like `ctdb ip all`: an
/// address is hosted by the node claiming it (the answering node names
/// itself). An address nobody claims goes to the node the `local` daemon
/// names, if that node is in `active`: while an address moves, every daemon
/// learns the new owner (RELEASE_IP) just before the owner takes it
/// (TAKEOVER_IP), so a move shows as one step instead of old owner →
/// unassigned → new owner; an address of a dead node stays unassigned until
/// a takeover run gives it away. Sorted by address. (This is ctdbd's view;
/// [`Arrivals`] then shows a moving address on no node until its new owner has
/// taken it.)
pub fn merge_public_ips(
    answers: &[(u32, Vec<PublicIpEntry>)],
    local: u32,
    active: &[u32],
) -> Vec<(IpAddr, Option<u32>)> {
    let mut m: BTreeMap<(u8, u128), (IpAddr, Option<u32>)> = BTreeMap::new();
    for (node, entries) in answers {
        for e in entries {
            let Some(addr) = e.addr else { continue };
            let slot = m.entry(ip_key(&addr)).or_insert((addr, None));
            if e.pnn == *node {
                slot.1 = Some(*node);
            }
        }
    }
    if let Some((_, entries)) = answers.iter().find(|(n, _)| *n == local) {
        for e in entries {
            let Some(addr) = e.addr else { continue };
            if let Some(slot) = m.get_mut(&ip_key(&addr)) {
                if slot.1.is_none() && active.contains(&e.pnn) {
                    slot.1 = Some(e.pnn);
                }
            }
        }
    }
    m.into_values().collect()
}

/// The local node map with each answering node's own entry from its own
/// node map: a node is the authority on its flags (DISABLED, STOPPED,
/// BANNED, UNHEALTHY change there first), while DISCONNECTED is the local
/// daemon's view of the link and always comes from `local`.
pub fn merge_node_flags(
    local: &[protocol::NodeAndFlags],
    remote: &[(u32, Vec<protocol::NodeAndFlags>)],
) -> Vec<protocol::NodeAndFlags> {
    let disconnected = CtdbNodeFlags::DISCONNECTED.bits();
    local
        .iter()
        .map(|n| {
            let own = remote.iter().find(|(p, _)| *p == n.pnn).and_then(|(_, m)| m.iter().find(|e| e.pnn == n.pnn));
            match own {
                Some(e) if n.flags & disconnected == 0 => protocol::NodeAndFlags {
                    pnn: n.pnn,
                    flags: (e.flags & !disconnected) | (n.flags & disconnected),
                    addr: n.addr,
                },
                _ => n.clone(),
            }
        })
        .collect()
}

/// One consistent read of what changes often.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CtdbView {
    this_pnn: u32,
    nodes: Vec<CtdbNodeInfo>,
    generation: u32,
    recovery_active: bool,
    /// Sorted by address.
    ips: Vec<(IpAddr, Option<u32>)>,
}

impl CtdbView {
    /// Flags of `pnn`; deleted or absent nodes are `NodeNotFound`.
    fn flags(&self, pnn: u32) -> BackendResult<CtdbNodeFlags> {
        self.nodes
            .iter()
            .find(|n| n.pnn == pnn && !n.flags.contains(CtdbNodeFlags::DELETED))
            .map(|n| n.flags)
            .ok_or(BackendError::NodeNotFound(pnn))
    }

    /// Nodes that are connected and not banned, stopped or deleted.
    fn active_pnns(&self) -> Vec<u32> {
        self.nodes.iter().filter(|n| !n.flags.intersects(CtdbNodeFlags::INACTIVE)).map(|n| n.pnn).collect()
    }

    fn host(&self, addr: IpAddr) -> Option<Option<u32>> {
        self.ips.iter().find(|(a, _)| *a == addr).map(|(_, h)| *h)
    }

    fn hosts_any(&self, pnn: u32) -> bool {
        self.ips.iter().any(|(_, h)| *h == Some(pnn))
    }
}

/// Slowly changing details, refreshed on full reads and kept across
/// failures (a node that stops answering keeps its last known interfaces).
#[derive(Clone, Debug, Default)]
struct Details {
    ifaces: BTreeMap<u32, Vec<CtdbInterface>>,
    ip_ifaces: HashMap<IpAddr, Vec<String>>,
    prefixes: HashMap<IpAddr, u8>,
}

struct Inner {
    raw: RawCluster,
    overlay: Overlay,
}

/// State shared by the backend handle and its monitor task.
struct Shared {
    config: CtdbConfig,
    conn: RwLock<Option<Arc<Connection>>>,
    inner: Mutex<Inner>,
    current: RwLock<Arc<ClusterState>>,
    events: broadcast::Sender<ClusterEvent>,
    available: AtomicBool,
    leader: Mutex<Option<u32>>,
    details: Mutex<Details>,
    /// The cluster-registry blob (see [`ClusterBackend::registry_blob`]),
    /// as last read from the persistent database.
    registry: Mutex<Option<Vec<u8>>>,
    /// Local cache of the blob: [`registry_file`] of the state file.
    registry_file: Option<PathBuf>,
    /// The persistent database; held across a whole read-modify-commit.
    db: tokio::sync::Mutex<DbCache>,
    /// Serialises reads that end in a snapshot update.
    refresh_lock: tokio::sync::Mutex<()>,
    /// Set by another node's [`DB_CHANGED_SRVID`] message: the next read probes.
    db_stale: AtomicBool,
    /// Ids of the databases [`ClusterBackend::database_seqnum`] was asked about.
    watched_dbs: Mutex<HashMap<String, u32>>,
    /// [`ClusterBackend::listen`]ers by srvid (registered with ctdbd on every connection).
    listeners: Mutex<HashMap<u64, mpsc::Sender<PeerMessage>>>,
    /// The drains this daemon started ([`ClusterBackend::begin_drain`]).
    drains: Mutex<Vec<Drain>>,
    /// The host names nodes published, as last read from the persistent database.
    host_names: Mutex<Vec<NodeHostName>>,
    /// What [`ClusterBackend::stats`] reports.
    stats: Mutex<Freshness>,
    /// Moving addresses not yet taken by their new owner (module doc).
    arrivals: Mutex<Arrivals>,
}

/// Connects, reads and notification lag (see [`crate::BackendStats`]).
#[derive(Debug, Default)]
struct Freshness {
    connects: u64,
    refreshes: u64,
    last_refresh: Option<Instant>,
    events: u64,
    event_lag_sum_us: u64,
    last_event_lag: Option<Duration>,
}

/// Counters of the persistent-database transactions of one backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DbStats {
    /// Transactions stored (status 0 or found after a recovery).
    pub committed: u64,
    /// Of those, how many were confirmed only by reading back after a
    /// recovery ended the commit.
    pub committed_after_recovery: u64,
    /// Commits that lost against a concurrent transaction (or met a
    /// recovery) and were retried from a fresh read.
    pub conflicts: u64,
    /// Full reads (traverses) of the database.
    pub reads: u64,
    /// Probes (GET_DB_SEQNUM + GETVNNMAP) sent, by polls, reads and writes.
    pub probes: u64,
    /// Registry reads served from memory without a probe.
    pub cached_reads: u64,
}

/// What this backend knows of the persistent database.
#[derive(Debug, Default)]
struct DbCache {
    /// Id of `clusapid.tdb` (attached on every new connection; 0 before).
    db_id: u32,
    /// The database as last read or written.
    snap: DbSnapshot,
    /// (GET_DB_SEQNUM answer, vnn map generation) when `snap` was taken:
    /// while both are unchanged `snap` is current. `None`: unknown.
    probe: Option<(u64, u32)>,
    /// When a probe that found `snap` current (or made it so) was sent.
    checked_at: Option<Instant>,
    /// Why the stored overlay could not be decoded (overlay writes refuse
    /// to replace it).
    overlay_error: Option<String>,
    stats: DbStats,
}

/// Connection-time failures: a refused control is `Ctdb`, the rest
/// `Unavailable`.
fn open_err(e: ClientError) -> BackendError {
    match e {
        ClientError::Status { .. } | ClientError::NoAnswer(_) => client_err(e),
        e => BackendError::Unavailable(e.to_string()),
    }
}

/// A short random pause before retrying a lost commit race.
fn retry_pause(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    let jitter = h.finish() % 40;
    Duration::from_millis(10 + jitter + 20 * u64::from(attempt.min(10)))
}

/// A [`ClusterBackend`] backed by a real ctdbd.
pub struct CtdbBackend {
    shared: Arc<Shared>,
    /// Dropping it ends the monitor's thread ([`CtdbBackend::connect`]).
    _stop_monitor: tokio::sync::oneshot::Sender<()>,
}

impl std::fmt::Debug for CtdbBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CtdbBackend")
            .field("socket", &self.shared.config.socket)
            .field("available", &self.available())
            .finish_non_exhaustive()
    }
}

impl Drop for CtdbBackend {
    fn drop(&mut self) {
        if let Some(c) = self.shared.conn.write().unwrap_or_else(PoisonError::into_inner).take() {
            c.close();
        }
    }
}

impl Shared {
    fn snapshot(&self) -> Arc<ClusterState> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn available(&self) -> bool {
        self.available.load(Ordering::SeqCst)
    }

    fn unavailable_error(&self) -> BackendError {
        BackendError::Unavailable(format!("ctdbd at {} is unreachable", self.config.socket.display()))
    }

    /// The live connection, or `Unavailable` at once.
    fn conn(&self) -> BackendResult<Arc<Connection>> {
        let c = self.conn.read().unwrap_or_else(PoisonError::into_inner).clone();
        match c {
            Some(c) if !c.is_closed() && self.available() => Ok(c),
            _ => Err(self.unavailable_error()),
        }
    }

    fn check_available(&self) -> BackendResult<()> {
        self.conn().map(drop)
    }

    /// Swaps in the snapshot for (`raw`, `overlay`) and publishes the diff;
    /// call with `inner` locked (events keep their order).
    fn swap_in(&self, inner: &mut Inner, raw: RawCluster, overlay: Overlay) {
        let old = self.snapshot();
        let new = Arc::new(mapping::build(&raw, &overlay));
        inner.raw = raw;
        inner.overlay = overlay;
        let evs = events::diff(&old, &new);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = new;
        for e in evs {
            tracing::debug!(event = ?e, "ctdb cluster event");
            let _ = self.events.send(e);
        }
    }

    fn apply_raw(&self, mut raw: RawCluster) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        raw.shares = inner.raw.shares.clone();
        if inner.raw == raw {
            return;
        }
        let overlay = inner.overlay.clone();
        self.swap_in(&mut inner, raw, overlay);
    }

    /// Applies an overlay edit validated against the current snapshot, as
    /// a transaction on the latest stored overlay (see [`Self::db_update`]):
    /// `f` may run more than once when another node's write comes first.
    async fn overlay_op<T>(
        &self,
        mut f: impl FnMut(&mut Overlay, &ClusterState) -> BackendResult<T> + Send,
    ) -> BackendResult<T> {
        let conn = self.conn()?;
        self.db_update(&conn, |shared, cache| {
            if let Some(e) = &cache.overlay_error {
                return Err(BackendError::Storage(format!("the stored overlay is unreadable ({e}); not replacing it")));
            }
            let current = shared.inner.lock().unwrap_or_else(PoisonError::into_inner).overlay.clone();
            let state = shared.snapshot();
            let mut overlay = current.clone();
            let out = f(&mut overlay, &state)?;
            if overlay == current {
                return Ok((out, Vec::new()));
            }
            Ok((out, vec![(OVERLAY_KEY.to_vec(), overlay.to_toml()?.into_bytes())]))
        })
        .await
    }

    /// Runs one read-modify-write transaction on the persistent database
    /// with the database lock held (see [`Self::db_transaction`]), opening
    /// the database first if this connection has not yet.
    async fn db_update<T>(
        &self,
        conn: &Connection,
        f: impl FnMut(&Shared, &DbCache) -> BackendResult<(T, Vec<(Vec<u8>, Vec<u8>)>)> + Send,
    ) -> BackendResult<T> {
        let mut cache = self.db.lock().await;
        self.ensure_db(conn, &mut cache).await?;
        self.db_transaction(conn, &mut cache, f).await
    }

    /// The transaction loop: bring the snapshot up to date, let `f` compute
    /// its result and the (key, payload) records to store from it (and from
    /// the overlay / blob the snapshot was installed as), commit them, and
    /// start over from a fresh read when a concurrent transaction won. No
    /// records: nothing is written. Gives up after [`WRITE_TIMEOUT`].
    async fn db_transaction<T>(
        &self,
        conn: &Connection,
        cache: &mut DbCache,
        mut f: impl FnMut(&Shared, &DbCache) -> BackendResult<(T, Vec<(Vec<u8>, Vec<u8>)>)> + Send,
    ) -> BackendResult<T> {
        let deadline = Instant::now() + WRITE_TIMEOUT;
        let mut attempt: u32 = 0;
        loop {
            self.check_db_usable(conn)?;
            self.db_refresh(conn, cache, None).await.map_err(client_err)?;
            let (out, updates) = f(self, cache)?;
            if updates.is_empty() {
                return Ok(out);
            }
            let base = cache.snap.clone();
            let outcome = pdb::commit(conn, cache.db_id, &base, &updates, deadline).await.map_err(client_err)?;
            // What a won commit keeps of the seqnum probe: a recovery's copy needs a fresh one.
            let (snap, probe) = match outcome {
                CommitOutcome::Committed(snap) => {
                    let probe = cache.probe.map(|(_, generation)| (snap.seqnum, generation));
                    (snap, probe)
                }
                CommitOutcome::CommittedByRecovery(snap) => {
                    cache.stats.committed_after_recovery += 1;
                    cache.stats.reads += 1;
                    (snap, None)
                }
                CommitOutcome::Conflict(snap) => {
                    cache.stats.conflicts += 1;
                    cache.stats.reads += 1;
                    attempt += 1;
                    tracing::debug!(attempt, "persistent database commit lost a race; retrying");
                    self.install(cache, snap);
                    cache.probe = None;
                    if Instant::now() >= deadline {
                        return Err(BackendError::Ctdb(format!(
                            "no commit to {} after {attempt} attempts (concurrent writers)",
                            pdb::DB_NAME
                        )));
                    }
                    tokio::time::sleep(retry_pause(attempt)).await;
                    continue;
                }
            };
            cache.stats.committed += 1;
            self.install(cache, snap);
            cache.probe = probe;
            self.announce_commit(conn).await;
            return Ok(out);
        }
    }

    /// A stopped or banned node is left out of TRANS3_COMMIT and recoveries
    /// until it is active again: its copy of the database goes stale (and
    /// ctdbd keeps it frozen), and a transaction based on it could only lose
    /// (each loss costing a cluster recovery). Such a node neither reads nor
    /// writes the database (`Unavailable`).
    fn check_db_usable(&self, conn: &Connection) -> BackendResult<()> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let me = conn.pnn();
        // (flags marked UNKNOWN are those of a lost connection: not known)
        match inner.raw.nodes.iter().find(|n| n.pnn == me && !n.flags.contains(CtdbNodeFlags::UNKNOWN)) {
            Some(n) if n.flags.intersects(CtdbNodeFlags::STOPPED | CtdbNodeFlags::BANNED) => {
                Err(BackendError::Unavailable(format!(
                    "node {me} is {}; its copy of {} is not kept current until it is active again",
                    if n.flags.contains(CtdbNodeFlags::STOPPED) { "stopped" } else { "banned" },
                    pdb::DB_NAME
                )))
            }
            _ => Ok(()),
        }
    }

    /// Tells the other nodes' clusapid that the persistent database changed
    /// ([`DB_CHANGED_SRVID`]); best effort (their poll notices anyway).
    async fn announce_commit(&self, conn: &Connection) {
        let me = conn.pnn().to_le_bytes().to_vec();
        if let Err(e) = conn.send_message(protocol::CTDB_BROADCAST_CONNECTED, DB_CHANGED_SRVID, me).await {
            tracing::debug!(error = %e, "change message not sent");
        }
    }

    /// GET_DB_SEQNUM and the vnn map generation, pipelined.
    async fn db_probe(&self, conn: &Connection, db_id: u32) -> Result<(u64, u32), ClientError> {
        let sq = conn.start_db_seqnum(CTDB_CURRENT_NODE, db_id, POLL_TIMEOUT_LOCAL).await?;
        let vm = conn.start_control(ReqControl::new(CTDB_CURRENT_NODE, opcode::GETVNNMAP), POLL_TIMEOUT_LOCAL).await?;
        let seqnum = decode_db_seqnum_reply(&sq.wait_ok().await?)?;
        let generation = protocol::decode_vnn_map(&vm.wait_ok().await?.data).map_err(ClientError::Protocol)?.generation;
        Ok((seqnum, generation))
    }

    /// Makes `cache.snap` current: re-reads the database when `probe` (or
    /// a fresh one) differs from the snapshot's. True when it re-read.
    async fn db_refresh(
        &self,
        conn: &Connection,
        cache: &mut DbCache,
        probe: Option<(u64, u32)>,
    ) -> Result<bool, ClientError> {
        let asked = Instant::now();
        let probe = match probe {
            Some(p) => p,
            None => {
                cache.stats.probes += 1;
                self.db_probe(conn, cache.db_id).await?
            }
        };
        if cache.probe == Some(probe) {
            cache.checked_at = Some(asked);
            return Ok(false);
        }
        let snap = pdb::read(conn, cache.db_id).await?;
        cache.stats.reads += 1;
        self.install(cache, snap);
        cache.probe = Some(probe);
        cache.checked_at = Some(asked);
        Ok(true)
    }

    /// Takes `snap` as the database's content: the overlay (with events)
    /// and the blob follow it, and so do the local cache files (a missing
    /// record leaves its file alone: it may still be imported).
    fn install(&self, cache: &mut DbCache, snap: DbSnapshot) {
        let decoded = match snap.payload(OVERLAY_KEY) {
            None => Ok(Overlay::default()),
            Some(b) => std::str::from_utf8(b)
                .map_err(|e| BackendError::Storage(format!("overlay record is not UTF-8: {e}")))
                .and_then(Overlay::from_toml),
        };
        match decoded {
            Ok(overlay) => {
                cache.overlay_error = None;
                let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
                if overlay != inner.overlay {
                    if let (Some(path), Some(_)) = (&self.config.state_file, snap.payload(OVERLAY_KEY)) {
                        if let Err(e) = persist_overlay(path, &overlay) {
                            tracing::warn!(error = %e, "cannot update the local overlay cache");
                        }
                    }
                    let raw = inner.raw.clone();
                    self.swap_in(&mut inner, raw, overlay);
                }
            }
            Err(e) => {
                if cache.overlay_error.is_none() {
                    tracing::error!(error = %e, "stored overlay in {} is unreadable; keeping the last one", pdb::DB_NAME);
                }
                cache.overlay_error = Some(e.to_string());
            }
        }
        let mut hosts: Vec<NodeHostName> = snap
            .records
            .keys()
            .filter_map(|k| {
                let pnn = std::str::from_utf8(k.strip_prefix(HOST_NAME_PREFIX)?).ok()?.parse().ok()?;
                NodeHostName::decode(pnn, snap.payload(k)?)
            })
            .collect();
        hosts.sort_by_key(|h| h.pnn);
        let changed = {
            let mut current = self.host_names.lock().unwrap_or_else(PoisonError::into_inner);
            let changed = *current != hosts;
            *current = hosts.clone();
            changed
        };
        if changed {
            let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let mut raw = inner.raw.clone();
            raw.host_names = hosts;
            let overlay = inner.overlay.clone();
            self.swap_in(&mut inner, raw, overlay);
        }
        let blob = snap.payload(REGISTRY_KEY).map(<[u8]>::to_vec);
        {
            let mut current = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
            if *current != blob {
                if let (Some(path), Some(bytes)) = (&self.registry_file, &blob) {
                    if let Err(e) = persist_bytes(path, bytes) {
                        tracing::warn!(error = %e, "cannot update the local registry cache");
                    }
                }
                *current = blob;
            }
        }
        cache.snap = snap;
    }

    /// What the local cache files hold, as (key, payload) records to import
    /// into a database that lacks them. Unreadable files are skipped.
    fn migration_payloads(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut v = Vec::new();
        if let Some(path) = &self.config.state_file {
            match load_overlay(path).and_then(|o| Ok((o != Overlay::default()).then_some(o.to_toml()?))) {
                Ok(Some(text)) => v.push((OVERLAY_KEY.to_vec(), text.into_bytes())),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "ignoring the local overlay cache"),
            }
        }
        if let Some(path) = &self.registry_file {
            match load_registry(path) {
                Ok(Some(bytes)) => v.push((REGISTRY_KEY.to_vec(), bytes)),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "ignoring the local registry cache"),
            }
        }
        v
    }

    /// Opens the persistent database on the current connection unless done
    /// (`db_id` is 0 until then): attaches it, reads it, and imports the
    /// local cache files for records it does not have yet. A stopped or
    /// banned node waits until it is active again.
    async fn ensure_db(&self, conn: &Connection, cache: &mut DbCache) -> BackendResult<()> {
        if cache.db_id != 0 {
            return Ok(());
        }
        self.check_db_usable(conn)?;
        let imports = self.migration_payloads();
        let db_id = pdb::attach(conn).await.map_err(open_err)?;
        let publish = self.config.host_name.as_ref().map(|(host_name, fqdn)| {
            let me = NodeHostName { pnn: conn.pnn(), host_name: host_name.clone(), fqdn: fqdn.clone() };
            let mut key = HOST_NAME_PREFIX.to_vec();
            key.extend(me.pnn.to_string().bytes());
            (key, me.encode())
        });
        cache.db_id = db_id;
        cache.probe = None;
        let imported = self
            .db_transaction(conn, cache, |_, c| {
                let mut todo: Vec<_> = imports.iter().filter(|(k, _)| c.snap.payload(k).is_none()).cloned().collect();
                if let Some((k, v)) = &publish {
                    if c.snap.payload(k) != Some(&v[..]) {
                        tracing::info!(record = %String::from_utf8_lossy(k), "publishing this node's host name");
                        todo.push((k.clone(), v.clone()));
                    }
                }
                for (k, p) in &todo {
                    tracing::info!(
                        record = %String::from_utf8_lossy(k),
                        bytes = p.len(),
                        "importing the local cache into {}",
                        pdb::DB_NAME
                    );
                }
                Ok(((), todo))
            })
            .await;
        if imported.is_err() {
            cache.db_id = 0; // try again next time
        }
        imported
    }

    /// The poll's database check: one GET_DB_SEQNUM, and a re-read when it
    /// or the generation changed. Skipped while a write holds the database
    /// (it installs what it commits) and during recoveries.
    async fn poll_db(&self, conn: &Connection, view: &CtdbView) -> Result<(), ClientError> {
        if view.recovery_active {
            return Ok(());
        }
        let Ok(mut cache) = self.db.try_lock() else {
            return Ok(());
        };
        if cache.db_id == 0 {
            // not opened yet on this connection (the node was stopped or banned)
            if let Err(e) = self.ensure_db(conn, &mut cache).await {
                tracing::debug!(error = %e, "persistent database not opened yet");
            }
            return Ok(());
        }
        let asked = Instant::now();
        let r = async {
            cache.stats.probes += 1;
            let r = conn.start_db_seqnum(CTDB_CURRENT_NODE, cache.db_id, POLL_TIMEOUT_LOCAL).await?.wait_ok().await?;
            let seqnum = decode_db_seqnum_reply(&r)?;
            self.db_refresh(conn, &mut cache, Some((seqnum, view.generation))).await?;
            if cache.probe == Some((seqnum, view.generation)) {
                cache.checked_at = Some(asked);
            }
            Ok(())
        }
        .await;
        match r {
            Ok(()) => Ok(()),
            Err(ClientError::Disconnected) => Err(ClientError::Disconnected),
            Err(e) => {
                tracing::debug!(error = %e, "persistent database poll failed");
                Ok(())
            }
        }
    }

    /// ctdbd went away: unavailable, nodes Unknown, `BackendUnavailable`.
    fn mark_unavailable(&self, why: &str) {
        if let Some(c) = self.conn.write().unwrap_or_else(PoisonError::into_inner).take() {
            c.close();
        }
        if !self.available.swap(false, Ordering::SeqCst) {
            return;
        }
        tracing::warn!(socket = %self.config.socket.display(), %why, "ctdbd unavailable");
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = self.events.send(ClusterEvent::BackendUnavailable);
        let mut raw = inner.raw.clone();
        for n in &mut raw.nodes {
            n.flags |= CtdbNodeFlags::UNKNOWN;
        }
        let overlay = inner.overlay.clone();
        self.swap_in(&mut inner, raw, overlay);
    }

    /// A fresh node map, recovery mode, generation and merged public IPs.
    ///
    /// The node map is the local daemon's, with each connected node's flags
    /// replaced by what that node reports about itself (see
    /// [`merge_node_flags`]): a node changes its own flags at once, while
    /// the local daemon hears about it only from the leader's next
    /// monitoring pass (RecoverInterval, a second).
    async fn read_view(&self, conn: &Connection) -> Result<CtdbView, ClientError> {
        let nm =
            conn.start_control(ReqControl::new(CTDB_CURRENT_NODE, opcode::GET_NODEMAP), POLL_TIMEOUT_LOCAL).await?;
        let rm =
            conn.start_control(ReqControl::new(CTDB_CURRENT_NODE, opcode::GET_RECMODE), POLL_TIMEOUT_LOCAL).await?;
        let vm = conn.start_control(ReqControl::new(CTDB_CURRENT_NODE, opcode::GETVNNMAP), POLL_TIMEOUT_LOCAL).await?;
        let nm = nm.wait_ok().await?;
        let rm = rm.wait().await?;
        let vm = vm.wait_ok().await?;
        let local = protocol::decode_node_map(&nm.data).map_err(ClientError::Protocol)?;
        let generation = protocol::decode_vnn_map(&vm.data).map_err(ClientError::Protocol)?.generation;
        let this_pnn = conn.pnn();
        let connected: Vec<u32> = local
            .iter()
            .filter(|n| {
                n.pnn == this_pnn || n.flags & (CtdbNodeFlags::DISCONNECTED.bits() | CtdbNodeFlags::DELETED.bits()) == 0
            })
            .map(|n| n.pnn)
            .collect();

        // Pipelined: every connected node's own node map and public IPs.
        let mut maps = Vec::new();
        let mut ips = Vec::new();
        for &pnn in &connected {
            let (dest, t) = if pnn == this_pnn {
                (CTDB_CURRENT_NODE, POLL_TIMEOUT_LOCAL)
            } else {
                maps.push((
                    pnn,
                    conn.start_control(ReqControl::new(pnn, opcode::GET_NODEMAP), POLL_TIMEOUT_REMOTE).await?,
                ));
                (pnn, POLL_TIMEOUT_REMOTE)
            };
            ips.push((pnn, conn.start_public_ips(dest, false, t).await?));
        }
        let mut remote_maps = Vec::new();
        for (pnn, p) in maps {
            match p.wait_ok().await.and_then(|r| protocol::decode_node_map(&r.data).map_err(ClientError::Protocol)) {
                Ok(m) => remote_maps.push((pnn, m)),
                Err(ClientError::Disconnected) => return Err(ClientError::Disconnected),
                Err(e) => tracing::debug!(pnn, error = %e, "remote GET_NODEMAP failed"),
            }
        }
        let mut answers = Vec::new();
        for (pnn, p) in ips {
            match p.wait_ok().await.and_then(decode_public_ips_reply) {
                Ok(list) => answers.push((pnn, list)),
                Err(e) if pnn == this_pnn => return Err(e),
                Err(ClientError::Disconnected) => return Err(ClientError::Disconnected),
                Err(e) => tracing::debug!(pnn, error = %e, "GET_PUBLIC_IPS failed"),
            }
        }
        let nodes: Vec<CtdbNodeInfo> = merge_node_flags(&local, &remote_maps)
            .into_iter()
            .map(|n| CtdbNodeInfo {
                pnn: n.pnn,
                address: n.addr.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                flags: CtdbNodeFlags(n.flags),
            })
            .collect();
        let active: Vec<u32> =
            nodes.iter().filter(|n| !n.flags.intersects(CtdbNodeFlags::INACTIVE)).map(|n| n.pnn).collect();
        Ok(CtdbView {
            this_pnn,
            generation,
            recovery_active: rm.status == protocol::RECOVERY_ACTIVE,
            ips: merge_public_ips(&answers, this_pnn, &active),
            nodes,
        })
    }

    /// Nodes to ask about IPs and interfaces: the connected ones and this one.
    fn query_nodes(view: &CtdbView) -> Vec<u32> {
        let mut v: Vec<u32> = view
            .nodes
            .iter()
            .filter(|n| !n.flags.intersects(CtdbNodeFlags::DISCONNECTED | CtdbNodeFlags::DELETED))
            .map(|n| n.pnn)
            .collect();
        if !v.contains(&view.this_pnn) {
            v.push(view.this_pnn);
        }
        v
    }

    /// Interfaces of the nodes and of the public IPs (kept on failure).
    async fn read_details(&self, conn: &Connection, view: &CtdbView) -> Result<(), ClientError> {
        let mut pending = Vec::new();
        for pnn in Self::query_nodes(view) {
            let (dest, t) =
                if pnn == view.this_pnn { (CTDB_CURRENT_NODE, POLL_TIMEOUT_LOCAL) } else { (pnn, POLL_TIMEOUT_REMOTE) };
            pending.push((pnn, conn.start_ifaces(dest, t).await?));
        }
        let active = Self::query_nodes(view);
        let mut ip_pending = Vec::new();
        for &(addr, host) in &view.ips {
            let dest = match host {
                Some(h) if h != view.this_pnn && active.contains(&h) => h,
                _ => CTDB_CURRENT_NODE,
            };
            let mut req = ReqControl::new(dest, opcode::GET_PUBLIC_IP_INFO);
            let mut data = Vec::new();
            protocol::encode_sock_addr(addr, &mut data);
            req.data = data;
            let t = if dest == CTDB_CURRENT_NODE { POLL_TIMEOUT_LOCAL } else { POLL_TIMEOUT_REMOTE };
            ip_pending.push((addr, conn.start_control(req, t).await?));
        }
        let mut ifaces = Vec::new();
        for (pnn, p) in pending {
            match p.wait_ok().await.and_then(decode_ifaces_reply) {
                Ok(list) => ifaces.push((pnn, list)),
                Err(ClientError::Disconnected) => return Err(ClientError::Disconnected),
                Err(e) => tracing::debug!(pnn, error = %e, "GET_IFACES failed"),
            }
        }
        let mut ip_ifaces = Vec::new();
        for (addr, p) in ip_pending {
            let r: Result<ReplyControl, ClientError> = p.wait_ok().await;
            match r.and_then(|r| protocol::decode_public_ip_info(&r.data).map_err(ClientError::Protocol)) {
                Ok(info) => ip_ifaces.push((addr, info.ifaces)),
                Err(ClientError::Disconnected) => return Err(ClientError::Disconnected),
                Err(e) => tracing::debug!(%addr, error = %e, "GET_PUBLIC_IP_INFO failed"),
            }
        }
        let prefixes = read_prefixes(&self.config.socket);
        let mut d = self.details.lock().unwrap_or_else(PoisonError::into_inner);
        for (pnn, list) in ifaces {
            d.ifaces.insert(
                pnn,
                list.into_iter()
                    .map(|i| CtdbInterface { name: i.name, link_up: i.link_up, references: i.references })
                    .collect(),
            );
        }
        for (addr, list) in ip_ifaces {
            d.ip_ifaces.insert(addr, list.into_iter().map(|i| i.name).collect());
        }
        d.prefixes = prefixes;
        // Forget nodes and addresses ctdbd no longer reports (bounded by
        // the current node map and IP list).
        d.ifaces.retain(|pnn, _| view.nodes.iter().any(|n| n.pnn == *pnn));
        d.ip_ifaces.retain(|a, _| view.ips.iter().any(|(b, _)| b == a));
        Ok(())
    }

    /// Whether the details lack something the view needs.
    fn details_incomplete(&self, view: &CtdbView) -> bool {
        let d = self.details.lock().unwrap_or_else(PoisonError::into_inner);
        view.ips.iter().any(|(a, _)| !d.ip_ifaces.contains_key(a))
            || Self::query_nodes(view).iter().any(|p| !d.ifaces.contains_key(p))
    }

    fn build_raw(&self, view: &CtdbView) -> RawCluster {
        let d = self.details.lock().unwrap_or_else(PoisonError::into_inner);
        let leader = *self.leader.lock().unwrap_or_else(PoisonError::into_inner);
        let leader =
            leader.filter(|l| view.nodes.iter().any(|n| n.pnn == *l && !n.flags.intersects(CtdbNodeFlags::INACTIVE)));
        let public_ips = view
            .ips
            .iter()
            .map(|&(addr, pnn)| PublicIp {
                addr,
                prefix_len: d.prefixes.get(&addr).copied().unwrap_or_else(|| default_prefix(addr)),
                pnn,
                interfaces: d.ip_ifaces.get(&addr).cloned().unwrap_or_default(),
            })
            .collect();
        let interfaces = view
            .nodes
            .iter()
            .filter_map(|n| d.ifaces.get(&n.pnn).map(|l| (n.pnn, l)))
            .flat_map(|(pnn, l)| l.iter().map(move |i| (pnn, i.clone())))
            .collect();
        RawCluster {
            cluster_name: self.config.cluster_name.clone(),
            this_pnn: view.this_pnn,
            leader,
            generation: view.generation,
            recovery_mode_active: view.recovery_active,
            nodes: view.nodes.clone(),
            public_ips,
            interfaces,
            // not ctdbd's to say: kept from the current model under the lock ([`Self::apply_raw`])
            shares: Vec::new(),
            windows_version: self.config.windows_version,
            node_naming: self.config.node_naming,
            host_names: self.host_names.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            drains: self.drains.lock().unwrap_or_else(PoisonError::into_inner).clone(),
        }
    }

    /// Applies `f` to the drains and publishes the snapshot that shows them.
    fn update_drains<T>(&self, f: impl FnOnce(&mut crate::raw::RawCluster) -> BackendResult<T>) -> BackendResult<T> {
        let mut drains = self.drains.lock().unwrap_or_else(PoisonError::into_inner);
        let mut raw = self.inner.lock().unwrap_or_else(PoisonError::into_inner).raw.clone();
        raw.drains = drains.clone();
        let out = f(&mut raw)?;
        drains.clone_from(&raw.drains);
        drop(drains);
        self.apply_raw(raw);
        Ok(out)
    }

    /// Reads ctdbd and applies the result. `full` also reads interfaces;
    /// they are read anyway when the view changed or details are missing.
    async fn refresh(&self, conn: &Connection, full: bool) -> Result<(), ClientError> {
        let _guard = self.refresh_lock.lock().await;
        let mut view = self.read_view(conn).await?;
        view.ips =
            self.arrivals.lock().unwrap_or_else(PoisonError::into_inner).publish(&view.ips, std::time::Instant::now());
        let changed = {
            let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let r = &inner.raw;
            r.nodes != view.nodes
                || r.public_ips.len() != view.ips.len()
                || r.public_ips.iter().zip(&view.ips).any(|(p, (a, h))| p.addr != *a || p.pnn != *h)
        };
        if full || changed || self.details_incomplete(&view) {
            self.read_details(conn, &view).await?;
        }
        let raw = self.build_raw(&view);
        self.apply_raw(raw);
        {
            let mut f = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
            f.refreshes += 1;
            f.last_refresh = Some(Instant::now());
        }
        self.poll_db(conn, &view).await
    }

    /// Records the lag of a notification that arrived at `at` and is now reflected.
    fn note_event(&self, at: Instant) {
        let lag = at.elapsed();
        let mut f = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        f.events += 1;
        f.event_lag_sum_us = f.event_lag_sum_us.saturating_add(u64::try_from(lag.as_micros()).unwrap_or(u64::MAX));
        f.last_event_lag = Some(lag);
    }

    fn stats(&self) -> crate::BackendStats {
        let f = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        crate::BackendStats {
            connects: f.connects,
            refreshes: f.refreshes,
            since_refresh: f.last_refresh.map(|t| t.elapsed()),
            events: f.events,
            event_lag_sum_us: f.event_lag_sum_us,
            last_event_lag: f.last_event_lag,
        }
    }

    /// After an action: bring the snapshot up to date (best effort).
    async fn refresh_after_action(&self, conn: &Connection) {
        if let Err(e) = self.refresh(conn, true).await {
            tracing::debug!(error = %e, "refresh after action failed");
        }
    }

    fn handle_message(&self, m: &ReqMessage) -> bool {
        let listener = self.listeners.lock().unwrap_or_else(PoisonError::into_inner).get(&m.srvid).cloned();
        if let Some(tx) = listener {
            if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(m.data.clone()) {
                tracing::warn!(srvid = format_args!("{:#x}", m.srvid), "message queue full: message dropped");
            }
            return false;
        }
        let me = || self.conn.read().unwrap_or_else(PoisonError::into_inner).as_ref().map(|c| c.pnn());
        if m.srvid == DB_CHANGED_SRVID {
            if protocol::decode_u32(&m.data).ok() == me() {
                return false; // our own broadcast
            }
            self.db_stale.store(true, Ordering::SeqCst);
            return true; // poll now (after a commit the overlay may have changed too)
        }
        if m.srvid == ADDRESS_MOVED_SRVID {
            let Some(relay) = arrivals::decode_relay(&m.data) else {
                return true;
            };
            if Some(relay.pnn) == me() {
                return false; // our own broadcast
            }
            if let Some((addr, took)) = relay.moved {
                self.note_address_move(addr, relay.pnn, took);
            }
            return true;
        }
        if m.srvid == srvid::TAKE_IP || m.srvid == srvid::RELEASE_IP {
            if let (Some(addr), Some(pnn)) = (arrivals::address_of(&m.data), me()) {
                self.note_address_move(addr, pnn, m.srvid == srvid::TAKE_IP);
            }
        }
        if m.srvid == srvid::LEADER {
            let Ok(pnn) = protocol::decode_u32(&m.data) else {
                return false;
            };
            let mut l = self.leader.lock().unwrap_or_else(PoisonError::into_inner);
            let changed = *l != Some(pnn);
            *l = Some(pnn);
            changed
        } else {
            tracing::debug!(
                srvid = format_args!("{:#x}", m.srvid),
                text = %protocol::decode_text(&m.data),
                "ctdb notification"
            );
            true
        }
    }

    /// `pnn` took (`took`) or released `addr` ([`Arrivals`]). An address held back for `pnn`
    /// is published there at once, from the last read; the refresh that follows the message
    /// confirms it (or brings what else changed).
    fn note_address_move(&self, addr: IpAddr, pnn: u32, took: bool) {
        let arrived = {
            let mut a = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
            if took {
                a.took(addr, pnn)
            } else {
                a.released(addr, pnn);
                false
            }
        };
        if !arrived {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(k) = inner.raw.public_ips.iter().position(|p| p.addr == addr && p.pnn != Some(pnn)) else {
            return; // already shown there
        };
        let mut raw = inner.raw.clone();
        raw.public_ips[k].pnn = Some(pnn);
        let overlay = inner.overlay.clone();
        self.swap_in(&mut inner, raw, overlay);
    }

    /// Connects, reads everything once and opens the persistent database.
    async fn open(&self) -> BackendResult<(Arc<Connection>, mpsc::Receiver<ReqMessage>)> {
        let mut srvids = NOTIFY_SRVIDS.to_vec();
        srvids.extend([DB_CHANGED_SRVID, ADDRESS_MOVED_SRVID]);
        srvids.extend(self.listeners.lock().unwrap_or_else(PoisonError::into_inner).keys());
        let (conn, mut rx) = Connection::connect(&self.config.socket, &srvids).await.map_err(open_err)?;
        self.stats.lock().unwrap_or_else(PoisonError::into_inner).connects += 1;
        // The leader announces itself about once a second; wait for it
        // (bounded) unless one is known from an earlier connection.
        let known = self.leader.lock().unwrap_or_else(PoisonError::into_inner).is_some();
        if !known {
            let deadline = Instant::now() + LEADER_WAIT;
            while let Ok(Some(m)) = tokio::time::timeout_at(deadline, rx.recv()).await {
                self.handle_message(&m);
                if m.srvid == srvid::LEADER {
                    break;
                }
            }
        }
        let view = self.read_view(&conn).await.map_err(open_err)?;
        self.read_details(&conn, &view).await.map_err(open_err)?;
        // The database is opened on every new connection (ctdbd may have
        // restarted); a stopped or banned node opens it once active.
        let mut cache = self.db.lock().await;
        cache.db_id = 0;
        cache.probe = None;
        cache.checked_at = None;
        let inactive = view
            .nodes
            .iter()
            .any(|n| n.pnn == view.this_pnn && n.flags.intersects(CtdbNodeFlags::STOPPED | CtdbNodeFlags::BANNED));
        if !inactive {
            self.ensure_db(&conn, &mut cache).await?;
        }
        drop(cache);
        Ok((conn, rx))
    }

    /// Marks the backend available again (publishes `BackendAvailable`).
    fn mark_available(&self, conn: Arc<Connection>) {
        *self.conn.write().unwrap_or_else(PoisonError::into_inner) = Some(conn);
        if !self.available.swap(true, Ordering::SeqCst) {
            tracing::info!(socket = %self.config.socket.display(), "ctdbd available");
            let _inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = self.events.send(ClusterEvent::BackendAvailable);
        }
    }
}

/// Tells the other nodes' clusapid that this node released or took an address (`m`, ctdbd's
/// RELEASE_IP or TAKE_IP; [`ADDRESS_MOVED_SRVID`]); best effort (their poll notices anyway,
/// and a held address is published at [`arrivals::TAKE_WAIT`]).
async fn relay_address_move(conn: &Connection, m: &ReqMessage) {
    let payload = match arrivals::address_of(&m.data) {
        Some(addr) => arrivals::encode_relay(conn.pnn(), m.srvid == srvid::TAKE_IP, addr),
        None => conn.pnn().to_le_bytes().to_vec(),
    };
    if let Err(e) = conn.send_message(protocol::CTDB_BROADCAST_CONNECTED, ADDRESS_MOVED_SRVID, payload).await {
        tracing::debug!(error = %e, "address move not relayed");
    }
}

/// The monitor: polls, follows messages, reconnects.
async fn monitor(shared: Arc<Shared>, mut first: Option<(Arc<Connection>, mpsc::Receiver<ReqMessage>)>) {
    let mut backoff = Backoff::new();
    loop {
        let (conn, mut msgs) = match first.take() {
            Some(c) => c,
            None => match shared.open().await {
                Ok(c) => c,
                Err(e) => {
                    shared.mark_unavailable(&e.to_string());
                    let d = backoff.next_delay();
                    tracing::debug!(error = %e, delay_ms = d.as_millis() as u64, "ctdbd reconnect failed");
                    tokio::time::sleep(d).await;
                    continue;
                }
            },
        };
        shared.mark_available(conn.clone());
        if let Err(e) = shared.refresh(&conn, true).await {
            shared.mark_unavailable(&e.to_string());
            tokio::time::sleep(backoff.next_delay()).await;
            continue;
        }
        backoff.reset();
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut polls: u32 = 0;
        let why = loop {
            // (refresh needed, when the notification that asks for it arrived)
            let (urgent, notified) = tokio::select! {
                m = msgs.recv() => match m {
                    Some(m) => {
                        let at = Instant::now();
                        if m.srvid == srvid::RELEASE_IP || m.srvid == srvid::TAKE_IP {
                            relay_address_move(&conn, &m).await;
                        }
                        (shared.handle_message(&m), Some(at))
                    }
                    None => break conn.close_reason().unwrap_or_else(|| "connection closed".into()),
                },
                _ = tick.tick() => (true, None),
            };
            if !urgent {
                continue;
            }
            polls = polls.wrapping_add(1);
            match shared.refresh(&conn, polls % FULL_REFRESH_EVERY == 0).await {
                Ok(()) => {
                    if let Some(at) = notified {
                        shared.note_event(at);
                    }
                }
                Err(e) if e.is_connection_error() => break e.to_string(),
                Err(e) => tracing::debug!(error = %e, "ctdb poll failed"),
            }
        };
        shared.mark_unavailable(&why);
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

impl CtdbBackend {
    /// Connects to ctdbd, reads the cluster, opens the persistent database
    /// (importing `state_file` and its blob file when it has no overlay or
    /// blob yet) and starts monitoring. Fails with `Unavailable` if ctdbd
    /// cannot be reached now.
    ///
    /// The monitor and the connection's reader run on a thread of their own
    /// (a single-threaded runtime), not on the caller's runtime: there they
    /// would wait in the run queue behind every task woken before them, and
    /// during a witness fan-out to thousands of clients that delayed the
    /// TAKE_IP relayed by another node (and the refresh it triggers, several
    /// round trips to ctdbd) by 70-120 ms. Actions still run on the caller's
    /// tasks; ctdbd's answers reach them from the monitor's thread.
    pub async fn connect(config: CtdbConfig) -> BackendResult<Arc<CtdbBackend>> {
        if config.cluster_name.trim().is_empty() {
            return Err(BackendError::InvalidParameter("empty cluster name".into()));
        }
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let unavailable = |e: &dyn std::fmt::Display| BackendError::Unavailable(format!("ctdb monitor thread: {e}"));
        std::thread::Builder::new()
            .name("ctdb-monitor".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(unavailable(&e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    let (shared, first) = match Shared::start(config).await {
                        Ok(v) => v,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    if ready_tx.send(Ok(shared.clone())).is_err() {
                        return;
                    }
                    // until the backend is dropped (stop_tx with it)
                    tokio::select! {
                        () = monitor(shared, Some(first)) => {}
                        _ = stop_rx => {}
                    }
                });
            })
            .map_err(|e| unavailable(&e))?;
        let shared = ready_rx.await.map_err(|e| unavailable(&e))??;
        Ok(Arc::new(CtdbBackend { shared, _stop_monitor: stop_tx }))
    }
}

impl Shared {
    /// [`CtdbBackend::connect`]'s work on the monitor's thread: the state before the first
    /// change, and the open connection the monitor starts from.
    async fn start(config: CtdbConfig) -> BackendResult<(Arc<Shared>, (Arc<Connection>, mpsc::Receiver<ReqMessage>))> {
        let overlay = Overlay::default();
        let registry_file = config.state_file.as_deref().map(registry_file);
        let raw = RawCluster {
            cluster_name: config.cluster_name.clone(),
            shares: config.shares.clone(),
            windows_version: config.windows_version,
            node_naming: config.node_naming,
            ..RawCluster::default()
        };
        let state = Arc::new(mapping::build(&raw, &overlay));
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let shared = Arc::new(Shared {
            config,
            conn: RwLock::new(None),
            inner: Mutex::new(Inner { raw, overlay }),
            current: RwLock::new(state),
            events,
            available: AtomicBool::new(false),
            leader: Mutex::new(None),
            details: Mutex::new(Details::default()),
            registry: Mutex::new(None),
            registry_file,
            db: tokio::sync::Mutex::new(DbCache::default()),
            refresh_lock: tokio::sync::Mutex::new(()),
            db_stale: AtomicBool::new(false),
            watched_dbs: Mutex::new(HashMap::new()),
            listeners: Mutex::new(HashMap::new()),
            drains: Mutex::new(Vec::new()),
            host_names: Mutex::new(Vec::new()),
            stats: Mutex::new(Freshness::default()),
            arrivals: Mutex::new(Arrivals::default()),
        });
        let (conn, rx) = shared.open().await?;
        // Silent start: the first snapshot is not a change.
        {
            let view = shared.read_view(&conn).await.map_err(client_err)?;
            let mut raw = shared.build_raw(&view);
            let mut inner = shared.inner.lock().unwrap_or_else(PoisonError::into_inner);
            raw.shares = inner.raw.shares.clone();
            let s = Arc::new(mapping::build(&raw, &inner.overlay));
            inner.raw = raw;
            *shared.current.write().unwrap_or_else(PoisonError::into_inner) = s;
        }
        *shared.conn.write().unwrap_or_else(PoisonError::into_inner) = Some(conn.clone());
        shared.available.store(true, Ordering::SeqCst);
        Ok((shared, (conn, rx)))
    }
}

impl CtdbBackend {
    pub fn config(&self) -> &CtdbConfig {
        &self.shared.config
    }

    /// The CTDB state behind the current snapshot.
    pub fn raw(&self) -> RawCluster {
        self.shared.inner.lock().unwrap_or_else(PoisonError::into_inner).raw.clone()
    }

    /// A copy of the admin overlay.
    pub fn overlay(&self) -> Overlay {
        self.shared.inner.lock().unwrap_or_else(PoisonError::into_inner).overlay.clone()
    }

    /// Read-modify-write of the cluster-registry blob as one transaction:
    /// `f` gets the latest stored bytes (`None`: nothing stored) and returns
    /// the new ones. When another node's write commits first, `f` runs again
    /// on that result, so no concurrent update is lost. Returns the bytes
    /// stored. (A [`ClusterBackend::store_registry_blob`] after a separate
    /// read cannot give that guarantee across nodes.)
    pub async fn update_registry_blob(
        &self,
        mut f: impl FnMut(Option<&[u8]>) -> BackendResult<Vec<u8>> + Send,
    ) -> BackendResult<Vec<u8>> {
        let conn = self.shared.conn()?;
        self.shared
            .db_update(&conn, |_, cache| {
                let current = cache.snap.payload(REGISTRY_KEY);
                let new = f(current)?;
                let updates =
                    if current == Some(&new[..]) { Vec::new() } else { vec![(REGISTRY_KEY.to_vec(), new.clone())] };
                Ok((new, updates))
            })
            .await
    }

    /// Counters of this backend's persistent-database transactions.
    pub async fn db_stats(&self) -> DbStats {
        self.shared.db.lock().await.stats
    }

    /// The persistent database as this backend last read or wrote it.
    pub async fn stored_records(&self) -> DbSnapshot {
        self.shared.db.lock().await.snap.clone()
    }

    /// Reads ctdbd now and updates the snapshot (the monitor does this every
    /// [`POLL_INTERVAL`] anyway).
    pub async fn refresh(&self) -> BackendResult<()> {
        let conn = self.shared.conn()?;
        self.shared.refresh(&conn, true).await.map_err(client_err)
    }

    async fn view(&self, conn: &Connection) -> BackendResult<CtdbView> {
        self.shared.read_view(conn).await.map_err(client_err)
    }

    /// Fresh reads until `pred` holds; `Ctdb` error after `timeout`.
    async fn wait_view(
        &self,
        conn: &Connection,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&CtdbView) -> bool,
    ) -> BackendResult<CtdbView> {
        let seen = poll_until(timeout, WAIT_STEP, || self.view(conn), pred).await?;
        seen.ok_or_else(|| BackendError::Ctdb(format!("timed out waiting for {what}")))
    }

    /// `ctdb ipreallocate`: a failure is logged, not fatal (the leader also
    /// runs takeovers on its own after flag changes); a lost connection is.
    async fn ipreallocate(&self, conn: &Connection) -> BackendResult<()> {
        match conn.takeover_run(TAKEOVER_RESEND, ACTION_TIMEOUT / 2).await {
            Ok(s) if s >= 0 => Ok(()),
            Ok(s) => {
                tracing::warn!(status = s, "takeover run failed");
                Ok(())
            }
            Err(ClientError::Disconnected) => Err(client_err(ClientError::Disconnected)),
            Err(e) => {
                tracing::warn!(error = %e, "takeover run request failed");
                Ok(())
            }
        }
    }

    /// Sends a node control and waits for `flag` to become `set` on `pnn`,
    /// then has the IPs reallocated.
    async fn flag_action(
        &self,
        conn: &Connection,
        pnn: u32,
        op: u32,
        flag: CtdbNodeFlags,
        set: bool,
        what: &str,
    ) -> BackendResult<()> {
        conn.simple_control(pnn, op).await.map_err(client_err)?;
        self.wait_view(conn, what, ACTION_TIMEOUT, |v| v.flags(pnn).map(|f| f.contains(flag) == set).unwrap_or(false))
            .await?;
        self.ipreallocate(conn).await
    }

    async fn wait_ips_gone(&self, conn: &Connection, pnn: u32) -> BackendResult<()> {
        self.wait_view(conn, &format!("public IPs to leave node {pnn}"), ACTION_TIMEOUT, |v| !v.hosts_any(pnn))
            .await
            .map(drop)
    }

    /// Pause and stop: refuses a node with any of `down` (or UNKNOWN) set; unless `flag` is
    /// set already, sends `op` and waits for it; then waits until no public IP is left on it.
    async fn take_out(
        &self,
        pnn: u32,
        down: CtdbNodeFlags,
        op: u32,
        flag: CtdbNodeFlags,
        what: &str,
    ) -> BackendResult<()> {
        let conn = self.shared.conn()?;
        let flags = self.view(&conn).await?.flags(pnn)?;
        if flags.intersects(down | CtdbNodeFlags::UNKNOWN) {
            return Err(BackendError::NodeDown(pnn));
        }
        if !flags.contains(flag) {
            self.flag_action(&conn, pnn, op, flag, true, what).await?;
        }
        self.wait_ips_gone(&conn, pnn).await?;
        self.shared.refresh_after_action(&conn).await;
        Ok(())
    }

    async fn do_pause(&self, pnn: u32) -> BackendResult<()> {
        let what = format!("node {pnn} to be disabled");
        self.take_out(pnn, CtdbNodeFlags::INACTIVE, opcode::DISABLE_NODE, CtdbNodeFlags::PERMANENTLY_DISABLED, &what)
            .await
    }

    async fn do_resume(&self, pnn: u32) -> BackendResult<()> {
        let conn = self.shared.conn()?;
        let flags = self.view(&conn).await?.flags(pnn)?;
        if !flags.contains(CtdbNodeFlags::PERMANENTLY_DISABLED) {
            return Err(BackendError::NodeNotPaused(pnn));
        }
        if flags.intersects(CtdbNodeFlags::DISCONNECTED | CtdbNodeFlags::UNKNOWN) {
            return Err(BackendError::NodeDown(pnn));
        }
        self.flag_action(
            &conn,
            pnn,
            opcode::ENABLE_NODE,
            CtdbNodeFlags::PERMANENTLY_DISABLED,
            false,
            &format!("node {pnn} to be enabled"),
        )
        .await?;
        let _ = self.shared.update_drains(|raw| {
            raw.clear_drain(pnn);
            Ok(())
        });
        self.shared.refresh_after_action(&conn).await;
        Ok(())
    }

    async fn do_stop(&self, pnn: u32) -> BackendResult<()> {
        let what = format!("node {pnn} to stop");
        self.take_out(pnn, CtdbNodeFlags::DISCONNECTED, opcode::STOP_NODE, CtdbNodeFlags::STOPPED, &what).await
    }

    async fn do_continue(&self, pnn: u32) -> BackendResult<()> {
        let conn = self.shared.conn()?;
        let flags = self.view(&conn).await?.flags(pnn)?;
        if flags.intersects(CtdbNodeFlags::DISCONNECTED | CtdbNodeFlags::UNKNOWN) {
            return Err(BackendError::NodeDown(pnn));
        }
        if flags.contains(CtdbNodeFlags::STOPPED) {
            self.flag_action(
                &conn,
                pnn,
                opcode::CONTINUE_NODE,
                CtdbNodeFlags::STOPPED,
                false,
                &format!("node {pnn} to continue"),
            )
            .await?;
        }
        self.shared.refresh_after_action(&conn).await;
        Ok(())
    }

    async fn do_move_ip(&self, addr: IpAddr, to: u32) -> BackendResult<()> {
        let conn = self.shared.conn()?;
        let v = self.view(&conn).await?;
        let host = v.host(addr).ok_or_else(|| BackendError::ResourceNotFound(format!("public IP {addr}")))?;
        let flags = v.flags(to)?;
        if host == Some(to) {
            return Ok(());
        }
        if flags.intersects(CtdbNodeFlags::INACTIVE | CtdbNodeFlags::UNKNOWN) {
            return Err(BackendError::NodeDown(to));
        }
        if flags.intersects(CtdbNodeFlags::DISABLED) {
            return Err(BackendError::NodePaused(to));
        }
        let known = conn.get_public_ips(to, false).await.map_err(client_err)?;
        if !known.iter().any(|e| e.addr == Some(addr)) {
            return Err(BackendError::InvalidState(format!("node {to} cannot host {addr}")));
        }
        let result = self.move_ip_rounds(&conn, addr, to).await;
        // `ctdb moveip` turns the leader's takeover runs off while it moves
        // the address (DISABLE_IP_CHECK); turn them back on right away, or
        // a failover in the next IP_CHECK_OFF_SECS would wait for the timer.
        if let Err(e) = conn.disable_ip_check(0).await {
            tracing::debug!(error = %e, "re-enabling takeover runs failed");
        }
        if result.is_ok() {
            self.shared.refresh_after_action(&conn).await;
        }
        result
    }

    /// Up to three `ctdb moveip` rounds, each checked by fresh reads.
    async fn move_ip_rounds(&self, conn: &Connection, addr: IpAddr, to: u32) -> BackendResult<()> {
        let deadline = Instant::now() + ACTION_TIMEOUT;
        let mut last_err = None;
        for attempt in 0..3 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            match self.move_ip_once(conn, addr, to).await {
                Ok(()) => {}
                Err(e @ BackendError::Unavailable(_)) => return Err(e),
                Err(e) => {
                    last_err = Some(e);
                    continue;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .wait_view(conn, &format!("{addr} to move to node {to}"), left.min(Duration::from_secs(5)), |v| {
                    v.host(addr) == Some(Some(to))
                })
                .await
            {
                Ok(_) => return Ok(()),
                Err(e @ BackendError::Unavailable(_)) => return Err(e),
                Err(e) => last_err = Some(e),
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        Err(last_err.unwrap_or_else(|| BackendError::Ctdb(format!("cannot move {addr}"))))
    }

    /// One `ctdb moveip` round.
    async fn move_ip_once(&self, conn: &Connection, addr: IpAddr, to: u32) -> BackendResult<()> {
        conn.disable_ip_check(IP_CHECK_OFF_SECS).await.map_err(client_err)?;
        let v = self.view(conn).await?;
        let mut pending = Vec::new();
        for pnn in v.active_pnns().into_iter().filter(|&p| p != to) {
            pending.push(conn.start_release_ip(pnn, to, addr).await.map_err(client_err)?);
        }
        for p in pending {
            p.wait_ok().await.map_err(client_err)?;
        }
        conn.takeover_ip(to, addr).await.map_err(client_err)?;
        // ctdbd answers TAKEOVER_IP once the address is up on `to` (after its TAKE_IP), which
        // this node hears only through `to`'s clusapid
        self.shared.note_address_move(addr, to, true);
        Ok(())
    }

    /// The Up node other than `except` hosting the fewest IPs that can take
    /// `addr` (any Up node when `addr` is `None`).
    fn best_other(&self, state: &ClusterState, except: Option<u32>, addr: Option<IpAddr>) -> BackendResult<u32> {
        let raw = self.raw();
        let ip = addr.and_then(|a| raw.public_ips.iter().find(|p| p.addr == a));
        let can_host = |pnn: u32| match ip {
            Some(ip) if !ip.interfaces.is_empty() => {
                raw.interfaces.iter().any(|(p, i)| *p == pnn && i.link_up && ip.interfaces.contains(&i.name))
            }
            _ => true,
        };
        state
            .nodes
            .iter()
            .filter(|n| n.state == NodeState::Up && Some(n.pnn) != except)
            .filter(|n| can_host(n.pnn))
            .min_by_key(|n| (state.ips_hosted_by(n.pnn).count(), n.pnn))
            .map(|n| n.pnn)
            .ok_or(BackendError::NoOtherNodeUp)
    }

    async fn do_move_group(&self, group_id: &str, to: Option<u32>) -> BackendResult<u32> {
        self.shared.check_available()?;
        let state = self.snapshot();
        let (g, addr, target) =
            group_to_move(&state, group_id, to, |owner, addr| self.best_other(&state, owner, addr))?;
        match addr {
            Some(a) => self.do_move_ip(a, target).await?,
            None => {
                let conn = self.shared.conn()?;
                let flags = self.view(&conn).await?.flags(target)?;
                if flags.intersects(CtdbNodeFlags::INACTIVE | CtdbNodeFlags::UNKNOWN) {
                    return Err(BackendError::NodeDown(target));
                }
                if flags.intersects(CtdbNodeFlags::DISABLED) {
                    return Err(BackendError::NodePaused(target));
                }
                let gid = g.id.clone();
                self.shared.overlay_op(|o, s| o.set_created_group_owner(s, &gid, target)).await?;
            }
        }
        Ok(target)
    }
}

impl ClusterBackend for CtdbBackend {
    fn snapshot(&self) -> Arc<ClusterState> {
        self.shared.snapshot()
    }

    fn set_shares(&self, shares: Vec<Share>) -> BoxFuture<'_, BackendResult<()>> {
        let shared = &self.shared;
        let mut inner = shared.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.raw.shares != shares {
            let mut raw = inner.raw.clone();
            raw.shares = shares;
            let overlay = inner.overlay.clone();
            shared.swap_in(&mut inner, raw, overlay);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn listen(&self, srvid: u64) -> BoxFuture<'_, BackendResult<mpsc::Receiver<PeerMessage>>> {
        Box::pin(async move {
            if NOTIFY_SRVIDS.contains(&srvid) || srvid == DB_CHANGED_SRVID || srvid == ADDRESS_MOVED_SRVID {
                return Err(BackendError::InvalidParameter(format!("srvid {srvid:#x} is ctdbd's")));
            }
            let (tx, rx) = mpsc::channel(PEER_QUEUE);
            self.shared.listeners.lock().unwrap_or_else(PoisonError::into_inner).insert(srvid, tx);
            // registered now if connected; every later connection registers it too
            if let Ok(conn) = self.shared.conn() {
                conn.register_srvid(srvid).await.map_err(client_err)?;
            }
            Ok(rx)
        })
    }

    fn send(&self, to: Destination, srvid: u64, data: Vec<u8>) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(async move {
            let conn = self.shared.conn()?;
            let dest = match to {
                Destination::Node(pnn) => pnn,
                Destination::AllConnected => protocol::CTDB_BROADCAST_CONNECTED,
            };
            conn.send_message(dest, srvid, data).await.map_err(client_err)
        })
    }

    fn database_seqnum<'a>(&'a self, name: &'a str) -> BoxFuture<'a, BackendResult<Option<u64>>> {
        Box::pin(async move {
            let conn = self.shared.conn()?;
            let known = self.shared.watched_dbs.lock().unwrap_or_else(PoisonError::into_inner).get(name).copied();
            let db_id = match known {
                Some(id) => id,
                None => {
                    // attaching an attached database only looks its id up
                    let id = conn.attach_persistent(name).await.map_err(client_err)?;
                    self.shared.watched_dbs.lock().unwrap_or_else(PoisonError::into_inner).insert(name.to_string(), id);
                    id
                }
            };
            match conn.get_db_seqnum(CTDB_CURRENT_NODE, db_id).await {
                Ok(n) => Ok(Some(n)),
                Err(e) => {
                    // looked up again next time (a restarted ctdbd may number it anew)
                    self.shared.watched_dbs.lock().unwrap_or_else(PoisonError::into_inner).remove(name);
                    Err(client_err(e))
                }
            }
        })
    }

    fn subscribe(&self) -> broadcast::Receiver<ClusterEvent> {
        self.shared.events.subscribe()
    }

    fn available(&self) -> bool {
        self.shared.available()
    }

    fn stats(&self) -> Option<crate::BackendStats> {
        Some(self.shared.stats())
    }

    fn pause_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(self.do_pause(pnn))
    }

    fn resume_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(self.do_resume(pnn))
    }

    fn begin_drain(&self, pnn: u32, target: Option<u32>) -> BackendResult<()> {
        self.shared.check_available()?;
        self.shared.update_drains(|raw| raw.begin_drain(pnn, target))
    }

    fn end_drain(&self, pnn: u32, ok: bool) {
        let _ = self.shared.update_drains(|raw| {
            raw.end_drain(pnn, ok);
            Ok(())
        });
    }

    fn stop_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(self.do_stop(pnn))
    }

    fn continue_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(self.do_continue(pnn))
    }

    fn move_ip(&self, addr: IpAddr, to_pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(self.do_move_ip(addr, to_pnn))
    }

    fn move_group<'a>(&'a self, group_id: &'a str, to_pnn: Option<u32>) -> BoxFuture<'a, BackendResult<u32>> {
        Box::pin(self.do_move_group(group_id, to_pnn))
    }

    fn edit_overlay<'a>(&'a self, edit: OverlayEdit<'a>) -> BoxFuture<'a, BackendResult<String>> {
        Box::pin(self.shared.overlay_op(edit))
    }

    /// The blob stored in the persistent database: the copy in memory while it
    /// was confirmed current less than [`CtdbConfig::read_cache`] ago and no
    /// other node announced a commit since (see the module doc); otherwise
    /// GET_DB_SEQNUM (and the generation) tell whether it is current, else
    /// the database is re-read. Fails while ctdbd is unreachable.
    fn registry_blob(&self) -> BoxFuture<'_, BackendResult<Option<Vec<u8>>>> {
        Box::pin(async move {
            let conn = self.shared.conn()?;
            self.shared.check_db_usable(&conn)?;
            let mut cache = self.shared.db.lock().await;
            self.shared.ensure_db(&conn, &mut cache).await?;
            // cleared before probing: a message arriving meanwhile marks it again
            let stale = self.shared.db_stale.swap(false, Ordering::SeqCst);
            let window = self.shared.config.read_cache;
            let fresh = !stale && cache.probe.is_some() && cache.checked_at.is_some_and(|t| t.elapsed() < window);
            if fresh {
                cache.stats.cached_reads += 1;
            } else if let Err(e) = self.shared.db_refresh(&conn, &mut cache, None).await {
                if stale {
                    self.shared.db_stale.store(true, Ordering::SeqCst);
                }
                return Err(client_err(e));
            }
            Ok(self.shared.registry.lock().unwrap_or_else(PoisonError::into_inner).clone())
        })
    }

    /// Commits the blob to the persistent database (every active node has
    /// it when this returns `Ok`); on `Err` the stored blob is the old one,
    /// except after a connection loss mid-commit (then it is the old or the
    /// new one on every node). Concurrent stores are ordered by the
    /// database: the last one committed wins.
    fn store_registry_blob(&self, bytes: Vec<u8>) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(async move {
            let conn = self.shared.conn()?;
            self.shared
                .db_update(&conn, |_, cache| {
                    if cache.snap.payload(REGISTRY_KEY) == Some(&bytes[..]) {
                        return Ok(((), Vec::new()));
                    }
                    Ok(((), vec![(REGISTRY_KEY.to_vec(), bytes.clone())]))
                })
                .await
        })
    }

    fn update_registry_blob<'a>(&'a self, f: crate::BlobUpdate<'a>) -> BoxFuture<'a, BackendResult<Vec<u8>>> {
        Box::pin(CtdbBackend::update_registry_blob(self, f))
    }
}

#[cfg(test)]
mod tests;
