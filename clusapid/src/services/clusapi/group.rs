//! Group operations ([MS-CMRP] 3.1.4.2.42-55, 3.1.4.2.118, 3.1.4.2.128-133, 3.1.4.2.139,
//! 3.1.4.2.157-158): open/create/delete, state, name and id, online/offline and moves as CTDB
//! actions, the per-group enumeration, preferred owners, and ApiCreateGroupEnum (its property
//! lists come from [`super::properties`], which the GroupControl codes share).
//!
//! The groups: "Cluster Group" (core), one "Public IP <addr>" group per CTDB public address
//! (moving it is `ctdb moveip`), the "File Server" role (it runs on every node, so it cannot
//! move), and groups created through clusapi, which live in the admin overlay. Groups mirroring
//! CTDB state cannot be deleted, and their preferred owners follow CTDB (ERROR_NOT_SUPPORTED).
//!
//! Group dependencies (Windows Server 2016, opnums 175-176) have no CTDB equivalent: the empty
//! expression (no dependencies) is accepted, any other ERROR_NOT_SUPPORTED.

use idl::clusapi::*;
use idl::{ConfBytes, ContextHandle, WError, WString};
use nodes::model::group_type;
use nodes::{ClusterState, GroupKind};
use registry_model::{multi_sz_decode, PropertyList};

use super::access::Granted;
use super::objclass::{enumerate, handle, object, owner_name, writable, writable_objects, Cluster, Groups, Nodes};
use super::properties;
use super::{status, win, ClusapiService, GroupHandle};
use crate::services::CallCtx;

pub use super::objclass::{
    close as api_close_group, get_id as api_get_group_id, get_state as api_get_group_state,
    offline as api_offline_group, offline as api_offline_group_ex, online as api_online_group,
    online as api_online_group_ex, open as api_open_group, open as api_open_group_ex, set_name as api_set_group_name,
};

pub use idl::clusenum::group_enum;

/// CLUSTER_CREATE_GROUP_INFO_VERSION_1 ([MS-CMRP] 2.2.3.21).
pub const CREATE_GROUP_INFO_VERSION_1: u32 = 1;

/// Creates a group and opens it with "All" access.
async fn create_group(s: &ClusapiService, ctx: &CallCtx, name: &str) -> Result<ContextHandle, u32> {
    // [MS-CMRP 3.1.4.2.43] "The server MUST require that the client have a security access
    // level of "All""
    if Granted::entitled(ctx.access) != Some(Granted::All) {
        return Err(win::ERROR_ACCESS_DENIED);
    }
    if name.trim().is_empty() {
        return Err(win::ERROR_INVALID_NAME);
    }
    let id = s.backend.create_group(name).await.map_err(|e| e.win32_code())?;
    ctx.group.insert(GroupHandle { id, access: Granted::All }).ok_or(win::ERROR_NOT_ENOUGH_MEMORY)
}

/// [MS-CMRP 3.1.4.2.43] ApiCreateGroup: an empty group (a generic role, type 9999) kept in the
/// admin overlay; ERROR_OBJECT_ALREADY_EXISTS when the name is taken.
pub async fn api_create_group(s: &ClusapiService, ctx: &CallCtx, req: ApiCreateGroupRequest) -> ApiCreateGroupResponse {
    match create_group(s, ctx, req.group_name.as_str()).await {
        Ok(group) => ApiCreateGroupResponse { status: WError(0), rpc_status: 0, group },
        Err(e) => ApiCreateGroupResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.128] ApiCreateGroupEx: as ApiCreateGroup. The info structure, when given,
/// must be version 1; created groups are generic roles, so a group type other than
/// ClusGroupTypeUnknown (9999) is ERROR_NOT_SUPPORTED.
pub async fn api_create_group_ex(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateGroupExRequest,
) -> ApiCreateGroupExResponse {
    if let Some(info) = &req.group_info {
        if info.dw_version != CREATE_GROUP_INFO_VERSION_1 {
            return ApiCreateGroupExResponse::error(win::ERROR_INVALID_PARAMETER);
        }
        if info.dw_group_type != group_type::UNKNOWN {
            return ApiCreateGroupExResponse::error(win::ERROR_NOT_SUPPORTED);
        }
    }
    match create_group(s, ctx, req.group_name.as_str()).await {
        Ok(group) => ApiCreateGroupExResponse { status: WError(0), rpc_status: 0, group },
        Err(e) => ApiCreateGroupExResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.44] ApiDeleteGroup: deletes a created group. A group that still holds
/// resources gives ERROR_DIR_NOT_EMPTY unless `bForce` is set, which deletes its resources
/// first (dependents before what they depend on). Groups mirroring CTDB state give
/// ERROR_CORE_RESOURCE.
pub async fn api_delete_group(s: &ClusapiService, ctx: &CallCtx, req: ApiDeleteGroupRequest) -> ApiDeleteGroupResponse {
    let r = async {
        let h = writable::<Groups>(ctx, &req.group)?;
        let snap = s.backend.snapshot();
        let g = object::<Groups>(&snap, &h)?;
        if g.kind != GroupKind::Created {
            return Err(win::ERROR_CORE_RESOURCE);
        }
        if req.force.0 {
            let mut left: Vec<String> = g.resource_ids.clone();
            while !left.is_empty() {
                let snap = s.backend.snapshot();
                // a resource nothing else in the group depends on
                let next =
                    left.iter().position(|id| !snap.dependents_of(id).any(|d| left.contains(&d.id))).unwrap_or(0);
                let id = left.remove(next);
                s.backend.delete_resource(&id).await.map_err(|e| e.win32_code())?;
            }
        }
        s.backend.delete_group(&h.id).await.map_err(|e| e.win32_code())
    }
    .await;
    ApiDeleteGroupResponse { rpc_status: 0, result: status(r) }
}

/// Moves the group of `h` to `to` (None: the backend's best other node); ERROR_IO_PENDING
/// until the new owner shows.
async fn move_group(s: &ClusapiService, h: &GroupHandle, to: Option<u32>) -> Result<(), u32> {
    let target = s.backend.move_group(&h.id, to).await.map_err(|e| e.win32_code())?;
    match s.backend.snapshot().group_by_id(&h.id) {
        Some(g) if g.owner == Some(target) => Ok(()),
        _ => Err(win::ERROR_IO_PENDING),
    }
}

async fn move_group_to(
    s: &ClusapiService,
    ctx: &CallCtx,
    group: &ContextHandle,
    node: &ContextHandle,
) -> Result<(), u32> {
    let h = writable::<Groups>(ctx, group)?;
    let n = handle::<Nodes>(ctx, node)?;
    move_group(s, &h, Some(n.pnn)).await
}

/// [MS-CMRP 3.1.4.2.52] ApiMoveGroup: to the Up node hosting the fewest public IPs, other than
/// the owner; a public IP group (and the Cluster Group, which follows the first address) moves
/// with `ctdb moveip`. The File Server role runs on every node: ERROR_NOT_SUPPORTED.
pub async fn api_move_group(s: &ClusapiService, ctx: &CallCtx, req: ApiMoveGroupRequest) -> ApiMoveGroupResponse {
    let r = async {
        let h = writable::<Groups>(ctx, &req.group)?;
        move_group(s, &h, None).await
    }
    .await;
    ApiMoveGroupResponse { rpc_status: 0, result: status(r) }
}

/// CLUSAPI_GROUP_MOVE_IGNORE_RESOURCE_STATUS ([MS-CMRP] 3.1.4.2.131).
pub const CLUSAPI_GROUP_MOVE_IGNORE_RESOURCE_STATUS: u32 = 0x1;
/// CLUSAPI_GROUP_MOVE_QUEUE_ENABLED.
pub const CLUSAPI_GROUP_MOVE_QUEUE_ENABLED: u32 = 0x4;

/// `dwMoveFlags` of ApiMoveGroupEx / ApiMoveGroupToNodeEx: IGNORE_RESOURCE_STATUS and
/// QUEUE_ENABLED together "MUST be rejected" with ERROR_INVALID_PARAMETER. The other flags
/// (return to source on error, high priority start, failback, ignore affinity rule) change
/// nothing for a CTDB cluster: an address move either completes or leaves the address where it
/// was.
fn check_move_flags(flags: u32) -> Result<(), u32> {
    let both = CLUSAPI_GROUP_MOVE_IGNORE_RESOURCE_STATUS | CLUSAPI_GROUP_MOVE_QUEUE_ENABLED;
    if flags & both == both {
        return Err(win::ERROR_INVALID_PARAMETER);
    }
    Ok(())
}

/// [MS-CMRP 3.1.4.2.131] ApiMoveGroupEx: as ApiMoveGroup, after the flags check
/// ([`check_move_flags`]); the buffer (hints for Virtual Machine resources) changes nothing.
pub async fn api_move_group_ex(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiMoveGroupExRequest,
) -> ApiMoveGroupExResponse {
    let r = async {
        let h = writable::<Groups>(ctx, &req.group)?;
        check_move_flags(req.move_flags)?;
        move_group(s, &h, None).await
    }
    .await;
    ApiMoveGroupExResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.53] ApiMoveGroupToNode: `ctdb moveip` of the group's address to the node
/// (a paused or down node cannot take it: ERROR_CLUSTER_NODE_PAUSED / ERROR_CLUSTER_NODE_DOWN).
pub async fn api_move_group_to_node(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiMoveGroupToNodeRequest,
) -> ApiMoveGroupToNodeResponse {
    ApiMoveGroupToNodeResponse { rpc_status: 0, result: status(move_group_to(s, ctx, &req.group, &req.node).await) }
}

/// [MS-CMRP 3.1.4.2.132] ApiMoveGroupToNodeEx: as ApiMoveGroupToNode, after the flags check
/// of ApiMoveGroupEx.
pub async fn api_move_group_to_node_ex(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiMoveGroupToNodeExRequest,
) -> ApiMoveGroupToNodeExResponse {
    let r = match check_move_flags(req.move_flags) {
        Ok(()) => move_group_to(s, ctx, &req.group, &req.node).await,
        Err(e) => Err(e),
    };
    ApiMoveGroupToNodeExResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.133] ApiCancelClusterGroupOperation: moves and state changes complete before
/// their call returns (or, on a CTDB backend, are `ctdb` commands already issued), so there is
/// never an operation to cancel: ERROR_INVALID_STATE. dwCancelFlags is reserved and must be 0.
pub fn api_cancel_cluster_group_operation(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCancelClusterGroupOperationRequest,
) -> ApiCancelClusterGroupOperationResponse {
    // dwCancelFlags_RESERVED must be zero
    let e = if req.cancel_flags != 0 { win::ERROR_INVALID_PARAMETER } else { win::ERROR_INVALID_STATE };
    let r = writable::<Groups>(ctx, &req.group).and(Err(e));
    ApiCancelClusterGroupOperationResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.54] ApiCreateGroupResourceEnum: the group's resources (CONTAINS) and/or its
/// preferred owner nodes in order (NODES); other bits are ignored.
pub fn api_create_group_resource_enum(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateGroupResourceEnumRequest,
) -> ApiCreateGroupResourceEnumResponse {
    enumerate::<Groups, _>(s, ctx, &req.group, req.enum_type, |snap, g| {
        vec![
            (group_enum::CONTAINS, snap.resources_in_group(&g.id).map(|r| r.name.clone()).collect()),
            (
                group_enum::NODES,
                g.preferred_owners.iter().filter_map(|&p| snap.node_name(p)).map(str::to_owned).collect(),
            ),
        ]
    })
}

/// Decodes a MULTI_SZ sent as UTF-16 code units, honouring the unit count; an empty or missing
/// list is no names.
pub fn multi_sz_units(units: &[u16], count: u32) -> Result<Vec<String>, u32> {
    let n = usize::try_from(count).unwrap_or(usize::MAX).min(units.len());
    let bytes: Vec<u8> = units[..n].iter().flat_map(|u| u.to_le_bytes()).collect();
    multi_sz_decode(&bytes).map_err(|_| win::ERROR_INVALID_PARAMETER)
}

/// [MS-CMRP 3.1.4.2.55] ApiSetGroupNodeList: the preferred owners, a MULTI_SZ of node ids in
/// preference order (empty: no preference). Only created groups keep one; CTDB places the
/// groups mirroring its state (ERROR_NOT_SUPPORTED).
pub async fn api_set_group_node_list(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiSetGroupNodeListRequest,
) -> ApiSetGroupNodeListResponse {
    let r = async {
        let h = writable::<Groups>(ctx, &req.group)?;
        let ids = match &req.node_list {
            Some(list) => multi_sz_units(&list.0, req.cch_list_size)?,
            None => Vec::new(),
        };
        let snap = s.backend.snapshot();
        object::<Groups>(&snap, &h)?;
        let mut pnns = Vec::with_capacity(ids.len());
        for id in &ids {
            pnns.push(snap.node_by_id(id.trim()).ok_or(win::ERROR_CLUSTER_NODE_NOT_FOUND)?.pnn);
        }
        s.backend.set_group_preferred_owners(&h.id, pnns).await.map_err(|e| e.win32_code())
    }
    .await;
    ApiSetGroupNodeListResponse { rpc_status: 0, result: status(r) }
}

/// Decodes the MULTI_SZ property-name list of ApiCreateGroupEnum / ApiCreateResourceEnum
/// (`cb` bytes of `buf`); no buffer is no names. A malformed list is ERROR_INVALID_PARAMETER.
pub fn property_names(buf: Option<&ConfBytes>, cb: u32) -> Result<Vec<String>, u32> {
    let Some(buf) = buf else { return Ok(Vec::new()) };
    let n = usize::try_from(cb).unwrap_or(usize::MAX).min(buf.0.len());
    multi_sz_decode(&buf.0[..n]).map_err(|_| win::ERROR_INVALID_PARAMETER)
}

/// The properties of `list()` named in `names`, encoded as an entry's buffer (None without
/// names, as a zero-length buffer); a name not in the list is ERROR_INVALID_PARAMETER
/// ([`properties::select`]). The single name `*` selects every property of the list, as the
/// GET_COMMON_PROPERTIES / GET_RO_COMMON_PROPERTIES control codes return them ([MS-CMRP]
/// 3.1.4.2.143 ApiCreateGroupEnum, 3.1.4.2.144 ApiCreateResourceEnum).
pub fn selected(names: &[String], list: impl FnOnce() -> PropertyList) -> Result<Option<Vec<u8>>, u32> {
    match names {
        [] => Ok(None),
        [all] if all == "*" => Ok(Some(list().encode())),
        _ => Ok(Some(properties::select(&list(), names)?.encode())),
    }
}

/// The size of an optional property list, for its `cb*` field.
pub fn bytes_len(b: &Option<Vec<u8>>) -> u32 {
    b.as_ref().map_or(0, |b| u32::try_from(b.len()).unwrap_or(u32::MAX))
}

/// What ApiCreateGroupEnum and ApiCreateResourceEnum share: the cluster handle check, the two
/// MULTI_SZ name lists `names` (`pProperties`, `pRoProperties`: [`property_names`]), then for
/// every object of `objects` the entry `entry` makes of it and of its lists `lists` (common,
/// read-only) reduced to the names asked for ([`selected`]).
pub fn enum_with_properties<T, E>(
    s: &ClusapiService,
    ctx: &CallCtx,
    cluster: &ContextHandle,
    names: [(Option<&ConfBytes>, u32); 2],
    objects: fn(&ClusterState) -> &[T],
    lists: [fn(&T, &ClusterState) -> PropertyList; 2],
    entry: impl Fn(&ClusterState, &T, Option<Vec<u8>>, Option<Vec<u8>>) -> E,
) -> Result<Vec<E>, u32> {
    handle::<Cluster>(ctx, cluster)?;
    let [(rw, cb_rw), (ro, cb_ro)] = names;
    let rw = property_names(rw, cb_rw)?;
    let ro = property_names(ro, cb_ro)?;
    let snap = s.backend.snapshot();
    let [common, ro_common] = lists;
    objects(&snap)
        .iter()
        .map(|o| {
            let props = selected(&rw, || common(o, &snap))?;
            let ro_props = selected(&ro, || ro_common(o, &snap))?;
            Ok(entry(&snap, o, props, ro_props))
        })
        .collect()
}

/// [MS-CMRP 3.1.4.2.139] ApiCreateGroupEnum: every group with its id, state, owner node and
/// flags, and property lists of the common (`pProperties`) and read-only (`pRoProperties`)
/// properties named in the two MULTI_SZ inputs (either may be empty).
pub fn api_create_group_enum(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateGroupEnumRequest,
) -> ApiCreateGroupEnumResponse {
    let names = [(req.properties.as_ref(), req.cb_properties), (req.ro_properties.as_ref(), req.cb_ro_properties)];
    let groups: fn(&ClusterState) -> &[nodes::Group] = |snap| &snap.groups;
    let lists = [properties::group_common, properties::group_ro_common];
    let r =
        enum_with_properties(s, ctx, &req.cluster, names, groups, lists, |snap, g, props, ro_props| GroupEnumEntry {
            name: Some(WString::new(g.name.clone())),
            id: Some(WString::new(g.id.clone())),
            dw_state: g.state.as_u32(),
            owner: Some(WString::new(owner_name(snap, g.owner))),
            dw_flags: g.flags,
            cb_properties: bytes_len(&props),
            properties: props.map(ConfBytes),
            cb_ro_properties: bytes_len(&ro_props),
            ro_properties: ro_props.map(ConfBytes),
        });
    match r {
        Ok(entries) => ApiCreateGroupEnumResponse {
            result_list: Some(GroupEnumList { entries }),
            rpc_status: 0,
            result: WError(0),
        },
        Err(e) => ApiCreateGroupEnumResponse::error(e),
    }
}

/// Parses a group dependency expression ([MS-CMRP] 3.1.4.2.157): bracketed group names or ids
/// joined by "and"; braces and parentheses are ignored. "or" is ERROR_INVALID_PARAMETER.
pub fn parse_group_expression(expr: &str) -> Result<Vec<String>, u32> {
    let mut out = Vec::new();
    let mut rest = expr.trim();
    let mut expect_operand = true;
    while !rest.is_empty() {
        let c = rest.chars().next().unwrap_or(' ');
        if matches!(c, '(' | ')' | '{' | '}') || c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '[' {
            if !expect_operand {
                return Err(win::ERROR_INVALID_PARAMETER);
            }
            let end = rest.find(']').ok_or(win::ERROR_INVALID_PARAMETER)?;
            out.push(rest[1..end].to_owned());
            rest = &rest[end + 1..];
            expect_operand = false;
            continue;
        }
        let word: String = rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        // "The server MUST fail this method with ERROR_INVALID_PARAMETER if the dependency
        // expression contains "ORs"."
        if word.eq_ignore_ascii_case("and") && !expect_operand {
            rest = &rest[word.len()..];
            expect_operand = true;
        } else {
            return Err(win::ERROR_INVALID_PARAMETER);
        }
    }
    if expect_operand && !out.is_empty() {
        return Err(win::ERROR_INVALID_PARAMETER);
    }
    Ok(out)
}

/// [MS-CMRP 3.1.4.2.157] ApiSetGroupDependencyExpression: CTDB groups cannot depend on each
/// other. The expression is checked (grammar, groups exist, not the group itself); the empty
/// expression — no dependencies, which is the state of every group — succeeds, any other is
/// ERROR_NOT_SUPPORTED.
pub fn api_set_group_dependency_expression(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiSetGroupDependencyExpressionRequest,
) -> ApiSetGroupDependencyExpressionResponse {
    let r = (|| {
        let h = writable::<Groups>(ctx, &req.group)?;
        let names = parse_group_expression(req.dependency_expression.as_str())?;
        let snap = s.backend.snapshot();
        let g = object::<Groups>(&snap, &h)?;
        for n in &names {
            let other = snap.find_group_by_name(n).or_else(|| snap.group_by_id(n)).ok_or(win::ERROR_GROUP_NOT_FOUND)?;
            if other.id == g.id {
                return Err(win::ERROR_CIRCULAR_DEPENDENCY);
            }
        }
        if names.is_empty() {
            Ok(())
        } else {
            Err(win::ERROR_NOT_SUPPORTED)
        }
    })();
    ApiSetGroupDependencyExpressionResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.158] ApiRemoveClusterGroupDependency: no group depends on another here, so
/// there is never a dependency to remove: ERROR_DEPENDENCY_NOT_FOUND.
pub fn api_remove_cluster_group_dependency(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiRemoveClusterGroupDependencyRequest,
) -> ApiRemoveClusterGroupDependencyResponse {
    let r = writable_objects::<Groups, Groups>(s, ctx, &req.group, &req.depends_on)
        .and(Err(win::ERROR_DEPENDENCY_NOT_FOUND));
    ApiRemoveClusterGroupDependencyResponse { rpc_status: 0, result: status(r) }
}

#[cfg(test)]
mod tests {
    use idl::Bool32;
    use nodes::GroupState;
    use registry_model::{multi_sz_encode, PropValue, PropertyList};

    use super::super::fixture::{fx, names, w};
    use super::*;
    use crate::services::clusapi::access::{CLUSAPI_CHANGE_ACCESS, GENERIC_ALL, GENERIC_READ, MAXIMUM_ALLOWED};
    use crate::services::clusapi::resource;

    #[test]
    fn close() {
        // opening by name: objclass::tests::open_by_name
        let f = fx();
        let c = api_close_group(&f.svc, &f.ctx, ApiCloseGroupRequest { group: ContextHandle::NULL });
        assert_eq!(c.result.0, win::ERROR_INVALID_HANDLE);
        let h = f.group("cluster GROUP");
        let c = api_close_group(&f.svc, &f.ctx, ApiCloseGroupRequest { group: h });
        assert_eq!((c.result.0, c.group.is_null()), (0, true));
        let c = api_close_group(&f.svc, &f.ctx, ApiCloseGroupRequest { group: h });
        assert_eq!(c.result.0, win::ERROR_INVALID_HANDLE);
        // a resource handle is not a group handle
        let res = f.resource("Cluster Name");
        let c = api_close_group(&f.svc, &f.ctx, ApiCloseGroupRequest { group: res });
        assert_eq!(c.result.0, win::ERROR_INVALID_HANDLE);
    }

    #[test]
    fn open_ex_evaluates_access() {
        let f = fx();
        let open = |ctx: &CallCtx, access: u32| {
            api_open_group_ex(
                &f.svc,
                ctx,
                ApiOpenGroupExRequest { group_name: w("Cluster Group"), desired_access: access },
            )
        };
        let r = open(&f.ctx, MAXIMUM_ALLOWED);
        assert_eq!((r.status.0, r.granted_access), (0, GENERIC_ALL));
        let r = open(&f.ro, MAXIMUM_ALLOWED);
        assert_eq!((r.status.0, r.granted_access), (0, GENERIC_READ));
        assert_eq!(open(&f.ro, GENERIC_ALL).status.0, win::ERROR_ACCESS_DENIED);
        let r = open(&f.ctx, CLUSAPI_CHANGE_ACCESS);
        assert_eq!((r.status.0, r.group.is_null()), (win::ERROR_INVALID_PARAMETER, true));
        let r = api_open_group_ex(
            &f.svc,
            &f.ctx,
            ApiOpenGroupExRequest { group_name: w("x"), desired_access: GENERIC_ALL },
        );
        assert_eq!((r.status.0, r.rpc_status, r.group.is_null()), (win::ERROR_GROUP_NOT_FOUND, 0, true));
    }

    #[test]
    fn state_and_id() {
        let f = fx();
        let h = f.group("Cluster Group");
        let r = api_get_group_state(&f.svc, &f.ctx, ApiGetGroupStateRequest { group: h });
        assert_eq!((r.result.0, r.state), (0, GroupState::Online.as_u32()));
        assert_eq!(r.node_name.unwrap().0, "CTDB_NODE_0");
        let r = api_get_group_id(&f.svc, &f.ctx, ApiGetGroupIdRequest { group: h });
        assert_eq!(r.guid.unwrap().0, f.snap().cluster_group().unwrap().id);
        // bad and wrong-type handles
        let res = f.resource("Cluster Name");
        let r = api_get_group_state(&f.svc, &f.ctx, ApiGetGroupStateRequest { group: res });
        assert_eq!((r.result.0, r.state, r.node_name), (win::ERROR_INVALID_HANDLE, u32::MAX, None));
        let r = api_get_group_id(&f.svc, &f.ctx, ApiGetGroupIdRequest { group: ContextHandle::NULL });
        assert_eq!((r.result.0, r.guid), (win::ERROR_INVALID_HANDLE, None));
    }

    #[tokio::test]
    async fn move_group_to_node_moves_the_public_ip() {
        let f = fx();
        let snap = f.snap();
        let g = snap.find_group_by_name("Public IP 127.0.100.1").unwrap();
        assert_eq!(g.owner, Some(0));
        let h = f.group("Public IP 127.0.100.1");
        let to = f.node("CTDB_NODE_2");
        let req = ApiMoveGroupToNodeRequest { group: h, node: to };
        assert_eq!(api_move_group_to_node(&f.svc, &f.ctx, req).await.result.0, 0);
        let after = f.snap();
        assert_eq!(after.find_group_by_name("Public IP 127.0.100.1").unwrap().owner, Some(2));
        assert_eq!(after.ip_host("127.0.100.1".parse().unwrap()), Some(Some(2)));
        // read-only handle, bad node handle
        let ro = f.group_read("Public IP 127.0.100.1");
        let req = ApiMoveGroupToNodeRequest { group: ro, node: to };
        assert_eq!(api_move_group_to_node(&f.svc, &f.ctx, req).await.result.0, win::ERROR_ACCESS_DENIED);
        let req = ApiMoveGroupToNodeExRequest { group: h, node: h, ..Default::default() };
        assert_eq!(api_move_group_to_node_ex(&f.svc, &f.ctx, req).await.result.0, win::ERROR_INVALID_HANDLE);
        // back with the Ex variant
        let req = ApiMoveGroupToNodeExRequest { group: h, node: f.node("CTDB_NODE_0"), ..Default::default() };
        assert_eq!(api_move_group_to_node_ex(&f.svc, &f.ctx, req).await.result.0, 0);
        assert_eq!(f.snap().find_group_by_name("Public IP 127.0.100.1").unwrap().owner, Some(0));
    }

    #[tokio::test]
    async fn move_group_picks_another_node() {
        let f = fx();
        let h = f.group("Public IP 127.0.100.2");
        assert_eq!(api_move_group(&f.svc, &f.ctx, ApiMoveGroupRequest { group: h }).await.result.0, 0);
        let owner = f.snap().find_group_by_name("Public IP 127.0.100.2").unwrap().owner;
        assert!(owner.is_some() && owner != Some(1));
        let req = ApiMoveGroupExRequest { group: h, ..Default::default() };
        assert_eq!(api_move_group_ex(&f.svc, &f.ctx, req).await.result.0, 0);
        // IGNORE_RESOURCE_STATUS with QUEUE_ENABLED is refused; other flags are accepted
        let before = f.snap().find_group_by_name("Public IP 127.0.100.2").unwrap().owner;
        let req = ApiMoveGroupExRequest { group: h, move_flags: 0x5, ..Default::default() };
        assert_eq!(api_move_group_ex(&f.svc, &f.ctx, req).await.result.0, win::ERROR_INVALID_PARAMETER);
        let req = ApiMoveGroupToNodeExRequest {
            group: h,
            node: f.node("CTDB_NODE_1"),
            move_flags: 0x5,
            ..Default::default()
        };
        assert_eq!(api_move_group_to_node_ex(&f.svc, &f.ctx, req).await.result.0, win::ERROR_INVALID_PARAMETER);
        assert_eq!(f.snap().find_group_by_name("Public IP 127.0.100.2").unwrap().owner, before, "refused moves moved");
        let req = ApiMoveGroupExRequest { group: h, move_flags: 0x2 | 0x8, ..Default::default() };
        assert_eq!(api_move_group_ex(&f.svc, &f.ctx, req).await.result.0, 0);
        // the File Server role runs on every node
        let fs = f.group("File Server");
        let r = api_move_group(&f.svc, &f.ctx, ApiMoveGroupRequest { group: fs }).await;
        assert_eq!(r.result.0, win::ERROR_NOT_SUPPORTED);
        let ro = f.group_read("Public IP 127.0.100.2");
        let r = api_move_group(&f.svc, &f.ctx, ApiMoveGroupRequest { group: ro }).await;
        assert_eq!(r.result.0, win::ERROR_ACCESS_DENIED);
    }

    #[tokio::test]
    async fn offline_and_online_go_through_the_backend() {
        let f = fx();
        let name = "Public IP 127.0.100.2";
        let h = f.group(name);
        let r = api_offline_group(&f.svc, &f.ctx, ApiOfflineGroupRequest { group: h }).await;
        assert_eq!(r.result.0, 0);
        let snap = f.snap();
        let g = snap.find_group_by_name(name).unwrap();
        assert_eq!(g.state, GroupState::Offline);
        assert!(snap.resources_in_group(&g.id).all(|r| r.state == nodes::ResourceState::Offline));
        let r = api_online_group(&f.svc, &f.ctx, ApiOnlineGroupRequest { group: h }).await;
        assert_eq!(r.result.0, 0);
        assert_eq!(f.snap().find_group_by_name(name).unwrap().state, GroupState::Online);
        let req = ApiOfflineGroupExRequest { group: h, ..Default::default() };
        assert_eq!(api_offline_group_ex(&f.svc, &f.ctx, req).await.result.0, 0);
        let req = ApiOnlineGroupExRequest { group: h, ..Default::default() };
        assert_eq!(api_online_group_ex(&f.svc, &f.ctx, req).await.result.0, 0);
        // read-only handles change nothing
        let ro = f.group_read(name);
        let r = api_offline_group(&f.svc, &f.ctx, ApiOfflineGroupRequest { group: ro }).await;
        assert_eq!(r.result.0, win::ERROR_ACCESS_DENIED);
        assert_eq!(f.snap().find_group_by_name(name).unwrap().state, GroupState::Online);
        let r = api_online_group(&f.svc, &f.ctx, ApiOnlineGroupRequest { group: ContextHandle::NULL }).await;
        assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);
        // an address no node can host stays offline: pending
        for pnn in 0..3 {
            f.sim.kill_node(pnn).unwrap();
        }
        let r = api_online_group(&f.svc, &f.ctx, ApiOnlineGroupRequest { group: f.group(name) }).await;
        assert_eq!(r.result.0, win::ERROR_IO_PENDING);
    }

    #[tokio::test]
    async fn create_rename_delete() {
        let f = fx();
        let h = f.create_group("g1").await;
        assert!(f.snap().find_group_by_name("g1").is_some());
        let r = api_create_group(&f.svc, &f.ctx, ApiCreateGroupRequest { group_name: w("G1") }).await;
        assert_eq!((r.status.0, r.group.is_null()), (win::ERROR_OBJECT_ALREADY_EXISTS, true));
        let r = api_create_group(&f.svc, &f.ctx, ApiCreateGroupRequest { group_name: w(" ") }).await;
        assert_eq!(r.status.0, win::ERROR_INVALID_NAME);
        let r = api_create_group(&f.svc, &f.ro, ApiCreateGroupRequest { group_name: w("g9") }).await;
        assert_eq!(r.status.0, win::ERROR_ACCESS_DENIED);

        let rename = |g: &ContextHandle, n: &str| {
            api_set_group_name(&f.svc, &f.ctx, ApiSetGroupNameRequest { group: *g, group_name: w(n) })
        };
        assert_eq!(rename(&h, "Cluster Group").await.result.0, win::ERROR_ALREADY_EXISTS);
        let cg_id = f.snap().cluster_group().unwrap().id.clone();
        assert_eq!(rename(&h, &cg_id).await.result.0, win::ERROR_ALREADY_EXISTS);
        assert_eq!(rename(&h, "").await.result.0, win::ERROR_INVALID_NAME);
        assert_eq!(rename(&h, "g1").await.result.0, 0);
        assert_eq!(rename(&h, "g2").await.result.0, 0);
        assert!(f.snap().find_group_by_name("g2").is_some());
        let ro = f.group_read("g2");
        assert_eq!(rename(&ro, "g3").await.result.0, win::ERROR_ACCESS_DENIED);

        // a group with a resource needs force
        f.create_resource(&h, "r1", "Generic Service").await;
        let del = |g: &ContextHandle, force: bool| {
            api_delete_group(&f.svc, &f.ctx, ApiDeleteGroupRequest { group: *g, force: Bool32(force) })
        };
        assert_eq!(del(&h, false).await.result.0, win::ERROR_DIR_NOT_EMPTY);
        assert_eq!(del(&ro, true).await.result.0, win::ERROR_ACCESS_DENIED);
        assert_eq!(del(&h, true).await.result.0, 0);
        let snap = f.snap();
        assert!(snap.find_group_by_name("g2").is_none() && snap.find_resource_by_name("r1").is_none());
        // the handle outlives the group
        assert_eq!(del(&h, false).await.result.0, win::ERROR_GROUP_NOT_FOUND);
        assert_eq!(rename(&h, "g4").await.result.0, win::ERROR_GROUP_NOT_AVAILABLE);
        // derived groups stay
        assert_eq!(del(&f.group("Cluster Group"), true).await.result.0, win::ERROR_CORE_RESOURCE);
        // derived groups can be renamed
        assert_eq!(rename(&f.group("File Server"), "Files").await.result.0, 0);
        assert!(f.snap().find_group_by_name("Files").is_some());
    }

    #[tokio::test]
    async fn create_group_ex_checks_its_info() {
        let f = fx();
        let mk = |name: &str, info: Option<(u32, u32)>| ApiCreateGroupExRequest {
            group_name: w(name),
            group_info: info.map(|(v, t)| ClusterCreateGroupInfoRpc { dw_version: v, dw_group_type: t }),
        };
        assert_eq!(api_create_group_ex(&f.svc, &f.ctx, mk("a", Some((2, 9999)))).await.status.0, 87);
        assert_eq!(
            api_create_group_ex(&f.svc, &f.ctx, mk("a", Some((1, 100)))).await.status.0,
            win::ERROR_NOT_SUPPORTED
        );
        let r = api_create_group_ex(&f.svc, &f.ctx, mk("a", Some((1, 9999)))).await;
        assert_eq!((r.status.0, r.group.is_null()), (0, false));
        assert_eq!(api_create_group_ex(&f.svc, &f.ctx, mk("b", None)).await.status.0, 0);
        assert_eq!(f.snap().find_group_by_name("a").unwrap().group_type, group_type::UNKNOWN);
    }

    #[tokio::test]
    async fn group_resource_enum_and_node_list() {
        let f = fx();
        let h = f.group("Cluster Group");
        let en = |g: &ContextHandle, t: u32| {
            let r = api_create_group_resource_enum(
                &f.svc,
                &f.ctx,
                ApiCreateGroupResourceEnumRequest { group: *g, enum_type: t },
            );
            assert_eq!(r.result.0, 0);
            names(r.return_enum)
        };
        assert_eq!(en(&h, 1), ["Cluster Name", "Cluster IP Address"]);
        assert_eq!(en(&h, 2), ["CTDB_NODE_0", "CTDB_NODE_1", "CTDB_NODE_2"]);
        assert_eq!(en(&h, 3).len(), 5);
        for bogus in [0x40, 0x80, 0x100] {
            assert!(en(&h, bogus).is_empty());
        }
        let r = api_create_group_resource_enum(
            &f.svc,
            &f.ctx,
            ApiCreateGroupResourceEnumRequest { group: ContextHandle::NULL, enum_type: 1 },
        );
        assert_eq!((r.result.0, r.return_enum), (win::ERROR_INVALID_HANDLE, None));

        let g = f.create_group("g").await;
        let units = |ids: &[&str]| {
            let b = multi_sz_encode(ids);
            let u: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            (idl::ConfArray(u.clone()), u32::try_from(u.len()).unwrap())
        };
        let set = |g: &ContextHandle, ids: &[&str]| {
            let (list, n) = units(ids);
            api_set_group_node_list(
                &f.svc,
                &f.ctx,
                ApiSetGroupNodeListRequest { group: *g, node_list: Some(list), cch_list_size: n },
            )
        };
        assert_eq!(set(&g, &["3", "1"]).await.result.0, 0);
        assert_eq!(en(&g, 2), ["CTDB_NODE_2", "CTDB_NODE_0"]);
        assert_eq!(f.snap().find_group_by_name("g").unwrap().preferred_owners, vec![2, 0]);
        assert_eq!(set(&g, &["9"]).await.result.0, win::ERROR_CLUSTER_NODE_NOT_FOUND);
        assert_eq!(set(&g, &[]).await.result.0, 0);
        assert!(en(&g, 2).is_empty());
        assert_eq!(set(&h, &["1"]).await.result.0, win::ERROR_NOT_SUPPORTED);
        assert_eq!(set(&f.group_read("g"), &["1"]).await.result.0, win::ERROR_ACCESS_DENIED);
    }

    fn props(b: Option<idl::ConfBytes>, cb: u32) -> PropertyList {
        let b = b.unwrap().0;
        assert_eq!(b.len(), cb as usize);
        PropertyList::decode(&b).unwrap()
    }

    #[test]
    fn create_group_enum() {
        let f = fx();
        let cluster = f.cluster();
        let req = |p: &[&str], ro: &[&str]| {
            let p = multi_sz_encode(p);
            let ro = multi_sz_encode(ro);
            ApiCreateGroupEnumRequest {
                cluster,
                cb_properties: p.len() as u32,
                properties: Some(idl::ConfBytes(p)),
                cb_ro_properties: ro.len() as u32,
                ro_properties: Some(idl::ConfBytes(ro)),
            }
        };
        // no property names (null buffers, as smbtorture's first call)
        let r = api_create_group_enum(&f.svc, &f.ctx, ApiCreateGroupEnumRequest { cluster, ..Default::default() });
        assert_eq!(r.result.0, 0);
        let list = r.result_list.unwrap().entries;
        assert_eq!(list.len(), f.snap().groups.len());
        let cg = &list[0];
        assert_eq!(cg.name.as_ref().unwrap().0, "Cluster Group");
        assert_eq!(cg.owner.as_ref().unwrap().0, "CTDB_NODE_0");
        assert_eq!((cg.dw_state, cg.dw_flags, cg.cb_properties, cg.properties.is_none()), (0, 1, 0, true));

        let r = api_create_group_enum(&f.svc, &f.ctx, req(&["Priority"], &["GroupType"]));
        assert_eq!(r.result.0, 0);
        let e = r.result_list.unwrap().entries.remove(0);
        let p = props(e.properties, e.cb_properties);
        assert_eq!((p.len(), p.get("Priority")), (1, Some(&PropValue::Dword(properties::DEFAULT_GROUP_PRIORITY))));
        let ro = props(e.ro_properties, e.cb_ro_properties);
        assert_eq!((ro.len(), ro.get("GroupType")), (1, Some(&PropValue::Dword(1))));

        // "*": every common / read-only common property, as the control codes return them
        let r = api_create_group_enum(&f.svc, &f.ctx, req(&["*"], &["*"]));
        assert_eq!(r.result.0, 0);
        let snap = f.snap();
        for (e, g) in r.result_list.unwrap().entries.into_iter().zip(&snap.groups) {
            assert_eq!(props(e.properties, e.cb_properties), properties::group_common(g, &snap));
            assert_eq!(props(e.ro_properties, e.cb_ro_properties), properties::group_ro_common(g, &snap));
        }
        // "*" is only a wildcard on its own
        for (p, ro) in [(&["Nope"][..], &[][..]), (&["GroupType"], &[]), (&[], &["Priority"]), (&["*", "Name"], &[])] {
            let r = api_create_group_enum(&f.svc, &f.ctx, req(p, ro));
            assert_eq!((r.result.0, r.result_list), (win::ERROR_INVALID_PARAMETER, None));
        }
        let mut bad = req(&[], &[]);
        bad.cluster = f.group("Cluster Group");
        assert_eq!(api_create_group_enum(&f.svc, &f.ctx, bad).result.0, win::ERROR_INVALID_HANDLE);
    }

    #[test]
    fn group_dependency_expressions() {
        assert_eq!(parse_group_expression("").unwrap(), Vec::<String>::new());
        assert_eq!(parse_group_expression("[a] and {[b] and ([c])}").unwrap(), ["a", "b", "c"]);
        for bad in ["[a] or [b]", "[a] [b]", "[a] and", "and [a]", "[a", "x"] {
            assert_eq!(parse_group_expression(bad), Err(win::ERROR_INVALID_PARAMETER), "{bad}");
        }
        let f = fx();
        let h = f.group("Public IP 127.0.100.1");
        let set = |g: &ContextHandle, e: &str| {
            api_set_group_dependency_expression(
                &f.svc,
                &f.ctx,
                ApiSetGroupDependencyExpressionRequest { group: *g, dependency_expression: w(e) },
            )
            .result
            .0
        };
        assert_eq!(set(&h, ""), 0);
        assert_eq!(set(&h, "[File Server]"), win::ERROR_NOT_SUPPORTED);
        assert_eq!(set(&h, "[Public IP 127.0.100.1]"), win::ERROR_CIRCULAR_DEPENDENCY);
        assert_eq!(set(&h, "[nope]"), win::ERROR_GROUP_NOT_FOUND);
        assert_eq!(set(&h, "[File Server] or [Cluster Group]"), win::ERROR_INVALID_PARAMETER);
        assert_eq!(set(&f.group_read("File Server"), ""), win::ERROR_ACCESS_DENIED);

        let rm = |a: &ContextHandle, b: &ContextHandle| {
            api_remove_cluster_group_dependency(
                &f.svc,
                &f.ctx,
                ApiRemoveClusterGroupDependencyRequest { group: *a, depends_on: *b },
            )
            .result
            .0
        };
        assert_eq!(rm(&h, &f.group("File Server")), win::ERROR_DEPENDENCY_NOT_FOUND);
        assert_eq!(rm(&h, &ContextHandle::NULL), win::ERROR_INVALID_HANDLE);
    }

    #[test]
    fn cancel_has_nothing_to_cancel() {
        let f = fx();
        let h = f.group("Cluster Group");
        let c = |g: &ContextHandle, flags: u32| {
            api_cancel_cluster_group_operation(
                &f.svc,
                &f.ctx,
                ApiCancelClusterGroupOperationRequest { group: *g, cancel_flags: flags },
            )
            .result
            .0
        };
        assert_eq!(c(&h, 0), win::ERROR_INVALID_STATE);
        assert_eq!(c(&h, 1), win::ERROR_INVALID_PARAMETER);
        assert_eq!(c(&f.group_read("Cluster Group"), 0), win::ERROR_ACCESS_DENIED);
        assert_eq!(c(&ContextHandle::NULL, 0), win::ERROR_INVALID_HANDLE);
        let _ = resource::res_enum::NODES;
    }
}
