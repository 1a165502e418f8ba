//! Control codes for every object type ([MS-CMRP] 3.1.4.2.73-80, 88-89, 97-98, 105-106,
//! 155-156; the codes themselves in 3.1.4.3; SDK clusapi.h "Control Code Architecture").
//!
//! One decoder, [`ControlCode`], splits a 32-bit code into its parts (object, global / modify /
//! user / internal bits, function number, access) and names it from the tables of known codes
//! ([`known_codes`]); one dispatcher runs the supported functions on the object a handle
//! designates. Every `Api*Control` method follows the same rules:
//!
//! * the handle must be open (ERROR_INVALID_HANDLE); `ApiNode*Control`'s extra node handle too —
//!   every CTDB node shares the cluster state, so the call then behaves as without it;
//! * a code with the modify bit (0x00400000) needs handles with "All" access, else
//!   ERROR_ACCESS_DENIED (5) [MS-CMRP 3.1.4.2.74]; read-only accounts only ever get "Read";
//! * code 0, a code of another object type, a code clusapid does not know and a known code it
//!   does not support answer ERROR_INVALID_FUNCTION (1), as the `*_UNKNOWN` control code
//!   descriptions say for an object whose controls are not processed;
//! * the output-buffer protocol: output that does not fit `nOutBufferSize` answers
//!   ERROR_MORE_DATA (234) with `lpcbRequired` = the size needed and `lpBytesReturned` = 0 (an
//!   empty conformant-varying array); otherwise both are the output's size;
//! * input buffers are peer-supplied: capped at [`MAX_INPUT`], parsed with the registry-model
//!   codec, its errors mapped with `win32_code()`.
//!
//! Property values come from [`super::properties`].

use idl::clusapi::*;
use idl::{ConfBytes, ConfVarBytes, ContextHandle, WError};
use nodes::{ClusterState, NodeState, PropValue as ModelValue};
use registry_model::{multi_sz_encode, utf16z_decode, utf16z_encode, PropValue, PropertyList};

use super::access::Granted;
use super::objclass::{handle, Cluster, GroupSets, Groups, NetInterfaces, Networks, Nodes, Resources};
use super::properties::{self, Obj};
use super::win::*;
use super::ClusapiService;
use crate::services::CallCtx;

/// Largest input buffer a control call accepts (property lists of a few properties are a few
/// hundred bytes; security descriptors a few KiB).
pub const MAX_INPUT: usize = 1 << 20;

/// The control-code decoder and the tables of known codes live with the wire codecs.
pub use idl::cluctl::*;

// ---------------------------------------------------------------------------------------------
// the output-buffer protocol

/// What a control handler produced: the output bytes and the status to report with them
/// (0, or ERROR_RESOURCE_PROPERTIES_STORED after a SET).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub data: Vec<u8>,
    pub status: u32,
}

impl Output {
    fn new(data: Vec<u8>) -> Output {
        Output { data, status: ERROR_SUCCESS }
    }
}

type Outcome = Result<Output, u32>;

/// The out-parameters every `Api*Control` response has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlReply {
    pub out_buffer: ConfVarBytes,
    pub bytes_returned: u32,
    pub cb_required: u32,
    pub result: u32,
}

/// Applies the output-buffer protocol to a handler's outcome.
pub fn reply(out_buffer_size: u32, outcome: Result<Output, u32>) -> ControlReply {
    let empty = || ConfVarBytes { max: out_buffer_size, data: Vec::new() };
    match outcome {
        Ok(Output { data, status }) => {
            let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
            if len > out_buffer_size {
                ControlReply { out_buffer: empty(), bytes_returned: 0, cb_required: len, result: ERROR_MORE_DATA }
            } else {
                ControlReply {
                    out_buffer: ConfVarBytes { max: out_buffer_size, data },
                    bytes_returned: len,
                    cb_required: len,
                    result: status,
                }
            }
        }
        Err(e) => ControlReply { out_buffer: empty(), bytes_returned: 0, cb_required: 0, result: e },
    }
}

/// The input bytes of a call: `nInBufferSize` bytes of `lpInBuffer` (a NULL buffer is empty).
/// A size larger than the buffer, or than [`MAX_INPUT`], is ERROR_INVALID_PARAMETER.
pub fn input(buf: &Option<ConfBytes>, size: u32) -> Result<&[u8], u32> {
    let size = usize::try_from(size).map_err(|_| ERROR_INVALID_PARAMETER)?;
    match buf {
        None => Ok(&[]),
        Some(ConfBytes(b)) => {
            if size > MAX_INPUT {
                return Err(ERROR_INVALID_PARAMETER);
            }
            b.get(..size).ok_or(ERROR_INVALID_PARAMETER)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// dispatch

/// Which object a control call is for, as its handle designates it.
#[derive(Clone, Debug)]
pub enum Target {
    Cluster,
    Node(u32),
    Group(String),
    Resource(String),
    ResourceType(String),
    Network(String),
    NetInterface(String),
    GroupSet(String),
}

impl Target {
    fn object_type(&self) -> ObjectType {
        match self {
            Target::Cluster => ObjectType::Cluster,
            Target::Node(_) => ObjectType::Node,
            Target::Group(_) => ObjectType::Group,
            Target::Resource(_) => ObjectType::Resource,
            Target::ResourceType(_) => ObjectType::ResourceType,
            Target::Network(_) => ObjectType::Network,
            Target::NetInterface(_) => ObjectType::NetInterface,
            Target::GroupSet(_) => ObjectType::GroupSet,
        }
    }

    /// The object in `s`, or the "not found" error of its class.
    fn resolve<'a>(&self, s: &'a ClusterState) -> Result<Obj<'a>, u32> {
        Ok(match self {
            Target::Cluster => Obj::Cluster,
            Target::Node(pnn) => Obj::Node(s.node_by_pnn(*pnn).ok_or(ERROR_CLUSTER_NODE_NOT_FOUND)?),
            Target::Group(id) => Obj::Group(s.group_by_id(id).ok_or(ERROR_GROUP_NOT_FOUND)?),
            Target::Resource(id) => Obj::Resource(s.resource_by_id(id).ok_or(ERROR_RESOURCE_NOT_FOUND)?),
            Target::ResourceType(n) => {
                Obj::ResourceType(s.find_resource_type(n).ok_or(ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND)?)
            }
            Target::Network(id) => Obj::Network(s.network_by_id(id).ok_or(ERROR_CLUSTER_NETWORK_NOT_FOUND)?),
            Target::NetInterface(id) => {
                Obj::NetInterface(s.netinterface_by_id(id).ok_or(ERROR_CLUSTER_NETINTERFACE_NOT_FOUND)?)
            }
            // not in the model: [`api_group_set_control`] answers group sets
            Target::GroupSet(_) => return Err(ERROR_INVALID_FUNCTION),
        })
    }
}

/// The host node handle of an `ApiNode*Control` call: open, and "All" when the code modifies.
fn check_host_node(s: &ClusapiService, ctx: &CallCtx, h: &ContextHandle, code: ControlCode) -> Result<(), u32> {
    let node = handle::<Nodes>(ctx, h)?;
    if code.modify && node.access != Granted::All {
        return Err(ERROR_ACCESS_DENIED);
    }
    s.backend.snapshot().node_by_pnn(node.pnn).ok_or(ERROR_CLUSTER_NODE_NOT_FOUND)?;
    Ok(())
}

/// Runs one control call on an object whose handle was found with `granted` access.
async fn control(
    s: &ClusapiService,
    target: Target,
    granted: Granted,
    code: ControlCode,
    input: Result<&[u8], u32>,
) -> Outcome {
    // [MS-CMRP 3.1.4.2.74] "The access level associated with the hResource context handle MUST
    // be "All", only if the bitwise AND of dwControlCode and 0x00400000 is not equal to zero"
    if code.modify && granted != Granted::All {
        return Err(ERROR_ACCESS_DENIED);
    }
    let snap = s.backend.snapshot();
    let obj = target.resolve(&snap)?;
    let f = code.function_for(target.object_type()).ok_or(ERROR_INVALID_FUNCTION)?;
    let input = input?;
    run(s, &snap, obj, f, input).await
}

/// ERROR_NONE_MAPPED: "No mapping between account names and security IDs was done."
const ERROR_NONE_MAPPED: u32 = 1332;

/// The SID an `AccountSID` names: a SID string, a well-known name, or an account name winbindd
/// resolves (`DOMAIN\name` or `name`).
async fn account_sid(name: &str) -> Result<crate::domain::Sid, u32> {
    if let Ok(sid) = name.parse() {
        return Ok(sid);
    }
    if let Some(sid) = crate::domain::sid::well_known(name) {
        return Ok(sid);
    }
    let (domain, account) = match name.split_once('\\') {
        Some((d, a)) => (d.to_owned(), a.to_owned()),
        None => (String::new(), name.to_owned()),
    };
    let lookup = tokio::task::spawn_blocking(move || {
        crate::domain::Winbind::new().and_then(|wb| wb.lookup_name(&domain, &account))
    })
    .await;
    match lookup {
        Ok(Ok(sid)) => Ok(sid),
        Ok(Err(e)) => {
            tracing::info!(name, error = %e, "SET_ACCOUNT_ACCESS: account not resolved");
            Err(ERROR_NONE_MAPPED)
        }
        Err(_) => Err(ERROR_NONE_MAPPED),
    }
}

/// [MS-CMRP 3.1.4.3.7.21] CLUSCTL_CLUSTER_SET_ACCOUNT_ACCESS: a property list with
/// `AccountSID` (SZ: a SID, or an account name), `AccountAccessMask` (DWORD, CLUSAPI_*_ACCESS)
/// and `AccountAccessType` (DWORD: 0 allowed, 1 denied, 2 delete the SID's entries). The edit
/// is kept in the cluster registry (the same on every node, persistent) and changes the cluster
/// security descriptor at once; a missing or malformed property is ERROR_INVALID_PARAMETER, an
/// account name that does not resolve ERROR_NONE_MAPPED.
async fn set_account_access(s: &ClusapiService, input: &[u8]) -> Outcome {
    use crate::cluster_access::{push_edit, Edit, EDITS_VALUE};
    let props = PropertyList::decode(input).map_err(|e| e.win32_code())?;
    let (Some(PropValue::Sz(account)), Some(PropValue::Dword(mask)), Some(PropValue::Dword(kind))) =
        (props.get("AccountSID"), props.get("AccountAccessMask"), props.get("AccountAccessType"))
    else {
        return Err(ERROR_INVALID_PARAMETER);
    };
    let sid = account_sid(account).await?;
    let edit = Edit::new(sid, *mask, *kind).map_err(|_| ERROR_INVALID_PARAMETER)?;
    let edits = super::registry::write(s, |cr, changes| {
        let old = cr.live().open("").and_then(|k| k.value(EDITS_VALUE)).cloned();
        let lines = old.as_ref().and_then(|v| registry_model::multi_sz_decode(&v.data).ok()).unwrap_or_default();
        let mut edits = crate::cluster_access::parse_edits(&lines).0;
        push_edit(&mut edits, edit.clone());
        let lines: Vec<String> = edits.iter().map(Edit::to_line).collect();
        let new = registry_model::RegValue::multi_sz(&lines);
        cr.set_value("", EDITS_VALUE, new.clone()).map_err(|e| e.win32_code())?;
        changes.push(super::registry::Change::SetValue { key: String::new(), name: EDITS_VALUE.into(), old, new });
        Ok(edits)
    })
    .await?;
    tracing::info!(edit = edit.to_line(), "Cluster account access changed");
    s.access.set_edits(edits);
    Ok(Output::default())
}

fn dword(v: u32) -> Output {
    Output::new(v.to_le_bytes().to_vec())
}

fn sz(v: &str) -> Output {
    Output::new(utf16z_encode(v))
}

fn list(l: PropertyList) -> Output {
    Output::new(l.encode())
}

/// The resource type of a resource or resource type object.
fn restype_of<'a>(snap: &'a ClusterState, o: &Obj<'a>) -> Option<&'a nodes::ResourceType> {
    match o {
        Obj::Resource(r) => snap.find_resource_type(&r.type_name),
        Obj::ResourceType(t) => Some(*t),
        _ => None,
    }
}

async fn run(s: &ClusapiService, snap: &ClusterState, obj: Obj<'_>, f: Function, input: &[u8]) -> Outcome {
    use Function as F;
    Ok(match f {
        F::Unknown => Output::default(),
        F::GetCharacteristics => dword(restype_of(snap, &obj).map_or(0, |t| t.characteristics)),
        F::GetFlags => dword(match obj {
            Obj::Group(g) => g.flags,
            Obj::Resource(r) => r.flags,
            _ => 0,
        }),
        F::GetClassInfo => {
            // CLUS_RESOURCE_CLASS_INFO: class DWORD, subclass DWORD
            let t = restype_of(snap, &obj).ok_or(ERROR_INVALID_FUNCTION)?;
            let mut b = t.resource_class.to_le_bytes().to_vec();
            b.extend(t.resource_subclass.to_le_bytes());
            Output::new(b)
        }
        F::GetRequiredDependencies => {
            let t = restype_of(snap, &obj).ok_or(ERROR_INVALID_FUNCTION)?;
            Output::new(properties::required_dependencies(&t.name).encode())
        }
        F::GetName => sz(&obj.name(snap)),
        F::GetId => sz(&obj.id(snap)),
        F::GetResourceType => match obj {
            Obj::Resource(r) => sz(&r.type_name),
            _ => return Err(ERROR_INVALID_FUNCTION),
        },
        F::GetNode => match obj {
            Obj::NetInterface(i) => sz(snap.node_name(i.node_pnn).ok_or(ERROR_CLUSTER_NODE_NOT_FOUND)?),
            _ => return Err(ERROR_INVALID_FUNCTION),
        },
        F::GetNetwork => match obj {
            Obj::NetInterface(i) => sz(&snap.network_by_id(&i.network_id).ok_or(ERROR_CLUSTER_NETWORK_NOT_FOUND)?.name),
            _ => return Err(ERROR_INVALID_FUNCTION),
        },
        // No DNS domain is known to the model: the FQDN is the cluster name.
        F::GetFqdn => sz(&snap.cluster.name),
        // clusapid, like ctdbd, runs as root: the local system account.
        F::GetClusterServiceAccountName => sz("NT AUTHORITY\\SYSTEM"),
        F::CheckVoterEvict => dword(check_voter(snap, input, true)?),
        F::CheckVoterDown => dword(check_voter(snap, input, false)?),
        F::EnumCommonProperties => Output::new(multi_sz_encode(&obj.table(snap).writable_names())),
        F::GetRoCommonProperties => list(obj.ro_common(snap)),
        F::GetCommonProperties => list(obj.common(snap)),
        F::SetCommonProperties => set_common(s, snap, obj, input, false).await?,
        F::ValidateCommonProperties => set_common(s, snap, obj, input, true).await?,
        F::GetCommonPropertyFmts => list(properties::writable_formats(obj.table(snap))),
        F::GetCommonResourcePropertyFmts => list(properties::writable_formats(&properties::RESOURCE_PROPERTIES)),
        F::EnumPrivateProperties => {
            let p = obj.private(snap);
            let names: Vec<&str> = p.0.iter().map(|p| p.name.as_str()).collect();
            Output::new(multi_sz_encode(&names))
        }
        F::GetRoPrivateProperties => list(PropertyList::new()),
        F::GetPrivateProperties => list(obj.private(snap)),
        F::SetPrivateProperties => set_private(s, obj, input, false).await?,
        F::SetAccountAccess => set_account_access(s, input).await?,
        F::ValidatePrivateProperties => set_private(s, obj, input, true).await?,
        F::GetPrivatePropertyFmts => {
            let p = obj.private(snap);
            list(properties::format_list(p.0.iter().map(|p| (p.name.as_str(), p.value.format()))))
        }
        F::GetPrivateResourcePropertyFmts => {
            let t = restype_of(snap, &obj).ok_or(ERROR_INVALID_FUNCTION)?;
            match properties::private_table(&t.name) {
                Some(table) => list(properties::writable_formats(&table)),
                None => list(PropertyList::new()),
            }
        }
        F::GetNetworkName => match obj {
            Obj::Resource(r) => sz(&snap.resource_network_name(&r.id).ok_or(ERROR_DEPENDENCY_NOT_FOUND)?),
            _ => return Err(ERROR_INVALID_FUNCTION),
        },
        F::GetDnsName => match obj {
            // only a Network Name resource has a DNS name
            Obj::Resource(r) if nodes::ids::names_equal(&r.type_name, nodes::model::type_names::NETWORK_NAME) => {
                match r.private_prop("DnsName").or_else(|| r.private_prop("Name")) {
                    Some(ModelValue::Sz(n)) => sz(n),
                    _ => sz(&r.name),
                }
            }
            _ => return Err(ERROR_INVALID_FUNCTION),
        },
    })
}

/// CLUSCTL_CLUSTER_CHECK_VOTER_EVICT / _DOWN ([MS-CMRP] 3.1.4.3.7.3-4): would the cluster lose
/// quorum if the node named by the input (a node id as a NUL-terminated UTF-16 string; this
/// node when the input is empty, as smbtorture sends it) went down or were evicted? Node
/// majority over the configured nodes: the Up and Paused nodes vote. CTDB clusters have no
/// quorum resource, so a resource id, like an unknown node id, is ERROR_INVALID_PARAMETER.
/// The answer is a CLUSTER_QUORUM_VALUE: 0 maintained, 1 lost.
fn check_voter(s: &ClusterState, input: &[u8], evict: bool) -> Result<u32, u32> {
    let target = if input.is_empty() {
        s.cluster.this_pnn
    } else {
        let id = utf16z_decode(input).map_err(|_| ERROR_INVALID_PARAMETER)?;
        s.node_by_id(id.trim()).ok_or(ERROR_INVALID_PARAMETER)?.pnn
    };
    let votes = |n: &nodes::Node| matches!(n.state, NodeState::Up | NodeState::Paused);
    let voting = s.nodes.iter().filter(|n| votes(n) && n.pnn != target).count();
    let configured = s.nodes.len() - usize::from(evict);
    Ok(u32::from(voting * 2 <= configured))
}

/// The common properties `Name` and `Description` live in the model where it has them;
/// everything else writable goes to the admin store.
enum Slot {
    Rename,
    Description,
    Store,
}

fn slot(obj: &Obj<'_>, name: &str) -> Slot {
    let model_name = matches!(obj, Obj::Group(_) | Obj::Resource(_) | Obj::Network(_));
    let model_description = !matches!(obj, Obj::Cluster | Obj::ResourceType(_));
    match name {
        "Name" if model_name => Slot::Rename,
        "Description" if model_description => Slot::Description,
        _ => Slot::Store,
    }
}

/// CLUSCTL_*_SET_COMMON_PROPERTIES / VALIDATE_COMMON_PROPERTIES: the input property list is
/// checked against the class's table (unknown name, read-only property or wrong format:
/// ERROR_INVALID_PARAMETER; truncated list: ERROR_INSUFFICIENT_BUFFER; out-of-range value:
/// ERROR_INVALID_DATA), then stored: renames and descriptions through the backend, the rest in
/// the admin store. A changed `SeparateMonitor` of an online resource takes effect after a
/// restart: ERROR_RESOURCE_PROPERTIES_STORED.
async fn set_common(s: &ClusapiService, snap: &ClusterState, obj: Obj<'_>, input: &[u8], validate: bool) -> Outcome {
    let props = PropertyList::decode(input).map_err(|e| e.win32_code())?;
    let table = obj.table(snap);
    registry_model::validate_set(table, &props)?;
    properties::check_values(&props)?;
    if validate {
        return Ok(Output::default());
    }
    let current = obj.values(snap);
    let mut stored: Vec<(String, Option<ModelValue>)> = Vec::new();
    let (mut rename, mut description) = (None, None);
    let mut restart = false;
    for p in &props.0 {
        let Some(def) = table.find(&p.name) else { continue };
        match (slot(&obj, def.name), &p.value) {
            (Slot::Rename, PropValue::Sz(n)) => rename = Some(n.clone()),
            (Slot::Description, PropValue::Sz(d)) => description = Some(d.clone()),
            (Slot::Description, _) => description = Some(String::new()),
            (Slot::Rename, _) => return Err(ERROR_INVALID_PARAMETER),
            (Slot::Store, v) => {
                if def.name == "SeparateMonitor" {
                    let before = current.iter().find(|(n, _)| *n == def.name).map(|(_, v)| v);
                    restart |= before != Some(v);
                }
                stored.push((def.name.to_owned(), properties::to_model(v)));
            }
        }
    }
    let win = |e: nodes::BackendError| e.win32_code();
    if !stored.is_empty() {
        s.backend.set_admin_properties(&obj.key(), stored).await.map_err(win)?;
    }
    if let Some(d) = description {
        s.backend.set_description(&obj.id(snap), &d).await.map_err(win)?;
    }
    if let Some(n) = rename {
        if n != obj.name(snap) {
            match obj {
                Obj::Group(g) => s.backend.rename_group(&g.id, &n).await,
                Obj::Resource(r) => s.backend.rename_resource(&r.id, &n).await,
                Obj::Network(net) => s.backend.rename_network(&net.id, &n).await,
                _ => Ok(()),
            }
            .map_err(win)?;
        }
    }
    let restart = restart && matches!(obj, Obj::Resource(r) if properties::takes_effect_after_restart(r));
    Ok(Output { data: Vec::new(), status: if restart { ERROR_RESOURCE_PROPERTIES_STORED } else { ERROR_SUCCESS } })
}

/// CLUSCTL_*_SET_PRIVATE_PROPERTIES / VALIDATE_PRIVATE_PROPERTIES. A resource's go to its
/// `Parameters` through the backend, checked against its type's schema when the type has one
/// ([`properties::private_table`]); a change to an online resource takes effect after a restart
/// (ERROR_RESOURCE_PROPERTIES_STORED, as Windows' resource DLLs answer). Other objects keep any
/// property the model can represent in the admin store; a zero-length value deletes it.
async fn set_private(s: &ClusapiService, obj: Obj<'_>, input: &[u8], validate: bool) -> Outcome {
    let props = PropertyList::decode(input).map_err(|e| e.win32_code())?;
    let win = |e: nodes::BackendError| e.win32_code();
    match obj {
        Obj::Resource(r) => {
            let table = properties::private_table(&r.type_name);
            properties::check_private(table.as_ref(), &props, false)?;
            if validate {
                return Ok(Output::default());
            }
            let mut values = Vec::new();
            for p in &props.0 {
                // canonical spelling: the schema's, else an existing property's, else as sent
                let name = table
                    .as_ref()
                    .and_then(|t| t.find(&p.name).map(|d| d.name.to_owned()))
                    .or_else(|| {
                        r.private_props
                            .iter()
                            .find(|(n, _)| nodes::ids::names_equal(n, &p.name))
                            .map(|(n, _)| n.clone())
                    })
                    .unwrap_or_else(|| p.name.clone());
                let v = properties::to_model(&p.value).ok_or(ERROR_INVALID_PARAMETER)?;
                values.push((name, v));
            }
            if values.is_empty() {
                return Ok(Output::default());
            }
            s.backend.set_private_properties(&r.id, values).await.map_err(win)?;
            let status = if properties::takes_effect_after_restart(r) {
                ERROR_RESOURCE_PROPERTIES_STORED
            } else {
                ERROR_SUCCESS
            };
            Ok(Output { data: Vec::new(), status })
        }
        _ => {
            properties::check_private(None, &props, true)?;
            if validate {
                return Ok(Output::default());
            }
            let values: Vec<_> = props.0.iter().map(|p| (p.name.clone(), properties::to_model(&p.value))).collect();
            if !values.is_empty() {
                s.backend.set_admin_properties(&properties::private_key(&obj.key()), values).await.map_err(win)?;
            }
            Ok(Output::default())
        }
    }
}

/// Logs one control call at debug level.
fn log(method: &str, code: ControlCode, r: &ControlReply) {
    tracing::debug!(method, code = %code, status = r.result, bytes = r.bytes_returned, required = r.cb_required, "Control");
}

// ---------------------------------------------------------------------------------------------
// the methods

/// A request of one of the `Api*Control` methods ([`control_requests!`]): the object's handle
/// (for resource types the cluster handle and `lpszResourceTypeName`), the host node handle of
/// the `ApiNode*Control` form, the code and the buffers.
pub trait ControlRequest {
    /// The method's name, for the log.
    const METHOD: &'static str;
    type Reply: From<ControlReply>;
    /// The target and the access its handle grants: ERROR_INVALID_HANDLE when the handle is
    /// not an open one of the method's class.
    fn object(&self, ctx: &CallCtx) -> Result<(Target, Granted), u32>;
    /// `hHostNode` / `hNode` of the `ApiNode*Control` form.
    fn host(&self) -> Option<&ContextHandle>;
    fn code(&self) -> u32;
    fn in_buffer(&self) -> (&Option<ConfBytes>, u32);
    fn out_buffer_size(&self) -> u32;
}

/// The target of a control request, once its handles are checked: the object handle, then the
/// host node handle of the `ApiNode*Control` form.
fn target<R: ControlRequest>(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: &R,
    code: ControlCode,
) -> Result<(Target, Granted), u32> {
    let object = req.object(ctx)?;
    if let Some(h) = req.host() {
        check_host_node(s, ctx, h, code)?;
    }
    Ok(object)
}

/// The reply after the output-buffer protocol, logged.
fn finish<R: ControlRequest>(req: &R, code: ControlCode, outcome: Outcome) -> R::Reply {
    let r = reply(req.out_buffer_size(), outcome);
    log(R::METHOD, code, &r);
    r.into()
}

/// [MS-CMRP 3.1.4.2.74] ApiResourceControl, [3.1.4.2.76] ApiResourceTypeControl (on the type
/// named by `lpszResourceTypeName`: ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND if there is none),
/// [3.1.4.2.78] ApiGroupControl, [3.1.4.2.80] ApiNodeControl, [3.1.4.2.89] ApiNetworkControl,
/// [3.1.4.2.98] ApiNetInterfaceControl and [3.1.4.2.106] ApiClusterControl: the
/// CLUSCTL_<object>_* code on the object of the handle, with the rules of the module
/// documentation. Their `ApiNode*Control` forms ([3.1.4.2.73, .75, .77, .79, .88, .97, .105])
/// do the same on a given (host) node.
pub async fn api_control<R: ControlRequest>(s: &ClusapiService, ctx: &CallCtx, req: R) -> R::Reply {
    let code = ControlCode::decode(req.code());
    let outcome = async {
        let (target, granted) = target(s, ctx, &req, code)?;
        let (buf, size) = req.in_buffer();
        control(s, target, granted, code, input(buf, size)).await
    }
    .await;
    finish(&req, code, outcome)
}

/// [MS-CMRP 3.1.4.2.156] ApiGroupSetControl and [3.1.4.2.155] ApiNodeGroupSetControl (Windows
/// Server 2016 and later; the 2012 R2 profile has no such method). A CTDB cluster has no group
/// set, so no handle can reach here; of the CLUSCTL_GROUPSET_* codes only GET_ID (the group
/// set's name, which would be its id) is answered, every other code is ERROR_INVALID_FUNCTION.
pub fn api_group_set_control<R: ControlRequest>(s: &ClusapiService, ctx: &CallCtx, req: R) -> R::Reply {
    let code = ControlCode::decode(req.code());
    let outcome = target(s, ctx, &req, code).and_then(|(target, granted)| {
        if code.modify && granted != Granted::All {
            return Err(ERROR_ACCESS_DENIED);
        }
        match (target, code.function_for(ObjectType::GroupSet)) {
            (Target::GroupSet(name), Some(Function::GetId)) => Ok(sz(&name)),
            _ => Err(ERROR_INVALID_FUNCTION),
        }
    });
    finish(&req, code, outcome)
}

/// `ApiXControl(handle field[, host field]) => Class, |handle, request| target;`
macro_rules! control_requests {
    ($($method:ident ($h:ident $(, $host:ident)?) => $class:ty, |$hv:ident, $req:ident| $target:expr;)*) => {
        idl::__paste! { $(
            impl ControlRequest for [<$method Request>] {
                const METHOD: &'static str = stringify!($method);
                type Reply = [<$method Response>];
                fn object(&self, ctx: &CallCtx) -> Result<(Target, Granted), u32> {
                    let ($hv, $req) = (handle::<$class>(ctx, &self.$h)?, self);
                    let _ = $req;
                    Ok(($target, $hv.access))
                }
                fn host(&self) -> Option<&ContextHandle> {
                    None $(.or(Some(&self.$host)))?
                }
                fn code(&self) -> u32 {
                    self.control_code
                }
                fn in_buffer(&self) -> (&Option<ConfBytes>, u32) {
                    (&self.in_buffer, self.in_buffer_size)
                }
                fn out_buffer_size(&self) -> u32 {
                    self.out_buffer_size
                }
            }
            impl From<ControlReply> for [<$method Response>] {
                fn from(r: ControlReply) -> Self {
                    Self {
                        out_buffer: r.out_buffer,
                        bytes_returned: r.bytes_returned,
                        cb_required: r.cb_required,
                        rpc_status: 0,
                        result: WError(r.result),
                    }
                }
            }
        )* }
    };
}

control_requests! {
    ApiNodeResourceControl(resource, node) => Resources, |h, _r| Target::Resource(h.id.clone());
    ApiResourceControl(resource) => Resources, |h, _r| Target::Resource(h.id.clone());
    ApiNodeResourceTypeControl(cluster, node) => Cluster,
        |_h, r| Target::ResourceType(r.resource_type_name.as_str().to_owned());
    ApiResourceTypeControl(cluster) => Cluster, |_h, r| Target::ResourceType(r.resource_type_name.as_str().to_owned());
    ApiNodeGroupControl(group, node) => Groups, |h, _r| Target::Group(h.id.clone());
    ApiGroupControl(group) => Groups, |h, _r| Target::Group(h.id.clone());
    ApiNodeNodeControl(node, host_node) => Nodes, |h, _r| Target::Node(h.pnn);
    ApiNodeControl(node) => Nodes, |h, _r| Target::Node(h.pnn);
    ApiNodeNetworkControl(network, node) => Networks, |h, _r| Target::Network(h.id.clone());
    ApiNetworkControl(network) => Networks, |h, _r| Target::Network(h.id.clone());
    ApiNodeNetInterfaceControl(net_interface, node) => NetInterfaces, |h, _r| Target::NetInterface(h.id.clone());
    ApiNetInterfaceControl(net_interface) => NetInterfaces, |h, _r| Target::NetInterface(h.id.clone());
    ApiNodeClusterControl(cluster, host_node) => Cluster, |_h, _r| Target::Cluster;
    ApiClusterControl(cluster) => Cluster, |_h, _r| Target::Cluster;
    ApiNodeGroupSetControl(group_set, node) => GroupSets, |h, _r| Target::GroupSet(h.name.clone());
    ApiGroupSetControl(group_set) => GroupSets, |h, _r| Target::GroupSet(h.name.clone());
}

pub use {
    api_control as api_cluster_control, api_control as api_group_control, api_control as api_net_interface_control,
    api_control as api_network_control, api_control as api_node_cluster_control, api_control as api_node_control,
    api_control as api_node_group_control, api_control as api_node_net_interface_control,
    api_control as api_node_network_control, api_control as api_node_node_control,
    api_control as api_node_resource_control, api_control as api_node_resource_type_control,
    api_control as api_resource_control, api_control as api_resource_type_control,
    api_group_set_control as api_node_group_set_control,
};

#[cfg(test)]
mod tests;
