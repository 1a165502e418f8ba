//! The async connection to ctdbd's Unix socket: request ids, one reader task
//! dispatching control replies and srvid messages, per-control timeouts, and
//! the reconnect back-off schedule ([`Backoff`]) the backend follows when
//! ctdbd goes away.
//!
//! A [`Connection`] is one socket. When ctdbd closes it (or a write fails)
//! the connection is dead for good: pending and later controls fail with
//! [`ClientError::Disconnected`] and the message channel handed out by
//! [`Connection::connect`] closes, which is how the owner learns about it.
//! Reconnecting means opening a new `Connection` (and registering srvids
//! again); [`Backoff`] spaces the attempts 100 ms, 200 ms, ... up to 5 s.
//!
//! Persistent databases: [`Connection::attach_persistent`],
//! [`Connection::get_db_seqnum`], [`Connection::traverse`] (records arrive
//! as messages to a private srvid, routed to the traverse rather than the
//! message channel) and [`Connection::trans3_commit`]; [`super::pdb`]
//! builds transactions from them.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::protocol::{
    self, decode_packet, opcode, srvid, DbIdEntry, DecodeError, Iface, NodeAndFlags, Packet, PublicIpEntry,
    PublicIpInfo, RecBuffer, RecData, ReplyControl, ReqControl, ReqMessage, SrvidMessage, TraverseStart, VnnMap,
    CTDB_BROADCAST_CONNECTED, CTDB_CURRENT_NODE, HEADER_LEN,
};

/// Default time a control may take before it fails with [`ClientError::Timeout`].
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for connecting to the socket.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Capacity of the message channel; when full, further messages are
/// dropped (they are change hints, and the backend also polls).
pub const MESSAGE_QUEUE: usize = 256;
/// Most records one traverse may deliver before it fails (the databases
/// this client traverses hold a handful).
pub const TRAVERSE_QUEUE: usize = 4096;

/// Why a request to ctdbd failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// Could not connect to the socket.
    Connect(String),
    /// The connection is closed (ctdbd went away).
    Disconnected,
    /// No reply in time.
    Timeout { opcode: u32 },
    /// ctdbd sent something undecodable (the connection is then closed).
    Protocol(DecodeError),
    /// An expected message (e.g. a takeover-run reply) did not arrive in time.
    NoAnswer(&'static str),
    /// The control failed: non-zero status, with ctdbd's error text if any.
    Status { opcode: u32, status: i32, errmsg: Option<String> },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect(e) => write!(f, "cannot connect to ctdbd: {e}"),
            ClientError::Disconnected => f.write_str("connection to ctdbd lost"),
            ClientError::Timeout { opcode } => write!(f, "control {opcode} timed out"),
            ClientError::NoAnswer(what) => write!(f, "no answer to {what}"),
            ClientError::Protocol(e) => write!(f, "protocol error: {e}"),
            ClientError::Status { opcode, status, errmsg } => {
                write!(f, "control {opcode} failed with status {status}")?;
                if let Some(m) = errmsg {
                    write!(f, ": {m}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ClientError {}

impl ClientError {
    /// True when the connection itself is gone or unusable (as opposed to
    /// one control failing).
    pub fn is_connection_error(&self) -> bool {
        matches!(
            self,
            ClientError::Connect(_)
                | ClientError::Disconnected
                | ClientError::Timeout { .. }
                | ClientError::Protocol(_)
        )
    }
}

pub type ClientResult<T> = Result<T, ClientError>;

/// Reconnect delays: 100 ms, doubling, capped at 5 s.
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    pub const MIN: Duration = Duration::from_millis(100);
    pub const MAX: Duration = Duration::from_secs(5);

    pub fn new() -> Self {
        Self { next: Self::MIN }
    }

    /// The delay before the next attempt; doubles the one after.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        d
    }

    /// After a success: start again at the minimum.
    pub fn reset(&mut self) {
        self.next = Self::MIN;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// State shared by the connection handle and its reader task.
struct Shared {
    pending: Mutex<HashMap<u32, oneshot::Sender<ReplyControl>>>,
    /// One-shot waiters for a message to a given srvid (TAKEOVER_RUN replies).
    srvid_waiters: Mutex<HashMap<u64, oneshot::Sender<ReqMessage>>>,
    /// Streams of messages to a given srvid (traverse records). A stream
    /// that overflows is dropped, which its reader sees as a closed channel.
    srvid_streams: Mutex<HashMap<u64, mpsc::Sender<ReqMessage>>>,
    closed: AtomicBool,
    /// Why the reader stopped, for logs.
    close_reason: Mutex<Option<String>>,
}

impl Shared {
    fn close(&self, reason: String) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            *self.close_reason.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason);
        }
        // Dropping the senders wakes every waiter with an error.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).clear();
        self.srvid_waiters.lock().unwrap_or_else(PoisonError::into_inner).clear();
        self.srvid_streams.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// A reply that has been requested but not yet received.
pub struct PendingReply {
    opcode: u32,
    reqid: u32,
    rx: oneshot::Receiver<ReplyControl>,
    timeout: Duration,
    shared: Arc<Shared>,
}

impl PendingReply {
    /// Waits for the reply (whatever its status).
    pub async fn wait(self) -> ClientResult<ReplyControl> {
        match tokio::time::timeout(self.timeout, self.rx).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(_)) => Err(ClientError::Disconnected),
            Err(_) => {
                self.shared.pending.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.reqid);
                Err(ClientError::Timeout { opcode: self.opcode })
            }
        }
    }

    /// Waits for the reply and requires status 0.
    pub async fn wait_ok(self) -> ClientResult<ReplyControl> {
        let opcode = self.opcode;
        let r = self.wait().await?;
        check_status(opcode, r)
    }
}

fn check_status(opcode: u32, r: ReplyControl) -> ClientResult<ReplyControl> {
    if r.status == 0 {
        Ok(r)
    } else {
        Err(ClientError::Status { opcode, status: r.status, errmsg: r.errmsg })
    }
}

/// One connection to ctdbd's Unix socket.
pub struct Connection {
    path: PathBuf,
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    /// A second handle on the socket, to shut it down from sync code.
    shutdown_handle: Option<std::os::unix::net::UnixStream>,
    shared: Arc<Shared>,
    next_reqid: AtomicU32,
    next_srvid: AtomicU32,
    /// This node's pnn (GET_PNN at connect time).
    pnn: u32,
    reader: JoinHandle<()>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("path", &self.path)
            .field("pnn", &self.pnn)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.close();
    }
}

impl Connection {
    /// Connects, learns this node's pnn and registers `srvids` for
    /// messages, which arrive on the returned channel. The channel closes
    /// when the connection dies.
    pub async fn connect(path: &Path, srvids: &[u64]) -> ClientResult<(Arc<Connection>, mpsc::Receiver<ReqMessage>)> {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, UnixStream::connect(path)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(ClientError::Connect(format!("{}: {e}", path.display()))),
            Err(_) => return Err(ClientError::Connect(format!("{}: connect timed out", path.display()))),
        };
        // Keep a std handle on the same socket so `close` can shut it down.
        let (stream, shutdown_handle) = match stream.into_std() {
            Ok(std_stream) => {
                let handle = std_stream.try_clone().ok();
                let s = std_stream
                    .set_nonblocking(true)
                    .and_then(|()| UnixStream::from_std(std_stream))
                    .map_err(|e| ClientError::Connect(format!("{}: {e}", path.display())))?;
                (s, handle)
            }
            Err(e) => return Err(ClientError::Connect(format!("{}: {e}", path.display()))),
        };
        let (read, write) = stream.into_split();
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            srvid_waiters: Mutex::new(HashMap::new()),
            srvid_streams: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            close_reason: Mutex::new(None),
        });
        let (tx, rx) = mpsc::channel(MESSAGE_QUEUE);
        let reader = tokio::spawn(read_loop(read, shared.clone(), tx));
        let mut conn = Connection {
            path: path.to_path_buf(),
            writer: tokio::sync::Mutex::new(write),
            shutdown_handle,
            shared,
            next_reqid: AtomicU32::new(1),
            next_srvid: AtomicU32::new(1),
            pnn: protocol::CTDB_UNKNOWN_PNN,
            reader,
        };
        let r = conn
            .start_control(ReqControl::new(CTDB_CURRENT_NODE, opcode::GET_PNN), CONTROL_TIMEOUT)
            .await?
            .wait()
            .await?;
        conn.pnn = u32::try_from(r.status).map_err(|_| ClientError::Status {
            opcode: opcode::GET_PNN,
            status: r.status,
            errmsg: r.errmsg,
        })?;
        let conn = Arc::new(conn);
        for &s in srvids {
            conn.register_srvid(s).await?;
        }
        Ok((conn, rx))
    }

    /// The local node's pnn.
    pub fn pnn(&self) -> u32 {
        self.pnn
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// Why the connection closed, if it did.
    pub fn close_reason(&self) -> Option<String> {
        self.shared.close_reason.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Closes the connection (pending requests fail with `Disconnected`;
    /// ctdbd sees the socket close).
    pub fn close(&self) {
        self.shared.close("closed by client".into());
        self.reader.abort();
        if let Some(h) = &self.shutdown_handle {
            let _ = h.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Our node as the header's source: the local pnn once known.
    fn srcnode(&self) -> u32 {
        if self.pnn == protocol::CTDB_UNKNOWN_PNN {
            CTDB_CURRENT_NODE
        } else {
            self.pnn
        }
    }

    fn reqid(&self) -> u32 {
        // 0 is never used, so a zeroed header cannot match a request.
        loop {
            let id = self.next_reqid.fetch_add(1, Ordering::Relaxed);
            if id != 0 {
                return id;
            }
        }
    }

    async fn write_packet(&self, bytes: &[u8]) -> ClientResult<()> {
        if self.is_closed() {
            return Err(ClientError::Disconnected);
        }
        let mut w = self.writer.lock().await;
        match tokio::time::timeout(CONTROL_TIMEOUT, w.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.shared.close(format!("write failed: {e}"));
                Err(ClientError::Disconnected)
            }
            Err(_) => {
                self.shared.close("write timed out".into());
                Err(ClientError::Disconnected)
            }
        }
    }

    /// Sends a control and returns a handle to await its reply; several
    /// controls may be in flight at once.
    pub async fn start_control(&self, mut req: ReqControl, timeout: Duration) -> ClientResult<PendingReply> {
        if self.is_closed() {
            return Err(ClientError::Disconnected);
        }
        req.reqid = self.reqid();
        req.srcnode = self.srcnode();
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().unwrap_or_else(PoisonError::into_inner).insert(req.reqid, tx);
        let pending = PendingReply { opcode: req.opcode, reqid: req.reqid, rx, timeout, shared: self.shared.clone() };
        if let Err(e) = self.write_packet(&req.encode()).await {
            self.shared.pending.lock().unwrap_or_else(PoisonError::into_inner).remove(&req.reqid);
            return Err(e);
        }
        Ok(pending)
    }

    /// Sends a control and waits for its reply (any status).
    pub async fn control(&self, req: ReqControl, timeout: Duration) -> ClientResult<ReplyControl> {
        self.start_control(req, timeout).await?.wait().await
    }

    /// Sends a control and requires status 0.
    pub async fn control_ok(&self, req: ReqControl, timeout: Duration) -> ClientResult<ReplyControl> {
        self.start_control(req, timeout).await?.wait_ok().await
    }

    /// Sends a message to `srvid` on `destnode`.
    pub async fn send_message(&self, destnode: u32, srvid: u64, data: Vec<u8>) -> ClientResult<()> {
        let m = ReqMessage { destnode, srcnode: self.srcnode(), reqid: self.reqid(), srvid, data };
        self.write_packet(&m.encode()).await
    }

    /// REGISTER_SRVID: ctdbd delivers messages for `srvid` to this client.
    pub async fn register_srvid(&self, srvid: u64) -> ClientResult<()> {
        let mut req = ReqControl::new(CTDB_CURRENT_NODE, opcode::REGISTER_SRVID);
        req.srvid = srvid;
        self.control_ok(req, CONTROL_TIMEOUT).await.map(drop)
    }

    /// DEREGISTER_SRVID.
    pub async fn deregister_srvid(&self, srvid: u64) -> ClientResult<()> {
        let mut req = ReqControl::new(CTDB_CURRENT_NODE, opcode::DEREGISTER_SRVID);
        req.srvid = srvid;
        self.control_ok(req, CONTROL_TIMEOUT).await.map(drop)
    }

    /// A srvid in the client range unique to this process and connection.
    fn private_srvid(&self) -> u64 {
        let pid = u64::from(std::process::id()) & 0xFF_FFFF;
        let seq = u64::from(self.next_srvid.fetch_add(1, Ordering::Relaxed));
        srvid::CLIENT_RANGE | (pid << 32) | seq
    }

    // ---- typed controls ----

    /// GET_NODEMAP from `dest`.
    pub async fn get_nodemap(&self, dest: u32) -> ClientResult<Vec<NodeAndFlags>> {
        let r = self.control_ok(ReqControl::new(dest, opcode::GET_NODEMAP), CONTROL_TIMEOUT).await?;
        protocol::decode_node_map(&r.data).map_err(ClientError::Protocol)
    }

    /// GET_RECMODE (the mode is the reply status).
    pub async fn get_recmode(&self, dest: u32) -> ClientResult<i32> {
        let r = self.control(ReqControl::new(dest, opcode::GET_RECMODE), CONTROL_TIMEOUT).await?;
        if r.status < 0 {
            return check_status(opcode::GET_RECMODE, r).map(|_| 0);
        }
        Ok(r.status)
    }

    /// GETVNNMAP (its generation is the database generation).
    pub async fn get_vnnmap(&self, dest: u32) -> ClientResult<VnnMap> {
        let r = self.control_ok(ReqControl::new(dest, opcode::GETVNNMAP), CONTROL_TIMEOUT).await?;
        protocol::decode_vnn_map(&r.data).map_err(ClientError::Protocol)
    }

    /// GET_PUBLIC_IPS from `dest`: the IPs that node knows and who it thinks
    /// hosts them.
    pub async fn get_public_ips(&self, dest: u32, only_available: bool) -> ClientResult<Vec<PublicIpEntry>> {
        let r = self.start_public_ips(dest, only_available, CONTROL_TIMEOUT).await?;
        decode_public_ips_reply(r.wait_ok().await?)
    }

    /// Starts GET_PUBLIC_IPS (for pipelining several nodes).
    pub async fn start_public_ips(
        &self,
        dest: u32,
        only_available: bool,
        timeout: Duration,
    ) -> ClientResult<PendingReply> {
        let mut req = ReqControl::new(dest, opcode::GET_PUBLIC_IPS);
        if only_available {
            req.flags = protocol::PUBLIC_IP_FLAGS_ONLY_AVAILABLE;
        }
        self.start_control(req, timeout).await
    }

    /// GET_PUBLIC_IP_INFO about `addr` from `dest`.
    pub async fn get_public_ip_info(&self, dest: u32, addr: IpAddr) -> ClientResult<PublicIpInfo> {
        let mut req = ReqControl::new(dest, opcode::GET_PUBLIC_IP_INFO);
        let mut data = Vec::new();
        protocol::encode_sock_addr(addr, &mut data);
        req.data = data;
        let r = self.control_ok(req, CONTROL_TIMEOUT).await?;
        protocol::decode_public_ip_info(&r.data).map_err(ClientError::Protocol)
    }

    /// Starts GET_IFACES on `dest`.
    pub async fn start_ifaces(&self, dest: u32, timeout: Duration) -> ClientResult<PendingReply> {
        self.start_control(ReqControl::new(dest, opcode::GET_IFACES), timeout).await
    }

    /// GET_IFACES of `dest`.
    pub async fn get_ifaces(&self, dest: u32) -> ClientResult<Vec<Iface>> {
        let r = self.start_ifaces(dest, CONTROL_TIMEOUT).await?;
        decode_ifaces_reply(r.wait_ok().await?)
    }

    /// A control without arguments that must succeed (DISABLE_NODE,
    /// ENABLE_NODE, STOP_NODE, CONTINUE_NODE).
    pub async fn simple_control(&self, dest: u32, op: u32) -> ClientResult<()> {
        self.control_ok(ReqControl::new(dest, op), CONTROL_TIMEOUT).await.map(drop)
    }

    /// RELEASE_IP on `dest`: "`addr` now belongs to `new_pnn`".
    pub async fn start_release_ip(&self, dest: u32, new_pnn: u32, addr: IpAddr) -> ClientResult<PendingReply> {
        let mut req = ReqControl::new(dest, opcode::RELEASE_IP);
        req.data = protocol::encode_public_ip(new_pnn, addr);
        self.start_control(req, CONTROL_TIMEOUT).await
    }

    /// TAKEOVER_IP on `dest` (which becomes the host of `addr`).
    pub async fn takeover_ip(&self, dest: u32, addr: IpAddr) -> ClientResult<()> {
        let mut req = ReqControl::new(dest, opcode::TAKEOVER_IP);
        req.data = protocol::encode_public_ip(dest, addr);
        self.control_ok(req, CONTROL_TIMEOUT).await.map(drop)
    }

    /// Asks the leader for a takeover run (`ctdb ipreallocate`) and waits for
    /// its answer: the status (>= 0 is success). Re-asks every
    /// `resend` until `timeout`, as the ctdb tool does (a leader in the
    /// middle of a recovery drops the request).
    pub async fn takeover_run(&self, resend: Duration, timeout: Duration) -> ClientResult<i32> {
        let reply_srvid = self.private_srvid();
        let (tx, mut rx) = oneshot::channel();
        self.shared.srvid_waiters.lock().unwrap_or_else(PoisonError::into_inner).insert(reply_srvid, tx);
        let result = async {
            self.register_srvid(reply_srvid).await?;
            let msg = SrvidMessage { pnn: self.pnn, srvid: reply_srvid }.encode();
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                self.send_message(CTDB_BROADCAST_CONNECTED, srvid::TAKEOVER_RUN, msg.clone()).await?;
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                match tokio::time::timeout(resend.min(left), &mut rx).await {
                    Ok(Ok(m)) => return protocol::decode_i32(&m.data).map_err(ClientError::Protocol),
                    Ok(Err(_)) => return Err(ClientError::Disconnected),
                    Err(_) if left <= resend => return Err(ClientError::NoAnswer("takeover run request")),
                    Err(_) => continue,
                }
            }
        }
        .await;
        self.shared.srvid_waiters.lock().unwrap_or_else(PoisonError::into_inner).remove(&reply_srvid);
        if !self.is_closed() {
            let _ = self.deregister_srvid(reply_srvid).await;
        }
        result
    }

    /// Tells every connected node's recovery daemon not to check public IP
    /// placement for `seconds` (what `ctdb moveip` sends first).
    pub async fn disable_ip_check(&self, seconds: u32) -> ClientResult<()> {
        self.send_message(CTDB_BROADCAST_CONNECTED, srvid::DISABLE_IP_CHECK, seconds.to_le_bytes().to_vec()).await
    }
}

// ---- persistent databases ----

impl Connection {
    /// DB_ATTACH_PERSISTENT of `name` on the local node (ctdbd attaches it
    /// on the other connected nodes too); returns the db_id. Attaching an
    /// attached database just returns its id.
    pub async fn attach_persistent(&self, name: &str) -> ClientResult<u32> {
        let mut req = ReqControl::new(CTDB_CURRENT_NODE, opcode::DB_ATTACH_PERSISTENT);
        req.data = protocol::encode_db_name(name);
        let r = self.control_ok(req, CONTROL_TIMEOUT).await?;
        protocol::decode_u32(&r.data).map_err(ClientError::Protocol)
    }

    /// GETDBPATH: where `dest` keeps the database file.
    pub async fn get_db_path(&self, dest: u32, db_id: u32) -> ClientResult<String> {
        let mut req = ReqControl::new(dest, opcode::GETDBPATH);
        req.data = db_id.to_le_bytes().to_vec();
        let r = self.control_ok(req, CONTROL_TIMEOUT).await?;
        Ok(protocol::decode_text(&r.data))
    }

    /// GET_DBMAP of `dest`: the attached databases and their flags.
    pub async fn get_dbmap(&self, dest: u32) -> ClientResult<Vec<DbIdEntry>> {
        let r = self.control_ok(ReqControl::new(dest, opcode::GET_DBMAP), CONTROL_TIMEOUT).await?;
        protocol::decode_dbid_map(&r.data).map_err(ClientError::Protocol)
    }

    /// Starts GET_DB_SEQNUM on `dest` (for pipelining with other controls).
    pub async fn start_db_seqnum(&self, dest: u32, db_id: u32, timeout: Duration) -> ClientResult<PendingReply> {
        let mut req = ReqControl::new(dest, opcode::GET_DB_SEQNUM);
        req.data = protocol::encode_db_seqnum_request(db_id);
        self.start_control(req, timeout).await
    }

    /// GET_DB_SEQNUM: the sequence number of a persistent database on `dest`.
    pub async fn get_db_seqnum(&self, dest: u32, db_id: u32) -> ClientResult<u64> {
        let r = self.start_db_seqnum(dest, db_id, CONTROL_TIMEOUT).await?.wait_ok().await?;
        decode_db_seqnum_reply(&r)
    }

    /// Every record of a database as the local ctdbd has it (for a
    /// persistent database ctdbd traverses only its own copy): registers a
    /// private srvid, sends TRAVERSE_START and collects the records ctdbd
    /// sends there until the empty end record. Records keep their ltdb
    /// header in `data`.
    pub async fn traverse(&self, db_id: u32, timeout: Duration) -> ClientResult<Vec<RecData>> {
        let port = self.private_srvid();
        let (tx, mut rx) = mpsc::channel(TRAVERSE_QUEUE);
        self.shared.srvid_streams.lock().unwrap_or_else(PoisonError::into_inner).insert(port, tx);
        let result = async {
            self.register_srvid(port).await?;
            let reqid = self.reqid();
            let mut req = ReqControl::new(CTDB_CURRENT_NODE, opcode::TRAVERSE_START);
            req.data = TraverseStart { db_id, reqid, srvid: port }.encode();
            let deadline = tokio::time::Instant::now() + timeout;
            let started = self.start_control(req, timeout).await?;
            // A refused start sends no records: watch its reply meanwhile.
            let reply = started.wait_ok();
            tokio::pin!(reply);
            let mut started_ok = false;
            let mut records = Vec::new();
            loop {
                let m = tokio::select! {
                    r = &mut reply, if !started_ok => {
                        r?;
                        started_ok = true;
                        continue;
                    }
                    m = rx.recv() => m,
                    _ = tokio::time::sleep_until(deadline) => {
                        return Err(ClientError::NoAnswer("traverse records"));
                    }
                };
                let Some(m) = m else {
                    return Err(if self.is_closed() {
                        ClientError::Disconnected
                    } else {
                        ClientError::NoAnswer("traverse records (queue overflow)")
                    });
                };
                let (rec, _) = RecData::decode(&m.data).map_err(ClientError::Protocol)?;
                if rec.reqid != reqid {
                    continue;
                }
                if rec.is_end_marker() {
                    break;
                }
                if records.len() >= TRAVERSE_QUEUE {
                    return Err(ClientError::NoAnswer("traverse records (too many)"));
                }
                records.push(rec);
            }
            if !started_ok {
                reply.await?;
            }
            Ok(records)
        }
        .await;
        self.shared.srvid_streams.lock().unwrap_or_else(PoisonError::into_inner).remove(&port);
        if !self.is_closed() {
            let _ = self.deregister_srvid(port).await;
        }
        result
    }

    /// TRANS3_COMMIT of `records` to the local node, which sends them to
    /// every active node (UPDATE_RECORD) and answers when all stored them.
    /// Returns the reply whatever its status: 0 means committed everywhere;
    /// anything else leaves the outcome to be read back (see
    /// [`super::pdb`]).
    pub async fn trans3_commit(&self, records: &RecBuffer, timeout: Duration) -> ClientResult<ReplyControl> {
        let mut req = ReqControl::new(CTDB_CURRENT_NODE, opcode::TRANS3_COMMIT);
        req.data = records.encode();
        self.control(req, timeout).await
    }
}

/// Decodes a GET_DB_SEQNUM reply (status 0 required by the caller).
pub fn decode_db_seqnum_reply(r: &ReplyControl) -> ClientResult<u64> {
    protocol::decode_u64(&r.data).map_err(ClientError::Protocol)
}

/// Decodes a GET_PUBLIC_IPS reply.
pub fn decode_public_ips_reply(r: ReplyControl) -> ClientResult<Vec<PublicIpEntry>> {
    protocol::decode_public_ip_list(&r.data).map_err(ClientError::Protocol)
}

/// Decodes a GET_IFACES reply.
pub fn decode_ifaces_reply(r: ReplyControl) -> ClientResult<Vec<Iface>> {
    protocol::decode_iface_list(&r.data).map_err(ClientError::Protocol)
}

/// Reads packets until the socket closes or sends garbage.
async fn read_loop(mut read: tokio::net::unix::OwnedReadHalf, shared: Arc<Shared>, messages: mpsc::Sender<ReqMessage>) {
    let reason = loop {
        let mut len_buf = [0u8; 4];
        if let Err(e) = read.read_exact(&mut len_buf).await {
            break format!("read failed: {e}");
        }
        let len = match protocol::packet_length(&len_buf) {
            Ok(Some(l)) => l,
            Ok(None) => break "short read".to_string(),
            Err(e) => break format!("bad packet: {e}"),
        };
        // Bounded by MAX_PACKET_LEN (checked by packet_length).
        let mut buf = vec![0u8; len];
        buf[..4].copy_from_slice(&len_buf);
        if let Err(e) = read.read_exact(&mut buf[4..]).await {
            break format!("read failed: {e}");
        }
        debug_assert!(buf.len() >= HEADER_LEN);
        match decode_packet(&buf) {
            Ok(Packet::Reply(r)) => {
                let tx = shared.pending.lock().unwrap_or_else(PoisonError::into_inner).remove(&r.reqid);
                if let Some(tx) = tx {
                    let _ = tx.send(r);
                }
            }
            Ok(Packet::Message(m)) => {
                let mut streams = shared.srvid_streams.lock().unwrap_or_else(PoisonError::into_inner);
                let port = m.srvid;
                if let Some(tx) = streams.get(&port) {
                    if tx.try_send(m).is_err() {
                        // full (or abandoned): end the stream, its reader fails
                        streams.remove(&port);
                    }
                    continue;
                }
                drop(streams);
                let waiter = shared.srvid_waiters.lock().unwrap_or_else(PoisonError::into_inner).remove(&m.srvid);
                match waiter {
                    Some(tx) => {
                        let _ = tx.send(m);
                    }
                    None => {
                        // A full queue means the owner is behind; it polls
                        // anyway, so dropping a hint is harmless.
                        let _ = messages.try_send(m);
                    }
                }
            }
            Ok(Packet::Other { operation, .. }) => {
                tracing::debug!(operation, "ignoring ctdb packet");
            }
            Err(e) => break format!("bad packet: {e}"),
        }
    };
    tracing::debug!(%reason, "ctdb connection closed");
    shared.close(reason);
    // `messages` drops here: the owner's receiver sees the channel close.
}

#[cfg(test)]
mod tests;
