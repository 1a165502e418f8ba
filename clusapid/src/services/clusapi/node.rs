//! Node operations ([MS-CMRP] 3.1.4.2.48, 3.1.4.2.66-72, 3.1.4.2.101, 3.1.4.2.118,
//! 3.1.4.2.124-128): open/close, state and id, pause/resume as CTDB disable/enable, and the
//! per-node enumerations.
//!
//! Eviction is refused by design: removing a CTDB node means editing the `nodes` file on every
//! node and restarting ctdbd, which is not something a remote management call should do.
//! ApiEvictNode therefore answers ERROR_NOT_SUPPORTED (50), one of the "any other condition"
//! values [MS-CMRP] 3.1.4.2.72 allows.

use std::net::IpAddr;

use idl::clusapi::*;
use idl::{ContextHandle, WError, WString};
use nodes::{DrainStatus, NodeState};

use super::objclass::{handle, writable, Nodes};
use super::{status, win, ClusapiService, NodeHandle};
use crate::services::CallCtx;

pub use super::objclass::{
    close as api_close_node, get_id as api_get_node_id, get_state as api_get_node_state, open as api_open_node,
    open as api_open_node_ex,
};

pub use idl::clusenum::node_enum;

pub use super::win::{
    ERROR_CLUSTER_NODE_DOWN, ERROR_CLUSTER_NODE_EVACUATION_IN_PROGRESS, ERROR_HOST_NODE_NOT_AVAILABLE,
    ERROR_INVALID_TARGET_HANDLE, ERROR_NOT_SUPPORTED,
};

/// [MS-CMRP 3.1.4.2.69] ApiPauseNode: `ctdb disable` — the node stays a member, its public IPs
/// move to other nodes. Returns once ctdbd confirms.
pub async fn api_pause_node(s: &ClusapiService, ctx: &CallCtx, req: ApiPauseNodeRequest) -> ApiPauseNodeResponse {
    ApiPauseNodeResponse { rpc_status: 0, result: status(pause(s, ctx, &req.node, None).await) }
}

/// CLUSAPI_NODE_PAUSE_REMAIN_ON_PAUSED_NODE_ON_MOVE_ERROR: the only defined `dwPauseFlags` bit.
pub const CLUSAPI_NODE_PAUSE_REMAIN_ON_PAUSED_NODE_ON_MOVE_ERROR: u32 = 0x1;

/// Starts the evacuation of node `h` ([MS-CMRP] 3.1.4.2.125, 3.1.4.2.126) and answers
/// ERROR_IO_PENDING, or the spec's error when it cannot start: ERROR_CLUSTER_NODE_EVACUATION_IN_
/// PROGRESS while a drain of the node runs (its NodeDrainStatus is InProgress),
/// ERROR_CLUSTER_NODE_DOWN when no other node is Up. The drain runs on: `ctdb disable` of the
/// node (CTDB moves its public IPs, i.e. its groups, to the other nodes), then, with a `target`,
/// `ctdb moveip` of each address the node hosted to the target. A client follows it through the
/// node's NodeDrainStatus (InProgress, then Completed or Failed), NodeDrainTarget and state, and
/// the groups' owners.
fn start_drain(s: &ClusapiService, h: &NodeHandle, target: Option<u32>) -> Result<(), u32> {
    let snap = s.backend.snapshot();
    let node = snap.node_by_pnn(h.pnn).ok_or(win::ERROR_CLUSTER_NODE_NOT_FOUND)?;
    if node.drain_status == DrainStatus::InProgress {
        return Err(ERROR_CLUSTER_NODE_EVACUATION_IN_PROGRESS);
    }
    if !snap.nodes.iter().any(|n| n.pnn != h.pnn && n.state == NodeState::Up) {
        return Err(ERROR_CLUSTER_NODE_DOWN);
    }
    let hosted: Vec<IpAddr> = snap.ips_hosted_by(h.pnn).collect();
    s.backend.begin_drain(h.pnn, target).map_err(|e| e.win32_code())?;
    let (backend, pnn) = (s.backend.clone(), h.pnn);
    tokio::spawn(async move {
        let r = async {
            backend.pause_node(pnn).await?;
            if let Some(t) = target {
                for ip in hosted {
                    backend.move_ip(ip, t).await?;
                }
            }
            Ok::<(), nodes::BackendError>(())
        }
        .await;
        match &r {
            Ok(()) => tracing::info!(pnn, target, "node drained"),
            Err(e) => tracing::warn!(pnn, target, error = %e, "node drain failed"),
        }
        backend.end_drain(pnn, r.is_ok());
    });
    Err(win::ERROR_IO_PENDING)
}

/// The drain of a pause: `dwPauseFlags`, and the node the groups go to, if one is named.
struct Drain<'a> {
    flags: u32,
    target: Option<&'a ContextHandle>,
}

/// The three pause methods: the node's handle (with "All"), then without a drain ApiPauseNode;
/// with one, the target's handle (with "All"), the flags (only
/// CLUSAPI_NODE_PAUSE_REMAIN_ON_PAUSED_NODE_ON_MOVE_ERROR is defined: ERROR_INVALID_PARAMETER
/// otherwise), the target ([`drain_target`]) and [`start_drain`].
async fn pause(s: &ClusapiService, ctx: &CallCtx, node: &ContextHandle, drain: Option<Drain<'_>>) -> Result<(), u32> {
    let h = writable::<Nodes>(ctx, node)?;
    let Some(drain) = drain else {
        return s.backend.pause_node(h.pnn).await.map_err(|e| e.win32_code());
    };
    let target = drain.target.map(|t| writable::<Nodes>(ctx, t)).transpose()?;
    if drain.flags & !CLUSAPI_NODE_PAUSE_REMAIN_ON_PAUSED_NODE_ON_MOVE_ERROR != 0 {
        return Err(win::ERROR_INVALID_PARAMETER);
    }
    let to = match target {
        Some(t) => Some(drain_target(s, &h, &t)?),
        None => None,
    };
    start_drain(s, &h, to)
}

/// The drain target `t` of node `h`: ERROR_INVALID_TARGET_HANDLE when it is the node itself,
/// ERROR_HOST_NODE_NOT_AVAILABLE when it is not Up.
fn drain_target(s: &ClusapiService, h: &NodeHandle, t: &NodeHandle) -> Result<u32, u32> {
    if t.pnn == h.pnn {
        return Err(ERROR_INVALID_TARGET_HANDLE);
    }
    match s.backend.snapshot().node_by_pnn(t.pnn) {
        Some(n) if n.state == NodeState::Up => Ok(t.pnn),
        Some(_) => Err(ERROR_HOST_NODE_NOT_AVAILABLE),
        None => Err(win::ERROR_CLUSTER_NODE_NOT_FOUND),
    }
}

/// [MS-CMRP 3.1.4.2.125] ApiPauseNodeEx. Without `bDrainNode` it is ApiPauseNode. With it, the
/// node is evacuated asynchronously: ERROR_IO_PENDING, and the drain proceeds as
/// [`start_drain`] describes. `dwPauseFlags` (only
/// CLUSAPI_NODE_PAUSE_REMAIN_ON_PAUSED_NODE_ON_MOVE_ERROR is defined) is ignored without a drain;
/// CTDB moves every address it can, so the flag changes nothing here.
pub async fn api_pause_node_ex(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiPauseNodeExRequest,
) -> ApiPauseNodeExResponse {
    let drain = req.drain_node.0.then_some(Drain { flags: req.pause_flags, target: None });
    ApiPauseNodeExResponse { rpc_status: 0, result: status(pause(s, ctx, &req.node, drain).await) }
}

/// [MS-CMRP 3.1.4.2.126] ApiPauseNodeWithDrainTarget: ApiPauseNodeEx with a drain, whose groups
/// go to `hNodeDrainTarget` (which needs "All" access): ERROR_INVALID_TARGET_HANDLE when it is
/// the node itself, ERROR_HOST_NODE_NOT_AVAILABLE when it is not Up.
pub async fn api_pause_node_with_drain_target(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiPauseNodeWithDrainTargetRequest,
) -> ApiPauseNodeWithDrainTargetResponse {
    let drain = Drain { flags: req.pause_flags, target: Some(&req.node_drain_target) };
    ApiPauseNodeWithDrainTargetResponse { rpc_status: 0, result: status(pause(s, ctx, &req.node, Some(drain)).await) }
}

/// ApiResumeNode and ApiResumeNodeEx: the node's handle (with "All"), the Ex form's
/// failback type (ClusterResumeFailbackType, 0 to 2: ERROR_INVALID_PARAMETER otherwise), then
/// `ctdb enable`.
async fn resume(
    s: &ClusapiService,
    ctx: &CallCtx,
    node: &ContextHandle,
    failback_type: Option<u32>,
) -> Result<(), u32> {
    let h = writable::<Nodes>(ctx, node)?;
    if failback_type.is_some_and(|t| t > 2) {
        return Err(win::ERROR_INVALID_PARAMETER);
    }
    s.backend.resume_node(h.pnn).await.map_err(|e| e.win32_code())
}

/// [MS-CMRP 3.1.4.2.70] ApiResumeNode: `ctdb enable`; ERROR_CLUSTER_NODE_NOT_PAUSED when the
/// node was not paused.
pub async fn api_resume_node(s: &ClusapiService, ctx: &CallCtx, req: ApiResumeNodeRequest) -> ApiResumeNodeResponse {
    ApiResumeNodeResponse { rpc_status: 0, result: status(resume(s, ctx, &req.node, None).await) }
}

/// [MS-CMRP 3.1.4.2.128] ApiResumeNodeEx: as ApiResumeNode; CTDB rebalances public IPs by
/// itself when a node comes back, whatever failback type is asked.
pub async fn api_resume_node_ex(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiResumeNodeExRequest,
) -> ApiResumeNodeExResponse {
    let r = resume(s, ctx, &req.node, Some(req.resume_failback_type)).await;
    ApiResumeNodeExResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.72] ApiEvictNode: refused by design (see the module documentation).
pub fn api_evict_node(_s: &ClusapiService, ctx: &CallCtx, req: ApiEvictNodeRequest) -> ApiEvictNodeResponse {
    let r = writable::<Nodes>(ctx, &req.node).and(Err(ERROR_NOT_SUPPORTED));
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
    let h = match handle::<Nodes>(ctx, &req.node) {
        Ok(h) => h,
        Err(e) => return ApiCreateNodeEnumResponse::error(e),
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
    let h = match handle::<Nodes>(ctx, &req.node) {
        Ok(h) => h,
        Err(e) => return ApiCreateNodeEnumExResponse::error(e),
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

#[cfg(test)]
mod tests {
    use idl::ContextHandle;
    use std::time::Duration;

    use idl::Bool32;

    use super::super::access::Granted;
    use super::super::fixture::fx;
    use super::*;

    fn drain_of(f: &super::super::fixture::Fx, pnn: u32) -> (DrainStatus, Option<u32>, NodeState) {
        let snap = f.snap();
        let n = snap.node_by_pnn(pnn).unwrap();
        (n.drain_status, n.drain_target, n.state)
    }

    /// Polls the model until the drain of `pnn` has ended (what a client polling
    /// NodeDrainStatus sees).
    async fn settled(f: &super::super::fixture::Fx, pnn: u32) -> DrainStatus {
        for _ in 0..200 {
            let (d, _, _) = drain_of(f, pnn);
            if d != DrainStatus::InProgress {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the drain of node {pnn} did not end");
    }

    fn pause_ex(drain: bool, flags: u32, node: ContextHandle) -> ApiPauseNodeExRequest {
        ApiPauseNodeExRequest { node, drain_node: Bool32(drain), pause_flags: flags }
    }

    #[tokio::test]
    async fn pause_node_ex_with_drain_is_pending_then_converges() {
        let f = fx();
        let n1 = f.node("CTDB_NODE_1");
        assert!(f.snap().ips_hosted_by(1).count() > 0);
        let r = api_pause_node_ex(&f.svc, &f.ctx, pause_ex(true, 0, n1)).await;
        assert_eq!(r.result.0, win::ERROR_IO_PENDING);
        // the drain shows at once, and a second one is refused while it runs
        assert_eq!(drain_of(&f, 1).0, DrainStatus::InProgress);
        let again = api_pause_node_ex(&f.svc, &f.ctx, pause_ex(true, 0, n1)).await;
        assert_eq!(again.result.0, ERROR_CLUSTER_NODE_EVACUATION_IN_PROGRESS);
        assert_eq!(settled(&f, 1).await, DrainStatus::Completed);
        let snap = f.snap();
        assert_eq!(snap.node_by_pnn(1).unwrap().state, NodeState::Paused);
        assert_eq!(snap.ips_hosted_by(1).count(), 0);
        assert!(snap.groups_owned_by(1).next().is_none(), "groups left on the drained node");
        // resuming clears the drain
        let r = api_resume_node_ex(
            &f.svc,
            &f.ctx,
            ApiResumeNodeExRequest { node: n1, resume_failback_type: 0, resume_flags_reserved: 0 },
        )
        .await;
        assert_eq!(r.result.0, 0);
        assert_eq!(drain_of(&f, 1), (DrainStatus::NotInitiated, None, NodeState::Up));
    }

    #[tokio::test]
    async fn pause_node_ex_without_drain_is_pause_node() {
        let f = fx();
        let n2 = f.node("CTDB_NODE_2");
        // dwPauseFlags is ignored without a drain
        let r = api_pause_node_ex(&f.svc, &f.ctx, pause_ex(false, 0xffff, n2)).await;
        assert_eq!(r.result.0, 0);
        assert_eq!(drain_of(&f, 2).2, NodeState::Paused);
        let r = api_pause_node_ex(&f.svc, &f.ctx, pause_ex(true, 2, f.node("CTDB_NODE_0"))).await;
        assert_eq!(r.result.0, win::ERROR_INVALID_PARAMETER);
        let ro = f.ro.group.insert(NodeHandle { pnn: 0, access: Granted::Read }).unwrap();
        let r = api_pause_node_ex(&f.svc, &f.ro, pause_ex(true, 0, ro)).await;
        assert_eq!(r.result.0, win::ERROR_ACCESS_DENIED);
    }

    #[tokio::test]
    async fn drain_needs_another_node_up() {
        let f = fx();
        for n in ["CTDB_NODE_1", "CTDB_NODE_2"] {
            let r = api_pause_node(&f.svc, &f.ctx, ApiPauseNodeRequest { node: f.node(n) }).await;
            assert_eq!(r.result.0, 0);
        }
        let r = api_pause_node_ex(&f.svc, &f.ctx, pause_ex(true, 0, f.node("CTDB_NODE_0"))).await;
        assert_eq!(r.result.0, ERROR_CLUSTER_NODE_DOWN);
        assert_eq!(drain_of(&f, 0), (DrainStatus::NotInitiated, None, NodeState::Up));
    }

    #[tokio::test]
    async fn drain_to_a_target() {
        let f = fx();
        let (n0, n1, n2) = (f.node("CTDB_NODE_0"), f.node("CTDB_NODE_1"), f.node("CTDB_NODE_2"));
        let req = |node, target| ApiPauseNodeWithDrainTargetRequest { node, pause_flags: 0, node_drain_target: target };
        let r = api_pause_node_with_drain_target(&f.svc, &f.ctx, req(n1, n1)).await;
        assert_eq!(r.result.0, ERROR_INVALID_TARGET_HANDLE);
        let r = api_pause_node_with_drain_target(&f.svc, &f.ctx, req(n1, ContextHandle::NULL)).await;
        assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);
        assert_eq!(api_pause_node(&f.svc, &f.ctx, ApiPauseNodeRequest { node: n2 }).await.result.0, 0);
        let r = api_pause_node_with_drain_target(&f.svc, &f.ctx, req(n1, n2)).await;
        assert_eq!(r.result.0, ERROR_HOST_NODE_NOT_AVAILABLE);
        let hosted: Vec<_> = f.snap().ips_hosted_by(1).collect();
        assert!(!hosted.is_empty());
        let r = api_pause_node_with_drain_target(&f.svc, &f.ctx, req(n1, n0)).await;
        assert_eq!(r.result.0, win::ERROR_IO_PENDING);
        assert_eq!(settled(&f, 1).await, DrainStatus::Completed);
        let snap = f.snap();
        assert_eq!(snap.node_by_pnn(1).unwrap().drain_target, Some(0));
        for ip in hosted {
            assert_eq!(snap.ip_host(ip), Some(Some(0)), "{ip} not on the target");
        }
        // NodeDrainTarget is the target's node id
        let ro = super::super::properties::node_ro_common(snap.node_by_pnn(1).unwrap(), &snap);
        assert_eq!(ro.get("NodeDrainTarget"), Some(&registry_model::PropValue::Dword(1)));
        assert_eq!(ro.get("NodeDrainStatus"), Some(&registry_model::PropValue::Dword(2)));
    }
}
