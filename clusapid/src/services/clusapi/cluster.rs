//! Cluster-level operations: open/close, name, versions, enumerations
//! ([MS-CMRP] 3.1.4.2.1-3.1.4.2.8, 3.1.4.2.102, 3.1.4.2.116).

use idl::clusapi::*;
use idl::{WError, WString};

use super::access::Granted;
use super::objclass::{handle, Cluster};
use super::{version, win, ClusapiService};
use crate::services::CallCtx;

pub use super::objclass::{close as api_close_cluster, open as api_open_cluster, open as api_open_cluster_ex};

pub use idl::clusenum::enum_type;

/// [MS-CMRP 3.1.4.2.4] ApiGetClusterName: the cluster name and the name of the node serving
/// this connection (`CTDB_NODE_<pnn>` of the local ctdbd).
pub fn api_get_cluster_name(
    s: &ClusapiService,
    _ctx: &CallCtx,
    _req: ApiGetClusterNameRequest,
) -> ApiGetClusterNameResponse {
    let snap = s.backend.snapshot();
    let node = snap
        .node_name(snap.cluster.this_pnn)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("CTDB_NODE_{}", snap.cluster.this_pnn));
    ApiGetClusterNameResponse {
        cluster_name: Some(WString::new(snap.cluster.name.clone())),
        node_name: Some(WString::new(node)),
        result: WError(0),
    }
}

/// [MS-CMRP 3.1.4.2.5] ApiGetClusterVersion: protocol version 3.0 servers answer
/// ERROR_CALL_NOT_IMPLEMENTED; clients use ApiGetClusterVersion2.
pub fn api_get_cluster_version(
    _s: &ClusapiService,
    _ctx: &CallCtx,
    _req: ApiGetClusterVersionRequest,
) -> ApiGetClusterVersionResponse {
    ApiGetClusterVersionResponse::error(win::ERROR_CALL_NOT_IMPLEMENTED)
}

/// [MS-CMRP 3.1.4.2.102] ApiGetClusterVersion2: the OS version of the node serving the call and
/// the operational version of the cluster, both the presented version's
/// ([`nodes::WindowsVersion`]); every node runs it, so highest = lowest and the cluster is not
/// in mixed mode (dwFlags 0).
pub fn api_get_cluster_version2(
    s: &ClusapiService,
    _ctx: &CallCtx,
    _req: ApiGetClusterVersion2Request,
) -> ApiGetClusterVersion2Response {
    let v = s.backend.snapshot().cluster.windows_version;
    let (major, minor, build) = v.os_version();
    ApiGetClusterVersion2Response {
        major_version: major,
        minor_version: minor,
        build_number: build,
        vendor_id: Some(WString::new(version::VENDOR_ID)),
        csd_version: Some(WString::new(version::CSD_VERSION)),
        cluster_op_ver_info: Some(ClusterOperationalVersionInfo {
            dw_size: 20,
            dw_cluster_highest_version: v.cluster_version(),
            dw_cluster_lowest_version: v.cluster_version(),
            dw_flags: 0,
            dw_reserved: 0,
        }),
        rpc_status: 0,
        result: WError(0),
    }
}

/// The entries of a CLUSTER_ENUM_* mask, in the order of the bits, from one snapshot.
pub fn enum_entries(snap: &nodes::ClusterState, mask: u32) -> Vec<(EnumEntry, String)> {
    type Objects<'a> = Box<dyn Iterator<Item = (&'a str, &'a str)> + 'a>;
    fn names_ids<'a, T>(objects: &'a [T], name_id: fn(&T) -> (&str, &str)) -> Objects<'a> {
        Box::new(objects.iter().map(name_id))
    }
    // (type bit, the names and ids of its objects); SHARED_VOLUME_RESOURCE has none: CTDB
    // clusters have no cluster shared volumes
    let kinds: [(u32, Objects); 7] = [
        (enum_type::NODE, names_ids(&snap.nodes, |n| (&n.name, &n.id))),
        (enum_type::RESTYPE, names_ids(&snap.resource_types, |t| (&t.name, &t.name))),
        (enum_type::RESOURCE, names_ids(&snap.resources, |r| (&r.name, &r.id))),
        (enum_type::GROUP, names_ids(&snap.groups, |g| (&g.name, &g.id))),
        (enum_type::NETWORK, names_ids(&snap.networks, |n| (&n.name, &n.id))),
        (enum_type::NETINTERFACE, names_ids(&snap.net_interfaces, |i| (&i.name, &i.id))),
        // networks the cluster may use internally, in priority order
        (
            enum_type::INTERNAL_NETWORK,
            Box::new(snap.networks.iter().filter(|n| n.role.as_u32() & 1 != 0).map(|n| (&*n.name, &*n.id))),
        ),
    ];
    kinds
        .into_iter()
        .filter(|(t, _)| mask & t != 0)
        .flat_map(|(t, objects)| {
            objects.map(move |(name, id)| (EnumEntry { entry_type: t, name: Some(WString::new(name)) }, id.to_owned()))
        })
        .collect()
}

/// [MS-CMRP 3.1.4.2.8] ApiCreateEnum: names of the objects selected by dwType (no handle: the
/// connection's cluster).
pub fn api_create_enum(s: &ClusapiService, _ctx: &CallCtx, req: ApiCreateEnumRequest) -> ApiCreateEnumResponse {
    if req.enum_type & !enum_type::VALID != 0 || req.enum_type == 0 {
        return ApiCreateEnumResponse::error(win::ERROR_INVALID_PARAMETER);
    }
    let snap = s.backend.snapshot();
    let entries = enum_entries(&snap, req.enum_type).into_iter().map(|(e, _)| e).collect();
    ApiCreateEnumResponse { return_enum: Some(EnumList { entries }), rpc_status: 0, result: WError(0) }
}

/// [MS-CMRP 3.1.4.2.125] ApiCreateEnumEx: like ApiCreateEnum, with the ids in a second list in
/// the same order; dwOptions must be 0.
pub fn api_create_enum_ex(s: &ClusapiService, ctx: &CallCtx, req: ApiCreateEnumExRequest) -> ApiCreateEnumExResponse {
    if let Err(e) = handle::<Cluster>(ctx, &req.cluster) {
        return ApiCreateEnumExResponse::error(e);
    }
    if req.enum_type & !enum_type::VALID != 0 || req.enum_type == 0 || req.options != 0 {
        return ApiCreateEnumExResponse::error(win::ERROR_INVALID_PARAMETER);
    }
    let snap = s.backend.snapshot();
    let (ids, names) = super::node::split_ex(enum_entries(&snap, req.enum_type));
    ApiCreateEnumExResponse {
        return_id_enum: Some(ids),
        return_name_enum: Some(names),
        rpc_status: 0,
        result: WError(0),
    }
}

pub use super::win::{ERROR_INVALID_NAME, ERROR_NOT_SUPPORTED, ERROR_RESOURCE_PROPERTIES_STORED};

/// [MS-CMRP 3.1.4.2.3] ApiSetClusterName. The name of a Samba/CTDB cluster is the `netbios
/// name` every node's smb.conf (or clusapid's configuration) carries, so a remote rename is
/// refused with ERROR_NOT_SUPPORTED. Setting the current name again changes nothing and answers
/// ERROR_RESOURCE_PROPERTIES_STORED, as a Windows cluster does for an accepted name.
pub fn api_set_cluster_name(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiSetClusterNameRequest,
) -> ApiSetClusterNameResponse {
    let result = |code| ApiSetClusterNameResponse { rpc_status: 0, result: WError(code) };
    // [MS-CMRP 3.1.4.2.3] the server MUST require "All" access
    if Granted::entitled(ctx.access) != Some(Granted::All) {
        return result(win::ERROR_ACCESS_DENIED);
    }
    let name = req.new_cluster_name.as_str();
    // a NetBIOS computer name: 1 to 15 characters, none of the reserved ones
    let bad = |c: char| c.is_control() || "\\/:*?\"<>|.,;=+[]".contains(c);
    if name.is_empty() || name.chars().count() > 15 || name.chars().any(bad) {
        return result(ERROR_INVALID_NAME);
    }
    let snap = s.backend.snapshot();
    if nodes::ids::names_equal(name, &snap.cluster.name) {
        result(ERROR_RESOURCE_PROPERTIES_STORED)
    } else {
        result(ERROR_NOT_SUPPORTED)
    }
}

/// [MS-CMRP 3.1.4.2.104] ApiBackupClusterDatabase: "The server MUST fail this method using
/// error ERROR_CALL_NOT_IMPLEMENTED."
pub fn api_backup_cluster_database(
    _s: &ClusapiService,
    _ctx: &CallCtx,
    _req: ApiBackupClusterDatabaseRequest,
) -> ApiBackupClusterDatabaseResponse {
    ApiBackupClusterDatabaseResponse { rpc_status: 0, result: WError(win::ERROR_CALL_NOT_IMPLEMENTED) }
}

/// [MS-CMRP 3.1.4.2.108] ApiSetServiceAccountPassword: "The server MUST fail this method using
/// error ERROR_CALL_NOT_IMPLEMENTED." The status array is still marshalled with the conformance
/// the caller gave (`ReturnStatusBufferSize`) and no elements.
pub fn api_set_service_account_password(
    _s: &ClusapiService,
    _ctx: &CallCtx,
    req: ApiSetServiceAccountPasswordRequest,
) -> ApiSetServiceAccountPasswordResponse {
    let mut r = ApiSetServiceAccountPasswordResponse::error(win::ERROR_CALL_NOT_IMPLEMENTED);
    r.return_status_buffer.max = req.return_status_buffer_size;
    r
}
