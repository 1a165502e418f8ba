//! clusapi v3.0 ([MS-CMRP]) over the cluster model: the service object, the context-handle
//! types it hands out, access evaluation, and the trait impl that routes each operation to its
//! plain function in the per-object-family modules (`cluster`, `node`, ...), Samba style.
//!
//! Operations not routed here keep the generated default: ERROR_CALL_NOT_IMPLEMENTED (120)
//! with null out-parameters, as listed in the README's coverage table.

pub mod access;
pub mod cluster;
pub mod node;

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
    pub const ERROR_CLUSTER_NODE_NOT_FOUND: u32 = 5042;
    pub const ERROR_CLUSTER_NODE_NOT_PAUSED: u32 = 5058;
    pub const ERROR_CLUSTER_NODE_UNREACHABLE: u32 = 5051;
    pub const ERROR_CLUSTER_NODE_UP: u32 = 5056;
}

/// The version clusapid reports (see README "Which Windows version clusapid presents").
/// Windows Server 2012 R2: OS 6.3 build 9600, cluster major 8 ([MS-CMRP] 3.1.4.2.102).
pub mod version {
    pub const OS_MAJOR: u16 = 6;
    pub const OS_MINOR: u16 = 3;
    pub const OS_BUILD: u16 = 9600;
    /// (cluster major << 16) | build.
    pub const CLUSTER_VERSION: u32 = (8 << 16) | 9600;
    pub const VENDOR_ID: &str = "Samba CTDB (clusapid)";
    pub const CSD_VERSION: &str = "";
}

/// Operations clusapid answers with an error on purpose, and why (README coverage table).
pub const REFUSED_BY_DESIGN: &[(u16, &str)] = &[
    (4, "ApiGetClusterVersion: protocol version 3.0 servers answer ERROR_CALL_NOT_IMPLEMENTED; clients use ApiGetClusterVersion2"),
    (71, "removing a CTDB node is a configuration change on every node: ERROR_NOT_SUPPORTED (50)"),
]; 

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
}

impl ClusapiService {
    /// The service over a backend.
    pub fn new(backend: Arc<dyn ClusterBackend>) -> Self {
        Self { backend }
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

    // --- control codes (control.rs) ---
    // @anchor:controls

    // --- cluster registry and batches (registry.rs, batch.rs) ---
    // @anchor:registry
}
