//! The object classes of clusapi — cluster, node, group, resource, network, network interface,
//! group set — and the operations they share, written once.
//!
//! Each class ([`ObjectClass`]) states only what differs: its context-handle type, how the
//! cluster model finds its objects by name and by handle, its not-found error, and (through
//! [`Stateful`] / [`Renamable`]) its state and how it is renamed. On that, this module
//! implements for every class:
//!
//! * `ApiOpen*` ([`open`]) and `ApiOpen*Ex` with the access evaluation ([`open`] too: the Ex
//!   request carries `dwDesiredAccess`), `ApiClose*` ([`close`]), `ApiGet*Id` ([`get_id`]),
//!   `ApiGet*State` ([`get_state`]), `ApiSet*Name` ([`set_name`]) and, for groups and
//!   resources, `ApiOnline*` / `ApiOffline*` and their Ex forms ([`online`], [`offline`]);
//! * the handle checks every class-specific operation starts with: [`handle`] (open handle of
//!   the class, else ERROR_INVALID_HANDLE), [`writable`] (and "All" access, else
//!   ERROR_ACCESS_DENIED) and [`object`] (the object is still in the model, else the class's
//!   not-found error).
//!
//! The control dispatcher (`control.rs`) and the notification registrations (`notify.rs`) are
//! written once over the same classes.
//!
//! **How a request reaches this code.** The tables at the end of this module ([`opens!`],
//! [`closes!`], ...) tie each request type of a shared operation to its class and its reply
//! type (the reply's handle field, its extra state fields). The family module re-exports the
//! generic function under the opnum's name, e.g. in `node.rs`
//! `pub use super::objclass::close as api_close_node;`, and `mod.rs` routes the opnum to that
//! name like any other.
//!
//! **Adding an object class**: its handle in `mod.rs` (`object_handles!`), a unit struct here
//! with its `impl ObjectClass` (and `Stateful`, `Renamable`, `Switchable` where they apply),
//! its rows in the tables below; then its control target (`control.rs`), properties
//! (`properties.rs`) and notification rows (`notify.rs`). **Adding an opnum**: a plain function
//! in the family file, or, for one of the shared operations, a row in a table here and a
//! `pub use` in the family file; then its route in `mod.rs`. README "Layout" says it at length.

use std::sync::Arc;

use idl::clusapi::*;
use idl::{ContextHandle, WError, WString};
use nodes::{
    BackendResult, ClusterBackend, ClusterInfo, ClusterState, Group, GroupState, NetInterface, Network, Node, Resource,
    ResourceState,
};

use super::access::{self, Granted};
use super::{
    status, win, ClusapiService, ClusterHandle, GroupHandle, GroupSetHandle, NetInterfaceHandle, NetworkHandle,
    NodeHandle, ObjectHandle, ResourceHandle,
};
use crate::services::CallCtx;

/// One class of cluster objects: what the shared operations need to know about it.
pub trait ObjectClass: 'static {
    /// The context handle the class's Open methods hand out (HNODE_RPC, ...).
    type Handle: ObjectHandle;
    /// The object in the cluster model.
    type Object: 'static;
    /// The error for a name no object of the class has, and for a handle whose object is gone
    /// (ERROR_CLUSTER_NODE_NOT_FOUND, ERROR_GROUP_NOT_FOUND, ...).
    const NOT_FOUND: u32;
    /// The object named `name` (case-insensitive).
    fn find<'a>(snap: &'a ClusterState, name: &str) -> Option<&'a Self::Object>;
    /// The object handle `h` designates, if it is still in the model.
    fn lookup<'a>(snap: &'a ClusterState, h: &Self::Handle) -> Option<&'a Self::Object>;
    /// A handle on `o` granting `access`.
    fn new_handle(o: &Self::Object, access: Granted) -> Self::Handle;
    /// The object's id (GUID, or the decimal node id).
    fn id(o: &Self::Object) -> &str;
}

/// What `ApiGet*State` reports: the state, and for groups and resources the owner node's name,
/// for resources their group's name.
pub struct ObjectState {
    pub state: u32,
    pub node_name: Option<String>,
    pub group_name: Option<String>,
}

impl ObjectState {
    fn plain(state: u32) -> Self {
        ObjectState { state, node_name: None, group_name: None }
    }
}

/// A class whose objects have a state ([`get_state`]).
pub trait Stateful: ObjectClass {
    fn state(snap: &ClusterState, o: &Self::Object) -> ObjectState;
}

/// A class whose objects can be renamed ([`set_name`]).
pub trait Renamable: ObjectClass {
    /// The error when the object of the handle is gone by the rename (ERROR_GROUP_NOT_AVAILABLE,
    /// ERROR_RESOURCE_NOT_AVAILABLE, ERROR_NETWORK_NOT_AVAILABLE).
    const NOT_AVAILABLE: u32;
    /// The object with id `id`.
    fn by_id<'a>(snap: &'a ClusterState, id: &str) -> Option<&'a Self::Object>;
    /// The id the handle holds.
    fn handle_id(h: &Self::Handle) -> &str;
    /// The backend's rename (kept in the admin overlay for derived objects).
    fn rename<'a>(b: &'a dyn ClusterBackend, id: &'a str, name: &'a str) -> nodes::BoxFuture<'a, BackendResult<()>>;
}

// ---------------------------------------------------------------------------------------------
// handle checks

/// The open handle `h` of class `C` in this association: ERROR_INVALID_HANDLE when it is
/// unknown or of another class.
pub fn handle<C: ObjectClass>(ctx: &CallCtx, h: &ContextHandle) -> Result<Arc<C::Handle>, u32> {
    ctx.group.get::<C::Handle>(h).ok_or(win::ERROR_INVALID_HANDLE)
}

/// The handle of a state-changing call: as [`handle`], and ERROR_ACCESS_DENIED when it only
/// grants "Read" ([MS-CMRP] 3.1.4: such methods "MUST require that the access level associated
/// with the handle is All").
pub fn writable<C: ObjectClass>(ctx: &CallCtx, h: &ContextHandle) -> Result<Arc<C::Handle>, u32> {
    super::writable::<C::Handle>(ctx, h)
}

/// The object a handle designates, or the class's not-found error when it was deleted meanwhile.
pub fn object<'a, C: ObjectClass>(snap: &'a ClusterState, h: &C::Handle) -> Result<&'a C::Object, u32> {
    C::lookup(snap, h).ok_or(C::NOT_FOUND)
}

/// The check of a state-changing call on one object: [`writable`], and the object is still in
/// the model ([`object`]).
pub fn writable_object<C: ObjectClass>(s: &ClusapiService, ctx: &CallCtx, h: &ContextHandle) -> Result<(), u32> {
    let h = writable::<C>(ctx, h)?;
    object::<C>(&s.backend.snapshot(), &h).map(drop)
}

/// An open handle of class `C`.
pub type HandleOf<C> = Arc<<C as ObjectClass>::Handle>;

/// The check of a state-changing call on two objects: both handles [`writable`], then both
/// objects still in the model ([`object`]), in that order.
pub fn writable_objects<A: ObjectClass, B: ObjectClass>(
    s: &ClusapiService,
    ctx: &CallCtx,
    a: &ContextHandle,
    b: &ContextHandle,
) -> Result<(HandleOf<A>, HandleOf<B>), u32> {
    let (a, b) = (writable::<A>(ctx, a)?, writable::<B>(ctx, b)?);
    let snap = s.backend.snapshot();
    object::<A>(&snap, &a)?;
    object::<B>(&snap, &b)?;
    Ok((a, b))
}

/// The start of every method that reads one object: its open handle of class `C` ([`handle`]),
/// the current model and the object in it ([`object`]), handed to `f`.
pub fn read<C: ObjectClass, T>(
    s: &ClusapiService,
    ctx: &CallCtx,
    h: &ContextHandle,
    f: impl FnOnce(&ClusterState, &C::Object) -> T,
) -> Result<T, u32> {
    let h = handle::<C>(ctx, h)?;
    let snap = s.backend.snapshot();
    Ok(f(&snap, object::<C>(&snap, &h)?))
}

/// The reply of an enumeration of one object's related objects (ApiCreateResEnum,
/// ApiCreateGroupResourceEnum, ApiCreateNetworkEnum, ApiCreateResTypeEnum) or of a filtered
/// set of objects (ApiCreateNetInterfaceEnum, ApiCreateGroupSetEnum): the list, or the error
/// and no list.
pub trait EnumReply {
    fn listed(entries: Vec<EnumEntry>) -> Self;
    fn failed(e: u32) -> Self;
}

/// The entries of such an enumeration: for each (entry type, names) of `kinds` whose type bit
/// `mask` selects, in that order, one entry per name; other bits are ignored.
pub fn selected_entries(mask: u32, kinds: Vec<(u32, Vec<String>)>) -> Vec<EnumEntry> {
    kinds
        .into_iter()
        .filter(|(t, _)| mask & t != 0)
        .flat_map(|(t, names)| names.into_iter().map(move |n| EnumEntry { entry_type: t, name: Some(WString::new(n)) }))
        .collect()
}

/// An enumeration of the object of handle `h` ([`read`]): `kinds` names its related objects of
/// each entry type, `mask` selects the types ([`selected_entries`]).
pub fn enumerate<C: ObjectClass, R: EnumReply>(
    s: &ClusapiService,
    ctx: &CallCtx,
    h: &ContextHandle,
    mask: u32,
    kinds: impl FnOnce(&ClusterState, &C::Object) -> Vec<(u32, Vec<String>)>,
) -> R {
    match read::<C, _>(s, ctx, h, |snap, o| selected_entries(mask, kinds(snap, o))) {
        Ok(entries) => R::listed(entries),
        Err(e) => R::failed(e),
    }
}

// ---------------------------------------------------------------------------------------------
// the shared operations

/// A request of `ApiOpen*` / `ApiOpen*Ex` ([`opens!`]).
pub trait OpenRequest {
    type Class: ObjectClass;
    type Reply: OpenReply;
    /// The object's name (empty for the cluster).
    fn name(&self) -> &str;
    /// `dwDesiredAccess` of the Ex form; `None` for the plain form (the caller's entitlement).
    fn desired_access(&self) -> Option<u32>;
}

/// The reply of an open: the handle, and `lpdwGrantedAccess` for the Ex form.
pub trait OpenReply {
    fn opened(h: ContextHandle, granted: Granted) -> Self;
    fn failed(e: u32) -> Self;
}

/// [MS-CMRP 3.1.4.2.1, .9, .42, .66, .81, .92, .147] ApiOpenCluster, ApiOpenResource,
/// ApiOpenGroup, ApiOpenNode, ApiOpenNetwork, ApiOpenNetInterface, ApiOpenGroupSet: a handle on
/// the object of that name (case-insensitive) with the caller's full entitlement; a failed open
/// returns a null handle with the error in Status (the class's not-found error for an unknown
/// name). [MS-CMRP 3.1.4.2.116-121] their Ex forms evaluate `dwDesiredAccess`
/// ([`access::evaluate`]) first and report the grant as GENERIC_READ or GENERIC_ALL.
pub fn open<R: OpenRequest>(s: &ClusapiService, ctx: &CallCtx, req: R) -> R::Reply {
    let entitled = Granted::entitled(ctx.access);
    let granted = match req.desired_access() {
        Some(desired) => access::evaluate(desired, entitled),
        None => entitled.ok_or(win::ERROR_ACCESS_DENIED),
    };
    let opened = granted.and_then(|granted| {
        let snap = s.backend.snapshot();
        let o = <R::Class>::find(&snap, req.name()).ok_or(<R::Class>::NOT_FOUND)?;
        let h = ctx.group.insert(<R::Class>::new_handle(o, granted)).ok_or(win::ERROR_NOT_ENOUGH_MEMORY)?;
        Ok((h, granted))
    });
    match opened {
        Ok((h, granted)) => R::Reply::opened(h, granted),
        Err(e) => R::Reply::failed(e),
    }
}

/// A request on the object of one handle, with its class and reply ([`closes!`], ...).
pub trait ObjectRequest {
    type Class: ObjectClass;
    type Reply;
    fn object(&self) -> &ContextHandle;
}

/// The reply of `ApiClose*`: the handle (zeroed once freed) and the result.
pub trait CloseReply {
    fn closed(h: ContextHandle, result: u32) -> Self;
}

/// [MS-CMRP 3.1.4.2.2, .12, .45, .67, .82, .93, .148] ApiCloseCluster, ApiCloseResource,
/// ApiCloseGroup, ApiCloseNode, ApiCloseNetwork, ApiCloseNetInterface, ApiCloseGroupSet: frees
/// the handle and returns it zeroed; a handle that is not an open one of the class is returned
/// as sent with ERROR_INVALID_HANDLE.
pub fn close<R: ObjectRequest>(_s: &ClusapiService, ctx: &CallCtx, req: R) -> R::Reply
where
    R::Reply: CloseReply,
{
    let h = *req.object();
    if ctx.group.remove::<<R::Class as ObjectClass>::Handle>(&h) {
        R::Reply::closed(ContextHandle::NULL, win::ERROR_SUCCESS)
    } else {
        R::Reply::closed(h, win::ERROR_INVALID_HANDLE)
    }
}

/// The reply of `ApiGet*Id`.
pub trait IdReply {
    fn id(id: &str) -> Self;
    fn failed(e: u32) -> Self;
}

/// [MS-CMRP 3.1.4.2.15, .48, .49, .86, .96] ApiGetResourceId, ApiGetGroupId, ApiGetNodeId,
/// ApiGetNetworkId, ApiGetNetInterfaceId: the object's id (a GUID stable across renames and
/// moves; for a node its decimal id, pnn + 1).
pub fn get_id<R: ObjectRequest>(s: &ClusapiService, ctx: &CallCtx, req: R) -> R::Reply
where
    R::Reply: IdReply,
{
    read::<R::Class, _>(s, ctx, req.object(), |_, o| R::Reply::id(<R::Class>::id(o))).unwrap_or_else(R::Reply::failed)
}

/// The reply of `ApiGet*State`.
pub trait StateReply {
    fn state(st: ObjectState) -> Self;
    /// The reply of a failed call: state -1 (unknown).
    fn unknown(e: u32) -> Self;
}

/// [MS-CMRP 3.1.4.2.13, .46, .68, .83, .94] ApiGetResourceState, ApiGetGroupState,
/// ApiGetNodeState, ApiGetNetworkState, ApiGetNetInterfaceState: the current state from the
/// live model ([`Stateful`]); state -1 with the error otherwise.
pub fn get_state<R: ObjectRequest>(s: &ClusapiService, ctx: &CallCtx, req: R) -> R::Reply
where
    R::Class: Stateful,
    R::Reply: StateReply,
{
    read::<R::Class, _>(s, ctx, req.object(), |snap, o| R::Reply::state(<R::Class>::state(snap, o)))
        .unwrap_or_else(R::Reply::unknown)
}

/// A request of `ApiSet*Name` ([`set_names!`]).
pub trait SetNameRequest: ObjectRequest {
    fn new_name(&self) -> &str;
}

/// The reply of a method whose only output is its result.
pub trait StatusReply {
    fn status(r: Result<(), u32>) -> Self;
}

/// [MS-CMRP 3.1.4.2.14, .47, .84] ApiSetResourceName, ApiSetGroupName, ApiSetNetworkName:
/// renames the object (derived objects keep the new name in the admin overlay). The handle
/// needs "All" access; the name "MUST contain at least one character" (ERROR_INVALID_NAME);
/// a name that is "already used as either the name or the ID of another" object of the class is
/// ERROR_ALREADY_EXISTS; renaming to the current name succeeds.
pub async fn set_name<R: SetNameRequest>(s: &ClusapiService, ctx: &CallCtx, req: R) -> R::Reply
where
    R::Class: Renamable,
    R::Reply: StatusReply,
{
    let r = async {
        let h = writable::<R::Class>(ctx, req.object())?;
        let name = req.new_name();
        if name.trim().is_empty() {
            return Err(win::ERROR_INVALID_NAME);
        }
        let id = <R::Class>::handle_id(&h);
        {
            let snap = s.backend.snapshot();
            let o = <R::Class>::by_id(&snap, id).ok_or(<R::Class>::NOT_AVAILABLE)?;
            let taken = <R::Class>::find(&snap, name).or_else(|| <R::Class>::by_id(&snap, name));
            if taken.is_some_and(|t| <R::Class>::id(t) != <R::Class>::id(o)) {
                return Err(win::ERROR_ALREADY_EXISTS);
            }
        }
        <R::Class>::rename(s.backend.as_ref(), id, name).await.map_err(|e| e.win32_code())
    }
    .await;
    R::Reply::status(r)
}

/// A class whose objects are brought online and taken offline ([`online`], [`offline`]).
pub trait Switchable: Renamable {
    /// Whether the object must still be in the model before the backend is asked (else the
    /// backend's own not-found error answers).
    const CHECK_OBJECT: bool;
    /// The backend's online (`true`) or offline (admin override) of object `id`.
    fn switch<'a>(b: &'a dyn ClusterBackend, id: &'a str, online: bool) -> nodes::BoxFuture<'a, BackendResult<()>>;
    /// Whether object `id` shows the state asked for.
    fn shows(snap: &ClusterState, id: &str, online: bool) -> bool;
}

async fn switch<C: Switchable>(s: &ClusapiService, ctx: &CallCtx, h: &ContextHandle, online: bool) -> Result<(), u32> {
    let h = writable::<C>(ctx, h)?;
    if C::CHECK_OBJECT {
        object::<C>(&s.backend.snapshot(), &h)?;
    }
    let id = C::handle_id(&h);
    C::switch(s.backend.as_ref(), id, online).await.map_err(|e| e.win32_code())?;
    if C::shows(&s.backend.snapshot(), id, online) {
        Ok(())
    } else {
        Err(win::ERROR_IO_PENDING)
    }
}

/// [MS-CMRP 3.1.4.2.50, .18] ApiOnlineGroup, ApiOnlineResource, and [3.1.4.2.129, .134] their
/// Ex forms (whose flags and buffer of hints change nothing for a CTDB cluster): for a group,
/// every resource of it online (for a public IP group: an admin offline cleared, CTDB hosts
/// the address); for a resource, an admin offline/failed state cleared (a derived resource then
/// shows what CTDB reports) or a created resource brought online. ERROR_SUCCESS once the object
/// shows Online, ERROR_IO_PENDING while not (a CTDB backend shows the effect after its next
/// poll, and an address no node can host stays offline until one can).
pub async fn online<R: ObjectRequest>(s: &ClusapiService, ctx: &CallCtx, req: R) -> R::Reply
where
    R::Class: Switchable,
    R::Reply: StatusReply,
{
    R::Reply::status(switch::<R::Class>(s, ctx, req.object(), true).await)
}

/// [MS-CMRP 3.1.4.2.51, .19] ApiOfflineGroup, ApiOfflineResource, and [3.1.4.2.130, .135]
/// their Ex forms: an admin offline kept over what CTDB reports (for a group, of every
/// resource of it); ERROR_SUCCESS once the object shows Offline, ERROR_IO_PENDING while not.
pub async fn offline<R: ObjectRequest>(s: &ClusapiService, ctx: &CallCtx, req: R) -> R::Reply
where
    R::Class: Switchable,
    R::Reply: StatusReply,
{
    R::Reply::status(switch::<R::Class>(s, ctx, req.object(), false).await)
}

// ---------------------------------------------------------------------------------------------
// the classes

/// The cluster itself (HCLUSTER_RPC): one object, opened without a name.
pub struct Cluster;
/// Nodes (HNODE_RPC), by pnn.
pub struct Nodes;
/// Groups (HGROUP_RPC), by id.
pub struct Groups;
/// Resources (HRES_RPC), by id.
pub struct Resources;
/// Networks (HNETWORK_RPC), by id.
pub struct Networks;
/// Network interfaces (HNETINTERFACE_RPC), by id.
pub struct NetInterfaces;
/// Group sets (HGROUPSET_RPC): a CTDB cluster has none (see `groupset.rs`).
pub struct GroupSets;

impl ObjectClass for Cluster {
    type Handle = ClusterHandle;
    type Object = ClusterInfo;
    const NOT_FOUND: u32 = win::ERROR_INVALID_HANDLE;
    fn find<'a>(snap: &'a ClusterState, _name: &str) -> Option<&'a ClusterInfo> {
        Some(&snap.cluster)
    }
    fn lookup<'a>(snap: &'a ClusterState, _h: &ClusterHandle) -> Option<&'a ClusterInfo> {
        Some(&snap.cluster)
    }
    fn new_handle(_o: &ClusterInfo, access: Granted) -> ClusterHandle {
        ClusterHandle { access }
    }
    fn id(o: &ClusterInfo) -> &str {
        &o.name
    }
}

impl ObjectClass for Nodes {
    type Handle = NodeHandle;
    type Object = Node;
    const NOT_FOUND: u32 = win::ERROR_CLUSTER_NODE_NOT_FOUND;
    fn find<'a>(snap: &'a ClusterState, name: &str) -> Option<&'a Node> {
        snap.find_node_by_name(name)
    }
    fn lookup<'a>(snap: &'a ClusterState, h: &NodeHandle) -> Option<&'a Node> {
        snap.node_by_pnn(h.pnn)
    }
    fn new_handle(o: &Node, access: Granted) -> NodeHandle {
        NodeHandle { pnn: o.pnn, access }
    }
    fn id(o: &Node) -> &str {
        &o.id
    }
}

impl Stateful for Nodes {
    fn state(_snap: &ClusterState, n: &Node) -> ObjectState {
        ObjectState::plain(n.state.as_u32())
    }
}

/// The name of node `pnn`, or "" for none.
pub fn owner_name(snap: &ClusterState, pnn: Option<u32>) -> String {
    pnn.and_then(|p| snap.node_name(p)).unwrap_or_default().to_owned()
}

/// The classes whose handles hold the object's id.
macro_rules! by_id_classes {
    ($($class:ident: $handle:ident, $object:ident, $not_found:ident, $find:ident, $by_id:ident;)*) => {$(
        impl ObjectClass for $class {
            type Handle = $handle;
            type Object = $object;
            const NOT_FOUND: u32 = win::$not_found;
            fn find<'a>(snap: &'a ClusterState, name: &str) -> Option<&'a $object> {
                snap.$find(name)
            }
            fn lookup<'a>(snap: &'a ClusterState, h: &$handle) -> Option<&'a $object> {
                snap.$by_id(&h.id)
            }
            fn new_handle(o: &$object, access: Granted) -> $handle {
                $handle { id: o.id.clone(), access }
            }
            fn id(o: &$object) -> &str {
                &o.id
            }
        }
    )*};
}

by_id_classes! {
    Groups: GroupHandle, Group, ERROR_GROUP_NOT_FOUND, find_group_by_name, group_by_id;
    Resources: ResourceHandle, Resource, ERROR_RESOURCE_NOT_FOUND, find_resource_by_name, resource_by_id;
    Networks: NetworkHandle, Network, ERROR_CLUSTER_NETWORK_NOT_FOUND, find_network_by_name, network_by_id;
    NetInterfaces: NetInterfaceHandle, NetInterface, ERROR_CLUSTER_NETINTERFACE_NOT_FOUND,
        find_netinterface_by_name, netinterface_by_id;
}

impl Stateful for Groups {
    /// The owner node's name is empty when no node owns the group (e.g. an unassigned public IP).
    fn state(snap: &ClusterState, g: &Group) -> ObjectState {
        ObjectState { node_name: Some(owner_name(snap, g.owner)), ..ObjectState::plain(g.state.as_u32()) }
    }
}

impl Stateful for Resources {
    fn state(snap: &ClusterState, r: &Resource) -> ObjectState {
        ObjectState {
            state: r.state.as_u32(),
            node_name: Some(owner_name(snap, r.owner)),
            group_name: Some(snap.group_by_id(&r.group_id).map(|g| g.name.clone()).unwrap_or_default()),
        }
    }
}

impl Stateful for Networks {
    /// Derived from the state of its interfaces (all up: Up, some: Partitioned, none: Down).
    fn state(_snap: &ClusterState, n: &Network) -> ObjectState {
        ObjectState::plain(n.state.as_u32())
    }
}

impl Stateful for NetInterfaces {
    /// Node down: Unavailable, link down: Failed, else Up.
    fn state(_snap: &ClusterState, i: &NetInterface) -> ObjectState {
        ObjectState::plain(i.state.as_u32())
    }
}

macro_rules! renamable {
    ($($class:ident: $not_available:expr, $by_id:ident, $rename:ident;)*) => {$(
        impl Renamable for $class {
            const NOT_AVAILABLE: u32 = $not_available;
            fn by_id<'a>(snap: &'a ClusterState, id: &str) -> Option<&'a Self::Object> {
                snap.$by_id(id)
            }
            fn handle_id(h: &Self::Handle) -> &str {
                &h.id
            }
            fn rename<'a>(
                b: &'a dyn ClusterBackend,
                id: &'a str,
                name: &'a str,
            ) -> nodes::BoxFuture<'a, BackendResult<()>> {
                b.$rename(id, name)
            }
        }
    )*};
}

renamable! {
    Groups: win::ERROR_GROUP_NOT_AVAILABLE, group_by_id, rename_group;
    Resources: win::ERROR_RESOURCE_NOT_AVAILABLE, resource_by_id, rename_resource;
    Networks: win::ERROR_NETWORK_NOT_AVAILABLE, network_by_id, rename_network;
}

macro_rules! switchable {
    ($($class:ident: $check:literal, $by_id:ident, $state:ident, $on:ident, $off:ident;)*) => {$(
        impl Switchable for $class {
            const CHECK_OBJECT: bool = $check;
            fn switch<'a>(b: &'a dyn ClusterBackend, id: &'a str, on: bool) -> nodes::BoxFuture<'a, BackendResult<()>> {
                if on { b.$on(id) } else { b.$off(id) }
            }
            fn shows(snap: &ClusterState, id: &str, on: bool) -> bool {
                let want = if on { $state::Online } else { $state::Offline };
                snap.$by_id(id).is_some_and(|o| o.state == want)
            }
        }
    )*};
}

switchable! {
    Groups: false, group_by_id, GroupState, set_group_online, set_group_offline;
    Resources: true, resource_by_id, ResourceState, set_resource_online, set_resource_offline;
}

impl ObjectClass for GroupSets {
    type Handle = GroupSetHandle;
    type Object = GroupSetHandle;
    const NOT_FOUND: u32 = win::ERROR_GROUPSET_NOT_FOUND;
    /// The cluster has no group set: every name is ERROR_GROUPSET_NOT_FOUND.
    fn find<'a>(_snap: &'a ClusterState, _name: &str) -> Option<&'a GroupSetHandle> {
        None
    }
    fn lookup<'a>(_snap: &'a ClusterState, _h: &GroupSetHandle) -> Option<&'a GroupSetHandle> {
        None
    }
    fn new_handle(o: &GroupSetHandle, access: Granted) -> GroupSetHandle {
        GroupSetHandle { name: o.name.clone(), access }
    }
    fn id(o: &GroupSetHandle) -> &str {
        &o.name
    }
}

// ---------------------------------------------------------------------------------------------
// the request and reply tables

/// `Class (name field): ApiOpenX[, ApiOpenXEx] => handle field;` — the Open methods.
macro_rules! opens {
    ($($class:ident $names:tt: $open:ident $(, $open_ex:ident)? => $h:ident;)*) => { $(
        opens!(@one $class, $open, $names, $h, plain, _granted => {});
        $(opens!(@one $class, $open_ex, $names, $h, ex, granted => { granted_access: granted.wire(), });)?
    )* };
    (@one $class:ty, $op:ident, ($($name:ident)?), $h:ident, $form:ident, $g:tt => {$($extra:tt)*}) => {
        idl::__paste! {
            impl OpenRequest for [<$op Request>] {
                type Class = $class;
                type Reply = [<$op Response>];
                fn name(&self) -> &str {
                    opens!(@name self $($name)?)
                }
                fn desired_access(&self) -> Option<u32> {
                    opens!(@desired self $form)
                }
            }
            impl OpenReply for [<$op Response>] {
                fn opened(h: ContextHandle, $g: Granted) -> Self {
                    Self { $h: h, $($extra)* ..Self::error(win::ERROR_SUCCESS) }
                }
                fn failed(e: u32) -> Self {
                    Self::error(e)
                }
            }
        }
    };
    (@name $self:ident) => { "" };
    (@name $self:ident $name:ident) => { $self.$name.as_str() };
    (@desired $self:ident plain) => { None };
    (@desired $self:ident ex) => { Some($self.desired_access) };
}

opens! {
    Cluster (): ApiOpenCluster, ApiOpenClusterEx => cluster;
    Nodes (node_name): ApiOpenNode, ApiOpenNodeEx => node;
    Groups (group_name): ApiOpenGroup, ApiOpenGroupEx => group;
    Resources (resource_name): ApiOpenResource, ApiOpenResourceEx => resource;
    Networks (network_name): ApiOpenNetwork, ApiOpenNetworkEx => network;
    NetInterfaces (net_interface_name): ApiOpenNetInterface, ApiOpenNetInterfaceEx => net_interface;
    GroupSets (group_set_name): ApiOpenGroupSet => group_set;
}

/// `ApiX(handle field): Class => Reply;` — requests on one object.
macro_rules! object_requests {
    ($($req:ident ($h:ident): $class:ty => $reply:ident;)*) => { idl::__paste! { $(
        impl ObjectRequest for [<$req Request>] {
            type Class = $class;
            type Reply = [<$req Response>];
            fn object(&self) -> &ContextHandle {
                &self.$h
            }
        }
        object_requests!(@reply $reply [<$req Response>] $h);
    )* } };
    (@reply Close $resp:ident $h:ident) => {
        impl CloseReply for $resp {
            fn closed(h: ContextHandle, result: u32) -> Self {
                Self { $h: h, result: WError(result) }
            }
        }
    };
    (@reply Id $resp:ident $h:ident) => {
        impl IdReply for $resp {
            fn id(id: &str) -> Self {
                Self { guid: Some(WString::new(id)), ..Self::error(win::ERROR_SUCCESS) }
            }
            fn failed(e: u32) -> Self {
                Self::error(e)
            }
        }
    };
    (@reply Status $resp:ident $h:ident) => {
        impl StatusReply for $resp {
            fn status(r: Result<(), u32>) -> Self {
                Self::error(status(r).0)
            }
        }
    };
    (@reply State $resp:ident $h:ident) => {
        impl StateReply for $resp {
            fn state(st: ObjectState) -> Self {
                #[allow(unused_mut)]
                let mut r = Self { state: st.state, ..Self::error(win::ERROR_SUCCESS) };
                object_requests!(@extra r st $resp);
                r
            }
            fn unknown(e: u32) -> Self {
                Self { state: u32::MAX, ..Self::error(e) }
            }
        }
    };
    (@extra $r:ident $st:ident ApiGetGroupStateResponse) => {
        $r.node_name = $st.node_name.map(WString::new);
    };
    (@extra $r:ident $st:ident ApiGetResourceStateResponse) => {
        $r.node_name = $st.node_name.map(WString::new);
        $r.group_name = $st.group_name.map(WString::new);
    };
    (@extra $r:ident $st:ident $resp:ident) => {
        let _ = $st;
    };
}

object_requests! {
    ApiCloseCluster(cluster): Cluster => Close;
    ApiCloseNode(node): Nodes => Close;
    ApiCloseGroup(group): Groups => Close;
    ApiCloseResource(resource): Resources => Close;
    ApiCloseNetwork(network): Networks => Close;
    ApiCloseNetInterface(net_interface): NetInterfaces => Close;
    ApiCloseGroupSet(group_set): GroupSets => Close;
    ApiGetNodeId(node): Nodes => Id;
    ApiGetGroupId(group): Groups => Id;
    ApiGetResourceId(resource): Resources => Id;
    ApiGetNetworkId(network): Networks => Id;
    ApiGetNetInterfaceId(net_interface): NetInterfaces => Id;
    ApiGetNodeState(node): Nodes => State;
    ApiGetGroupState(group): Groups => State;
    ApiGetResourceState(resource): Resources => State;
    ApiGetNetworkState(network): Networks => State;
    ApiGetNetInterfaceState(net_interface): NetInterfaces => State;
    ApiSetGroupName(group): Groups => Status;
    ApiSetResourceName(resource): Resources => Status;
    ApiSetNetworkName(network): Networks => Status;
    ApiOnlineGroup(group): Groups => Status;
    ApiOnlineGroupEx(group): Groups => Status;
    ApiOfflineGroup(group): Groups => Status;
    ApiOfflineGroupEx(group): Groups => Status;
    ApiOnlineResource(resource): Resources => Status;
    ApiOnlineResourceEx(resource): Resources => Status;
    ApiOfflineResource(resource): Resources => Status;
    ApiOfflineResourceEx(resource): Resources => Status;
}

/// `ApiSetXName(name field);` — the rename requests.
macro_rules! set_names {
    ($($req:ident ($name:ident);)*) => { idl::__paste! { $(
        impl SetNameRequest for [<$req Request>] {
            fn new_name(&self) -> &str {
                self.$name.as_str()
            }
        }
    )* } };
}

set_names! {
    ApiSetGroupName(group_name);
    ApiSetResourceName(resource_name);
    ApiSetNetworkName(network_name);
}

/// `ApiX,` — the enumerations of one object's related objects ([`EnumReply`]).
macro_rules! enum_replies {
    ($($req:ident,)*) => { idl::__paste! { $(
        impl EnumReply for [<$req Response>] {
            fn listed(entries: Vec<EnumEntry>) -> Self {
                Self { return_enum: Some(EnumList { entries }), ..Self::error(win::ERROR_SUCCESS) }
            }
            fn failed(e: u32) -> Self {
                Self::error(e)
            }
        }
    )* } };
}

enum_replies! {
    ApiCreateResEnum,
    ApiCreateGroupResourceEnum,
    ApiCreateNetworkEnum,
    ApiCreateResTypeEnum,
    ApiCreateNetInterfaceEnum,
    ApiCreateGroupSetEnum,
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{fx, w, Opened};
    use super::*;

    /// [`open`] by name, for each class: a known name in any case opens, an unknown (or empty)
    /// one answers the class's not-found error with a null handle.
    #[test]
    fn open_by_name() {
        let f = fx();
        let (svc, ctx) = (&f.svc, &f.ctx);
        let group = |n: &str| open(svc, ctx, ApiOpenGroupRequest { group_name: w(n) }).answer();
        let resource = |n: &str| open(svc, ctx, ApiOpenResourceRequest { resource_name: w(n) }).answer();
        let network = |n: &str| open(svc, ctx, ApiOpenNetworkRequest { network_name: w(n) }).answer();
        let group_set = |n: &str| open(svc, ctx, ApiOpenGroupSetRequest { group_set_name: w(n) }).answer();
        let cases = [
            ("group, other case", group("cluster GROUP"), (0, 0, false)),
            ("group, empty name", group(""), (win::ERROR_GROUP_NOT_FOUND, 0, true)),
            ("group, unknown", group("no such group"), (win::ERROR_GROUP_NOT_FOUND, 0, true)),
            ("resource, other case", resource("cluster name"), (0, 0, false)),
            // smbtorture's names
            ("resource, empty name", resource(""), (win::ERROR_RESOURCE_NOT_FOUND, 0, true)),
            ("resource, unknown", resource("jfUF38fjSNcfn"), (win::ERROR_RESOURCE_NOT_FOUND, 0, true)),
            ("network, other case", network("cluster network 1"), (0, 0, false)),
            ("network, unknown", network("Cluster Network 9"), (win::ERROR_CLUSTER_NETWORK_NOT_FOUND, 0, true)),
            ("group set: the cluster has none", group_set("Cluster Group"), (win::ERROR_GROUPSET_NOT_FOUND, 0, true)),
        ];
        for (case, got, want) in cases {
            assert_eq!(got, want, "{case}");
        }
    }
}
