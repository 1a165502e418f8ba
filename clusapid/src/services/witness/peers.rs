//! Witness registrations across the cluster: any node's clusapid lists every node's
//! registrations and steers them, by asking the other nodes' clusapid over ctdbd's messages
//! ([`ClusterBackend::send`] / [`ClusterBackend::listen`] on [`WITNESS_SRVID`]).
//!
//! A registration lives on the node whose clusapid the client registered with (its context
//! handle is that connection's), so that node answers for it: a list request is broadcast to
//! every connected node and each answers with its own registrations (in chunks); a command is
//! broadcast with its filter and each node applies it to its own and answers how many it
//! reached. A node that died took its clients' registrations (and their connections) with it:
//! it answers nothing and they are gone, as [MS-SWN] expects of a witness that goes away; a
//! connected node whose clusapid does not answer within [`ANSWER_TIMEOUT`] is reported.
//!
//! Why messages and not a CTDB database: a persistent database makes every registration and
//! unregistration a cluster-wide transaction (a writer child on every node, a recovery when
//! two nodes commit at once), and a volatile one needs the record locks only ctdb's own
//! libraries take; the answers here are always the live state, at the cost of asking.
//!
//! Messages are JSON ([`PeerMsg`]), each naming its sender's pnn (ctdbd does not vouch for it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nodes::{ClusterBackend, Destination};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::registry::{Command, Filter, RegistrationInfo, Registry};

/// The srvid every clusapid listens on for witness requests (in ctdb's client range, with
/// upper bits no pid-derived client srvid has).
pub const WITNESS_SRVID: u64 = 0xBE00_C1A5_A1D0_0001;
/// How long a request waits for the other nodes.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// Registrations per list answer message.
const CHUNK: usize = 400;

/// One message between the clusapid of two nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PeerMsg {
    ListRequest { req: u64, from: u32, filter: Filter },
    ListReply { req: u64, from: u32, regs: Vec<RegistrationInfo>, last: bool },
    CommandRequest { req: u64, from: u32, filter: Filter, command: Command },
    CommandReply { req: u64, from: u32, affected: usize },
}

/// Registrations of the whole cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterListing {
    pub registrations: Vec<RegistrationInfo>,
    /// Connected nodes whose clusapid did not answer.
    pub silent_nodes: Vec<u32>,
}

/// What a command did, per node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CommandOutcome {
    /// Registrations reached: (node pnn, count), by pnn.
    pub affected: Vec<(u32, usize)>,
    pub silent_nodes: Vec<u32>,
}

impl CommandOutcome {
    /// Registrations reached on all nodes.
    pub fn total(&self) -> usize {
        self.affected.iter().map(|(_, n)| n).sum()
    }
}

/// The cluster-wide side of this node's witness.
pub struct Peers {
    backend: Arc<dyn ClusterBackend>,
    registry: Arc<Registry>,
    next_req: AtomicU64,
    waiting: Mutex<HashMap<u64, mpsc::UnboundedSender<PeerMsg>>>,
}

impl Peers {
    pub fn new(backend: Arc<dyn ClusterBackend>, registry: Arc<Registry>) -> Arc<Peers> {
        Arc::new(Peers {
            backend,
            registry,
            next_req: AtomicU64::new(rand::random::<u32>() as u64),
            waiting: Mutex::new(HashMap::new()),
        })
    }

    fn this_pnn(&self) -> u32 {
        self.backend.snapshot().cluster.this_pnn
    }

    /// Listens for the other nodes' requests and answers until the returned task is aborted.
    /// Fails when the backend cannot carry messages (then only this node's registrations are
    /// listed and steered).
    pub async fn start(self: &Arc<Self>) -> nodes::BackendResult<tokio::task::JoinHandle<()>> {
        let mut rx = self.backend.listen(WITNESS_SRVID).await?;
        let me = self.clone();
        Ok(tokio::spawn(async move {
            while let Some(data) = rx.recv().await {
                match serde_json::from_slice::<PeerMsg>(&data) {
                    Ok(m) => me.handle(m).await,
                    Err(e) => tracing::debug!(error = %e, "undecodable witness peer message"),
                }
            }
        }))
    }

    async fn handle(&self, m: PeerMsg) {
        match m {
            PeerMsg::ListRequest { req, from, filter } => {
                let snap = self.backend.snapshot();
                let regs = self.registry.infos(&snap, &filter);
                let me = snap.cluster.this_pnn;
                let mut chunks: Vec<Vec<RegistrationInfo>> = regs.chunks(CHUNK).map(<[_]>::to_vec).collect();
                if chunks.is_empty() {
                    chunks.push(Vec::new());
                }
                let n = chunks.len();
                for (i, regs) in chunks.into_iter().enumerate() {
                    self.reply(from, PeerMsg::ListReply { req, from: me, regs, last: i + 1 == n }).await;
                }
            }
            PeerMsg::CommandRequest { req, from, filter, command } => {
                let snap = self.backend.snapshot();
                let affected = self.registry.apply(&snap, &filter, &command);
                if affected > 0 {
                    tracing::info!(?command, ?filter, affected, requested_by = from, "Witness command applied");
                }
                self.reply(from, PeerMsg::CommandReply { req, from: snap.cluster.this_pnn, affected }).await;
            }
            reply @ (PeerMsg::ListReply { req, .. } | PeerMsg::CommandReply { req, .. }) => {
                let tx = self.waiting.lock().unwrap_or_else(PoisonError::into_inner).get(&req).cloned();
                if let Some(tx) = tx {
                    let _ = tx.send(reply);
                }
            }
        }
    }

    async fn reply(&self, to: u32, m: PeerMsg) {
        let data = serde_json::to_vec(&m).unwrap_or_default();
        if let Err(e) = self.backend.send(Destination::Node(to), WITNESS_SRVID, data).await {
            tracing::debug!(node = to, error = %e, "cannot answer a witness request");
        }
    }

    /// Broadcasts `m` (made for request number `req`) and collects the answers until every
    /// connected node finished (`done` says when a node's answers are complete) or
    /// [`ANSWER_TIMEOUT`]. Returns the answers and the nodes that did not finish.
    async fn ask(
        &self,
        req: u64,
        m: PeerMsg,
        mut done: impl FnMut(&PeerMsg) -> Option<u32>,
    ) -> (Vec<PeerMsg>, Vec<u32>) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner).insert(req, tx);
        let mut expected: Vec<u32> = self.backend.daemon_nodes();
        let mut answers = Vec::new();
        let sent = self
            .backend
            .send(Destination::AllConnected, WITNESS_SRVID, serde_json::to_vec(&m).unwrap_or_default())
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "cannot reach the other nodes' clusapid");
        } else {
            let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
            while !expected.is_empty() {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(a)) => {
                        if let Some(node) = done(&a) {
                            expected.retain(|&n| n != node);
                        }
                        answers.push(a);
                    }
                    _ => break,
                }
            }
        }
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner).remove(&req);
        (answers, expected)
    }

    /// Every registration of the cluster that `filter` selects.
    pub async fn list(&self, filter: Filter) -> ClusterListing {
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        let m = PeerMsg::ListRequest { req, from: self.this_pnn(), filter: filter.clone() };
        let last_of = |a: &PeerMsg| match a {
            PeerMsg::ListReply { last: true, from, .. } => Some(*from),
            _ => None,
        };
        let (answers, silent) = self.ask(req, m, last_of).await;
        let mut out = ClusterListing { silent_nodes: silent, ..Default::default() };
        let mut seen_self = false;
        let me = self.this_pnn();
        for a in answers {
            if let PeerMsg::ListReply { regs, from, .. } = a {
                seen_self |= from == me;
                out.registrations.extend(regs);
            }
        }
        if !seen_self {
            // no messages at all (ctdbd unreachable): this node's own, at least
            out.silent_nodes.retain(|&n| n != me);
            out.registrations.extend(self.registry.infos(&self.backend.snapshot(), &filter));
        }
        out.registrations.sort_by(|a, b| a.registered_since.cmp(&b.registered_since).then_with(|| a.id.cmp(&b.id)));
        out
    }

    /// Applies `command` to every registration of the cluster that `filter` selects.
    pub async fn command(&self, filter: Filter, command: Command) -> CommandOutcome {
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        let me = self.this_pnn();
        let m = PeerMsg::CommandRequest { req, from: me, filter: filter.clone(), command: command.clone() };
        let (answers, silent) = self.ask(req, m, |a| Some(from_of(a))).await;
        let mut out = CommandOutcome { silent_nodes: silent, ..Default::default() };
        for a in answers {
            if let PeerMsg::CommandReply { from, affected, .. } = a {
                out.affected.push((from, affected));
            }
        }
        if !out.affected.iter().any(|(n, _)| *n == me) {
            out.silent_nodes.retain(|&n| n != me);
            let n = self.registry.apply(&self.backend.snapshot(), &filter, &command);
            out.affected.push((me, n));
        }
        out.affected.sort_unstable();
        out
    }
}

fn from_of(m: &PeerMsg) -> u32 {
    match m {
        PeerMsg::ListRequest { from, .. }
        | PeerMsg::ListReply { from, .. }
        | PeerMsg::CommandRequest { from, .. }
        | PeerMsg::CommandReply { from, .. } => *from,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_json_with_a_kind() {
        let m = PeerMsg::CommandRequest {
            req: 7,
            from: 1,
            filter: Filter { client_name: Some("WIN*".into()), ..Default::default() },
            command: Command::MoveClient { ips: vec!["192.0.2.101".parse().unwrap()] },
        };
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.contains(r#""kind":"command_request""#) && text.contains(r#""command":"move_client""#), "{text}");
        assert_eq!(serde_json::from_str::<PeerMsg>(&text).unwrap(), m);
        assert!(serde_json::from_slice::<PeerMsg>(b"{\"kind\":\"nope\"}").is_err());
    }
}
