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
#[cfg(test)]
pub(crate) mod fixture;
pub mod group;
pub mod groupset;
pub mod netinterface;
pub mod network;
pub mod node;
pub mod notify;
pub mod objclass;
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
    /// A value out of its property's range.
    pub const ERROR_INVALID_DATA: u32 = 13;
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
    pub const ERROR_RESOURCE_PROPERTIES_STORED: u32 = 5024;
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
    /// The drain target of ApiPauseNodeWithDrainTarget is the node being paused.
    pub const ERROR_INVALID_TARGET_HANDLE: u32 = 114;
    /// The drain target is not Up.
    pub const ERROR_HOST_NODE_NOT_AVAILABLE: u32 = 5005;
    /// No node other than the one to drain is Up.
    pub const ERROR_CLUSTER_NODE_DOWN: u32 = 5050;
    /// The node is already draining.
    pub const ERROR_CLUSTER_NODE_EVACUATION_IN_PROGRESS: u32 = 5962;
    /// A renamed network's handle outlived the network.
    pub const ERROR_NETWORK_NOT_AVAILABLE: u32 = 5035;
    // the cluster registry
    /// The GetKeySecurity size probe.
    pub const ERROR_INSUFFICIENT_BUFFER: u32 = 122;
    /// The stored registry blob does not verify (checksum, format).
    pub const ERROR_REGISTRY_CORRUPT: u32 = 1015;
    /// The key behind a handle no longer exists.
    pub const ERROR_KEY_DELETED: u32 = 1018;
    /// Serialising the stored layer failed.
    pub const ERROR_INTERNAL_ERROR: u32 = 1359;
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

/// The context handles of the object classes: each records the access its open granted
/// ([`ObjectHandle`]) and what designates its object.
macro_rules! object_handles {
    ($($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty),* };)*) => { $(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            $(pub $field: $ty,)*
            pub access: Granted,
        }
        impl ObjectHandle for $name {
            fn access(&self) -> Granted {
                self.access
            }
        }
    )* };
}

object_handles! {
    /// A cluster handle (HCLUSTER_RPC).
    ClusterHandle {};
    /// A node handle (HNODE_RPC).
    NodeHandle { pnn: u32 };
    /// A group handle (HGROUP_RPC): the group's id (stable across renames and moves).
    GroupHandle { id: String };
    /// A resource handle (HRES_RPC).
    ResourceHandle { id: String };
    /// A network handle (HNETWORK_RPC).
    NetworkHandle { id: String };
    /// A network interface handle (HNETINTERFACE_RPC).
    NetInterfaceHandle { id: String };
    /// A group set handle (HGROUPSET_RPC).
    GroupSetHandle { name: String };
}

impl ObjectHandle for registry::KeyHandle {
    fn access(&self) -> Granted {
        self.access
    }
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

/// The route of every implemented opnum: `ApiX => module::api_x;` (`.await` for the async ones)
/// becomes the [`ClusapiServer`] method that calls that plain function. Opnums not listed keep
/// the generated default, ERROR_CALL_NOT_IMPLEMENTED.
macro_rules! routes {
    ($($op:ident => $($f:ident)::+ $(. $aw:ident)?;)*) => { idl::__paste! {
        impl ClusapiServer for ClusapiService {
            type Ctx = CallCtx;
            $(
                async fn [<$op:snake>](&self, ctx: &CallCtx, req: [<$op Request>]) -> [<$op Response>] {
                    $($f)::+(self, ctx, req)$(.$aw)?
                }
            )*
        }
    } };
}

routes! {
    // the cluster (cluster.rs)
    ApiOpenCluster => cluster::api_open_cluster;
    ApiCloseCluster => cluster::api_close_cluster;
    ApiGetClusterName => cluster::api_get_cluster_name;
    ApiGetClusterVersion => cluster::api_get_cluster_version;
    ApiCreateEnum => cluster::api_create_enum;
    ApiGetClusterVersion2 => cluster::api_get_cluster_version2;
    ApiOpenClusterEx => cluster::api_open_cluster_ex;
    ApiSetClusterName => cluster::api_set_cluster_name;
    ApiBackupClusterDatabase => cluster::api_backup_cluster_database;
    ApiSetServiceAccountPassword => cluster::api_set_service_account_password;
    ApiCreateEnumEx => cluster::api_create_enum_ex;
    // nodes (node.rs)
    ApiOpenNode => node::api_open_node;
    ApiOpenNodeEx => node::api_open_node_ex;
    ApiCloseNode => node::api_close_node;
    ApiGetNodeState => node::api_get_node_state;
    ApiGetNodeId => node::api_get_node_id;
    ApiPauseNode => node::api_pause_node.await;
    ApiResumeNode => node::api_resume_node.await;
    ApiEvictNode => node::api_evict_node;
    ApiCreateNodeEnum => node::api_create_node_enum;
    ApiCreateNodeEnumEx => node::api_create_node_enum_ex;
    ApiPauseNodeEx => node::api_pause_node_ex.await;
    ApiPauseNodeWithDrainTarget => node::api_pause_node_with_drain_target.await;
    ApiResumeNodeEx => node::api_resume_node_ex.await;
    // groups (group.rs)
    ApiOpenGroup => group::api_open_group;
    ApiCreateGroup => group::api_create_group.await;
    ApiDeleteGroup => group::api_delete_group.await;
    ApiCloseGroup => group::api_close_group;
    ApiGetGroupState => group::api_get_group_state;
    ApiSetGroupName => group::api_set_group_name.await;
    ApiGetGroupId => group::api_get_group_id;
    ApiOnlineGroup => group::api_online_group.await;
    ApiOfflineGroup => group::api_offline_group.await;
    ApiMoveGroup => group::api_move_group.await;
    ApiMoveGroupToNode => group::api_move_group_to_node.await;
    ApiCreateGroupResourceEnum => group::api_create_group_resource_enum;
    ApiSetGroupNodeList => group::api_set_group_node_list.await;
    ApiOpenGroupEx => group::api_open_group_ex;
    ApiCreateGroupEx => group::api_create_group_ex.await;
    ApiOnlineGroupEx => group::api_online_group_ex.await;
    ApiOfflineGroupEx => group::api_offline_group_ex.await;
    ApiMoveGroupEx => group::api_move_group_ex.await;
    ApiMoveGroupToNodeEx => group::api_move_group_to_node_ex.await;
    ApiCancelClusterGroupOperation => group::api_cancel_cluster_group_operation;
    ApiCreateGroupEnum => group::api_create_group_enum;
    ApiSetGroupDependencyExpression => group::api_set_group_dependency_expression;
    ApiRemoveClusterGroupDependency => group::api_remove_cluster_group_dependency;
    // resources (resource.rs)
    ApiOpenResource => resource::api_open_resource;
    ApiCreateResource => resource::api_create_resource.await;
    ApiDeleteResource => resource::api_delete_resource.await;
    ApiCloseResource => resource::api_close_resource;
    ApiGetResourceState => resource::api_get_resource_state;
    ApiSetResourceName => resource::api_set_resource_name.await;
    ApiGetResourceId => resource::api_get_resource_id;
    ApiGetResourceType => resource::api_get_resource_type;
    ApiFailResource => resource::api_fail_resource.await;
    ApiOnlineResource => resource::api_online_resource.await;
    ApiOfflineResource => resource::api_offline_resource.await;
    ApiAddResourceDependency => resource::api_add_resource_dependency.await;
    ApiRemoveResourceDependency => resource::api_remove_resource_dependency.await;
    ApiCanResourceBeDependent => resource::api_can_resource_be_dependent;
    ApiCreateResEnum => resource::api_create_res_enum;
    ApiAddResourceNode => resource::api_add_resource_node.await;
    ApiRemoveResourceNode => resource::api_remove_resource_node.await;
    ApiChangeResourceGroup => resource::api_change_resource_group.await;
    ApiSetResourceDependencyExpression => resource::api_set_resource_dependency_expression.await;
    ApiGetResourceDependencyExpression => resource::api_get_resource_dependency_expression;
    ApiGetResourceNetworkName => resource::api_get_resource_network_name;
    ApiOpenResourceEx => resource::api_open_resource_ex;
    ApiChangeCsvState => resource::api_change_csv_state;
    ApiOnlineResourceEx => resource::api_online_resource_ex.await;
    ApiOfflineResourceEx => resource::api_offline_resource_ex.await;
    ApiCreateResourceEnum => resource::api_create_resource_enum;
    ApiRestartResource => resource::api_restart_resource.await;
    ApiChangeCsvStateEx => resource::api_change_csv_state_ex;
    ApiChangeResourceGroupEx => resource::api_change_resource_group_ex.await;
    // resource types (restype.rs)
    ApiCreateResourceType => restype::api_create_resource_type;
    ApiDeleteResourceType => restype::api_delete_resource_type;
    ApiCreateResTypeEnum => restype::api_create_res_type_enum;
    // quorum (quorum.rs)
    ApiGetQuorumResource => quorum::api_get_quorum_resource;
    ApiSetQuorumResource => quorum::api_set_quorum_resource;
    // networks (network.rs)
    ApiOpenNetwork => network::api_open_network;
    ApiCloseNetwork => network::api_close_network;
    ApiGetNetworkState => network::api_get_network_state;
    ApiSetNetworkName => network::api_set_network_name.await;
    ApiCreateNetworkEnum => network::api_create_network_enum;
    ApiGetNetworkId => network::api_get_network_id;
    ApiSetNetworkPriorityOrder => network::api_set_network_priority_order;
    ApiOpenNetworkEx => network::api_open_network_ex;
    // network interfaces (netinterface.rs)
    ApiOpenNetInterface => netinterface::api_open_net_interface;
    ApiCloseNetInterface => netinterface::api_close_net_interface;
    ApiGetNetInterfaceState => netinterface::api_get_net_interface_state;
    ApiGetNetInterface => netinterface::api_get_net_interface;
    ApiGetNetInterfaceId => netinterface::api_get_net_interface_id;
    ApiOpenNetInterfaceEx => netinterface::api_open_net_interface_ex;
    ApiCreateNetInterfaceEnum => netinterface::api_create_net_interface_enum;
    // group sets (groupset.rs)
    ApiCreateGroupSet => groupset::api_create_group_set;
    ApiOpenGroupSet => groupset::api_open_group_set;
    ApiCloseGroupSet => groupset::api_close_group_set;
    ApiDeleteGroupSet => groupset::api_delete_group_set;
    ApiAddGroupToGroupSet => groupset::api_add_group_to_group_set;
    ApiRemoveGroupFromGroupSet => groupset::api_remove_group_from_group_set;
    ApiMoveGroupToGroupSet => groupset::api_move_group_to_group_set;
    ApiAddGroupSetDependency => groupset::api_add_group_set_dependency;
    ApiAddGroupToGroupSetDependency => groupset::api_add_group_to_group_set_dependency;
    ApiSetGroupSetDependencyExpression => groupset::api_set_group_set_dependency_expression;
    ApiRemoveGroupSetDependency => groupset::api_remove_group_set_dependency;
    ApiRemoveClusterGroupToGroupSetDependency => groupset::api_remove_cluster_group_to_group_set_dependency;
    ApiCreateGroupSetEnum => groupset::api_create_group_set_enum;
    ApiAddGroupToGroupSetEx => groupset::api_add_group_to_group_set_ex;
    // control codes (control.rs)
    ApiNodeResourceControl => control::api_node_resource_control.await;
    ApiResourceControl => control::api_resource_control.await;
    ApiNodeResourceTypeControl => control::api_node_resource_type_control.await;
    ApiResourceTypeControl => control::api_resource_type_control.await;
    ApiNodeGroupControl => control::api_node_group_control.await;
    ApiGroupControl => control::api_group_control.await;
    ApiNodeNodeControl => control::api_node_node_control.await;
    ApiNodeControl => control::api_node_control.await;
    ApiNodeNetworkControl => control::api_node_network_control.await;
    ApiNetworkControl => control::api_network_control.await;
    ApiNodeNetInterfaceControl => control::api_node_net_interface_control.await;
    ApiNetInterfaceControl => control::api_net_interface_control.await;
    ApiNodeClusterControl => control::api_node_cluster_control.await;
    ApiClusterControl => control::api_cluster_control.await;
    ApiNodeGroupSetControl => control::api_node_group_set_control;
    ApiGroupSetControl => control::api_group_set_control;
    // the cluster registry (registry.rs)
    ApiGetRootKey => registry::api_get_root_key;
    ApiCreateKey => registry::api_create_key.await;
    ApiOpenKey => registry::api_open_key.await;
    ApiEnumKey => registry::api_enum_key.await;
    ApiSetValue => registry::api_set_value.await;
    ApiDeleteValue => registry::api_delete_value.await;
    ApiQueryValue => registry::api_query_value.await;
    ApiDeleteKey => registry::api_delete_key.await;
    ApiEnumValue => registry::api_enum_value.await;
    ApiCloseKey => registry::api_close_key;
    ApiQueryInfoKey => registry::api_query_info_key.await;
    ApiSetKeySecurity => registry::api_set_key_security.await;
    ApiGetKeySecurity => registry::api_get_key_security.await;
    // registry batches (batch.rs)
    ApiExecuteBatch => batch::api_execute_batch.await;
    ApiCreateBatchPort => batch::api_create_batch_port.await;
    ApiGetBatchNotification => batch::api_get_batch_notification.await;
    ApiCloseBatchPort => batch::api_close_batch_port;
    ApiExecuteReadBatch => batch::api_execute_read_batch.await;
    ApiExecuteReadBatchEx => batch::api_execute_read_batch_ex.await;
    // notification ports (notify.rs)
    ApiCreateNotify => notify::api_create_notify;
    ApiCloseNotify => notify::api_close_notify;
    ApiAddNotifyCluster => notify::api_add_notify_cluster;
    ApiAddNotifyNode => notify::api_add_notify_node;
    ApiAddNotifyGroup => notify::api_add_notify_group;
    ApiAddNotifyResource => notify::api_add_notify_resource;
    ApiAddNotifyKey => notify::api_add_notify_key;
    ApiReAddNotifyNode => notify::api_re_add_notify_node;
    ApiReAddNotifyGroup => notify::api_re_add_notify_group;
    ApiReAddNotifyResource => notify::api_re_add_notify_resource;
    ApiGetNotify => notify::api_get_notify.await;
    ApiAddNotifyNetwork => notify::api_add_notify_network;
    ApiReAddNotifyNetwork => notify::api_re_add_notify_network;
    ApiAddNotifyNetInterface => notify::api_add_notify_net_interface;
    ApiReAddNotifyNetInterface => notify::api_re_add_notify_net_interface;
    ApiUnblockGetNotifyCall => notify::api_unblock_get_notify_call;
    ApiCreateNotifyV2 => notify::api_create_notify_v2;
    ApiAddNotifyV2 => notify::api_add_notify_v2;
    ApiGetNotifyV2 => notify::api_get_notify_v2.await;
    ApiGetNotifyAsync => notify::api_get_notify_async.await;
    ApiAddNotifyResourceTypeV2 => notify::api_add_notify_resource_type_v2;
}
