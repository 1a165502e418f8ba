//! Node operations ([MS-CMRP] 3.1.4.2.48, 3.1.4.2.66-72, 3.1.4.2.101, 3.1.4.2.118,
//! 3.1.4.2.124-128): open/close, state and id, pause/resume as CTDB disable/enable, and the
//! per-node enumerations.
//!
//! Eviction is refused by design: removing a CTDB node means editing the `nodes` file on every
//! node and restarting ctdbd, which is not something a remote management call should do.
//! ApiEvictNode therefore answers ERROR_NOT_SUPPORTED (50), one of the "any other condition"
//! values [MS-CMRP] 3.1.4.2.72 allows.

use std::sync::Arc;

use idl::clusapi::*;
use idl::{ContextHandle, WError, WString};

use super::access::{self, Granted};
use super::{status, win, ClusapiService, NodeHandle};
use crate::services::CallCtx;

/// CLUSTER_NODE_ENUM selectors ([MS-CMRP] 3.1.4.2.101).
pub mod node_enum {
    pub const NETINTERFACES: u32 = 0x1;
    pub const GROUPS: u32 = 0x2;
}

/// ERROR_NOT_SUPPORTED: what ApiEvictNode answers.
pub const ERROR_NOT_SUPPORTED: u32 = 50;

fn node_handle(ctx: &CallCtx, h: &ContextHandle) -> Option<Arc<NodeHandle>> {
    ctx.group.get::<NodeHandle>(h)
}

fn open_node(s: &ClusapiService, ctx: &CallCtx, name: &str, granted: Granted) -> Result<ContextHandle, u32> {
    let snap = s.backend.snapshot();
    let node = snap.find_node_by_name(name).ok_or(win::ERROR_CLUSTER_NODE_NOT_FOUND)?;
    ctx.group.insert(NodeHandle { pnn: node.pnn, access: granted }).ok_or(win::ERROR_NOT_ENOUGH_MEMORY)
}

/// [MS-CMRP 3.1.4.2.66] ApiOpenNode: by node name (`CTDB_NODE_<pnn>`, case-insensitive).
pub fn api_open_node(s: &ClusapiService, ctx: &CallCtx, req: ApiOpenNodeRequest) -> ApiOpenNodeResponse {
    let Some(granted) = Granted::entitled(ctx.access) else {
        return ApiOpenNodeResponse::error(win::ERROR_ACCESS_DENIED);
    };
    match open_node(s, ctx, req.node_name.as_str(), granted) {
        Ok(node) => ApiOpenNodeResponse { status: WError(0), rpc_status: 0, node },
        Err(e) => ApiOpenNodeResponse { status: WError(e), rpc_status: 0, node: ContextHandle::NULL },
    }
}

/// [MS-CMRP 3.1.4.2.118] ApiOpenNodeEx.
pub fn api_open_node_ex(s: &ClusapiService, ctx: &CallCtx, req: ApiOpenNodeExRequest) -> ApiOpenNodeExResponse {
    let granted = match access::evaluate(req.desired_access, Granted::entitled(ctx.access)) {
        Ok(g) => g,
        Err(e) => return ApiOpenNodeExResponse::error(e),
    };
    match open_node(s, ctx, req.node_name.as_str(), granted) {
        Ok(node) => ApiOpenNodeExResponse { granted_access: granted.wire(), status: WError(0), rpc_status: 0, node },
        Err(e) => ApiOpenNodeExResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.67] ApiCloseNode.
pub fn api_close_node(_s: &ClusapiService, ctx: &CallCtx, req: ApiCloseNodeRequest) -> ApiCloseNodeResponse {
    if ctx.group.remove::<NodeHandle>(&req.node) {
        ApiCloseNodeResponse { node: ContextHandle::NULL, result: WError(0) }
    } else {
        ApiCloseNodeResponse { node: req.node, result: WError(win::ERROR_INVALID_HANDLE) }
    }
}

/// [MS-CMRP 3.1.4.2.68] ApiGetNodeState: the current CLUSTER_NODE_STATE from the live model.
pub fn api_get_node_state(s: &ClusapiService, ctx: &CallCtx, req: ApiGetNodeStateRequest) -> ApiGetNodeStateResponse {
    let Some(h) = node_handle(ctx, &req.node) else {
        return ApiGetNodeStateResponse { state: u32::MAX, rpc_status: 0, result: WError(win::ERROR_INVALID_HANDLE) };
    };
    let snap = s.backend.snapshot();
    match snap.node_by_pnn(h.pnn) {
        Some(n) => ApiGetNodeStateResponse { state: n.state.as_u32(), rpc_status: 0, result: WError(0) },
        None => ApiGetNodeStateResponse {
            state: u32::MAX,
            rpc_status: 0,
            result: WError(win::ERROR_CLUSTER_NODE_NOT_FOUND),
        },
    }
}

/// [MS-CMRP 3.1.4.2.48] ApiGetNodeId: the node id (decimal `pnn + 1`).
pub fn api_get_node_id(s: &ClusapiService, ctx: &CallCtx, req: ApiGetNodeIdRequest) -> ApiGetNodeIdResponse {
    let Some(h) = node_handle(ctx, &req.node) else {
        return ApiGetNodeIdResponse::error(win::ERROR_INVALID_HANDLE);
    };
    let snap = s.backend.snapshot();
    match snap.node_by_pnn(h.pnn) {
        Some(n) => ApiGetNodeIdResponse { guid: Some(WString::new(n.id.clone())), rpc_status: 0, result: WError(0) },
        None => ApiGetNodeIdResponse::error(win::ERROR_CLUSTER_NODE_NOT_FOUND),
    }
}

/// The node handle of a state-changing call, which needs "All" access.
fn writable_node(ctx: &CallCtx, h: &ContextHandle) -> Result<Arc<NodeHandle>, u32> {
    super::writable::<NodeHandle>(ctx, h)
}

/// [MS-CMRP 3.1.4.2.69] ApiPauseNode: `ctdb disable` — the node stays a member, its public IPs
/// move to other nodes. Returns once ctdbd confirms.
pub async fn api_pause_node(s: &ClusapiService, ctx: &CallCtx, req: ApiPauseNodeRequest) -> ApiPauseNodeResponse {
    let r = async {
        let h = writable_node(ctx, &req.node)?;
        s.backend.pause_node(h.pnn).await.map_err(|e| e.win32_code())
    }
    .await;
    ApiPauseNodeResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.126] ApiPauseNodeEx: with or without drain. CTDB's disable always moves the
/// node's public IPs away, which is what a drain means here, so both behave the same.
pub async fn api_pause_node_ex(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiPauseNodeExRequest,
) -> ApiPauseNodeExResponse {
    let r = async {
        let h = writable_node(ctx, &req.node)?;
        s.backend.pause_node(h.pnn).await.map_err(|e| e.win32_code())
    }
    .await;
    ApiPauseNodeExResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.127] ApiPauseNodeWithDrainTarget: pause, then move the IPs the node hosted
/// to the target node.
pub async fn api_pause_node_with_drain_target(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiPauseNodeWithDrainTargetRequest,
) -> ApiPauseNodeWithDrainTargetResponse {
    let r = async {
        let h = writable_node(ctx, &req.node)?;
        let target = node_handle(ctx, &req.node_drain_target).ok_or(win::ERROR_INVALID_HANDLE)?;
        if target.pnn == h.pnn {
            return Err(win::ERROR_INVALID_PARAMETER);
        }
        let hosted: Vec<_> = s.backend.snapshot().ips_hosted_by(h.pnn).collect();
        s.backend.pause_node(h.pnn).await.map_err(|e| e.win32_code())?;
        for ip in hosted {
            s.backend.move_ip(ip, target.pnn).await.map_err(|e| e.win32_code())?;
        }
        Ok(())
    }
    .await;
    ApiPauseNodeWithDrainTargetResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.70] ApiResumeNode: `ctdb enable`; ERROR_CLUSTER_NODE_NOT_PAUSED when the
/// node was not paused.
pub async fn api_resume_node(s: &ClusapiService, ctx: &CallCtx, req: ApiResumeNodeRequest) -> ApiResumeNodeResponse {
    let r = async {
        let h = writable_node(ctx, &req.node)?;
        s.backend.resume_node(h.pnn).await.map_err(|e| e.win32_code())
    }
    .await;
    ApiResumeNodeResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.128] ApiResumeNodeEx: as ApiResumeNode; CTDB rebalances public IPs by
/// itself when a node comes back, whatever failback type is asked.
pub async fn api_resume_node_ex(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiResumeNodeExRequest,
) -> ApiResumeNodeExResponse {
    let r = async {
        let h = writable_node(ctx, &req.node)?;
        if req.resume_failback_type > 2 {
            return Err(win::ERROR_INVALID_PARAMETER);
        }
        s.backend.resume_node(h.pnn).await.map_err(|e| e.win32_code())
    }
    .await;
    ApiResumeNodeExResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.72] ApiEvictNode: refused by design (see the module documentation).
pub fn api_evict_node(_s: &ClusapiService, ctx: &CallCtx, req: ApiEvictNodeRequest) -> ApiEvictNodeResponse {
    let r = writable_node(ctx, &req.node).and(Err(ERROR_NOT_SUPPORTED));
    ApiEvictNodeResponse { rpc_status: 0, result: status(r) }
}

fn node_enum_entries(s: &ClusapiService, pnn: u32, kind: u32) -> Vec<(EnumEntry, String)> {
    let snap = s.backend.snapshot();
    let mut v = Vec::new();
    if kind & node_enum::NETINTERFACES != 0 {
        for i in snap.netinterfaces_of_node(pnn) {
            v.push((
                EnumEntry { entry_type: node_enum::NETINTERFACES, name: Some(WString::new(i.name.clone())) },
                i.id.clone(),
            ));
        }
    }
    if kind & node_enum::GROUPS != 0 {
        for g in snap.groups_owned_by(pnn) {
            v.push((
                EnumEntry { entry_type: node_enum::GROUPS, name: Some(WString::new(g.name.clone())) },
                g.id.clone(),
            ));
        }
    }
    v
}

/// [MS-CMRP 3.1.4.2.101] ApiCreateNodeEnum: the node's network interfaces and/or the groups it
/// owns; unknown selector bits are ignored.
pub fn api_create_node_enum(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateNodeEnumRequest,
) -> ApiCreateNodeEnumResponse {
    let Some(h) = node_handle(ctx, &req.node) else {
        return ApiCreateNodeEnumResponse::error(win::ERROR_INVALID_HANDLE);
    };
    let entries = node_enum_entries(s, h.pnn, req.enum_type).into_iter().map(|(e, _)| e).collect();
    ApiCreateNodeEnumResponse { return_enum: Some(EnumList { entries }), rpc_status: 0, result: WError(0) }
}

/// Splits (entry, id) pairs into the id list and the name list of an *EnumEx reply
/// ([MS-CMRP] 3.1.4.2.124: same order, same types).
pub fn split_ex(v: Vec<(EnumEntry, String)>) -> (EnumList, EnumList) {
    let mut ids = Vec::with_capacity(v.len());
    let mut names = Vec::with_capacity(v.len());
    for (e, id) in v {
        ids.push(EnumEntry { entry_type: e.entry_type, name: Some(WString::new(id)) });
        names.push(e);
    }
    (EnumList { entries: ids }, EnumList { entries: names })
}

/// [MS-CMRP 3.1.4.2.124] ApiCreateNodeEnumEx: ids and names; dwOptions must be 0.
pub fn api_create_node_enum_ex(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateNodeEnumExRequest,
) -> ApiCreateNodeEnumExResponse {
    let Some(h) = node_handle(ctx, &req.node) else {
        return ApiCreateNodeEnumExResponse::error(win::ERROR_INVALID_HANDLE);
    };
    if req.options != 0 {
        return ApiCreateNodeEnumExResponse::error(win::ERROR_INVALID_PARAMETER);
    }
    let (ids, names) = split_ex(node_enum_entries(s, h.pnn, req.enum_type));
    ApiCreateNodeEnumExResponse {
        return_id_enum: Some(ids),
        return_name_enum: Some(names),
        rpc_status: 0,
        result: WError(0),
    }
}
