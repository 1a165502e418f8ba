//! The cluster registry ([MS-CMRP] 3.1.1.2) and its methods ApiGetRootKey .. ApiGetKeySecurity
//! ([MS-CMRP] 3.1.4.2.29-3.1.4.2.41, opnums 28-40).
//!
//! The tree a client sees has two layers (see `registry_model::tree`):
//!
//! * the **derived** layer, built by [`derived_tree`] from the live cluster model: the root
//!   values (`ClusterName`, `ClusterInstanceID`, `Security Descriptor`, the cluster common
//!   properties) and one key per object under `Nodes`, `Groups`, `Resources`,
//!   `ResourceTypes`, `Networks`, `NetworkInterfaces`, plus `Quorum`. Subkey names are the ids
//!   ApiGet*Id and ApiCreateEnumEx return, because Windows clients open `"<Collection>\<ID>"`.
//!   Derived keys and values are read-only (ERROR_ACCESS_DENIED); their properties change
//!   through the control methods. The layer is rebuilt whenever the backend hands out a new
//!   snapshot.
//! * the **stored** layer: keys and values administrators add (anywhere, also below derived
//!   keys), and descriptor changes. It is a `registry_model::StoredTree` kept by the backend
//!   as an opaque checksummed blob ([`nodes::ClusterBackend::registry_blob`]): a file for the
//!   simulated backend, a CTDB persistent database record for the ctdb backend, so every
//!   node's clusapid sees it and it survives the loss of a node.
//!
//! Writes are serialised by one async mutex per backend and go load latest blob → apply →
//! store → publish: concurrent writers cannot lose each other's updates, and a failed store
//! answers the client's call with the error and changes nothing. Reads fetch the blob too
//! (so writes of other nodes show up) and reuse the parsed tree while the bytes and the
//! snapshot are unchanged; when the backend cannot be read they serve the last copy.
//!
//! Key handles ([`KeyHandle`]) record the key's path and what the caller may do with it:
//! `samDesired` is evaluated against the account ([`evaluate_sam`]); a read-only account
//! cannot open a key for writing, and writes through its handles answer ERROR_ACCESS_DENIED.
//!
//! Every value of the root and of the top-level keys is far below 2048 bytes, the buffer
//! smbtorture's EnumValue walk uses; deeper keys carry what the model says (a group with more
//! than about 27 resources has a longer `Contains`).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use idl::clusapi::*;
use idl::{ConfBytes, ContextHandle, WError, WString};
use nodes::{BackendError, ClusterBackend, ClusterState, GroupState, ResourceState};
use registry_model::security::{self, SecurityDescriptor, SE_DACL_PRESENT, SE_SACL_PRESENT};
use registry_model::tree::{join_path, name_eq, split_path, Key};
use registry_model::value::{REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ};
use registry_model::{ClusterRegistry, RegError, RegValue, Registry, StoredTree};

use super::access::Granted;
use super::properties::Obj;
use super::{win, ClusapiService};
use crate::cluster_access::{parse_edits, ClusterAccess, Edit, EDITS_VALUE};
use crate::services::CallCtx;

/// REGSAM bits ([MS-RRP] 2.2.3), with the wire codecs.
pub use idl::rights::sam;

/// ApiCreateKey `lpdwDisposition` values.
pub mod disposition {
    pub const REG_CREATED_NEW_KEY: u32 = 1;
    pub const REG_OPENED_EXISTING_KEY: u32 = 2;
}

/// The value types ApiSetValue and CLUSREG_SET_VALUE accept ([MS-CMRP] 3.1.4.2.33 dwType).
pub const VALUE_TYPES: [u32; 6] = [REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_QWORD];

/// The largest ApiQueryValue buffer served (the reply carries the whole buffer).
pub const MAX_QUERY_BUFFER: u32 = 4 << 20;

/// A key handle (HKEY_RPC): the key's path from the root (components as stored) and the
/// access the caller was granted.
#[derive(Debug)]
pub struct KeyHandle {
    pub path: String,
    pub access: Granted,
}

/// Evaluates ApiGetRootKey/ApiCreateKey/ApiOpenKey `samDesired` against the account: any
/// right that changes the key needs a full-access account (else ERROR_ACCESS_DENIED); the
/// handle then carries the account's level, which the write methods check.
pub fn evaluate_sam(sam_desired: u32, entitled: Option<Granted>) -> Result<Granted, u32> {
    let entitled = entitled.ok_or(win::ERROR_ACCESS_DENIED)?;
    if sam_desired & sam::WRITE_RIGHTS != 0 && entitled != Granted::All {
        return Err(win::ERROR_ACCESS_DENIED);
    }
    Ok(entitled)
}

// ---------------------------------------------------------------------------------------------
// The derived tree
// ---------------------------------------------------------------------------------------------

/// Sets the derived value `name` unless a common property already gave it one.
fn structural(k: &mut Key, name: &str, v: RegValue) {
    if k.value(name).is_none() {
        k.set_derived_value(name, v);
    }
}

/// The object's common properties ([`Obj::values`]: the model, the admin property store,
/// Windows' defaults) as values of its key: the registry and the control methods show the
/// same values.
fn common_values(k: &mut Key, obj: Obj<'_>, snap: &ClusterState) {
    for (name, v) in obj.values(snap) {
        if let Some(v) = v.to_reg_value() {
            k.set_derived_value(name, v);
        }
    }
}

/// The object's private properties ([`Obj::private`]) in its `Parameters` subkey, which
/// resources and resource types always have and other objects only when they have some.
fn private_values(k: &mut Key, obj: Obj<'_>, snap: &ClusterState, always: bool) {
    let list = obj.private(snap);
    if list.is_empty() && !always {
        return;
    }
    let p = k.derived_subkey("Parameters");
    for prop in &list.0 {
        if let Some(v) = prop.value.to_reg_value() {
            p.set_derived_value(&prop.name, v);
        }
    }
}

/// The derived subkey `name` of `parent`; `None` (and a warning) for a name that cannot be
/// one key-name component (empty, longer than 255 characters, with a backslash).
fn child<'a>(parent: &'a mut Key, name: &str) -> Option<&'a mut Key> {
    if split_path(name).map_or(true, |c| c.len() != 1) {
        tracing::warn!(name, "Object id cannot be a registry key name; left out of the cluster registry");
        return None;
    }
    Some(parent.derived_subkey(name))
}

/// The key of one object below `parent`, named by its id ([`child`]): its common values and
/// its private values ([`private_values`], `always` as there), to which the caller adds the
/// values that record the object's relations. `None` where the id cannot be a key name.
fn object_key<'a>(
    parent: &'a mut Key,
    id: &str,
    obj: Obj<'_>,
    snap: &ClusterState,
    always: bool,
) -> Option<&'a mut Key> {
    let k = child(parent, id)?;
    common_values(k, obj, snap);
    private_values(k, obj, snap, always);
    Some(k)
}

/// The derived layer of the cluster registry for one snapshot of the cluster model: the
/// common properties of every object ([`Obj`]) plus the values that record the
/// objects' relations (`Contains`, `PreferredOwners`, `DependsOn`, `PossibleOwners`, ...).
pub fn derived_tree(snap: &ClusterState) -> Registry {
    let mut reg = Registry::new();
    let d = RegValue::dword;
    let node_ids = |pnns: &[u32]| -> Vec<String> {
        pnns.iter().filter_map(|p| snap.node_by_pnn(*p)).map(|n| n.id.clone()).collect()
    };
    let root = &mut reg.root;
    root.set_derived_value("ClusterName", RegValue::sz(&snap.cluster.name));
    root.set_derived_value("ClusterInstanceID", RegValue::sz(&snap.cluster.instance_id));
    // the cluster security descriptor; Cache::refresh replaces it with the access list's
    root.set_derived_value("Security Descriptor", RegValue::binary(security::default_key_sd()));
    common_values(root, Obj::Cluster, snap);

    let nodes = root.derived_subkey("Nodes");
    for n in &snap.nodes {
        object_key(nodes, &n.id, Obj::Node(n), snap, false);
    }

    let groups = root.derived_subkey("Groups");
    for g in &snap.groups {
        let Some(k) = object_key(groups, &g.id, Obj::Group(g), snap, false) else { continue };
        let online = matches!(g.state, GroupState::Online | GroupState::PartialOnline);
        structural(k, "PersistentState", d(online.into()));
        structural(k, "PreferredOwners", RegValue::multi_sz(&node_ids(&g.preferred_owners)));
        structural(k, "Contains", RegValue::multi_sz(&g.resource_ids));
    }

    let resources = root.derived_subkey("Resources");
    for r in &snap.resources {
        let Some(k) = object_key(resources, &r.id, Obj::Resource(r), snap, true) else { continue };
        structural(k, "Type", RegValue::sz(&r.type_name));
        structural(k, "Flags", d(r.flags));
        structural(k, "PersistentState", d((r.state == ResourceState::Online).into()));
        structural(k, "DependsOn", RegValue::multi_sz(&r.dependencies));
        structural(k, "PossibleOwners", RegValue::multi_sz(&node_ids(&r.possible_owners)));
    }

    let types = root.derived_subkey("ResourceTypes");
    for t in &snap.resource_types {
        let Some(k) = object_key(types, &t.name, Obj::ResourceType(t), snap, true) else { continue };
        structural(k, "Name", RegValue::sz(&t.display_name));
        structural(k, "DllName", RegValue::sz(&t.dll_name));
        structural(k, "AdminExtensions", RegValue::multi_sz::<&str>(&[]));
        structural(k, "PossibleNodes", RegValue::multi_sz(&node_ids(&t.possible_nodes)));
    }

    let networks = root.derived_subkey("Networks");
    for (i, n) in snap.networks.iter().enumerate() {
        let Some(k) = object_key(networks, &n.id, Obj::Network(n), snap, false) else { continue };
        structural(k, "Priority", d(u32::try_from(i + 1).unwrap_or(u32::MAX)));
        structural(k, "Transport", RegValue::sz("Tcpip"));
    }

    let netifs = root.derived_subkey("NetworkInterfaces");
    for i in &snap.net_interfaces {
        let Some(k) = object_key(netifs, &i.id, Obj::NetInterface(i), snap, false) else { continue };
        // the properties name the node and the network; the registry records their ids
        let node = snap.node_by_pnn(i.node_pnn).map(|n| n.id.clone()).unwrap_or_default();
        k.set_derived_value("Node", RegValue::sz(&node));
        k.set_derived_value("Network", RegValue::sz(&i.network_id));
        structural(k, "Adapter", RegValue::sz(&i.adapter_name));
        structural(k, "AdapterId", RegValue::sz(&i.id));
        structural(k, "Address", RegValue::sz(&i.address.to_string()));
        structural(k, "ClusnetEndpoint", RegValue::sz("3343"));
    }

    // CTDB decides quorum by node majority: no quorum resource, no device path, and the
    // quorum type CLUS_NODE_MAJORITY_QUORUM (0), as ApiGetQuorumResource reports them.
    root.derived_subkey("Quorum")
        .set_derived_value("Resource", RegValue::sz(""))
        .set_derived_value("Path", RegValue::sz(""))
        .set_derived_value("MaxQuorumLogSize", d(0));
    reg
}

// ---------------------------------------------------------------------------------------------
// The registry state of one backend: cache, write serialisation, batch ports
// ---------------------------------------------------------------------------------------------

/// What was last built, and for what.
#[derive(Default)]
struct Cache {
    /// The snapshot `derived` was built from (kept, so the pointer comparison is sound).
    snap: Option<Arc<ClusterState>>,
    /// The generation of the cluster access list whose descriptor `derived` carries.
    access_generation: u64,
    /// Changes whenever `stored` is replaced (the account access edits are re-read then).
    stored_version: u64,
    derived: Registry,
    /// The blob `stored` was parsed from (`None` = not loaded yet; `Some(None)` = nothing
    /// stored). A blob that did not verify is remembered too, so it is reported once.
    blob: Option<Option<Vec<u8>>>,
    stored: StoredTree,
    /// `derived` overlaid with `stored`.
    live: Option<Arc<Registry>>,
    /// Completed writes: a read that fetched the blob before a write finished does not
    /// install its (older) bytes.
    writes: u64,
}

impl Cache {
    /// The live tree for `snap`: the derived layer (with the cluster security descriptor of
    /// `access` as the root value `Security Descriptor`) under the stored layer. The account
    /// access edits kept in the stored layer are handed to `access` first.
    fn refresh(&mut self, snap: &Arc<ClusterState>, access: &ClusterAccess) -> Arc<Registry> {
        if access.edits_stamp() != self.stored_version {
            access.set_edits_at(stored_edits(&self.stored), self.stored_version);
        }
        let generation = access.generation();
        if !self.snap.as_ref().is_some_and(|s| Arc::ptr_eq(s, snap)) || self.access_generation != generation {
            self.derived = derived_tree(snap);
            self.derived.root.set_derived_value("Security Descriptor", RegValue::binary(access.descriptor()));
            self.snap = Some(snap.clone());
            self.access_generation = generation;
            self.live = None;
        }
        self.live.get_or_insert_with(|| Arc::new(Registry::overlay(self.derived.clone(), &self.stored))).clone()
    }

    fn install_blob(&mut self, blob: Option<Vec<u8>>) {
        if self.blob.as_ref() == Some(&blob) {
            return;
        }
        match parse_blob(blob.as_deref()) {
            Ok(t) => {
                self.stored = t;
                self.stored_version += 1;
                self.live = None;
            }
            Err(error) => {
                tracing::error!(%error, "Stored cluster registry does not verify; serving the last good copy")
            }
        }
        self.blob = Some(blob);
    }
}

/// One committed registry change; key paths are absolute, components spelled as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    CreateKey {
        key: String,
    },
    DeleteKey {
        key: String,
    },
    SetValue {
        key: String,
        name: String,
        old: Option<RegValue>,
        new: RegValue,
    },
    DeleteValue {
        key: String,
        name: String,
        old: Option<RegValue>,
    },
    /// The key's security descriptor changed (not reported on batch ports).
    SetSecurity {
        key: String,
    },
}

/// `path` relative to `base` when it is `base` or below it (component-wise, case-insensitive).
pub fn relative(base: &str, path: &str) -> Option<String> {
    let b = split_path(base).ok()?;
    let p = split_path(path).ok()?;
    if p.len() < b.len() || !b.iter().zip(&p).all(|(x, y)| name_eq(x, y)) {
        return None;
    }
    Some(p[b.len()..].join("\\"))
}

/// What receives the committed changes of the cluster registry: batch notification ports
/// (`super::batch::BatchPort`) and the cluster object notification ports watching keys
/// (`super::notify::NotifyPort`).
pub trait ChangeSink: Send + Sync {
    /// Queues whatever `changes` mean to the sink.
    fn publish(&self, changes: &[Change]);
    /// Whether the sink takes no more changes (it is then forgotten).
    fn is_closed(&self) -> bool;
}

/// The cluster registry state shared by every connection over one backend.
#[derive(Default)]
pub struct RegistryState {
    write_lock: tokio::sync::Mutex<()>,
    cache: Mutex<Cache>,
    /// Open batch notification ports ([MS-CMRP] 3.1.4.2.113) and notification ports with
    /// registry filters ([MS-CMRP] 3.1.4.2.58, 3.1.4.2.62, 3.1.4.2.137).
    ports: Mutex<Vec<Weak<dyn ChangeSink>>>,
}

impl RegistryState {
    fn cache(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a receiver of committed changes; it is held weakly, so dropping it (or
    /// closing it) is all it takes to end the registration.
    pub fn add_sink(&self, sink: Weak<dyn ChangeSink>) {
        let mut ports = self.ports.lock().unwrap_or_else(PoisonError::into_inner);
        ports.retain(|p| p.upgrade().is_some_and(|p| !p.is_closed()));
        ports.push(sink);
    }

    /// Queues the committed `changes` on every open port they concern.
    fn publish(&self, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        let ports: Vec<Arc<dyn ChangeSink>> = {
            let mut ports = self.ports.lock().unwrap_or_else(PoisonError::into_inner);
            ports.retain(|p| p.upgrade().is_some_and(|p| !p.is_closed()));
            ports.iter().filter_map(Weak::upgrade).collect()
        };
        for p in ports {
            p.publish(changes);
        }
    }
}

/// Per-backend registry states. `ClusapiService`'s fields belong to `mod.rs`, which the
/// per-family modules do not change, so the state is attached to the backend instance here;
/// entries go when their backend is dropped. (A `registry: RegistryState` field on the
/// service would replace this table.)
static STATES: Mutex<Vec<StateEntry>> = Mutex::new(Vec::new());

/// A backend (weakly) and its registry state.
type StateEntry = (Weak<dyn ClusterBackend>, Arc<RegistryState>);

/// The registry state of the service's backend.
pub fn state(s: &ClusapiService) -> Arc<RegistryState> {
    let key = Arc::as_ptr(&s.backend).cast::<()>();
    let mut t = STATES.lock().unwrap_or_else(PoisonError::into_inner);
    t.retain(|(b, _)| b.strong_count() > 0);
    if let Some((_, st)) = t.iter().find(|(b, _)| b.as_ptr().cast::<()>() == key) {
        return st.clone();
    }
    let st = Arc::new(RegistryState::default());
    t.push((Arc::downgrade(&s.backend), st.clone()));
    st
}

/// The account access edits (CLUSCTL_CLUSTER_SET_ACCOUNT_ACCESS) kept in the stored layer
/// as the root value [`EDITS_VALUE`]; malformed entries are logged and skipped.
pub fn stored_edits(stored: &StoredTree) -> Vec<Edit> {
    let Some(root) = stored.keys.iter().find(|k| k.path.is_empty()) else {
        return Vec::new();
    };
    let Some(v) = root.values.iter().find(|v| v.name.eq_ignore_ascii_case(EDITS_VALUE)) else {
        return Vec::new();
    };
    let lines = registry_model::multi_sz_decode(&v.data).unwrap_or_default();
    let (edits, errors) = parse_edits(&lines);
    for e in errors {
        tracing::warn!(error = %e, value = EDITS_VALUE, "Ignoring a cluster account access entry");
    }
    edits
}

/// Parses a stored blob (`None` = nothing stored: an empty admin layer).
fn parse_blob(blob: Option<&[u8]>) -> Result<StoredTree, registry_model::StoreError> {
    match blob {
        None => Ok(StoredTree::default()),
        Some(b) => StoredTree::from_file_bytes(b),
    }
}

/// The live registry (derived layer of the current snapshot + the latest stored layer).
pub async fn live(s: &ClusapiService) -> Arc<Registry> {
    let st = state(s);
    let snap = s.backend.snapshot();
    let writes = st.cache().writes;
    let loaded = s.backend.registry_blob().await;
    let mut c = st.cache();
    match loaded {
        Ok(blob) if c.writes == writes => c.install_blob(blob),
        Ok(_) => {}
        // nothing can be stored: the registry is the derived layer
        Err(BackendError::Unsupported(_)) => {}
        Err(error) => tracing::debug!(%error, "Cluster registry store unreadable; serving the cached copy"),
    }
    c.refresh(&snap, &s.access)
}

/// Runs one registry write: under the local write lock, asks the backend for a
/// read-modify-write of the stored layer ([`ClusterBackend::update_registry_blob`]): `op` is
/// applied to a [`ClusterRegistry`] over the current derived layer and the latest stored layer,
/// and run again on newer bytes if another node's clusapid committed first, so no update is
/// lost across nodes. Then the cache is updated and `op`'s change records are queued on the
/// batch and notification ports. On any error (of `op`, of the load or of the store) nothing
/// is kept and the Win32 code is returned.
pub async fn write<T: Send>(
    s: &ClusapiService,
    mut op: impl FnMut(&mut ClusterRegistry, &mut Vec<Change>) -> Result<T, u32> + Send,
) -> Result<T, u32> {
    let st = state(s);
    let _serialised = st.write_lock.lock().await;
    let snap = s.backend.snapshot();
    let derived = {
        let mut c = st.cache();
        c.refresh(&snap, &s.access);
        c.derived.clone()
    };
    let mut op_error: Option<u32> = None;
    let mut outcome: Option<(T, Vec<Change>, StoredTree)> = None;
    let update = s
        .backend
        .update_registry_blob(Box::new(|blob: Option<&[u8]>| {
            let stored = parse_blob(blob).map_err(|error| {
                tracing::error!(%error, "Stored cluster registry does not verify; refusing to overwrite it");
                op_error = Some(win::ERROR_REGISTRY_CORRUPT);
                BackendError::Storage("stored cluster registry does not verify".into())
            })?;
            let mut cr = ClusterRegistry::new(derived.clone(), stored.clone());
            let mut changes = Vec::new();
            let out = op(&mut cr, &mut changes).map_err(|code| {
                op_error = Some(code);
                BackendError::InvalidParameter("registry write refused".into())
            })?;
            let bytes = match (blob, *cr.stored() == stored) {
                (Some(b), true) => b.to_vec(),
                _ => cr.stored().to_file_bytes().map_err(|error| {
                    tracing::error!(%error, "Cannot serialise the cluster registry");
                    op_error = Some(win::ERROR_INTERNAL_ERROR);
                    BackendError::Storage("cannot serialise the cluster registry".into())
                })?,
            };
            outcome = Some((out, changes, cr.stored().clone()));
            op_error = None;
            Ok(bytes)
        }))
        .await;
    let blob = match update {
        Ok(b) => b,
        Err(error) => {
            if let Some(code) = op_error {
                return Err(code);
            }
            tracing::warn!(%error, "Cannot store the cluster registry; the write is refused");
            return Err(error.win32_code());
        }
    };
    let Some((out, changes, stored)) = outcome else {
        return Err(win::ERROR_INTERNAL_ERROR);
    };
    {
        let mut c = st.cache();
        c.writes += 1;
        c.blob = Some(Some(blob));
        c.stored = stored;
        c.stored_version += 1;
        c.live = None;
    }
    st.publish(&changes);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Helpers of the methods
// ---------------------------------------------------------------------------------------------

/// The key handle `h` of this association.
pub fn key_handle(ctx: &CallCtx, h: &ContextHandle) -> Result<Arc<KeyHandle>, u32> {
    ctx.group.get::<KeyHandle>(h).ok_or(win::ERROR_INVALID_HANDLE)
}

/// The key handle of a write method, which needs "All" access.
fn writable_key(ctx: &CallCtx, h: &ContextHandle) -> Result<Arc<KeyHandle>, u32> {
    super::writable::<KeyHandle>(ctx, h)
}

/// The start of every method that reads one key: its handle ([`key_handle`]), the live registry
/// and the key in it ([`handle_key`]), handed to `f`.
pub async fn read_key<T>(
    s: &ClusapiService,
    ctx: &CallCtx,
    key: &ContextHandle,
    f: impl FnOnce(&KeyHandle, &Key) -> Result<T, u32>,
) -> Result<T, u32> {
    let h = key_handle(ctx, key)?;
    let reg = live(s).await;
    f(&h, handle_key(&reg, &h)?)
}

/// The key a handle refers to, or ERROR_KEY_DELETED when it is gone.
pub fn handle_key<'a>(reg: &'a Registry, h: &KeyHandle) -> Result<&'a Key, u32> {
    reg.open_checked(&h.path).map_err(|_| win::ERROR_KEY_DELETED)
}

/// The path of `sub` (relative, possibly empty) below the existing key `base`.
pub fn sub_path(reg: &Registry, base: &str, sub: &str) -> Result<String, u32> {
    reg.open_checked(base).map_err(|_| win::ERROR_KEY_DELETED)?;
    if split_path(sub).map_err(|e| e.win32_code())?.is_empty() {
        return Ok(base.to_owned());
    }
    Ok(join_path(base, sub))
}

fn reg_err(e: RegError) -> u32 {
    e.win32_code()
}

/// SECURITY_INFORMATION bits of the parts a descriptor carries.
fn parts_of(sd: &[u8]) -> Result<u32, u32> {
    let p = SecurityDescriptor::parse(sd).map_err(|e| e.win32_code())?;
    Ok(u32::from(p.owner.is_some())
        | u32::from(p.group.is_some()) << 1
        | u32::from(p.control & SE_DACL_PRESENT != 0) << 2
        | u32::from(p.control & SE_SACL_PRESENT != 0) << 3)
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn open_handle(ctx: &CallCtx, path: String, access: Granted) -> Result<ContextHandle, u32> {
    ctx.group.insert(KeyHandle { path, access }).ok_or(win::ERROR_NOT_ENOUGH_MEMORY)
}

// ---------------------------------------------------------------------------------------------
// The methods
// ---------------------------------------------------------------------------------------------

/// [MS-CMRP 3.1.4.2.29] ApiGetRootKey: a handle to the root of the cluster registry. "The
/// server MUST evaluate the security descriptor ... against ... samDesired": a read-only
/// account asking for a right that writes gets ERROR_ACCESS_DENIED.
pub fn api_get_root_key(_s: &ClusapiService, ctx: &CallCtx, req: ApiGetRootKeyRequest) -> ApiGetRootKeyResponse {
    let r = evaluate_sam(req.sam_desired, Granted::entitled(ctx.access))
        .and_then(|access| open_handle(ctx, String::new(), access));
    match r {
        Ok(key) => ApiGetRootKeyResponse { status: WError(0), rpc_status: 0, key },
        Err(e) => ApiGetRootKeyResponse { status: WError(e), rpc_status: 0, key: ContextHandle::NULL },
    }
}

/// [MS-CMRP 3.1.4.2.30] ApiCreateKey: creates `lpSubKey` (and missing intermediate keys) below
/// the handle's key, or opens it when it exists. "dwOptions: MUST be set to 0x00000000.
/// Otherwise, the server MUST return ERROR_INVALID_PARAMETER" (the cluster registry has no
/// volatile keys). A descriptor in `lpSecurityAttributes` is applied to a new key.
pub async fn api_create_key(s: &ClusapiService, ctx: &CallCtx, req: ApiCreateKeyRequest) -> ApiCreateKeyResponse {
    let r = async {
        let h = writable_key(ctx, &req.key)?;
        if req.options != 0 {
            return Err(win::ERROR_INVALID_PARAMETER);
        }
        let access = evaluate_sam(req.sam_desired, Granted::entitled(ctx.access))?;
        let sd = req
            .security_attributes
            .as_ref()
            .and_then(|a| a.rpc_security_descriptor.lp_security_descriptor.clone())
            .filter(|sd| !sd.is_empty());
        let sd_parts = sd.as_deref().map(parts_of).transpose()?;
        let sub = req.sub_key.as_str().to_owned();
        let (path, created) = write(s, |cr, changes| {
            let path = sub_path(cr.live(), &h.path, &sub)?;
            let created = cr.create_key(&path).map_err(reg_err)?;
            let canon = cr.live().canonical_path(&path).map_err(reg_err)?;
            if created {
                if let (Some(sd), Some(parts)) = (&sd, sd_parts) {
                    cr.set_security(&canon, sd, parts).map_err(reg_err)?;
                }
                changes.push(Change::CreateKey { key: canon.clone() });
            }
            Ok((canon, created))
        })
        .await?;
        let key = open_handle(ctx, path, access)?;
        let disposition = if created { disposition::REG_CREATED_NEW_KEY } else { disposition::REG_OPENED_EXISTING_KEY };
        Ok((disposition, key))
    }
    .await;
    match r {
        Ok((disposition, key)) => ApiCreateKeyResponse { disposition, status: WError(0), rpc_status: 0, key },
        Err(e) => ApiCreateKeyResponse { disposition: 0, status: WError(e), rpc_status: 0, key: ContextHandle::NULL },
    }
}

/// [MS-CMRP 3.1.4.2.31] ApiOpenKey: a handle to an existing key below the handle's key (the
/// key itself for an empty `lpSubKey`); ERROR_FILE_NOT_FOUND when it does not exist.
pub async fn api_open_key(s: &ClusapiService, ctx: &CallCtx, req: ApiOpenKeyRequest) -> ApiOpenKeyResponse {
    let r = async {
        let h = key_handle(ctx, &req.key)?;
        let access = evaluate_sam(req.sam_desired, Granted::entitled(ctx.access))?;
        let reg = live(s).await;
        let path = sub_path(&reg, &h.path, req.sub_key.as_str())?;
        let canon = reg.canonical_path(&path).map_err(reg_err)?;
        open_handle(ctx, canon, access)
    }
    .await;
    match r {
        Ok(key) => ApiOpenKeyResponse { status: WError(0), rpc_status: 0, key },
        Err(e) => ApiOpenKeyResponse { status: WError(e), rpc_status: 0, key: ContextHandle::NULL },
    }
}

/// [MS-CMRP 3.1.4.2.32] ApiEnumKey: the name and last write time of the subkey at `dwIndex`
/// (subkeys in name order); ERROR_NO_MORE_ITEMS past the last one.
pub async fn api_enum_key(s: &ClusapiService, ctx: &CallCtx, req: ApiEnumKeyRequest) -> ApiEnumKeyResponse {
    let r = read_key(s, ctx, &req.key, |_, k| {
        let sub = k.subkeys.get_index(req.index as usize).ok_or(win::ERROR_NO_MORE_ITEMS)?;
        Ok((sub.name.clone(), sub.last_write))
    })
    .await;
    match r {
        Ok((name, lw)) => ApiEnumKeyResponse {
            key_name: Some(WString::new(name)),
            last_write_time: FileTime::from_u64(lw),
            rpc_status: 0,
            result: WError(0),
        },
        Err(e) => ApiEnumKeyResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.33] ApiSetValue: sets a value of the handle's key. Values reflecting
/// cluster state are read-only (ERROR_ACCESS_DENIED); `dwType` must be one of the types the
/// method lists ([`VALUE_TYPES`]) and `cbData` the length of `lpData`, else
/// ERROR_INVALID_PARAMETER.
pub async fn api_set_value(s: &ClusapiService, ctx: &CallCtx, req: ApiSetValueRequest) -> ApiSetValueResponse {
    let r = async {
        let h = writable_key(ctx, &req.key)?;
        if req.cb_data as usize != req.data.0.len() || !VALUE_TYPES.contains(&req.value_type) {
            return Err(win::ERROR_INVALID_PARAMETER);
        }
        let name = req.value_name.as_str().to_owned();
        let value = RegValue { kind: req.value_type, data: req.data.0 };
        write(s, |cr, changes| {
            handle_key(cr.live(), &h)?;
            let old = cr.live().query_value(&h.path, &name).ok().cloned();
            cr.set_value(&h.path, &name, value.clone()).map_err(reg_err)?;
            changes.push(Change::SetValue { key: h.path.clone(), name: name.clone(), old, new: value.clone() });
            Ok(())
        })
        .await
    }
    .await;
    ApiSetValueResponse { rpc_status: 0, result: WError(r.err().unwrap_or(0)) }
}

/// [MS-CMRP 3.1.4.2.34] ApiDeleteValue: ERROR_FILE_NOT_FOUND for a missing value,
/// ERROR_ACCESS_DENIED for a value reflecting cluster state.
pub async fn api_delete_value(s: &ClusapiService, ctx: &CallCtx, req: ApiDeleteValueRequest) -> ApiDeleteValueResponse {
    let r = async {
        let h = writable_key(ctx, &req.key)?;
        let name = req.value_name.as_str().to_owned();
        write(s, |cr, changes| {
            handle_key(cr.live(), &h)?;
            let old = cr.live().query_value(&h.path, &name).ok().cloned();
            cr.delete_value(&h.path, &name).map_err(reg_err)?;
            changes.push(Change::DeleteValue { key: h.path.clone(), name: name.clone(), old });
            Ok(())
        })
        .await
    }
    .await;
    ApiDeleteValueResponse { rpc_status: 0, result: WError(r.err().unwrap_or(0)) }
}

/// [MS-CMRP 3.1.4.2.35] ApiQueryValue: type and data of a value. `lpData` always carries
/// `cbData` bytes (`[out, size_is(cbData)]`); when the data does not fit, ERROR_MORE_DATA with
/// the size needed in `lpcbRequired`, which on success is the number of bytes written.
pub async fn api_query_value(s: &ClusapiService, ctx: &CallCtx, req: ApiQueryValueRequest) -> ApiQueryValueResponse {
    if req.cb_data > MAX_QUERY_BUFFER {
        return ApiQueryValueResponse::error(win::ERROR_NOT_ENOUGH_MEMORY);
    }
    let mut data = vec![0u8; req.cb_data as usize];
    let r = read_key(s, ctx, &req.key, |_, k| {
        let v = k.value(req.value_name.as_str()).ok_or(win::ERROR_FILE_NOT_FOUND)?;
        let needed = len32(v.data.len());
        if v.data.len() > data.len() {
            return Ok((v.kind, needed, win::ERROR_MORE_DATA));
        }
        data[..v.data.len()].copy_from_slice(&v.data);
        Ok((v.kind, needed, 0))
    })
    .await;
    match r {
        Ok((value_type, cb_required, status)) => ApiQueryValueResponse {
            value_type,
            data: ConfBytes(data),
            cb_required,
            rpc_status: 0,
            result: WError(status),
        },
        Err(e) => ApiQueryValueResponse {
            value_type: 0,
            data: ConfBytes(data),
            cb_required: 0,
            rpc_status: 0,
            result: WError(e),
        },
    }
}

/// [MS-CMRP 3.1.4.2.36] ApiDeleteKey: deletes a key below the handle's key. "If the key has
/// subkeys, the server MUST fail the call with ERROR_ACCESS_DENIED"; keys reflecting cluster
/// objects cannot be deleted either.
pub async fn api_delete_key(s: &ClusapiService, ctx: &CallCtx, req: ApiDeleteKeyRequest) -> ApiDeleteKeyResponse {
    let r = async {
        let h = writable_key(ctx, &req.key)?;
        let sub = req.sub_key.as_str().to_owned();
        write(s, |cr, changes| {
            let path = sub_path(cr.live(), &h.path, &sub)?;
            let canon = cr.live().canonical_path(&path).map_err(reg_err)?;
            cr.delete_key(&canon).map_err(reg_err)?;
            changes.push(Change::DeleteKey { key: canon });
            Ok(())
        })
        .await
    }
    .await;
    ApiDeleteKeyResponse { rpc_status: 0, result: WError(r.err().unwrap_or(0)) }
}

/// [MS-CMRP 3.1.4.2.37] ApiEnumValue: name, type and data of the value at `dwIndex` (values
/// in creation order); ERROR_NO_MORE_ITEMS past the last one. `*lpcbData` is the buffer size
/// on input and the data size on output; `lpData` carries that many bytes. When the buffer is
/// too small: ERROR_MORE_DATA with the size needed in `*lpcbData`. `TotalSize` is the size of
/// the name (with its NUL) plus the data.
pub async fn api_enum_value(s: &ClusapiService, ctx: &CallCtx, req: ApiEnumValueRequest) -> ApiEnumValueResponse {
    let r = read_key(s, ctx, &req.key, |_, k| {
        let (name, entry) = k.values.get_index(req.index as usize).ok_or(win::ERROR_NO_MORE_ITEMS)?;
        Ok((name.to_owned(), entry.value.clone()))
    })
    .await;
    match r {
        Ok((name, v)) => {
            let total = (name.encode_utf16().count() + 1) * 2 + v.data.len();
            let status = if len32(v.data.len()) > req.cb_data { win::ERROR_MORE_DATA } else { 0 };
            ApiEnumValueResponse {
                value_name: Some(WString::new(name)),
                value_type: v.kind,
                cb_data: len32(v.data.len()),
                data: ConfBytes(v.data),
                total_size: len32(total),
                rpc_status: 0,
                result: WError(status),
            }
        }
        Err(e) => ApiEnumValueResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.38] ApiCloseKey: frees the handle and returns it zeroed.
pub fn api_close_key(_s: &ClusapiService, ctx: &CallCtx, req: ApiCloseKeyRequest) -> ApiCloseKeyResponse {
    if ctx.group.remove::<KeyHandle>(&req.key) {
        ApiCloseKeyResponse { key: ContextHandle::NULL, result: WError(0) }
    } else {
        ApiCloseKeyResponse { key: req.key, result: WError(win::ERROR_INVALID_HANDLE) }
    }
}

/// [MS-CMRP 3.1.4.2.39] ApiQueryInfoKey: counts and maximum lengths (names in characters
/// without the NUL, data in bytes), the descriptor size and the last write time.
pub async fn api_query_info_key(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiQueryInfoKeyRequest,
) -> ApiQueryInfoKeyResponse {
    let r = read_key(s, ctx, &req.key, |_, k| Ok(k.info())).await;
    match r {
        Ok(i) => ApiQueryInfoKeyResponse {
            sub_keys: i.subkeys,
            max_sub_key_len: i.max_subkey_len,
            values: i.values,
            max_value_name_len: i.max_value_name_len,
            max_value_len: i.max_value_len,
            cb_security_descriptor: i.security_descriptor_len,
            last_write_time: FileTime::from_u64(i.last_write),
            rpc_status: 0,
            result: WError(0),
        },
        Err(e) => ApiQueryInfoKeyResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.40] ApiSetKeySecurity: replaces the parts of the key's descriptor selected
/// by `SecurityInformation`; a malformed descriptor is ERROR_INVALID_SECURITY_DESCR.
pub async fn api_set_key_security(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiSetKeySecurityRequest,
) -> ApiSetKeySecurityResponse {
    let r = async {
        let h = writable_key(ctx, &req.key)?;
        let sd = req.security_descriptor.lp_security_descriptor.ok_or(win::ERROR_INVALID_PARAMETER)?;
        security::validate(&sd).map_err(|e| e.win32_code())?;
        write(s, |cr, changes| {
            handle_key(cr.live(), &h)?;
            cr.set_security(&h.path, &sd, req.security_information).map_err(reg_err)?;
            changes.push(Change::SetSecurity { key: h.path.clone() });
            Ok(())
        })
        .await
    }
    .await;
    ApiSetKeySecurityResponse { rpc_status: 0, result: WError(r.err().unwrap_or(0)) }
}

/// [MS-CMRP 3.1.4.2.41] ApiGetKeySecurity: the parts of the key's descriptor selected by
/// `SecurityInformation`. When `cbInSecurityDescriptor` is smaller than the descriptor:
/// ERROR_INSUFFICIENT_BUFFER with the size needed in `cbInSecurityDescriptor` (the field
/// clients, smbtorture included, read back before retrying).
pub async fn api_get_key_security(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiGetKeySecurityRequest,
) -> ApiGetKeySecurityResponse {
    let r = read_key(s, ctx, &req.key, |_, k| {
        security::filter(&k.security, req.security_information).map_err(|e| e.win32_code())
    })
    .await;
    let resp = |sd: RpcSecurityDescriptor, e: u32| ApiGetKeySecurityResponse {
        security_descriptor: sd,
        rpc_status: 0,
        result: WError(e),
    };
    match r {
        Ok(sd) if len32(sd.len()) > req.security_descriptor.cb_in_security_descriptor => resp(
            RpcSecurityDescriptor {
                lp_security_descriptor: None,
                cb_in_security_descriptor: len32(sd.len()),
                cb_out_security_descriptor: 0,
            },
            win::ERROR_INSUFFICIENT_BUFFER,
        ),
        Ok(sd) => resp(RpcSecurityDescriptor::with_data(req.security_descriptor.cb_in_security_descriptor, sd), 0),
        Err(e) => resp(RpcSecurityDescriptor::default(), e),
    }
}

#[cfg(test)]
pub(crate) mod tests;
