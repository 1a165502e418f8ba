//! clusapi v3.0 ([MS-CMRP]) over the cluster model: the service object, the context-handle
//! types it hands out, access evaluation, and the trait impl that routes each operation to its
//! plain function in the per-object-family modules (`cluster`, `node`, ...), Samba style.
//!
//! Operations not routed here keep the generated default: ERROR_CALL_NOT_IMPLEMENTED (120)
//! with null out-parameters, as listed in the README's coverage table.

pub mod access;
pub mod batch;
pub mod cluster;
pub mod control;
pub mod group;
pub mod groupset;
pub mod netinterface;
pub mod network;
pub mod node;
pub mod notify;
pub mod profile;
pub mod properties;
pub mod quorum;
pub mod registry;
pub mod resource;
pub mod restype;

use std::sync::Arc;

use idl::clusapi::*;
use nodes::ClusterBackend;

use super::CallCtx;
pub use access::Granted;

/// Win32 error codes used by clusapi ([MS-ERREF] 2.2, [MS-CMRP] 3.1.4).
pub mod win {
    pub const ERROR_SUCCESS: u32 = 0;
    pub const ERROR_INVALID_FUNCTION: u32 = 1;
    pub const ERROR_FILE_NOT_FOUND: u32 = 2;
    pub const ERROR_ACCESS_DENIED: u32 = 5;
    pub const ERROR_INVALID_HANDLE: u32 = 6;
    pub const ERROR_NOT_ENOUGH_MEMORY: u32 = 8;
    pub const ERROR_INVALID_PARAMETER: u32 = 87;
    pub const ERROR_CALL_NOT_IMPLEMENTED: u32 = 120;
    pub const ERROR_MORE_DATA: u32 = 234;
    pub const ERROR_NO_MORE_ITEMS: u32 = 259;
    pub const ERROR_IO_PENDING: u32 = 997;
    // groups, resources, resource types, networks, net interfaces, group sets
    pub const ERROR_NOT_SUPPORTED: u32 = 50;
    pub const ERROR_INVALID_NAME: u32 = 123;
    pub const ERROR_DIR_NOT_EMPTY: u32 = 145;
    pub const ERROR_ALREADY_EXISTS: u32 = 183;
    pub const ERROR_CIRCULAR_DEPENDENCY: u32 = 1059;
    pub const ERROR_DEPENDENT_RESOURCE_EXISTS: u32 = 5001;
    pub const ERROR_DEPENDENCY_NOT_FOUND: u32 = 5002;
    pub const ERROR_DEPENDENCY_ALREADY_EXISTS: u32 = 5003;
    pub const ERROR_RESOURCE_NOT_AVAILABLE: u32 = 5006;
    pub const ERROR_RESOURCE_NOT_FOUND: u32 = 5007;
    pub const ERROR_OBJECT_ALREADY_EXISTS: u32 = 5010;
    pub const ERROR_GROUP_NOT_AVAILABLE: u32 = 5012;
    pub const ERROR_GROUP_NOT_FOUND: u32 = 5013;
    pub const ERROR_RESOURCE_ONLINE: u32 = 5019;
    pub const ERROR_INVALID_STATE: u32 = 5023;
    pub const ERROR_CORE_RESOURCE: u32 = 5026;
    pub const ERROR_CLUSTER_NETWORK_NOT_FOUND: u32 = 5045;
    pub const ERROR_CLUSTER_NETINTERFACE_NOT_FOUND: u32 = 5047;
    pub const ERROR_CLUSTER_NETWORK_NOT_INTERNAL: u32 = 5060;
    pub const ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND: u32 = 5078;
    pub const ERROR_DEPENDENCY_TREE_TOO_COMPLEX: u32 = 5929;
    pub const ERROR_GROUPSET_NOT_FOUND: u32 = 5992;
    pub const ERROR_CLUSTER_NODE_NOT_FOUND: u32 = 5042;
    pub const ERROR_CLUSTER_NODE_NOT_PAUSED: u32 = 5058;
    pub const ERROR_CLUSTER_NODE_NOT_READY: u32 = 5072;
    pub const ERROR_CLUSTER_NODE_UP: u32 = 5056;
}

/// What every presented version shares (README "Which Windows version clusapid presents"); the
/// numbers that differ per version are [`nodes::WindowsVersion`]'s, what exists in which
/// version is [`profile`]'s.
pub mod version {
    pub const VENDOR_ID: &str = "Samba CTDB (clusapid)";
    pub const CSD_VERSION: &str = "";
    /// The nodes' Manufacturer, Model and SerialNumber (2016 and later): not known.
    pub const HARDWARE_UNKNOWN: &str = "";
}

/// Operations clusapid answers with an error on purpose, and why (README coverage table).
pub const REFUSED_BY_DESIGN: &[(u16, &str)] = &[
    (4, "ApiGetClusterVersion: protocol version 3.0 servers answer ERROR_CALL_NOT_IMPLEMENTED; clients use ApiGetClusterVersion2"),
    (2, "the cluster name is the netbios name in every node's smb.conf: setting the current name answers ERROR_RESOURCE_PROPERTIES_STORED (5024), another name ERROR_NOT_SUPPORTED (50)"),
    (104, "[MS-CMRP] 3.1.4.2.104: servers MUST answer ERROR_CALL_NOT_IMPLEMENTED (120)"),
    (108, "[MS-CMRP] 3.1.4.2.108: servers MUST answer ERROR_CALL_NOT_IMPLEMENTED (120)"),
    (71, "removing a CTDB node is a configuration change on every node: ERROR_NOT_SUPPORTED (50)"),
    (6, "CTDB's membership and recovery lock are configured on every node, not through a resource (ApiGetQuorumResource reports node majority): ERROR_NOT_SUPPORTED (50)"),
    (26, "the resource types are the fixed table the CTDB mapping uses; a new type would need a resource DLL: ERROR_NOT_SUPPORTED (50)"),
    (27, "deleting a resource type would orphan the objects mapped onto it: ERROR_NOT_SUPPORTED (50)"),
    (87, "CTDB's private traffic follows its nodes file: the current internal network order is accepted, another ERROR_NOT_SUPPORTED (50)"),
    (123, "CTDB clusters have no cluster shared volumes: ERROR_NOT_SUPPORTED (50)"),
    (163, "group sets (Windows Server 2016) have no CTDB equivalent; the cluster has none (empty ApiCreateGroupSetEnum, ApiOpenGroupSet answers ERROR_GROUPSET_NOT_FOUND): ERROR_NOT_SUPPORTED (50)"),
    (175, "group dependencies (Windows Server 2016) have no CTDB equivalent: the empty expression succeeds, any other ERROR_NOT_SUPPORTED (50)"),
    (182, "CTDB clusters have no cluster shared volumes: ERROR_NOT_SUPPORTED (50)"),
];

/// A context handle that records the access it was granted.
pub trait ObjectHandle: std::any::Any + Send + Sync {
    /// What the open granted.
    fn access(&self) -> Granted;
}

/// The handle `h` of this association as a `T`, with "All" access: ERROR_INVALID_HANDLE when it
/// is unknown or of another type, ERROR_ACCESS_DENIED when it only grants "Read" ([MS-CMRP]
/// 3.1.4: state-changing methods "MUST require that the access level associated with the
/// handle is All").
pub fn writable<T: ObjectHandle>(ctx: &CallCtx, h: &idl::ContextHandle) -> Result<Arc<T>, u32> {
    let h = ctx.group.get::<T>(h).ok_or(win::ERROR_INVALID_HANDLE)?;
    if h.access() != Granted::All {
        return Err(win::ERROR_ACCESS_DENIED);
    }
    Ok(h)
}

/// The Win32 status of a method whose only output is its result.
pub fn status(r: Result<(), u32>) -> idl::WError {
    idl::WError(r.err().unwrap_or(win::ERROR_SUCCESS))
}

macro_rules! object_handles {
    ($($t:ty),*) => { $( impl ObjectHandle for $t { fn access(&self) -> Granted { self.access } } )* };
}
object_handles!(
    ClusterHandle,
    NodeHandle,
    GroupHandle,
    ResourceHandle,
    NetworkHandle,
    NetInterfaceHandle,
    GroupSetHandle,
    registry::KeyHandle
);

/// A cluster handle (HCLUSTER_RPC).
#[derive(Debug)]
pub struct ClusterHandle {
    pub access: Granted,
}

/// A node handle (HNODE_RPC).
#[derive(Debug)]
pub struct NodeHandle {
    pub pnn: u32,
    pub access: Granted,
}

/// A group handle (HGROUP_RPC): the group's id (stable across renames and moves).
#[derive(Debug)]
pub struct GroupHandle {
    pub id: String,
    pub access: Granted,
}

/// A resource handle (HRES_RPC).
#[derive(Debug)]
pub struct ResourceHandle {
    pub id: String,
    pub access: Granted,
}

/// A network handle (HNETWORK_RPC).
#[derive(Debug)]
pub struct NetworkHandle {
    pub id: String,
    pub access: Granted,
}

/// A network interface handle (HNETINTERFACE_RPC).
#[derive(Debug)]
pub struct NetInterfaceHandle {
    pub id: String,
    pub access: Granted,
}

/// A group set handle (HGROUPSET_RPC).
#[derive(Debug)]
pub struct GroupSetHandle {
    pub name: String,
    pub access: Granted,
}

/// clusapi over one cluster backend.
pub struct ClusapiService {
    pub backend: Arc<dyn ClusterBackend>,
    /// The cluster security descriptor: who may do what with a domain logon.
    pub access: Arc<crate::cluster_access::ClusterAccess>,
}

impl ClusapiService {
    /// The service over a backend, with the default access list (full access for
    /// BUILTIN\Administrators).
    pub fn new(backend: Arc<dyn ClusterBackend>) -> Self {
        Self { backend, access: Arc::default() }
    }

    /// The same with the given access list.
    pub fn with_access(mut self, access: Arc<crate::cluster_access::ClusterAccess>) -> Self {
        self.access = access;
        self
    }
}

impl ClusapiServer for ClusapiService {
    type Ctx = CallCtx;

    async fn api_open_cluster(&self, ctx: &CallCtx, req: ApiOpenClusterRequest) -> ApiOpenClusterResponse {
        cluster::api_open_cluster(self, ctx, req)
    }
    async fn api_close_cluster(&self, ctx: &CallCtx, req: ApiCloseClusterRequest) -> ApiCloseClusterResponse {
        cluster::api_close_cluster(self, ctx, req)
    }
    async fn api_get_cluster_name(&self, ctx: &CallCtx, req: ApiGetClusterNameRequest) -> ApiGetClusterNameResponse {
        cluster::api_get_cluster_name(self, ctx, req)
    }
    async fn api_get_cluster_version(
        &self,
        ctx: &CallCtx,
        req: ApiGetClusterVersionRequest,
    ) -> ApiGetClusterVersionResponse {
        cluster::api_get_cluster_version(self, ctx, req)
    }
    async fn api_create_enum(&self, ctx: &CallCtx, req: ApiCreateEnumRequest) -> ApiCreateEnumResponse {
        cluster::api_create_enum(self, ctx, req)
    }
    async fn api_get_cluster_version2(
        &self,
        ctx: &CallCtx,
        req: ApiGetClusterVersion2Request,
    ) -> ApiGetClusterVersion2Response {
        cluster::api_get_cluster_version2(self, ctx, req)
    }
    async fn api_open_cluster_ex(&self, ctx: &CallCtx, req: ApiOpenClusterExRequest) -> ApiOpenClusterExResponse {
        cluster::api_open_cluster_ex(self, ctx, req)
    }
    async fn api_set_cluster_name(&self, ctx: &CallCtx, req: ApiSetClusterNameRequest) -> ApiSetClusterNameResponse {
        cluster::api_set_cluster_name(self, ctx, req)
    }
    async fn api_backup_cluster_database(
        &self,
        ctx: &CallCtx,
        req: ApiBackupClusterDatabaseRequest,
    ) -> ApiBackupClusterDatabaseResponse {
        cluster::api_backup_cluster_database(self, ctx, req)
    }
    async fn api_set_service_account_password(
        &self,
        ctx: &CallCtx,
        req: ApiSetServiceAccountPasswordRequest,
    ) -> ApiSetServiceAccountPasswordResponse {
        cluster::api_set_service_account_password(self, ctx, req)
    }
    async fn api_create_enum_ex(&self, ctx: &CallCtx, req: ApiCreateEnumExRequest) -> ApiCreateEnumExResponse {
        cluster::api_create_enum_ex(self, ctx, req)
    }

    // --- nodes ---
    async fn api_open_node(&self, ctx: &CallCtx, req: ApiOpenNodeRequest) -> ApiOpenNodeResponse {
        node::api_open_node(self, ctx, req)
    }
    async fn api_open_node_ex(&self, ctx: &CallCtx, req: ApiOpenNodeExRequest) -> ApiOpenNodeExResponse {
        node::api_open_node_ex(self, ctx, req)
    }
    async fn api_close_node(&self, ctx: &CallCtx, req: ApiCloseNodeRequest) -> ApiCloseNodeResponse {
        node::api_close_node(self, ctx, req)
    }
    async fn api_get_node_state(&self, ctx: &CallCtx, req: ApiGetNodeStateRequest) -> ApiGetNodeStateResponse {
        node::api_get_node_state(self, ctx, req)
    }
    async fn api_get_node_id(&self, ctx: &CallCtx, req: ApiGetNodeIdRequest) -> ApiGetNodeIdResponse {
        node::api_get_node_id(self, ctx, req)
    }
    async fn api_pause_node(&self, ctx: &CallCtx, req: ApiPauseNodeRequest) -> ApiPauseNodeResponse {
        node::api_pause_node(self, ctx, req).await
    }
    async fn api_resume_node(&self, ctx: &CallCtx, req: ApiResumeNodeRequest) -> ApiResumeNodeResponse {
        node::api_resume_node(self, ctx, req).await
    }
    async fn api_evict_node(&self, ctx: &CallCtx, req: ApiEvictNodeRequest) -> ApiEvictNodeResponse {
        node::api_evict_node(self, ctx, req)
    }
    async fn api_create_node_enum(&self, ctx: &CallCtx, req: ApiCreateNodeEnumRequest) -> ApiCreateNodeEnumResponse {
        node::api_create_node_enum(self, ctx, req)
    }
    async fn api_create_node_enum_ex(
        &self,
        ctx: &CallCtx,
        req: ApiCreateNodeEnumExRequest,
    ) -> ApiCreateNodeEnumExResponse {
        node::api_create_node_enum_ex(self, ctx, req)
    }
    async fn api_pause_node_ex(&self, ctx: &CallCtx, req: ApiPauseNodeExRequest) -> ApiPauseNodeExResponse {
        node::api_pause_node_ex(self, ctx, req).await
    }
    async fn api_pause_node_with_drain_target(
        &self,
        ctx: &CallCtx,
        req: ApiPauseNodeWithDrainTargetRequest,
    ) -> ApiPauseNodeWithDrainTargetResponse {
        node::api_pause_node_with_drain_target(self, ctx, req).await
    }
    async fn api_resume_node_ex(&self, ctx: &CallCtx, req: ApiResumeNodeExRequest) -> ApiResumeNodeExResponse {
        node::api_resume_node_ex(self, ctx, req).await
    }

    // --- groups, resources, resource types, networks, net interfaces, group sets, quorum ---
    // (group.rs, resource.rs, restype.rs, network.rs, netinterface.rs, groupset.rs)
    // @anchor:objects
    async fn api_get_quorum_resource(
        &self,
        ctx: &CallCtx,
        req: ApiGetQuorumResourceRequest,
    ) -> ApiGetQuorumResourceResponse {
        quorum::api_get_quorum_resource(self, ctx, req)
    }
    async fn api_set_quorum_resource(
        &self,
        ctx: &CallCtx,
        req: ApiSetQuorumResourceRequest,
    ) -> ApiSetQuorumResourceResponse {
        quorum::api_set_quorum_resource(self, ctx, req)
    }
    async fn api_open_resource(&self, ctx: &CallCtx, req: ApiOpenResourceRequest) -> ApiOpenResourceResponse {
        resource::api_open_resource(self, ctx, req)
    }
    async fn api_create_resource(&self, ctx: &CallCtx, req: ApiCreateResourceRequest) -> ApiCreateResourceResponse {
        resource::api_create_resource(self, ctx, req).await
    }
    async fn api_delete_resource(&self, ctx: &CallCtx, req: ApiDeleteResourceRequest) -> ApiDeleteResourceResponse {
        resource::api_delete_resource(self, ctx, req).await
    }
    async fn api_close_resource(&self, ctx: &CallCtx, req: ApiCloseResourceRequest) -> ApiCloseResourceResponse {
        resource::api_close_resource(self, ctx, req)
    }
    async fn api_get_resource_state(
        &self,
        ctx: &CallCtx,
        req: ApiGetResourceStateRequest,
    ) -> ApiGetResourceStateResponse {
        resource::api_get_resource_state(self, ctx, req)
    }
    async fn api_set_resource_name(&self, ctx: &CallCtx, req: ApiSetResourceNameRequest) -> ApiSetResourceNameResponse {
        resource::api_set_resource_name(self, ctx, req).await
    }
    async fn api_get_resource_id(&self, ctx: &CallCtx, req: ApiGetResourceIdRequest) -> ApiGetResourceIdResponse {
        resource::api_get_resource_id(self, ctx, req)
    }
    async fn api_get_resource_type(&self, ctx: &CallCtx, req: ApiGetResourceTypeRequest) -> ApiGetResourceTypeResponse {
        resource::api_get_resource_type(self, ctx, req)
    }
    async fn api_fail_resource(&self, ctx: &CallCtx, req: ApiFailResourceRequest) -> ApiFailResourceResponse {
        resource::api_fail_resource(self, ctx, req).await
    }
    async fn api_online_resource(&self, ctx: &CallCtx, req: ApiOnlineResourceRequest) -> ApiOnlineResourceResponse {
        resource::api_online_resource(self, ctx, req).await
    }
    async fn api_offline_resource(&self, ctx: &CallCtx, req: ApiOfflineResourceRequest) -> ApiOfflineResourceResponse {
        resource::api_offline_resource(self, ctx, req).await
    }
    async fn api_add_resource_dependency(
        &self,
        ctx: &CallCtx,
        req: ApiAddResourceDependencyRequest,
    ) -> ApiAddResourceDependencyResponse {
        resource::api_add_resource_dependency(self, ctx, req).await
    }
    async fn api_remove_resource_dependency(
        &self,
        ctx: &CallCtx,
        req: ApiRemoveResourceDependencyRequest,
    ) -> ApiRemoveResourceDependencyResponse {
        resource::api_remove_resource_dependency(self, ctx, req).await
    }
    async fn api_can_resource_be_dependent(
        &self,
        ctx: &CallCtx,
        req: ApiCanResourceBeDependentRequest,
    ) -> ApiCanResourceBeDependentResponse {
        resource::api_can_resource_be_dependent(self, ctx, req)
    }
    async fn api_create_res_enum(&self, ctx: &CallCtx, req: ApiCreateResEnumRequest) -> ApiCreateResEnumResponse {
        resource::api_create_res_enum(self, ctx, req)
    }
    async fn api_add_resource_node(&self, ctx: &CallCtx, req: ApiAddResourceNodeRequest) -> ApiAddResourceNodeResponse {
        resource::api_add_resource_node(self, ctx, req).await
    }
    async fn api_remove_resource_node(
        &self,
        ctx: &CallCtx,
        req: ApiRemoveResourceNodeRequest,
    ) -> ApiRemoveResourceNodeResponse {
        resource::api_remove_resource_node(self, ctx, req).await
    }
    async fn api_change_resource_group(
        &self,
        ctx: &CallCtx,
        req: ApiChangeResourceGroupRequest,
    ) -> ApiChangeResourceGroupResponse {
        resource::api_change_resource_group(self, ctx, req).await
    }
    async fn api_create_resource_type(
        &self,
        ctx: &CallCtx,
        req: ApiCreateResourceTypeRequest,
    ) -> ApiCreateResourceTypeResponse {
        restype::api_create_resource_type(self, ctx, req)
    }
    async fn api_delete_resource_type(
        &self,
        ctx: &CallCtx,
        req: ApiDeleteResourceTypeRequest,
    ) -> ApiDeleteResourceTypeResponse {
        restype::api_delete_resource_type(self, ctx, req)
    }
    async fn api_open_group(&self, ctx: &CallCtx, req: ApiOpenGroupRequest) -> ApiOpenGroupResponse {
        group::api_open_group(self, ctx, req)
    }
    async fn api_create_group(&self, ctx: &CallCtx, req: ApiCreateGroupRequest) -> ApiCreateGroupResponse {
        group::api_create_group(self, ctx, req).await
    }
    async fn api_delete_group(&self, ctx: &CallCtx, req: ApiDeleteGroupRequest) -> ApiDeleteGroupResponse {
        group::api_delete_group(self, ctx, req).await
    }
    async fn api_close_group(&self, ctx: &CallCtx, req: ApiCloseGroupRequest) -> ApiCloseGroupResponse {
        group::api_close_group(self, ctx, req)
    }
    async fn api_get_group_state(&self, ctx: &CallCtx, req: ApiGetGroupStateRequest) -> ApiGetGroupStateResponse {
        group::api_get_group_state(self, ctx, req)
    }
    async fn api_set_group_name(&self, ctx: &CallCtx, req: ApiSetGroupNameRequest) -> ApiSetGroupNameResponse {
        group::api_set_group_name(self, ctx, req).await
    }
    async fn api_get_group_id(&self, ctx: &CallCtx, req: ApiGetGroupIdRequest) -> ApiGetGroupIdResponse {
        group::api_get_group_id(self, ctx, req)
    }
    async fn api_online_group(&self, ctx: &CallCtx, req: ApiOnlineGroupRequest) -> ApiOnlineGroupResponse {
        group::api_online_group(self, ctx, req).await
    }
    async fn api_offline_group(&self, ctx: &CallCtx, req: ApiOfflineGroupRequest) -> ApiOfflineGroupResponse {
        group::api_offline_group(self, ctx, req).await
    }
    async fn api_move_group(&self, ctx: &CallCtx, req: ApiMoveGroupRequest) -> ApiMoveGroupResponse {
        group::api_move_group(self, ctx, req).await
    }
    async fn api_move_group_to_node(
        &self,
        ctx: &CallCtx,
        req: ApiMoveGroupToNodeRequest,
    ) -> ApiMoveGroupToNodeResponse {
        group::api_move_group_to_node(self, ctx, req).await
    }
    async fn api_create_group_resource_enum(
        &self,
        ctx: &CallCtx,
        req: ApiCreateGroupResourceEnumRequest,
    ) -> ApiCreateGroupResourceEnumResponse {
        group::api_create_group_resource_enum(self, ctx, req)
    }
    async fn api_set_group_node_list(
        &self,
        ctx: &CallCtx,
        req: ApiSetGroupNodeListRequest,
    ) -> ApiSetGroupNodeListResponse {
        group::api_set_group_node_list(self, ctx, req).await
    }
    async fn api_open_network(&self, ctx: &CallCtx, req: ApiOpenNetworkRequest) -> ApiOpenNetworkResponse {
        network::api_open_network(self, ctx, req)
    }
    async fn api_close_network(&self, ctx: &CallCtx, req: ApiCloseNetworkRequest) -> ApiCloseNetworkResponse {
        network::api_close_network(self, ctx, req)
    }
    async fn api_get_network_state(&self, ctx: &CallCtx, req: ApiGetNetworkStateRequest) -> ApiGetNetworkStateResponse {
        network::api_get_network_state(self, ctx, req)
    }
    async fn api_set_network_name(&self, ctx: &CallCtx, req: ApiSetNetworkNameRequest) -> ApiSetNetworkNameResponse {
        network::api_set_network_name(self, ctx, req).await
    }
    async fn api_create_network_enum(
        &self,
        ctx: &CallCtx,
        req: ApiCreateNetworkEnumRequest,
    ) -> ApiCreateNetworkEnumResponse {
        network::api_create_network_enum(self, ctx, req)
    }
    async fn api_get_network_id(&self, ctx: &CallCtx, req: ApiGetNetworkIdRequest) -> ApiGetNetworkIdResponse {
        network::api_get_network_id(self, ctx, req)
    }
    async fn api_set_network_priority_order(
        &self,
        ctx: &CallCtx,
        req: ApiSetNetworkPriorityOrderRequest,
    ) -> ApiSetNetworkPriorityOrderResponse {
        network::api_set_network_priority_order(self, ctx, req)
    }
    async fn api_open_net_interface(
        &self,
        ctx: &CallCtx,
        req: ApiOpenNetInterfaceRequest,
    ) -> ApiOpenNetInterfaceResponse {
        netinterface::api_open_net_interface(self, ctx, req)
    }
    async fn api_close_net_interface(
        &self,
        ctx: &CallCtx,
        req: ApiCloseNetInterfaceRequest,
    ) -> ApiCloseNetInterfaceResponse {
        netinterface::api_close_net_interface(self, ctx, req)
    }
    async fn api_get_net_interface_state(
        &self,
        ctx: &CallCtx,
        req: ApiGetNetInterfaceStateRequest,
    ) -> ApiGetNetInterfaceStateResponse {
        netinterface::api_get_net_interface_state(self, ctx, req)
    }
    async fn api_get_net_interface(&self, ctx: &CallCtx, req: ApiGetNetInterfaceRequest) -> ApiGetNetInterfaceResponse {
        netinterface::api_get_net_interface(self, ctx, req)
    }
    async fn api_get_net_interface_id(
        &self,
        ctx: &CallCtx,
        req: ApiGetNetInterfaceIdRequest,
    ) -> ApiGetNetInterfaceIdResponse {
        netinterface::api_get_net_interface_id(self, ctx, req)
    }
    async fn api_create_res_type_enum(
        &self,
        ctx: &CallCtx,
        req: ApiCreateResTypeEnumRequest,
    ) -> ApiCreateResTypeEnumResponse {
        restype::api_create_res_type_enum(self, ctx, req)
    }
    async fn api_set_resource_dependency_expression(
        &self,
        ctx: &CallCtx,
        req: ApiSetResourceDependencyExpressionRequest,
    ) -> ApiSetResourceDependencyExpressionResponse {
        resource::api_set_resource_dependency_expression(self, ctx, req).await
    }
    async fn api_get_resource_dependency_expression(
        &self,
        ctx: &CallCtx,
        req: ApiGetResourceDependencyExpressionRequest,
    ) -> ApiGetResourceDependencyExpressionResponse {
        resource::api_get_resource_dependency_expression(self, ctx, req)
    }
    async fn api_get_resource_network_name(
        &self,
        ctx: &CallCtx,
        req: ApiGetResourceNetworkNameRequest,
    ) -> ApiGetResourceNetworkNameResponse {
        resource::api_get_resource_network_name(self, ctx, req)
    }
    async fn api_open_group_ex(&self, ctx: &CallCtx, req: ApiOpenGroupExRequest) -> ApiOpenGroupExResponse {
        group::api_open_group_ex(self, ctx, req)
    }
    async fn api_open_resource_ex(&self, ctx: &CallCtx, req: ApiOpenResourceExRequest) -> ApiOpenResourceExResponse {
        resource::api_open_resource_ex(self, ctx, req)
    }
    async fn api_open_network_ex(&self, ctx: &CallCtx, req: ApiOpenNetworkExRequest) -> ApiOpenNetworkExResponse {
        network::api_open_network_ex(self, ctx, req)
    }
    async fn api_open_net_interface_ex(
        &self,
        ctx: &CallCtx,
        req: ApiOpenNetInterfaceExRequest,
    ) -> ApiOpenNetInterfaceExResponse {
        netinterface::api_open_net_interface_ex(self, ctx, req)
    }
    async fn api_change_csv_state(&self, ctx: &CallCtx, req: ApiChangeCsvStateRequest) -> ApiChangeCsvStateResponse {
        resource::api_change_csv_state(self, ctx, req)
    }
    async fn api_create_group_ex(&self, ctx: &CallCtx, req: ApiCreateGroupExRequest) -> ApiCreateGroupExResponse {
        group::api_create_group_ex(self, ctx, req).await
    }
    async fn api_online_group_ex(&self, ctx: &CallCtx, req: ApiOnlineGroupExRequest) -> ApiOnlineGroupExResponse {
        group::api_online_group_ex(self, ctx, req).await
    }
    async fn api_offline_group_ex(&self, ctx: &CallCtx, req: ApiOfflineGroupExRequest) -> ApiOfflineGroupExResponse {
        group::api_offline_group_ex(self, ctx, req).await
    }
    async fn api_move_group_ex(&self, ctx: &CallCtx, req: ApiMoveGroupExRequest) -> ApiMoveGroupExResponse {
        group::api_move_group_ex(self, ctx, req).await
    }
    async fn api_move_group_to_node_ex(
        &self,
        ctx: &CallCtx,
        req: ApiMoveGroupToNodeExRequest,
    ) -> ApiMoveGroupToNodeExResponse {
        group::api_move_group_to_node_ex(self, ctx, req).await
    }
    async fn api_cancel_cluster_group_operation(
        &self,
        ctx: &CallCtx,
        req: ApiCancelClusterGroupOperationRequest,
    ) -> ApiCancelClusterGroupOperationResponse {
        group::api_cancel_cluster_group_operation(self, ctx, req)
    }
    async fn api_online_resource_ex(
        &self,
        ctx: &CallCtx,
        req: ApiOnlineResourceExRequest,
    ) -> ApiOnlineResourceExResponse {
        resource::api_online_resource_ex(self, ctx, req).await
    }
    async fn api_offline_resource_ex(
        &self,
        ctx: &CallCtx,
        req: ApiOfflineResourceExRequest,
    ) -> ApiOfflineResourceExResponse {
        resource::api_offline_resource_ex(self, ctx, req).await
    }
    async fn api_create_group_enum(&self, ctx: &CallCtx, req: ApiCreateGroupEnumRequest) -> ApiCreateGroupEnumResponse {
        group::api_create_group_enum(self, ctx, req)
    }
    async fn api_create_resource_enum(
        &self,
        ctx: &CallCtx,
        req: ApiCreateResourceEnumRequest,
    ) -> ApiCreateResourceEnumResponse {
        resource::api_create_resource_enum(self, ctx, req)
    }
    async fn api_restart_resource(&self, ctx: &CallCtx, req: ApiRestartResourceRequest) -> ApiRestartResourceResponse {
        resource::api_restart_resource(self, ctx, req).await
    }
    async fn api_create_group_set(&self, ctx: &CallCtx, req: ApiCreateGroupSetRequest) -> ApiCreateGroupSetResponse {
        groupset::api_create_group_set(self, ctx, req)
    }
    async fn api_open_group_set(&self, ctx: &CallCtx, req: ApiOpenGroupSetRequest) -> ApiOpenGroupSetResponse {
        groupset::api_open_group_set(self, ctx, req)
    }
    async fn api_close_group_set(&self, ctx: &CallCtx, req: ApiCloseGroupSetRequest) -> ApiCloseGroupSetResponse {
        groupset::api_close_group_set(self, ctx, req)
    }
    async fn api_delete_group_set(&self, ctx: &CallCtx, req: ApiDeleteGroupSetRequest) -> ApiDeleteGroupSetResponse {
        groupset::api_delete_group_set(self, ctx, req)
    }
    async fn api_add_group_to_group_set(
        &self,
        ctx: &CallCtx,
        req: ApiAddGroupToGroupSetRequest,
    ) -> ApiAddGroupToGroupSetResponse {
        groupset::api_add_group_to_group_set(self, ctx, req)
    }
    async fn api_remove_group_from_group_set(
        &self,
        ctx: &CallCtx,
        req: ApiRemoveGroupFromGroupSetRequest,
    ) -> ApiRemoveGroupFromGroupSetResponse {
        groupset::api_remove_group_from_group_set(self, ctx, req)
    }
    async fn api_move_group_to_group_set(
        &self,
        ctx: &CallCtx,
        req: ApiMoveGroupToGroupSetRequest,
    ) -> ApiMoveGroupToGroupSetResponse {
        groupset::api_move_group_to_group_set(self, ctx, req)
    }
    async fn api_add_group_set_dependency(
        &self,
        ctx: &CallCtx,
        req: ApiAddGroupSetDependencyRequest,
    ) -> ApiAddGroupSetDependencyResponse {
        groupset::api_add_group_set_dependency(self, ctx, req)
    }
    async fn api_add_group_to_group_set_dependency(
        &self,
        ctx: &CallCtx,
        req: ApiAddGroupToGroupSetDependencyRequest,
    ) -> ApiAddGroupToGroupSetDependencyResponse {
        groupset::api_add_group_to_group_set_dependency(self, ctx, req)
    }
    async fn api_set_group_dependency_expression(
        &self,
        ctx: &CallCtx,
        req: ApiSetGroupDependencyExpressionRequest,
    ) -> ApiSetGroupDependencyExpressionResponse {
        group::api_set_group_dependency_expression(self, ctx, req)
    }
    async fn api_remove_cluster_group_dependency(
        &self,
        ctx: &CallCtx,
        req: ApiRemoveClusterGroupDependencyRequest,
    ) -> ApiRemoveClusterGroupDependencyResponse {
        group::api_remove_cluster_group_dependency(self, ctx, req)
    }
    async fn api_set_group_set_dependency_expression(
        &self,
        ctx: &CallCtx,
        req: ApiSetGroupSetDependencyExpressionRequest,
    ) -> ApiSetGroupSetDependencyExpressionResponse {
        groupset::api_set_group_set_dependency_expression(self, ctx, req)
    }
    async fn api_remove_group_set_dependency(
        &self,
        ctx: &CallCtx,
        req: ApiRemoveGroupSetDependencyRequest,
    ) -> ApiRemoveGroupSetDependencyResponse {
        groupset::api_remove_group_set_dependency(self, ctx, req)
    }
    async fn api_remove_cluster_group_to_group_set_dependency(
        &self,
        ctx: &CallCtx,
        req: ApiRemoveClusterGroupToGroupSetDependencyRequest,
    ) -> ApiRemoveClusterGroupToGroupSetDependencyResponse {
        groupset::api_remove_cluster_group_to_group_set_dependency(self, ctx, req)
    }
    async fn api_create_group_set_enum(
        &self,
        ctx: &CallCtx,
        req: ApiCreateGroupSetEnumRequest,
    ) -> ApiCreateGroupSetEnumResponse {
        groupset::api_create_group_set_enum(self, ctx, req)
    }
    async fn api_create_net_interface_enum(
        &self,
        ctx: &CallCtx,
        req: ApiCreateNetInterfaceEnumRequest,
    ) -> ApiCreateNetInterfaceEnumResponse {
        netinterface::api_create_net_interface_enum(self, ctx, req)
    }
    async fn api_change_csv_state_ex(
        &self,
        ctx: &CallCtx,
        req: ApiChangeCsvStateExRequest,
    ) -> ApiChangeCsvStateExResponse {
        resource::api_change_csv_state_ex(self, ctx, req)
    }
    async fn api_add_group_to_group_set_ex(
        &self,
        ctx: &CallCtx,
        req: ApiAddGroupToGroupSetExRequest,
    ) -> ApiAddGroupToGroupSetExResponse {
        groupset::api_add_group_to_group_set_ex(self, ctx, req)
    }
    async fn api_change_resource_group_ex(
        &self,
        ctx: &CallCtx,
        req: ApiChangeResourceGroupExRequest,
    ) -> ApiChangeResourceGroupExResponse {
        resource::api_change_resource_group_ex(self, ctx, req).await
    }

    // --- control codes (control.rs) ---
    // @anchor:controls
    async fn api_node_resource_control(
        &self,
        ctx: &CallCtx,
        req: ApiNodeResourceControlRequest,
    ) -> ApiNodeResourceControlResponse {
        control::api_node_resource_control(self, ctx, req).await
    }
    async fn api_resource_control(&self, ctx: &CallCtx, req: ApiResourceControlRequest) -> ApiResourceControlResponse {
        control::api_resource_control(self, ctx, req).await
    }
    async fn api_node_resource_type_control(
        &self,
        ctx: &CallCtx,
        req: ApiNodeResourceTypeControlRequest,
    ) -> ApiNodeResourceTypeControlResponse {
        control::api_node_resource_type_control(self, ctx, req).await
    }
    async fn api_resource_type_control(
        &self,
        ctx: &CallCtx,
        req: ApiResourceTypeControlRequest,
    ) -> ApiResourceTypeControlResponse {
        control::api_resource_type_control(self, ctx, req).await
    }
    async fn api_node_group_control(
        &self,
        ctx: &CallCtx,
        req: ApiNodeGroupControlRequest,
    ) -> ApiNodeGroupControlResponse {
        control::api_node_group_control(self, ctx, req).await
    }
    async fn api_group_control(&self, ctx: &CallCtx, req: ApiGroupControlRequest) -> ApiGroupControlResponse {
        control::api_group_control(self, ctx, req).await
    }
    async fn api_node_node_control(&self, ctx: &CallCtx, req: ApiNodeNodeControlRequest) -> ApiNodeNodeControlResponse {
        control::api_node_node_control(self, ctx, req).await
    }
    async fn api_node_control(&self, ctx: &CallCtx, req: ApiNodeControlRequest) -> ApiNodeControlResponse {
        control::api_node_control(self, ctx, req).await
    }
    async fn api_node_network_control(
        &self,
        ctx: &CallCtx,
        req: ApiNodeNetworkControlRequest,
    ) -> ApiNodeNetworkControlResponse {
        control::api_node_network_control(self, ctx, req).await
    }
    async fn api_network_control(&self, ctx: &CallCtx, req: ApiNetworkControlRequest) -> ApiNetworkControlResponse {
        control::api_network_control(self, ctx, req).await
    }
    async fn api_node_net_interface_control(
        &self,
        ctx: &CallCtx,
        req: ApiNodeNetInterfaceControlRequest,
    ) -> ApiNodeNetInterfaceControlResponse {
        control::api_node_net_interface_control(self, ctx, req).await
    }
    async fn api_net_interface_control(
        &self,
        ctx: &CallCtx,
        req: ApiNetInterfaceControlRequest,
    ) -> ApiNetInterfaceControlResponse {
        control::api_net_interface_control(self, ctx, req).await
    }
    async fn api_node_cluster_control(
        &self,
        ctx: &CallCtx,
        req: ApiNodeClusterControlRequest,
    ) -> ApiNodeClusterControlResponse {
        control::api_node_cluster_control(self, ctx, req).await
    }
    async fn api_cluster_control(&self, ctx: &CallCtx, req: ApiClusterControlRequest) -> ApiClusterControlResponse {
        control::api_cluster_control(self, ctx, req).await
    }
    async fn api_node_group_set_control(
        &self,
        ctx: &CallCtx,
        req: ApiNodeGroupSetControlRequest,
    ) -> ApiNodeGroupSetControlResponse {
        control::api_node_group_set_control(self, ctx, req)
    }
    async fn api_group_set_control(&self, ctx: &CallCtx, req: ApiGroupSetControlRequest) -> ApiGroupSetControlResponse {
        control::api_group_set_control(self, ctx, req)
    }

    // --- cluster registry and batches (registry.rs, batch.rs) ---
    // @anchor:registry
    async fn api_get_root_key(&self, ctx: &CallCtx, req: ApiGetRootKeyRequest) -> ApiGetRootKeyResponse {
        registry::api_get_root_key(self, ctx, req)
    }
    async fn api_create_key(&self, ctx: &CallCtx, req: ApiCreateKeyRequest) -> ApiCreateKeyResponse {
        registry::api_create_key(self, ctx, req).await
    }
    async fn api_open_key(&self, ctx: &CallCtx, req: ApiOpenKeyRequest) -> ApiOpenKeyResponse {
        registry::api_open_key(self, ctx, req).await
    }
    async fn api_enum_key(&self, ctx: &CallCtx, req: ApiEnumKeyRequest) -> ApiEnumKeyResponse {
        registry::api_enum_key(self, ctx, req).await
    }
    async fn api_set_value(&self, ctx: &CallCtx, req: ApiSetValueRequest) -> ApiSetValueResponse {
        registry::api_set_value(self, ctx, req).await
    }
    async fn api_delete_value(&self, ctx: &CallCtx, req: ApiDeleteValueRequest) -> ApiDeleteValueResponse {
        registry::api_delete_value(self, ctx, req).await
    }
    async fn api_query_value(&self, ctx: &CallCtx, req: ApiQueryValueRequest) -> ApiQueryValueResponse {
        registry::api_query_value(self, ctx, req).await
    }
    async fn api_delete_key(&self, ctx: &CallCtx, req: ApiDeleteKeyRequest) -> ApiDeleteKeyResponse {
        registry::api_delete_key(self, ctx, req).await
    }
    async fn api_enum_value(&self, ctx: &CallCtx, req: ApiEnumValueRequest) -> ApiEnumValueResponse {
        registry::api_enum_value(self, ctx, req).await
    }
    async fn api_close_key(&self, ctx: &CallCtx, req: ApiCloseKeyRequest) -> ApiCloseKeyResponse {
        registry::api_close_key(self, ctx, req)
    }
    async fn api_query_info_key(&self, ctx: &CallCtx, req: ApiQueryInfoKeyRequest) -> ApiQueryInfoKeyResponse {
        registry::api_query_info_key(self, ctx, req).await
    }
    async fn api_set_key_security(&self, ctx: &CallCtx, req: ApiSetKeySecurityRequest) -> ApiSetKeySecurityResponse {
        registry::api_set_key_security(self, ctx, req).await
    }
    async fn api_get_key_security(&self, ctx: &CallCtx, req: ApiGetKeySecurityRequest) -> ApiGetKeySecurityResponse {
        registry::api_get_key_security(self, ctx, req).await
    }
    async fn api_execute_batch(&self, ctx: &CallCtx, req: ApiExecuteBatchRequest) -> ApiExecuteBatchResponse {
        batch::api_execute_batch(self, ctx, req).await
    }
    async fn api_create_batch_port(&self, ctx: &CallCtx, req: ApiCreateBatchPortRequest) -> ApiCreateBatchPortResponse {
        batch::api_create_batch_port(self, ctx, req).await
    }
    async fn api_get_batch_notification(
        &self,
        ctx: &CallCtx,
        req: ApiGetBatchNotificationRequest,
    ) -> ApiGetBatchNotificationResponse {
        batch::api_get_batch_notification(self, ctx, req).await
    }
    async fn api_close_batch_port(&self, ctx: &CallCtx, req: ApiCloseBatchPortRequest) -> ApiCloseBatchPortResponse {
        batch::api_close_batch_port(self, ctx, req)
    }
    async fn api_execute_read_batch(
        &self,
        ctx: &CallCtx,
        req: ApiExecuteReadBatchRequest,
    ) -> ApiExecuteReadBatchResponse {
        batch::api_execute_read_batch(self, ctx, req).await
    }
    async fn api_execute_read_batch_ex(
        &self,
        ctx: &CallCtx,
        req: ApiExecuteReadBatchExRequest,
    ) -> ApiExecuteReadBatchExResponse {
        batch::api_execute_read_batch_ex(self, ctx, req).await
    }

    // @anchor:notify
    // --- notification ports (notify.rs) ---
    async fn api_create_notify(&self, ctx: &CallCtx, req: ApiCreateNotifyRequest) -> ApiCreateNotifyResponse {
        notify::api_create_notify(self, ctx, req)
    }
    async fn api_close_notify(&self, ctx: &CallCtx, req: ApiCloseNotifyRequest) -> ApiCloseNotifyResponse {
        notify::api_close_notify(self, ctx, req)
    }
    async fn api_add_notify_cluster(
        &self,
        ctx: &CallCtx,
        req: ApiAddNotifyClusterRequest,
    ) -> ApiAddNotifyClusterResponse {
        notify::api_add_notify_cluster(self, ctx, req)
    }
    async fn api_add_notify_node(&self, ctx: &CallCtx, req: ApiAddNotifyNodeRequest) -> ApiAddNotifyNodeResponse {
        notify::api_add_notify_node(self, ctx, req)
    }
    async fn api_add_notify_group(&self, ctx: &CallCtx, req: ApiAddNotifyGroupRequest) -> ApiAddNotifyGroupResponse {
        notify::api_add_notify_group(self, ctx, req)
    }
    async fn api_add_notify_resource(
        &self,
        ctx: &CallCtx,
        req: ApiAddNotifyResourceRequest,
    ) -> ApiAddNotifyResourceResponse {
        notify::api_add_notify_resource(self, ctx, req)
    }
    async fn api_add_notify_key(&self, ctx: &CallCtx, req: ApiAddNotifyKeyRequest) -> ApiAddNotifyKeyResponse {
        notify::api_add_notify_key(self, ctx, req)
    }
    async fn api_re_add_notify_node(
        &self,
        ctx: &CallCtx,
        req: ApiReAddNotifyNodeRequest,
    ) -> ApiReAddNotifyNodeResponse {
        notify::api_re_add_notify_node(self, ctx, req)
    }
    async fn api_re_add_notify_group(
        &self,
        ctx: &CallCtx,
        req: ApiReAddNotifyGroupRequest,
    ) -> ApiReAddNotifyGroupResponse {
        notify::api_re_add_notify_group(self, ctx, req)
    }
    async fn api_re_add_notify_resource(
        &self,
        ctx: &CallCtx,
        req: ApiReAddNotifyResourceRequest,
    ) -> ApiReAddNotifyResourceResponse {
        notify::api_re_add_notify_resource(self, ctx, req)
    }
    async fn api_get_notify(&self, ctx: &CallCtx, req: ApiGetNotifyRequest) -> ApiGetNotifyResponse {
        notify::api_get_notify(self, ctx, req).await
    }
    async fn api_add_notify_network(
        &self,
        ctx: &CallCtx,
        req: ApiAddNotifyNetworkRequest,
    ) -> ApiAddNotifyNetworkResponse {
        notify::api_add_notify_network(self, ctx, req)
    }
    async fn api_re_add_notify_network(
        &self,
        ctx: &CallCtx,
        req: ApiReAddNotifyNetworkRequest,
    ) -> ApiReAddNotifyNetworkResponse {
        notify::api_re_add_notify_network(self, ctx, req)
    }
    async fn api_add_notify_net_interface(
        &self,
        ctx: &CallCtx,
        req: ApiAddNotifyNetInterfaceRequest,
    ) -> ApiAddNotifyNetInterfaceResponse {
        notify::api_add_notify_net_interface(self, ctx, req)
    }
    async fn api_re_add_notify_net_interface(
        &self,
        ctx: &CallCtx,
        req: ApiReAddNotifyNetInterfaceRequest,
    ) -> ApiReAddNotifyNetInterfaceResponse {
        notify::api_re_add_notify_net_interface(self, ctx, req)
    }
    async fn api_unblock_get_notify_call(
        &self,
        ctx: &CallCtx,
        req: ApiUnblockGetNotifyCallRequest,
    ) -> ApiUnblockGetNotifyCallResponse {
        notify::api_unblock_get_notify_call(self, ctx, req)
    }
    async fn api_create_notify_v2(&self, ctx: &CallCtx, req: ApiCreateNotifyV2Request) -> ApiCreateNotifyV2Response {
        notify::api_create_notify_v2(self, ctx, req)
    }
    async fn api_add_notify_v2(&self, ctx: &CallCtx, req: ApiAddNotifyV2Request) -> ApiAddNotifyV2Response {
        notify::api_add_notify_v2(self, ctx, req)
    }
    async fn api_get_notify_v2(&self, ctx: &CallCtx, req: ApiGetNotifyV2Request) -> ApiGetNotifyV2Response {
        notify::api_get_notify_v2(self, ctx, req).await
    }
    async fn api_get_notify_async(&self, ctx: &CallCtx, req: ApiGetNotifyAsyncRequest) -> ApiGetNotifyAsyncResponse {
        notify::api_get_notify_async(self, ctx, req).await
    }
    async fn api_add_notify_resource_type_v2(
        &self,
        ctx: &CallCtx,
        req: ApiAddNotifyResourceTypeV2Request,
    ) -> ApiAddNotifyResourceTypeV2Response {
        notify::api_add_notify_resource_type_v2(self, ctx, req)
    }
}
