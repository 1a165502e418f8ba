//! The TCP edge: listeners, one task per connection, framing, and the hand-off between the
//! sans-I/O [`dcerpc::ServerConnection`] and the interface services.
//!
//! A connection task reads whole fragments, feeds them to its state machine, writes whatever
//! it produced, and runs completed calls concurrently (a call that blocks, such as a
//! notification wait, does not stop the connection). Accepted sockets get TCP_NODELAY, and an
//! immediate ACK follows AUTH3 (TCP_QUICKACK) so clients that leave Nagle on do not stall
//! waiting for our delayed ACK.
//!
//! When the endpoint's authentication may block (domain logons: winbindd, the Kerberos
//! keytab), the fragments that carry authentication legs (bind, alter_context, auth3) are
//! handled with `tokio::task::block_in_place`, so the blocking call never stalls the other
//! connections of the same worker thread. Requests are always handled inline.
//!
//! A clusapi call from a caller who authenticated but whom the cluster security descriptor
//! gives no access is faulted with access denied without executing (as Windows refuses such
//! callers); the witness and mgmt interfaces need only an authenticated caller.
//! The per-client limits of [`Limits`] are enforced here: connections per client address
//! (refused with bind_nak `local_limit_exceeded`), calls waiting per association group
//! (fault RPC_S_SERVER_TOO_BUSY) and the idle time-out of unauthenticated connections.
//!
//! With the metrics endpoint on ([`Shared::metrics`]), each call is counted here by interface,
//! opnum, status and duration, each authentication by kind and result, and every connection
//! is listed while it is open ([`crate::metrics`]).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dcerpc::pdu::{self, fault};
use dcerpc::{Associations, AuthProgress, CloseReason, Next, ServerConfig, ServerConnection};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use idl::DispatchError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::config::Limits;
use crate::metrics::{AuthResult, CallStatus, ConnEntry, Metrics};
use crate::services::{CallCtx, Interface, Services};

/// What a failed bind of `what` (a listener) on `addr` means, and what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("binding {what} {addr}: {source}{hint}")]
pub struct BindError {
    pub what: &'static str,
    pub addr: SocketAddr,
    pub source: std::io::Error,
    /// The fix, as text starting with "\n  " (empty when there is nothing to add).
    pub hint: String,
}

/// The fix for a bind error on `port`: privileged ports, a port taken by another process,
/// an address that is not on this machine.
pub fn bind_hint(kind: std::io::ErrorKind, port: u16) -> Option<String> {
    use std::io::ErrorKind;
    match kind {
        ErrorKind::PermissionDenied if port < 1024 => Some(format!(
            "port {port} is privileged: run as root, or grant the binary the capability \
             (`sudo setcap cap_net_bind_service=+ep {}`), or choose a port from 1024 up \
             (0 picks a free one)",
            std::env::current_exe().map_or_else(|_| "clusapid".into(), |p| p.display().to_string())
        )),
        ErrorKind::AddrInUse => Some(format!(
            "another process holds port {port}: `clusapid check` names it and says what to change \
             (README \"Checking a node\"; on a Samba node usually samba-dcerpcd in standalone mode)"
        )),
        ErrorKind::AddrNotAvailable => Some("the address is not on this machine: check `listen`".into()),
        _ => None,
    }
}

/// A [`BindError`] as an `anyhow` error.
pub fn bind_error(source: std::io::Error, what: &'static str, addr: SocketAddr) -> anyhow::Error {
    let hint = bind_hint(source.kind(), addr.port()).map(|h| format!("\n  {h}")).unwrap_or_default();
    BindError { what, addr, source, hint }.into()
}

/// Largest fragment accepted from a peer (the frag_length field is 16 bits anyway).
const MAX_FRAGMENT_IN: usize = u16::MAX as usize;

/// One listening endpoint: the interfaces it serves (parallel to `config.interfaces`).
pub struct Endpoint {
    pub name: &'static str,
    pub config: Arc<ServerConfig>,
    pub interfaces: Vec<Interface>,
    /// What mgmt's inq_if_ids reports for this endpoint.
    pub served: Arc<[(idl::Guid, u16, u16)]>,
}

/// State shared by every connection of the daemon.
pub struct Shared {
    pub services: Arc<Services>,
    pub associations: Arc<Associations>,
    pub limits: Limits,
    /// Open connections per client address.
    pub per_client: ClientCounts,
    /// What the status and metrics endpoint shows (`None`: it is off, nothing is counted).
    pub metrics: Option<Arc<Metrics>>,
}

impl Shared {
    /// Shared state with an association directory built from `limits`.
    pub fn new(services: Arc<Services>, limits: Limits) -> Self {
        let associations = Associations::with_limits(dcerpc::AssocLimits {
            groups: limits.associations,
            handles_per_group: limits.handles_per_association,
        });
        Shared { services, associations, limits, per_client: ClientCounts::default(), metrics: None }
    }

    /// Counts calls, authentications and connections into `metrics`.
    pub fn with_metrics(mut self, metrics: Option<Arc<Metrics>>) -> Self {
        self.metrics = metrics;
        self
    }
}

/// Counts per client address, each count held by a [`ClientSlot`].
#[derive(Clone, Default)]
pub struct ClientCounts(Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>);

/// One counted item of a client; dropping it gives the place back.
pub struct ClientSlot {
    counts: ClientCounts,
    ip: IpAddr,
}

impl ClientCounts {
    /// Takes one place for `ip`, unless it holds `limit` already.
    pub fn acquire(&self, ip: IpAddr, limit: usize) -> Option<ClientSlot> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(ClientSlot { counts: self.clone(), ip })
    }

    /// Places `ip` holds now.
    pub fn count(&self, ip: IpAddr) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut m = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// Accepts connections forever.
pub async fn serve(listener: TcpListener, endpoint: Arc<Endpoint>, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let ep = endpoint.clone();
                let sh = shared.clone();
                let slot = shared.per_client.acquire(peer.ip(), shared.limits.connections_per_client);
                tokio::spawn(async move {
                    match slot {
                        Some(slot) => {
                            connection(stream, peer, ep, sh).await;
                            drop(slot);
                        }
                        None => refuse_connection(stream, peer, ep, sh).await,
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, endpoint = endpoint.name, "Accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn set_quickack(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let one: libc::c_int = 1;
        // SAFETY: valid fd of a live socket, option value is a c_int of the stated size.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

/// Handles an authentication fragment whose mechanism may block (winbindd, the keytab): off the
/// async runtime's scheduling when the runtime allows it (multi-threaded), inline otherwise.
fn handle_blocking(conn: &mut ServerConnection, frag: &mut [u8], out: &mut Vec<u8>) -> Next {
    let multi = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi {
        tokio::task::block_in_place(|| conn.handle_fragment(frag, out))
    } else {
        conn.handle_fragment(frag, out)
    }
}

/// Number of PDUs in a buffer of whole PDUs.
fn count_pdus(mut b: &[u8]) -> u64 {
    let mut n = 0;
    while let Some(len) = pdu::frame_length(b) {
        if len < pdu::HEADER_LEN || len > b.len() {
            break;
        }
        b = &b[len..];
        n += 1;
    }
    n
}

/// A connection over the per-client limit: its first PDU, if a bind, is answered with bind_nak
/// `local_limit_exceeded` ([C706] p_reject_reason_t), then it is closed.
async fn refuse_connection(mut stream: TcpStream, peer: SocketAddr, ep: Arc<Endpoint>, shared: Arc<Shared>) {
    tracing::warn!(
        endpoint = ep.name,
        %peer,
        limit = shared.limits.connections_per_client,
        "Connection refused: too many connections from this client"
    );
    let mut buf = Vec::with_capacity(1024);
    let wait = Duration::from_secs(shared.limits.unauthenticated_idle_secs.clamp(1, 10));
    let read = async {
        loop {
            if buf.len() >= pdu::HEADER_LEN {
                return true;
            }
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
        }
    };
    if matches!(tokio::time::timeout(wait, read).await, Ok(true)) && buf[2] == pdu::PacketType::Bind as u8 {
        let call_id = u32::from_le_bytes([buf[12], buf[13], buf[14], buf[15]]);
        let mut out = Vec::new();
        pdu::encode_bind_nak(&mut out, call_id, pdu::nak::LOCAL_LIMIT_EXCEEDED);
        let _ = stream.write_all(&out).await;
    }
    let _ = stream.shutdown().await;
}

type CallFuture<'a> = Pin<Box<dyn Future<Output = CallDone> + Send + 'a>>;

struct CallDone {
    call_id: u32,
    context_id: u16,
    interface: Interface,
    opnum: u16,
    result: Result<Option<u32>, DispatchError>,
    /// The response stub.
    stub: Vec<u8>,
    /// The request stub's buffer, handed back to the connection for reuse.
    request: Vec<u8>,
    /// Only when debug logs or metrics are on (they report each call's duration).
    started: Option<Instant>,
}

/// The auth type octet of a PDU's sec_trailer, if it carries one (read before the PDU is
/// handled, to name the kind of an authentication that fails at bind).
fn trailer_auth_type(frag: &[u8]) -> Option<u8> {
    if frag.len() < pdu::HEADER_LEN {
        return None;
    }
    let little = frag[4] & 0x10 != 0;
    let len = if little { u16::from_le_bytes([frag[10], frag[11]]) } else { u16::from_be_bytes([frag[10], frag[11]]) };
    if len == 0 {
        return None;
    }
    let at = frag.len().checked_sub(usize::from(len) + 8)?;
    (at >= pdu::HEADER_LEN).then(|| frag[at])
}

/// Authentication outcomes of one connection, each counted once.
#[derive(Default)]
struct AuthTrack {
    seen: Option<AuthProgress>,
    failure_counted: bool,
}

impl AuthTrack {
    /// Counts what the last fragment changed: a finished authentication (success, and the
    /// connection's caller for the status page) or a failed one.
    fn after(
        &mut self,
        m: &Metrics,
        conn: &ServerConnection,
        next: &Next,
        trailer_type: Option<u8>,
        entry: Option<&ConnEntry>,
    ) {
        let now = conn.auth_progress();
        let auth_type = conn.auth_info().map(|(t, _)| t).or(trailer_type);
        if now != self.seen {
            match now {
                Some(AuthProgress::Done) => {
                    let p = conn.principal();
                    m.record_auth(auth_type, p.map(|p| p.mechanism), AuthResult::Success);
                    if let (Some(e), Some(p)) = (entry, p) {
                        let user =
                            if p.domain.is_empty() { p.user.clone() } else { format!("{}\\{}", p.domain, p.user) };
                        let how = format!(
                            "{} {} level {}",
                            crate::metrics::auth_type_label(Some(p.auth_type)),
                            p.mechanism.name(),
                            p.auth_level
                        );
                        *e.who.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((user, how));
                    }
                }
                Some(AuthProgress::Failed) if !self.failure_counted => {
                    self.failure_counted = true;
                    m.record_auth(auth_type, None, AuthResult::Failure);
                }
                _ => {}
            }
            self.seen = now;
        }
        if matches!(next, Next::Close(CloseReason::AuthFailed(_))) && !self.failure_counted {
            self.failure_counted = true;
            m.record_auth(auth_type, None, AuthResult::Failure);
        }
    }
}

/// Response stub buffers kept per connection (each at most [`dcerpc::server::RECYCLE_MAX`]).
const SPARE_STUBS: usize = 4;

fn recycle_stub(spare: &mut Vec<Vec<u8>>, mut buf: Vec<u8>) {
    if spare.len() < SPARE_STUBS && buf.capacity() <= dcerpc::server::RECYCLE_MAX {
        buf.clear();
        spare.push(buf);
    }
}

/// Encodes a finished call's response (or fault) into `out` and recycles its buffers.
fn finish_call(
    conn: &mut ServerConnection,
    counters: &crate::services::mgmt::Counters,
    metrics: Option<&Metrics>,
    spare: &mut Vec<Vec<u8>>,
    out: &mut Vec<u8>,
    done: CallDone,
) {
    let us = || done.started.map_or(0, |t| t.elapsed().as_micros() as u64);
    if let (Some(m), Some(t)) = (metrics, done.started) {
        let status = match &done.result {
            Ok(s) => CallStatus::Response(*s),
            Err(DispatchError::OpRange(_)) => CallStatus::Fault(fault::NCA_S_OP_RNG_ERROR),
            Err(DispatchError::BadStub(_)) => CallStatus::Fault(fault::NCA_S_FAULT_NDR),
        };
        m.record_call(done.interface, done.opnum, status, t.elapsed());
    }
    match &done.result {
        Ok(status) => {
            conn.encode_response(done.call_id, done.context_id, &done.stub, out);
            counters.calls_out.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                interface = done.interface.name(),
                opnum = done.interface.op_name(done.opnum),
                status = status.map_or_else(|| "-".to_string(), |s| s.to_string()),
                us = us(),
                "Call"
            );
        }
        Err(e) => {
            let code = match e {
                DispatchError::OpRange(_) => fault::NCA_S_OP_RNG_ERROR,
                DispatchError::BadStub(_) => fault::NCA_S_FAULT_NDR,
            };
            conn.encode_fault(done.call_id, done.context_id, code, out);
            tracing::debug!(
                interface = done.interface.name(),
                opnum = done.opnum,
                error = %e,
                us = us(),
                "Call faulted"
            );
        }
    }
    conn.recycle(done.request);
    recycle_stub(spare, done.stub);
}

/// Serves one connection until the peer closes it or the protocol says to.
pub async fn connection(mut stream: TcpStream, peer: SocketAddr, ep: Arc<Endpoint>, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().ok();
    let mut conn = ServerConnection::new(ep.config.clone(), shared.associations.clone());
    // complete fragments are handled in place (unsealed where they lie) and then split off the
    // front with `advance`, which moves no bytes of a partial fragment that follows
    let mut inbuf = bytes::BytesMut::with_capacity(8192);
    let mut out: Vec<u8> = Vec::with_capacity(8192);
    // calls borrow the services for the connection's lifetime: no shared reference count is
    // touched per call (it would bounce between cores)
    let services: Arc<Services> = shared.services.clone();
    let svc: &Services = &services;
    let counters = &svc.mgmt.counters;
    let mut spare: Vec<Vec<u8>> = Vec::new();
    let mut calls: FuturesUnordered<CallFuture<'_>> = FuturesUnordered::new();
    let mut ctx: Option<Arc<CallCtx>> = None;
    let mut ncalls: u64 = 0;
    let mut orphaned: Vec<u32> = Vec::new();
    let blocking_auth = ep.config.blocking_auth();
    let metrics: Option<&Metrics> = shared.metrics.as_deref();
    let listed = shared.metrics.as_ref().map(|m| m.open_connection(ep.name, peer, local));
    let mut auth_track = AuthTrack::default();
    let idle = Duration::from_secs(shared.limits.unauthenticated_idle_secs);
    let mut last_input = tokio::time::Instant::now();
    let outcome: String = 'conn: loop {
        // handle every complete fragment already buffered
        let mut consumed = 0;
        let mut close: Option<CloseReason> = None;
        while let Some(len) = pdu::frame_length(&inbuf[consumed..]) {
            if !(pdu::HEADER_LEN..=MAX_FRAGMENT_IN).contains(&len) {
                close = Some(CloseReason::Protocol(format!("fragment length {len}")));
                break;
            }
            if inbuf.len() - consumed < len {
                break;
            }
            let ptype = inbuf[consumed + 2];
            counters.pkts_in.fetch_add(1, Ordering::Relaxed);
            let frag = &mut inbuf[consumed..consumed + len];
            let trailer_type = (metrics.is_some() && ptype != pdu::PacketType::Request as u8)
                .then(|| trailer_auth_type(frag))
                .flatten();
            let next = if blocking_auth && ptype != pdu::PacketType::Request as u8 {
                handle_blocking(&mut conn, frag, &mut out)
            } else {
                conn.handle_fragment(frag, &mut out)
            };
            consumed += len;
            if let Some(m) = metrics {
                if ptype != pdu::PacketType::Request as u8 || matches!(next, Next::Close(_)) {
                    auth_track.after(m, &conn, &next, trailer_type, listed.as_ref().map(|l| &*l.entry));
                }
            }
            if ptype != pdu::PacketType::Request as u8 {
                ctx = None; // bind/alter/auth3 may change who the caller is
            }
            if ptype == pdu::PacketType::Auth3 as u8 {
                set_quickack(&stream);
            }
            match next {
                Next::Continue => {}
                Next::Orphaned(id) => orphaned.push(id),
                Next::Close(r) => {
                    close = Some(r);
                    break;
                }
                Next::Call(call) => {
                    ncalls += 1;
                    counters.calls_in.fetch_add(1, Ordering::Relaxed);
                    if let Some(l) = &listed {
                        l.entry.calls.fetch_add(1, Ordering::Relaxed);
                    }
                    if ctx.as_ref().is_some_and(|c| c.access_generation != svc.clusapi.access.generation()) {
                        ctx = None; // the cluster access list changed: evaluate the caller again
                    }
                    let c = ctx
                        .get_or_insert_with(|| Arc::new(CallCtx::new(&conn, peer, local, ep.served.clone(), svc)))
                        .clone();
                    let iface = ep.interfaces[call.interface];
                    if iface == Interface::Clusapi && c.access.is_none() && c.principal.is_some() {
                        // [MS-CMRP] 3.1.1.3: the descriptor gives this caller nothing
                        if let Some(m) = metrics {
                            m.record_call(iface, call.opnum, CallStatus::Fault(fault::ACCESS_DENIED), Duration::ZERO);
                        }
                        conn.encode_fault(call.call_id, call.context_id, fault::ACCESS_DENIED, &mut out);
                        conn.recycle(call.stub);
                        continue;
                    }
                    let mut stub = spare.pop().unwrap_or_default();
                    let started = (metrics.is_some() || tracing::enabled!(tracing::Level::DEBUG)).then(Instant::now);
                    let (call_id, context_id, opnum) = (call.call_id, call.context_id, call.opnum);
                    let mut fut: CallFuture<'_> = Box::pin(async move {
                        let result = svc.dispatch(iface, &c, call.opnum, &call.stub, call.order, &mut stub).await;
                        CallDone {
                            call_id: call.call_id,
                            context_id: call.context_id,
                            interface: iface,
                            opnum: call.opnum,
                            result,
                            stub,
                            request: call.stub,
                            started,
                        }
                    });
                    // most calls complete without waiting: answer them right here, and leave
                    // only the ones that block (notification waits) to run concurrently, as
                    // many per association group as the limit allows
                    match (&mut fut).now_or_never() {
                        Some(done) => finish_call(&mut conn, counters, metrics, &mut spare, &mut out, done),
                        None => {
                            let limit = shared.limits.pending_calls_per_association;
                            match conn.group().and_then(|g| g.try_wait(limit)) {
                                Some(waiting) => calls.push(Box::pin(async move {
                                    let done = fut.await;
                                    drop(waiting);
                                    done
                                })),
                                None => {
                                    drop(fut);
                                    tracing::warn!(
                                        endpoint = ep.name,
                                        %peer,
                                        interface = iface.name(),
                                        opnum = iface.op_name(opnum),
                                        limit,
                                        "Call refused: too many waiting calls in this association"
                                    );
                                    if let Some(m) = metrics {
                                        let status = CallStatus::Fault(fault::SERVER_TOO_BUSY);
                                        m.record_call(
                                            iface,
                                            opnum,
                                            status,
                                            started.map_or(Duration::ZERO, |t| t.elapsed()),
                                        );
                                    }
                                    conn.encode_fault(call_id, context_id, fault::SERVER_TOO_BUSY, &mut out);
                                }
                            }
                        }
                    }
                }
            }
        }
        bytes::Buf::advance(&mut inbuf, consumed);
        if !out.is_empty() {
            counters.pkts_out.fetch_add(count_pdus(&out), Ordering::Relaxed);
            if let Err(e) = stream.write_all(&out).await {
                break 'conn format!("write failed: {e}");
            }
            out.clear();
        }
        if let Some(r) = close {
            break 'conn r.to_string();
        }
        if inbuf.len() > MAX_FRAGMENT_IN {
            break 'conn "input buffer overflow".into();
        }
        // a connection that has not authenticated (and waits for nothing) may idle only so long
        let idle_applies = !idle.is_zero() && conn.principal().is_none() && calls.is_empty();
        tokio::select! {
            biased;
            Some(done) = calls.next(), if !calls.is_empty() => {
                if let Some(i) = orphaned.iter().position(|&id| id == done.call_id) {
                    orphaned.swap_remove(i);
                    conn.recycle(done.request);
                    recycle_stub(&mut spare, done.stub);
                    continue;
                }
                finish_call(&mut conn, counters, metrics, &mut spare, &mut out, done);
            }
            r = stream.read_buf(&mut inbuf) => match r {
                Ok(0) => break 'conn "closed by peer".into(),
                Ok(_) => last_input = tokio::time::Instant::now(),
                Err(e) => break 'conn format!("read failed: {e}"),
            },
            _ = tokio::time::sleep_until(last_input + idle), if idle_applies => {
                tracing::warn!(endpoint = ep.name, %peer, secs = idle.as_secs(), "Unauthenticated connection idle: closed");
                break 'conn "idle time-out (not authenticated)".into();
            }
        }
    };
    let (user, auth) = match (conn.principal(), conn.auth_info()) {
        (Some(p), _) => (
            format!("{}\\{}", p.domain, p.user),
            format!("type={} level={} mech={}", p.auth_type, p.auth_level, p.mechanism.name()),
        ),
        (None, Some((t, l))) => ("-".to_string(), format!("type={t} level={l} (not authenticated)")),
        (None, None) => ("-".to_string(), "none".to_string()),
    };
    tracing::info!(endpoint = ep.name, %peer, user, auth, calls = ncalls, outcome, "Connection closed");
}
