//! The backend seam: [`ClusterBackend`] is what the daemon talks to, whether
//! the cluster is a real CTDB or the in-process simulation, and
//! [`BackendError`] (defined in [`crate::error`], re-exported here).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

pub use crate::error::{win32, BackendError, BackendResult};
use crate::events::ClusterEvent;
use crate::model::{ClusterState, Group, GroupKind, NodeState, PropValue};
use crate::overlay::{Overlay, ResourceRequest};
use crate::raw::Share;

/// A boxed, sendable future (keeps the trait object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A message another node's clusapid sent to this one ([`ClusterBackend::listen`]): its
/// payload. ctdbd does not vouch for the sender's node number in its header (a broadcast
/// arrives marked with the receiving node's), so messages that need it carry it themselves.
pub type PeerMessage = Vec<u8>;

/// Where [`ClusterBackend::send`] delivers a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// The clusapid on one node (this one included).
    Node(u32),
    /// The clusapid on every connected node, this one included.
    AllConnected,
}

/// How current a backend's view of its cluster is (for the status and metrics endpoint).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackendStats {
    /// Connections made to the cluster daemon (the first one and every reconnect).
    pub connects: u64,
    /// Complete reads of the cluster state.
    pub refreshes: u64,
    /// Time since the last complete read (`None`: none yet).
    pub since_refresh: Option<std::time::Duration>,
    /// Notifications from the cluster daemon that led to a read.
    pub events: u64,
    /// Sum over those of the time from the notification's arrival to the snapshot that
    /// reflects it, in microseconds.
    pub event_lag_sum_us: u64,
    /// That time for the latest one.
    pub last_event_lag: Option<std::time::Duration>,
}

/// The answer of a trait method a backend does not implement.
fn unsupported<'a, T: Send + 'a>(what: &'static str) -> BoxFuture<'a, BackendResult<T>> {
    Box::pin(std::future::ready(Err(BackendError::Unsupported(what))))
}

/// Reads with `read`, `step` apart, until `pred` holds of what it read (`Ok(Some(it))`) or
/// `timeout` has passed (`Ok(None)`); a failed read ends the wait with its error.
pub(crate) async fn poll_until<T, E, F: Future<Output = Result<T, E>>>(
    timeout: Duration,
    step: Duration,
    mut read: impl FnMut() -> F,
    pred: impl Fn(&T) -> bool,
) -> Result<Option<T>, E> {
    let deadline = Instant::now() + timeout;
    loop {
        let it = read().await?;
        if pred(&it) {
            return Ok(Some(it));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(step).await;
    }
}

/// One change to a backend's [`Overlay`] ([`ClusterBackend::edit_overlay`]): it edits the
/// overlay, given the model it applies to, and returns the id of the object it created (empty
/// when it created none). A backend may run it again on newer state when another writer
/// changed the overlay first.
pub type OverlayEdit<'a> = Box<dyn FnMut(&mut Overlay, &ClusterState) -> BackendResult<String> + Send + 'a>;

/// The operation `f`, which creates nothing, as one [`ClusterBackend::edit_overlay`].
fn edit<'a, B: ClusterBackend + ?Sized>(
    backend: &'a B,
    mut f: impl FnMut(&mut Overlay, &ClusterState) -> BackendResult<()> + Send + 'a,
) -> BoxFuture<'a, BackendResult<()>> {
    let done = backend.edit_overlay(Box::new(move |o, s| f(o, s).map(|()| String::new())));
    Box::pin(async move { done.await.map(drop) })
}

/// What [`ClusterBackend::move_group`] moves for group `group_id`, and where: the group; the
/// public address whose move moves it (a public-IP group's own; the first public IP for the
/// Cluster Group), `None` for a created group, which moves on its own; and the target node,
/// `to` or else the backend's `best_other(current owner, address)`. The File Server role and a
/// Cluster Group without public IPs do not move.
pub(crate) fn group_to_move<'a>(
    state: &'a ClusterState,
    group_id: &str,
    to: Option<u32>,
    best_other: impl FnOnce(Option<u32>, Option<IpAddr>) -> BackendResult<u32>,
) -> BackendResult<(&'a Group, Option<IpAddr>, u32)> {
    let g = state.group_by_id(group_id).ok_or_else(|| BackendError::GroupNotFound(group_id.into()))?;
    let addr = match &g.kind {
        GroupKind::PublicIp(a) => Some(*a),
        GroupKind::Cluster => match state.public_ips.first() {
            Some(p) => Some(p.addr),
            None => return Err(BackendError::Unsupported("the cluster group follows the leader")),
        },
        GroupKind::FileServer => return Err(BackendError::Unsupported("the File Server role runs on every node")),
        GroupKind::Created => None,
    };
    let target = match to {
        Some(pnn) => pnn,
        None => best_other(g.owner, addr)?,
    };
    Ok((g, addr, target))
}

/// A source of cluster state and the operations clusapi can request.
///
/// Successful operations have taken effect in the next [`snapshot`] of a
/// synchronous backend (the simulation); a backend driving an external
/// daemon may show them only after its next poll, and publishes the
/// resulting [`ClusterEvent`]s then.
///
/// [`snapshot`]: ClusterBackend::snapshot
pub trait ClusterBackend: Send + Sync + 'static {
    /// The current model. Cheap (an `Arc` clone); never waits for I/O.
    fn snapshot(&self) -> Arc<ClusterState>;

    /// Events from now on.
    fn subscribe(&self) -> broadcast::Receiver<ClusterEvent>;

    /// False while the backing ctdbd is unreachable (the snapshot is then the
    /// last one known).
    fn available(&self) -> bool;

    /// How current the snapshot is; `None` for a backend that has nothing to lag behind
    /// (the simulation).
    fn stats(&self) -> Option<BackendStats> {
        None
    }

    /// `ctdb disable`: the node stays in the cluster (Paused) and its public
    /// IPs move to other nodes. Pausing a paused node succeeds. A Down node →
    /// `NodeDown`.
    fn pause_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>>;

    /// `ctdb enable`: clears an admin pause. `NodeNotPaused` if the node was
    /// not disabled by an administrator.
    fn resume_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>>;

    /// Records that node `pnn` starts draining, towards `target` if one was named
    /// (ApiPauseNodeEx with `bDrainNode`, ApiPauseNodeWithDrainTarget): from the next snapshot
    /// on the node reports NodeDrainStatus InProgress and `target` as NodeDrainTarget, until
    /// [`end_drain`](ClusterBackend::end_drain). Returns at once; the caller then pauses the
    /// node ([`pause_node`](ClusterBackend::pause_node)) and moves its groups. A drain already
    /// in progress is `DrainInProgress`. The record lives in this backend only (other nodes'
    /// daemons derive the status from the node's CTDB flags and hosted addresses); resuming
    /// the node clears it.
    fn begin_drain(&self, pnn: u32, target: Option<u32>) -> BackendResult<()> {
        let _ = (pnn, target);
        Err(BackendError::Unsupported("node drains"))
    }

    /// Ends the drain [`begin_drain`](ClusterBackend::begin_drain) recorded: NodeDrainStatus
    /// Completed when `ok`, Failed otherwise.
    fn end_drain(&self, pnn: u32, ok: bool) {
        let _ = (pnn, ok);
    }

    /// `ctdb stop`: the node becomes Down and its IPs move away. Idempotent.
    fn stop_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>>;

    /// `ctdb continue`: undoes `stop_node`. Idempotent.
    fn continue_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>>;

    /// `ctdb moveip`: host `addr` on `to_pnn` (which must be Up).
    fn move_ip(&self, addr: IpAddr, to_pnn: u32) -> BoxFuture<'_, BackendResult<()>>;

    /// Moves a group; returns the new owner. A per-IP group (and the Cluster
    /// Group, which follows its IP) becomes a `move_ip`; `None` picks the Up
    /// node other than the current owner that hosts the fewest IPs.
    fn move_group<'a>(&'a self, group_id: &'a str, to_pnn: Option<u32>) -> BoxFuture<'a, BackendResult<u32>>;

    /// Applies one change to the overlay (the objects, names, states and properties clusapi
    /// keeps on top of what CTDB reports; see [`Overlay`]) and persists it; returns what
    /// `edit` returned. The operations below that change only the overlay are written once on
    /// top of this. Fails (the overlay unchanged) while the cluster daemon is unreachable.
    fn edit_overlay<'a>(&'a self, edit: OverlayEdit<'a>) -> BoxFuture<'a, BackendResult<String>>;

    /// Brings every resource of a group online.
    fn set_group_online<'a>(&'a self, group_id: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.set_group_state(s, group_id, true))
    }

    /// Takes every resource of a group offline.
    fn set_group_offline<'a>(&'a self, group_id: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.set_group_state(s, group_id, false))
    }

    fn set_resource_online<'a>(&'a self, resource_id: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.set_resource_state(s, resource_id, ResourceRequest::Online))
    }

    fn set_resource_offline<'a>(&'a self, resource_id: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.set_resource_state(s, resource_id, ResourceRequest::Offline))
    }

    /// ApiFailResource: the resource shows Failed until brought online.
    fn fail_resource<'a>(&'a self, resource_id: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.set_resource_state(s, resource_id, ResourceRequest::Fail))
    }

    /// Creates a resource (Offline) in a group; returns its id.
    fn create_resource<'a>(
        &'a self,
        group_id: &'a str,
        name: &'a str,
        type_name: &'a str,
    ) -> BoxFuture<'a, BackendResult<String>> {
        self.edit_overlay(Box::new(move |o, s| o.create_resource(s, group_id, name, type_name)))
    }

    /// Deletes a created resource; derived ones give `CoreResource`.
    fn delete_resource<'a>(&'a self, resource_id: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.delete_resource(s, resource_id))
    }

    fn rename_resource<'a>(&'a self, resource_id: &'a str, new_name: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.rename_resource(s, resource_id, new_name))
    }

    /// Creates an empty group; returns its id.
    fn create_group<'a>(&'a self, name: &'a str) -> BoxFuture<'a, BackendResult<String>> {
        self.edit_overlay(Box::new(move |o, s| o.create_group(s, name)))
    }

    /// Deletes a created, empty group; derived ones give `CoreResource`.
    fn delete_group<'a>(&'a self, group_id: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.delete_group(s, group_id))
    }

    fn rename_group<'a>(&'a self, group_id: &'a str, new_name: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.rename_group(s, group_id, new_name))
    }

    /// Sets the description of any object by id (empty clears it).
    fn set_description<'a>(&'a self, object_id: &'a str, description: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.set_description(s, object_id, description))
    }

    /// Merges private property values into a resource (SET_PRIVATE_PROPERTIES).
    fn set_private_properties<'a>(
        &'a self,
        resource_id: &'a str,
        props: Vec<(String, PropValue)>,
    ) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.set_private_props(s, resource_id, &props))
    }

    /// Stores (`Some`) or removes (`None`) values in the admin property store under an opaque
    /// object key (SET_COMMON/PRIVATE_PROPERTIES of values CTDB has no notion of); they show
    /// in [`ClusterState::admin_props`] and persist like the rest of the overlay. See
    /// [`crate::Overlay::set_admin_props`].
    fn set_admin_properties<'a>(
        &'a self,
        key: &'a str,
        props: Vec<(String, Option<PropValue>)>,
    ) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, _| o.set_admin_props(key, &props))
    }

    /// Replaces the dependencies (resource ids) of a created resource
    /// (ApiAdd/RemoveResourceDependency, ApiSetResourceDependencyExpression);
    /// see [`crate::Overlay::set_resource_dependencies`].
    fn set_resource_dependencies<'a>(
        &'a self,
        resource_id: &'a str,
        dependencies: Vec<String>,
    ) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.set_resource_dependencies(s, resource_id, &dependencies))
    }

    /// Replaces the possible owners (pnns) of a created resource
    /// (ApiAdd/RemoveResourceNode); see [`crate::Overlay::set_resource_possible_owners`].
    fn set_resource_possible_owners<'a>(
        &'a self,
        resource_id: &'a str,
        pnns: Vec<u32>,
    ) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.set_resource_possible_owners(s, resource_id, &pnns))
    }

    /// Replaces the preferred owners (pnns, in order) of a created group
    /// (ApiSetGroupNodeList); see [`crate::Overlay::set_group_preferred_owners`].
    fn set_group_preferred_owners<'a>(&'a self, group_id: &'a str, pnns: Vec<u32>) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.set_group_preferred_owners(s, group_id, &pnns))
    }

    /// Moves a created resource and its dependency tree to another group
    /// (ApiChangeResourceGroup); see [`crate::Overlay::change_resource_group`].
    fn change_resource_group<'a>(
        &'a self,
        resource_id: &'a str,
        group_id: &'a str,
    ) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.change_resource_group(s, resource_id, group_id))
    }

    /// Renames a network (ApiSetNetworkName); see [`crate::Overlay::rename_network`].
    fn rename_network<'a>(&'a self, network_id: &'a str, new_name: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        edit(self, move |o, s| o.rename_network(s, network_id, new_name))
    }

    /// Replaces the shares the clustered Samba serves (the File Server role's File Share
    /// resources), when an admin changed its configuration; publishes the resulting events.
    /// Only this node's view changes: every node's clusapid reads its own configuration.
    fn set_shares(&self, shares: Vec<Share>) -> BoxFuture<'_, BackendResult<()>> {
        let _ = shares;
        unsupported("changing the shares")
    }

    /// The sequence number of the cluster-wide persistent database `name` (Samba's clustered
    /// `registry.tdb`, say), which changes with every committed write: `None` when this
    /// backend keeps no such databases (nothing to watch). Cheap enough to poll every few
    /// seconds.
    fn database_seqnum<'a>(&'a self, name: &'a str) -> BoxFuture<'a, BackendResult<Option<u64>>> {
        let _ = name;
        Box::pin(std::future::ready(Ok(None)))
    }

    /// Messages sent to `srvid` on this node from now on, by any node's clusapid
    /// ([`send`](ClusterBackend::send)); the backend keeps listening across reconnects to its
    /// daemon. Messages are delivered in order per sender, and dropped (with a log line) when
    /// the receiver falls more than a bounded queue behind. One receiver per `srvid`.
    fn listen(&self, srvid: u64) -> BoxFuture<'_, BackendResult<mpsc::Receiver<PeerMessage>>> {
        let _ = srvid;
        unsupported("messages between nodes")
    }

    /// Sends `data` to `srvid` on `to`'s clusapid. Fire and forget: a node that is down, or
    /// where nobody listens, drops it.
    fn send(&self, to: Destination, srvid: u64, data: Vec<u8>) -> BoxFuture<'_, BackendResult<()>> {
        let _ = (to, srvid, data);
        unsupported("messages between nodes")
    }

    /// The nodes whose clusapid may answer a message now: every node that is connected to
    /// the cluster (for a simulated cluster, only this process's node).
    fn daemon_nodes(&self) -> Vec<u32> {
        let snap = self.snapshot();
        snap.nodes.iter().filter(|n| !matches!(n.state, NodeState::Down | NodeState::Unknown)).map(|n| n.pnn).collect()
    }

    /// Loads the persisted admin layer of the cluster registry ([MS-CMRP] 3.1.1.2: the
    /// cluster registry is non-volatile and the same on every node): the opaque bytes last
    /// given to [`store_registry_blob`](ClusterBackend::store_registry_blob), `None` when
    /// nothing was ever stored. clusapid calls this on every registry call, so it should be
    /// cheap (a local read); it must return the latest bytes any node of the cluster stored,
    /// or bytes at most a bounded, documented time older (the ctdb backend's
    /// [`READ_CACHE`](crate::ctdb::backend::READ_CACHE); writes always see the latest).
    /// The bytes are checksummed by their producer (`registry_model::StoredTree`); a backend
    /// returns them unchanged and never interprets them.
    fn registry_blob(&self) -> BoxFuture<'_, BackendResult<Option<Vec<u8>>>> {
        unsupported("cluster registry storage")
    }

    /// Replaces the persisted cluster-registry blob, atomically and durably: when this
    /// returns `Ok` every node's [`registry_blob`](ClusterBackend::registry_blob) returns
    /// `bytes` and they survive a crash or the loss of a node; on `Err` the previous blob is
    /// intact (never a mix of both). clusapid serialises its own calls (load, change, store);
    /// concurrent stores from other nodes are the backend's to order.
    fn store_registry_blob(&self, bytes: Vec<u8>) -> BoxFuture<'_, BackendResult<()>> {
        let _ = bytes;
        unsupported("cluster registry storage")
    }

    /// Read-modify-write of the cluster-registry blob: `f` gets the latest stored bytes
    /// (`None`: nothing stored) and returns the new ones, which are stored unless equal. A
    /// backend shared by several writers (the ctdb backend: every node's clusapid) runs `f`
    /// again on the newer bytes when another writer committed first, so no update is lost;
    /// the default, for single-writer backends, is one load and one store. Returns the bytes
    /// stored.
    fn update_registry_blob<'a>(&'a self, mut f: BlobUpdate<'a>) -> BoxFuture<'a, BackendResult<Vec<u8>>> {
        Box::pin(async move {
            let current = self.registry_blob().await?;
            let new = f(current.as_deref())?;
            if current.as_deref() != Some(&new[..]) {
                self.store_registry_blob(new.clone()).await?;
            }
            Ok(new)
        })
    }
}

/// The change function of [`ClusterBackend::update_registry_blob`].
pub type BlobUpdate<'a> = Box<dyn FnMut(Option<&[u8]>) -> BackendResult<Vec<u8>> + Send + 'a>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn win32_codes() {
        assert_eq!(BackendError::NodeNotFound(9).win32_code(), 5042);
        assert_eq!(BackendError::NodeNotPaused(0).win32_code(), 5058);
        assert_eq!(BackendError::NodePaused(0).win32_code(), 5070);
        assert_eq!(BackendError::NodeDown(0).win32_code(), 5050);
        assert_eq!(BackendError::NoOtherNodeUp.win32_code(), 5050);
        assert_eq!(BackendError::DrainInProgress(1).win32_code(), 5962);
        assert_eq!(BackendError::GroupNotFound(String::new()).win32_code(), 5013);
        assert_eq!(BackendError::ResourceNotFound(String::new()).win32_code(), 5007);
        assert_eq!(BackendError::ResourceTypeNotFound(String::new()).win32_code(), 5078);
        assert_eq!(BackendError::ObjectAlreadyExists(String::new()).win32_code(), 5010);
        assert_eq!(BackendError::CoreResource(String::new()).win32_code(), 5026);
        assert_eq!(BackendError::InvalidState(String::new()).win32_code(), 5023);
        assert_eq!(BackendError::Unavailable(String::new()).win32_code(), 5072);
        assert_eq!(BackendError::Unsupported("x").win32_code(), 50);
    }

    fn _object_safe(_: &dyn ClusterBackend) {}
}
