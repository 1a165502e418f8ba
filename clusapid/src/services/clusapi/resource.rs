//! Resource operations ([MS-CMRP] 3.1.4.2.9-26, 3.1.4.2.109-111, 3.1.4.2.119, 3.1.4.2.122,
//! 3.1.4.2.134-135, 3.1.4.2.140, 3.1.4.2.142, 3.1.4.2.164, 3.1.4.2.166): open/create/delete,
//! state, name, id and type, online/offline/fail, dependencies (simple and as expressions),
//! possible owners, moving between groups, the per-resource enumeration, and
//! ApiCreateResourceEnum (its property lists come from [`super::properties`], which the
//! ResourceControl codes share).
//!
//! The resources: "Cluster Name" (Network Name) and "Cluster IP Address" in the Cluster Group,
//! "IP Address <addr>" per CTDB public address, "File Server" and one "File Share <name>" per
//! Samba share, and resources created through clusapi (admin overlay). Only created resources
//! can be deleted (ERROR_CORE_RESOURCE otherwise); the dependencies and possible owners of the
//! others are part of the CTDB mapping (ERROR_NOT_SUPPORTED). Every resource keeps a Network
//! Name in its dependency chain, so ApiGetResourceNetworkName answers for all of them.
//!
//! The model has simple dependencies only: a dependency expression with an "or" between two
//! different resources is ERROR_NOT_SUPPORTED. CTDB has no cluster shared volumes, so the CSV
//! state changes are refused by design (ERROR_NOT_SUPPORTED).

use std::sync::Arc;

use idl::clusapi::*;
use idl::{ConfBytes, ContextHandle, WError, WString};
use nodes::ids::names_equal;
use nodes::{ClusterState, Resource, ResourceState};

use super::access::Granted;
use super::group::{bytes_len, enum_with_properties};
use super::objclass::{
    enumerate, handle, object, read, writable, writable_object, writable_objects, Groups, Nodes, Resources,
};
use super::properties;
use super::{status, win, ClusapiService, ResourceHandle};
use crate::services::CallCtx;

pub use super::objclass::{
    close as api_close_resource, get_id as api_get_resource_id, get_state as api_get_resource_state,
    offline as api_offline_resource, offline as api_offline_resource_ex, online as api_online_resource,
    online as api_online_resource_ex, open as api_open_resource, open as api_open_resource_ex,
    set_name as api_set_resource_name,
};

pub use idl::clusenum::res_enum;

/// ApiCreateResource dwFlags ([MS-CMRP] 3.1.4.2.10).
pub mod create_flags {
    pub const DEFAULT_MONITOR: u32 = 0x0;
    pub const SEPARATE_MONITOR: u32 = 0x1;
}

/// CLUSAPI_CHANGE_RESOURCE_GROUP_FORCE_MOVE_TO_CSV ([MS-CMRP] 3.1.4.2.166).
pub const CHANGE_RESOURCE_GROUP_FORCE_MOVE_TO_CSV: u64 = 0x1;

/// The deepest dependency tree allowed ([MS-CMRP] 3.1.4.2.20: "The server MUST limit the depth
/// of a resource's dependency tree to 100").
pub const MAX_DEPENDENCY_DEPTH: usize = 100;

/// [MS-CMRP 3.1.4.2.10] ApiCreateResource: an Offline resource of an existing type in the group,
/// kept in the admin overlay and depending on "Cluster Name" (unless it is a Network Name
/// itself); the handle grants "All". Unknown type: ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND; name
/// taken: ERROR_OBJECT_ALREADY_EXISTS; dwFlags other than the two monitor choices:
/// ERROR_INVALID_PARAMETER.
pub async fn api_create_resource(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateResourceRequest,
) -> ApiCreateResourceResponse {
    let r = async {
        let g = writable::<Groups>(ctx, &req.group)?;
        if req.flags != create_flags::DEFAULT_MONITOR && req.flags != create_flags::SEPARATE_MONITOR {
            return Err(win::ERROR_INVALID_PARAMETER);
        }
        let name = req.resource_name.as_str();
        if name.trim().is_empty() {
            return Err(win::ERROR_INVALID_NAME);
        }
        {
            let snap = s.backend.snapshot();
            object::<Groups>(&snap, &g)?;
            if snap.find_resource_type(req.resource_type.as_str()).is_none() {
                return Err(win::ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND);
            }
        }
        let id =
            s.backend.create_resource(&g.id, name, req.resource_type.as_str()).await.map_err(|e| e.win32_code())?;
        ctx.group.insert(ResourceHandle { id, access: Granted::All }).ok_or(win::ERROR_NOT_ENOUGH_MEMORY)
    }
    .await;
    match r {
        Ok(resource) => ApiCreateResourceResponse { status: WError(0), rpc_status: 0, resource },
        Err(e) => ApiCreateResourceResponse::error(e),
    }
}

/// True in the states a delete or a dependency check treats as "online".
fn is_online(state: ResourceState) -> bool {
    matches!(
        state,
        ResourceState::Online | ResourceState::OnlinePending | ResourceState::OfflinePending | ResourceState::Pending
    )
}

/// [MS-CMRP 3.1.4.2.11] ApiDeleteResource: deletes a created resource that is not online
/// (ERROR_RESOURCE_ONLINE) and that nothing depends on (ERROR_DEPENDENT_RESOURCE_EXISTS).
/// Resources mirroring CTDB state give ERROR_CORE_RESOURCE.
pub async fn api_delete_resource(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiDeleteResourceRequest,
) -> ApiDeleteResourceResponse {
    let r = async {
        let h = writable::<Resources>(ctx, &req.resource)?;
        {
            let snap = s.backend.snapshot();
            let r = object::<Resources>(&snap, &h)?;
            if !r.is_created() {
                return Err(win::ERROR_CORE_RESOURCE);
            }
            if is_online(r.state) {
                return Err(win::ERROR_RESOURCE_ONLINE);
            }
            if snap.dependents_of(&r.id).next().is_some() {
                return Err(win::ERROR_DEPENDENT_RESOURCE_EXISTS);
            }
        }
        s.backend.delete_resource(&h.id).await.map_err(|e| e.win32_code())
    }
    .await;
    ApiDeleteResourceResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.16] ApiGetResourceType: the resource type's name.
pub fn api_get_resource_type(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiGetResourceTypeRequest,
) -> ApiGetResourceTypeResponse {
    match read::<Resources, _>(s, ctx, &req.resource, |_, r| WString::new(r.type_name.clone())) {
        Ok(t) => ApiGetResourceTypeResponse { resource_type: Some(t), rpc_status: 0, result: WError(0) },
        Err(e) => ApiGetResourceTypeResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.17] ApiFailResource: the resource shows Failed until it is brought online.
pub async fn api_fail_resource(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiFailResourceRequest,
) -> ApiFailResourceResponse {
    let r = async {
        let h = writable::<Resources>(ctx, &req.resource)?;
        object::<Resources>(&s.backend.snapshot(), &h)?;
        s.backend.fail_resource(&h.id).await.map_err(|e| e.win32_code())
    }
    .await;
    ApiFailResourceResponse { rpc_status: 0, result: status(r) }
}

/// ERROR_SUCCESS once the resource shows `want`, ERROR_IO_PENDING while it does not (yet): a
/// CTDB backend shows the effect after its next poll, and an address no node can host stays
/// offline until one can.
fn settled(s: &ClusapiService, id: &str, want: ResourceState) -> Result<(), u32> {
    match s.backend.snapshot().resource_by_id(id) {
        Some(r) if r.state == want => Ok(()),
        _ => Err(win::ERROR_IO_PENDING),
    }
}

/// [MS-CMRP 3.1.4.2.142] ApiRestartResource: offline then online; 0 once Online again,
/// ERROR_IO_PENDING while not.
pub async fn api_restart_resource(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiRestartResourceRequest,
) -> ApiRestartResourceResponse {
    let r = async {
        let h = writable::<Resources>(ctx, &req.resource)?;
        object::<Resources>(&s.backend.snapshot(), &h)?;
        s.backend.set_resource_offline(&h.id).await.map_err(|e| e.win32_code())?;
        s.backend.set_resource_online(&h.id).await.map_err(|e| e.win32_code())?;
        settled(s, &h.id, ResourceState::Online)
    }
    .await;
    ApiRestartResourceResponse { rpc_status: 0, result: status(r) }
}

/// Whether `from` depends on `to`, directly or through other resources.
pub fn depends_on(snap: &ClusterState, from: &str, to: &str) -> bool {
    let mut stack = vec![from.to_owned()];
    let mut seen: Vec<String> = Vec::new();
    while let Some(cur) = stack.pop() {
        if seen.iter().any(|s| names_equal(s, &cur)) {
            continue;
        }
        if let Some(r) = snap.resource_by_id(&cur) {
            if r.dependencies.iter().any(|d| names_equal(d, to)) {
                return true;
            }
            stack.extend(r.dependencies.iter().cloned());
        }
        seen.push(cur);
    }
    false
}

/// The depth of `id`'s dependency tree (1 for a resource without dependencies).
fn tree_depth(snap: &ClusterState, id: &str, guard: usize) -> usize {
    if guard > MAX_DEPENDENCY_DEPTH {
        return guard;
    }
    let deps = snap.resource_by_id(id).map(|r| r.dependencies.clone()).unwrap_or_default();
    1 + deps.iter().map(|d| tree_depth(snap, d, guard + 1)).max().unwrap_or(0)
}

/// The checks of a new dependency of `r` on `provider` ([MS-CMRP] 3.1.4.2.20, 3.1.4.2.22).
fn check_new_dependency(snap: &ClusterState, r: &Resource, provider: &Resource) -> Result<(), u32> {
    // "ERROR_INVALID_PARAMETER if hResource and hDependsOn designate the same resource"
    if r.id == provider.id {
        return Err(win::ERROR_INVALID_PARAMETER);
    }
    // "ERROR_DEPENDENCY_ALREADY_EXISTS ... if a dependency already exists"
    if r.dependencies.iter().any(|d| names_equal(d, &provider.id)) {
        return Err(win::ERROR_DEPENDENCY_ALREADY_EXISTS);
    }
    // [MS-CMRP 3.1.4.2.22] ERROR_INVALID_PARAMETER: "The resources are not in the same group."
    if !names_equal(&r.group_id, &provider.group_id) {
        return Err(win::ERROR_INVALID_PARAMETER);
    }
    // "ERROR_CIRCULAR_DEPENDENCY if the new dependency would result in a circular dependency"
    if depends_on(snap, &provider.id, &r.id) {
        return Err(win::ERROR_CIRCULAR_DEPENDENCY);
    }
    if 1 + tree_depth(snap, &provider.id, 0) > MAX_DEPENDENCY_DEPTH {
        return Err(win::ERROR_DEPENDENCY_TREE_TOO_COMPLEX);
    }
    Ok(())
}

/// [MS-CMRP 3.1.4.2.20] ApiAddResourceDependency: `hResource` comes to depend on `hDependsOn`
/// (created resources only; both handles need "All").
pub async fn api_add_resource_dependency(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiAddResourceDependencyRequest,
) -> ApiAddResourceDependencyResponse {
    let r = async {
        let h = writable::<Resources>(ctx, &req.resource)?;
        let p = writable::<Resources>(ctx, &req.depends_on)?;
        let snap = s.backend.snapshot();
        let r = object::<Resources>(&snap, &h)?;
        let provider = object::<Resources>(&snap, &p)?;
        check_new_dependency(&snap, r, provider)?;
        let mut deps = r.dependencies.clone();
        deps.push(provider.id.clone());
        s.backend.set_resource_dependencies(&r.id, deps).await.map_err(|e| e.win32_code())
    }
    .await;
    ApiAddResourceDependencyResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.21] ApiRemoveResourceDependency: ERROR_DEPENDENCY_NOT_FOUND when there is
/// no such dependency; a created resource keeps a Network Name in its chain
/// (ERROR_INVALID_STATE otherwise).
pub async fn api_remove_resource_dependency(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiRemoveResourceDependencyRequest,
) -> ApiRemoveResourceDependencyResponse {
    let r = async {
        let h = writable::<Resources>(ctx, &req.resource)?;
        let p = writable::<Resources>(ctx, &req.depends_on)?;
        let snap = s.backend.snapshot();
        let r = object::<Resources>(&snap, &h)?;
        let provider = object::<Resources>(&snap, &p)?;
        if !r.dependencies.iter().any(|d| names_equal(d, &provider.id)) {
            return Err(win::ERROR_DEPENDENCY_NOT_FOUND);
        }
        let deps = r.dependencies.iter().filter(|d| !names_equal(d, &provider.id)).cloned().collect();
        s.backend.set_resource_dependencies(&r.id, deps).await.map_err(|e| e.win32_code())
    }
    .await;
    ApiRemoveResourceDependencyResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.22] ApiCanResourceBeDependent: whether `hResource` could depend on
/// `hResourceDependent`, with the spec's checks; nothing changes. Resources mirroring CTDB
/// state have fixed dependencies: ERROR_NOT_SUPPORTED.
pub fn api_can_resource_be_dependent(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCanResourceBeDependentRequest,
) -> ApiCanResourceBeDependentResponse {
    let r = (|| {
        let h = handle::<Resources>(ctx, &req.resource)?;
        let p = handle::<Resources>(ctx, &req.resource_dependent)?;
        let snap = s.backend.snapshot();
        let r = object::<Resources>(&snap, &h)?;
        let provider = object::<Resources>(&snap, &p)?;
        check_new_dependency(&snap, r, provider)?;
        // ERROR_RESOURCE_ONLINE: "hResource is in the ClusterResourceOnlinePending state" or
        // "is in the ClusterResourceOnline state and hResourceDependent is in the
        // ClusterResourceOnline state"
        if r.state == ResourceState::OnlinePending
            || (r.state == ResourceState::Online && provider.state == ResourceState::Online)
        {
            return Err(win::ERROR_RESOURCE_ONLINE);
        }
        if !r.is_created() {
            return Err(win::ERROR_NOT_SUPPORTED);
        }
        Ok(())
    })();
    ApiCanResourceBeDependentResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.23] ApiCreateResEnum: the resources it depends on (DEPENDS), those that
/// depend on it (PROVIDES) and its possible owner nodes (NODES); other bits are ignored.
pub fn api_create_res_enum(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateResEnumRequest,
) -> ApiCreateResEnumResponse {
    enumerate::<Resources, _>(s, ctx, &req.resource, req.enum_type, |snap, r| {
        vec![
            (
                res_enum::DEPENDS,
                r.dependencies.iter().filter_map(|d| snap.resource_by_id(d)).map(|d| d.name.clone()).collect(),
            ),
            (res_enum::PROVIDES, snap.dependents_of(&r.id).map(|d| d.name.clone()).collect()),
            (res_enum::NODES, r.possible_owners.iter().filter_map(|&p| snap.node_name(p)).map(str::to_owned).collect()),
        ]
    })
}

/// The resource and node handles of a possible-owner edit, both with "All" access.
fn resource_and_node(
    ctx: &CallCtx,
    res: &ContextHandle,
    node: &ContextHandle,
) -> Result<(Arc<ResourceHandle>, u32), u32> {
    let h = writable::<Resources>(ctx, res)?;
    let n = handle::<Nodes>(ctx, node)?;
    if n.access != Granted::All {
        return Err(win::ERROR_ACCESS_DENIED);
    }
    Ok((h, n.pnn))
}

/// [MS-CMRP 3.1.4.2.24] ApiAddResourceNode: adds a possible owner to a created resource.
pub async fn api_add_resource_node(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiAddResourceNodeRequest,
) -> ApiAddResourceNodeResponse {
    let r = async {
        let (h, pnn) = resource_and_node(ctx, &req.resource, &req.node)?;
        let snap = s.backend.snapshot();
        let r = object::<Resources>(&snap, &h)?;
        snap.node_by_pnn(pnn).ok_or(win::ERROR_CLUSTER_NODE_NOT_FOUND)?;
        // "MUST fail this method using ERROR_OBJECT_ALREADY_EXISTS if the set is not empty and
        // the node is already a member of the set"
        if r.possible_owners.contains(&pnn) {
            return Err(win::ERROR_OBJECT_ALREADY_EXISTS);
        }
        let mut owners = r.possible_owners.clone();
        owners.push(pnn);
        s.backend.set_resource_possible_owners(&r.id, owners).await.map_err(|e| e.win32_code())
    }
    .await;
    ApiAddResourceNodeResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.25] ApiRemoveResourceNode: removes a possible owner of a created resource.
pub async fn api_remove_resource_node(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiRemoveResourceNodeRequest,
) -> ApiRemoveResourceNodeResponse {
    let r = async {
        let (h, pnn) = resource_and_node(ctx, &req.resource, &req.node)?;
        let snap = s.backend.snapshot();
        let r = object::<Resources>(&snap, &h)?;
        // "MUST fail this method using ERROR_CLUSTER_NODE_NOT_FOUND if the set is not empty and
        // the node is not a member of the set"
        if !r.possible_owners.is_empty() && !r.possible_owners.contains(&pnn) {
            return Err(win::ERROR_CLUSTER_NODE_NOT_FOUND);
        }
        // "MUST fail this method using ERROR_INVALID_STATE if the specified node is the current
        // owner of the resource and the resource is in the ClusterResourceOnline,
        // ClusterResourceOnlinePending or ClusterResourceOfflinePending state"
        let busy =
            matches!(r.state, ResourceState::Online | ResourceState::OnlinePending | ResourceState::OfflinePending);
        if r.owner == Some(pnn) && busy {
            return Err(win::ERROR_INVALID_STATE);
        }
        let owners = r.possible_owners.iter().copied().filter(|&p| p != pnn).collect();
        s.backend.set_resource_possible_owners(&r.id, owners).await.map_err(|e| e.win32_code())
    }
    .await;
    ApiRemoveResourceNodeResponse { rpc_status: 0, result: status(r) }
}

async fn change_group(
    s: &ClusapiService,
    ctx: &CallCtx,
    res: &ContextHandle,
    group: &ContextHandle,
) -> Result<(), u32> {
    let (h, g) = writable_objects::<Resources, Groups>(s, ctx, res, group)?;
    s.backend.change_resource_group(&h.id, &g.id).await.map_err(|e| e.win32_code())
}

/// [MS-CMRP 3.1.4.2.26] ApiChangeResourceGroup: moves a created resource, and the resources of
/// its group its dependency tree reaches, to another group. A tree holding a resource that
/// mirrors CTDB state (e.g. "Cluster Name" for a resource created in the Cluster Group) cannot
/// move: ERROR_CORE_RESOURCE.
pub async fn api_change_resource_group(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiChangeResourceGroupRequest,
) -> ApiChangeResourceGroupResponse {
    ApiChangeResourceGroupResponse {
        rpc_status: 0,
        result: status(change_group(s, ctx, &req.resource, &req.group).await),
    }
}

/// [MS-CMRP 3.1.4.2.166] ApiChangeResourceGroupEx: as ApiChangeResourceGroup. There are no
/// cluster shared volume groups, so CLUSAPI_CHANGE_RESOURCE_GROUP_FORCE_MOVE_TO_CSV is
/// ERROR_NOT_SUPPORTED; unknown flags are ERROR_INVALID_PARAMETER.
pub async fn api_change_resource_group_ex(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiChangeResourceGroupExRequest,
) -> ApiChangeResourceGroupExResponse {
    let r = async {
        writable::<Resources>(ctx, &req.resource)?;
        writable::<Groups>(ctx, &req.group)?;
        if req.flags & !CHANGE_RESOURCE_GROUP_FORCE_MOVE_TO_CSV != 0 {
            return Err(win::ERROR_INVALID_PARAMETER);
        }
        if req.flags & CHANGE_RESOURCE_GROUP_FORCE_MOVE_TO_CSV != 0 {
            return Err(win::ERROR_NOT_SUPPORTED);
        }
        change_group(s, ctx, &req.resource, &req.group).await
    }
    .await;
    ApiChangeResourceGroupExResponse { rpc_status: 0, result: status(r) }
}

/// The dependency expression of `r`: its dependencies' names, bracketed, joined by " and "
/// (empty without dependencies), e.g. `[Cluster Name] and [File Server]`.
pub fn dependency_expression(snap: &ClusterState, r: &Resource) -> String {
    r.dependencies
        .iter()
        .filter_map(|d| snap.resource_by_id(d))
        .map(|d| format!("[{}]", d.name))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Parses a resource dependency expression ([MS-CMRP] 3.1.4.2.109 grammar: "ANDs of ORs" of
/// bracketed resource names or ids) into its AND terms, each the list of its OR operands.
/// Malformed input is ERROR_INVALID_PARAMETER.
pub fn parse_dependency_expression(expr: &str) -> Result<Vec<Vec<String>>, u32> {
    #[derive(PartialEq)]
    enum Tok {
        Res(String),
        Open,
        Close,
        And,
        Or,
    }
    let mut toks = Vec::new();
    let mut rest = expr;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else if c == '(' || c == ')' {
            toks.push(if c == '(' { Tok::Open } else { Tok::Close });
            rest = &rest[1..];
        } else if c == '[' {
            let end = rest.find(']').ok_or(win::ERROR_INVALID_PARAMETER)?;
            toks.push(Tok::Res(rest[1..end].to_owned()));
            rest = &rest[end + 1..];
        } else {
            let word: String = rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
            if word.eq_ignore_ascii_case("and") {
                toks.push(Tok::And);
            } else if word.eq_ignore_ascii_case("or") {
                toks.push(Tok::Or);
            } else {
                return Err(win::ERROR_INVALID_PARAMETER);
            }
            rest = &rest[word.len()..];
        }
    }
    // and_term ("and" and_term)*, and_term = resource | "(" resource ("or" resource)* ")"; a
    // bare "a or b" (the grammar's first form) is one term too.
    let mut terms: Vec<Vec<String>> = Vec::new();
    let mut i = 0;
    let bad = win::ERROR_INVALID_PARAMETER;
    while i < toks.len() {
        let paren = toks[i] == Tok::Open;
        if paren {
            i += 1;
        }
        let mut term = Vec::new();
        loop {
            match toks.get(i) {
                Some(Tok::Res(r)) => term.push(r.clone()),
                _ => return Err(bad),
            }
            i += 1;
            if toks.get(i) == Some(&Tok::Or) && (paren || terms.is_empty()) {
                i += 1;
                continue;
            }
            break;
        }
        if paren {
            if toks.get(i) != Some(&Tok::Close) {
                return Err(bad);
            }
            i += 1;
        }
        terms.push(term);
        match toks.get(i) {
            None => break,
            Some(Tok::And) if i + 1 < toks.len() => i += 1,
            _ => return Err(bad),
        }
    }
    Ok(terms)
}

/// [MS-CMRP 3.1.4.2.109] ApiSetResourceDependencyExpression: replaces the dependencies with the
/// expression's (null or empty: none). Each AND term must name one resource (possibly
/// repeated in an "or"); real alternatives are ERROR_NOT_SUPPORTED. Unknown resources are
/// ERROR_RESOURCE_NOT_FOUND; new dependencies follow ApiAddResourceDependency's rules. Setting
/// the current dependencies again succeeds for any resource.
pub async fn api_set_resource_dependency_expression(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiSetResourceDependencyExpressionRequest,
) -> ApiSetResourceDependencyExpressionResponse {
    let r = async {
        let h = writable::<Resources>(ctx, &req.resource)?;
        let expr = req.dependency_expression.as_ref().map(|e| e.as_str()).unwrap_or_default();
        let terms = parse_dependency_expression(expr)?;
        let snap = s.backend.snapshot();
        let r = object::<Resources>(&snap, &h)?;
        let mut deps: Vec<String> = Vec::new();
        for term in &terms {
            let mut ids: Vec<String> = Vec::new();
            for name in term {
                let d = snap.find_resource_by_name(name).or_else(|| snap.resource_by_id(name));
                let d = d.ok_or(win::ERROR_RESOURCE_NOT_FOUND)?;
                if !ids.contains(&d.id) {
                    ids.push(d.id.clone());
                }
            }
            if ids.len() > 1 {
                return Err(win::ERROR_NOT_SUPPORTED);
            }
            deps.extend(ids.into_iter().filter(|id| !deps.contains(id)).collect::<Vec<_>>());
        }
        let same =
            deps.len() == r.dependencies.len() && deps.iter().all(|d| r.dependencies.iter().any(|x| names_equal(x, d)));
        if same {
            return Ok(());
        }
        for d in deps.iter().filter(|d| !r.dependencies.iter().any(|x| names_equal(x, d))) {
            let provider = snap.resource_by_id(d).ok_or(win::ERROR_RESOURCE_NOT_FOUND)?;
            check_new_dependency(&snap, r, provider)?;
        }
        s.backend.set_resource_dependencies(&r.id, deps).await.map_err(|e| e.win32_code())
    }
    .await;
    ApiSetResourceDependencyExpressionResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.110] ApiGetResourceDependencyExpression: see [`dependency_expression`].
pub fn api_get_resource_dependency_expression(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiGetResourceDependencyExpressionRequest,
) -> ApiGetResourceDependencyExpressionResponse {
    match read::<Resources, _>(s, ctx, &req.resource, |snap, r| WString::new(dependency_expression(snap, r))) {
        Ok(x) => ApiGetResourceDependencyExpressionResponse {
            dependency_expression: Some(x),
            rpc_status: 0,
            result: WError(0),
        },
        Err(e) => ApiGetResourceDependencyExpressionResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.111] ApiGetResourceNetworkName: the `Name` of the Network Name resource
/// found along the dependency chain (the cluster's name for every derived resource);
/// ERROR_DEPENDENCY_NOT_FOUND without one.
pub fn api_get_resource_network_name(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiGetResourceNetworkNameRequest,
) -> ApiGetResourceNetworkNameResponse {
    let name =
        read::<Resources, _>(s, ctx, &req.resource, |snap, r| snap.resource_network_name(&r.id).map(WString::new));
    match name.and_then(|n| n.ok_or(win::ERROR_DEPENDENCY_NOT_FOUND)) {
        Ok(name) => ApiGetResourceNetworkNameResponse { name: Some(name), rpc_status: 0, result: WError(0) },
        Err(e) => ApiGetResourceNetworkNameResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.122] ApiChangeCsvState: refused by design — CTDB clusters have no cluster
/// shared volumes, so no resource is one: ERROR_NOT_SUPPORTED after the handle checks.
pub fn api_change_csv_state(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiChangeCsvStateRequest,
) -> ApiChangeCsvStateResponse {
    ApiChangeCsvStateResponse { rpc_status: 0, result: refused(s, ctx, &req.resource) }
}

/// [MS-CMRP 3.1.4.2.164] ApiChangeCsvStateEx: refused by design, as ApiChangeCsvState.
pub fn api_change_csv_state_ex(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiChangeCsvStateExRequest,
) -> ApiChangeCsvStateExResponse {
    ApiChangeCsvStateExResponse { rpc_status: 0, result: refused(s, ctx, &req.resource) }
}

/// The status of a call on a resource that is refused by design (both CSV state calls,
/// ApiSetQuorumResource): the handle checks (a writable handle of a resource that still
/// exists), then ERROR_NOT_SUPPORTED.
pub fn refused(s: &ClusapiService, ctx: &CallCtx, resource: &ContextHandle) -> WError {
    status(writable_object::<Resources>(s, ctx, resource).and(Err(win::ERROR_NOT_SUPPORTED)))
}

/// [MS-CMRP 3.1.4.2.140] ApiCreateResourceEnum: every resource with its id, its group's name and
/// id, and property lists of the common (`pProperties`) and read-only (`pRoProperties`)
/// properties named in the two MULTI_SZ inputs (either may be empty; unknown names are
/// ERROR_INVALID_PARAMETER).
pub fn api_create_resource_enum(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateResourceEnumRequest,
) -> ApiCreateResourceEnumResponse {
    let names = [(req.properties.as_ref(), req.cb_properties), (req.ro_properties.as_ref(), req.cb_ro_properties)];
    let resources: fn(&ClusterState) -> &[Resource] = |snap| &snap.resources;
    let lists = [properties::resource_common, properties::resource_ro_common];
    let r = enum_with_properties(s, ctx, &req.cluster, names, resources, lists, |snap, r, props, ro_props| {
        let group = snap.group_by_id(&r.group_id);
        ResourceEnumEntry {
            name: Some(WString::new(r.name.clone())),
            id: Some(WString::new(r.id.clone())),
            owner_name: Some(WString::new(group.map(|g| g.name.clone()).unwrap_or_default())),
            owner_id: Some(WString::new(r.group_id.clone())),
            cb_properties: bytes_len(&props),
            properties: props.map(ConfBytes),
            cb_ro_properties: bytes_len(&ro_props),
            ro_properties: ro_props.map(ConfBytes),
        }
    });
    match r {
        Ok(entries) => ApiCreateResourceEnumResponse {
            result_list: Some(ResourceEnumList { entries }),
            rpc_status: 0,
            result: WError(0),
        },
        Err(e) => ApiCreateResourceEnumResponse::error(e),
    }
}

#[cfg(test)]
mod tests {
    use registry_model::{multi_sz_encode, PropValue, PropertyList};

    use super::super::fixture::{fx, names, w, Fx};
    use super::*;

    fn code(r: WError) -> u32 {
        r.0
    }

    #[test]
    fn open_ex_and_close() {
        // opening by name: objclass::tests::open_by_name
        let f = fx();
        let req = ApiOpenResourceExRequest { resource_name: w("Cluster Name"), desired_access: 0x0200_0000 };
        let r = api_open_resource_ex(&f.svc, &f.ro, req);
        assert_eq!((r.status.0, r.granted_access), (0, 0x8000_0000));
        let c = api_close_resource(&f.svc, &f.ro, ApiCloseResourceRequest { resource: r.resource });
        assert_eq!((c.result.0, c.resource.is_null()), (0, true));
        let c = api_close_resource(&f.svc, &f.ro, ApiCloseResourceRequest { resource: r.resource });
        assert_eq!(c.result.0, win::ERROR_INVALID_HANDLE);
        // a group handle is not a resource handle
        let c = api_close_resource(&f.svc, &f.ctx, ApiCloseResourceRequest { resource: f.group("Cluster Group") });
        assert_eq!(c.result.0, win::ERROR_INVALID_HANDLE);
    }

    #[test]
    fn state_id_type_and_network_name() {
        let f = fx();
        let h = f.resource("Cluster IP Address");
        let r = api_get_resource_state(&f.svc, &f.ctx, ApiGetResourceStateRequest { resource: h });
        assert_eq!((r.result.0, r.state), (0, ResourceState::Online.as_u32()));
        assert_eq!((r.node_name.unwrap().0, r.group_name.unwrap().0), ("CTDB_NODE_0".into(), "Cluster Group".into()));
        let r = api_get_resource_id(&f.svc, &f.ctx, ApiGetResourceIdRequest { resource: h });
        assert_eq!(r.guid.unwrap().0, f.snap().find_resource_by_name("Cluster IP Address").unwrap().id);
        let r = api_get_resource_type(&f.svc, &f.ctx, ApiGetResourceTypeRequest { resource: h });
        assert_eq!(r.resource_type.unwrap().0, "IP Address");
        let r = api_get_resource_dependency_expression(
            &f.svc,
            &f.ctx,
            ApiGetResourceDependencyExpressionRequest { resource: h },
        );
        assert_eq!(r.dependency_expression.unwrap().0, "[Cluster Name]");
        let r = api_get_resource_dependency_expression(
            &f.svc,
            &f.ctx,
            ApiGetResourceDependencyExpressionRequest { resource: f.resource("Cluster Name") },
        );
        assert_eq!((r.result.0, r.dependency_expression.unwrap().0), (0, String::new()));
        // every resource answers its network name
        for res in &f.snap().resources {
            let req = ApiGetResourceNetworkNameRequest { resource: f.resource(&res.name) };
            let r = api_get_resource_network_name(&f.svc, &f.ctx, req);
            assert_eq!((r.result.0, r.name.unwrap().0), (0, "CTDB-CLUSTER".to_owned()), "{}", res.name);
        }
        // bad and wrong-type handles
        let g = f.group("Cluster Group");
        let r = api_get_resource_state(&f.svc, &f.ctx, ApiGetResourceStateRequest { resource: g });
        assert_eq!((r.result.0, r.state), (win::ERROR_INVALID_HANDLE, u32::MAX));
        let r = api_get_resource_id(&f.svc, &f.ctx, ApiGetResourceIdRequest { resource: g });
        assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);
        let r = api_get_resource_type(&f.svc, &f.ctx, ApiGetResourceTypeRequest { resource: ContextHandle::NULL });
        assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);
        let r = api_get_resource_network_name(&f.svc, &f.ctx, ApiGetResourceNetworkNameRequest { resource: g });
        assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);
    }

    #[tokio::test]
    async fn create_rename_delete() {
        let f = fx();
        let g = f.group("Cluster Group");
        let mk = |name: &str, t: &str, flags: u32| ApiCreateResourceRequest {
            group: g,
            resource_name: w(name),
            resource_type: w(t),
            flags,
        };
        // smbtorture's CreateResource
        let r = api_create_resource(&f.svc, &f.ctx, mk("wurst", "Generic Service", 0)).await;
        assert_eq!((r.status.0, r.rpc_status, r.resource.is_null()), (0, 0, false));
        let h = r.resource;
        let snap = f.snap();
        let wurst = snap.find_resource_by_name("wurst").unwrap();
        assert_eq!(
            (wurst.state, wurst.group_id.as_str()),
            (ResourceState::Offline, snap.cluster_group().unwrap().id.as_str())
        );
        for (req, e) in [
            (mk("WURST", "Generic Service", 0), win::ERROR_OBJECT_ALREADY_EXISTS),
            (mk("x", "No Such Type", 0), win::ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND),
            (mk("x", "Generic Service", 2), win::ERROR_INVALID_PARAMETER),
            (mk("", "Generic Service", 1), win::ERROR_INVALID_NAME),
        ] {
            let r = api_create_resource(&f.svc, &f.ctx, req).await;
            assert_eq!((r.status.0, r.resource.is_null()), (e, true));
        }
        let ro = ApiCreateResourceRequest { group: f.group_read("Cluster Group"), ..mk("y", "Generic Service", 0) };
        assert_eq!(api_create_resource(&f.svc, &f.ctx, ro).await.status.0, win::ERROR_ACCESS_DENIED);

        let rename = |h: &ContextHandle, n: &str| {
            api_set_resource_name(&f.svc, &f.ctx, ApiSetResourceNameRequest { resource: *h, resource_name: w(n) })
        };
        assert_eq!(code(rename(&h, "wurst").await.result), 0);
        assert_eq!(code(rename(&h, "Cluster Name").await.result), win::ERROR_ALREADY_EXISTS);
        assert_eq!(code(rename(&h, "").await.result), win::ERROR_INVALID_NAME);
        assert_eq!(code(rename(&f.resource_read("wurst"), "w").await.result), win::ERROR_ACCESS_DENIED);
        assert_eq!(code(rename(&h, "wurst2").await.result), 0);
        assert!(f.snap().find_resource_by_name("wurst2").is_some());

        let del = |h: &ContextHandle| api_delete_resource(&f.svc, &f.ctx, ApiDeleteResourceRequest { resource: *h });
        assert_eq!(code(del(&f.resource("Cluster Name")).await.result), win::ERROR_CORE_RESOURCE);
        assert_eq!(code(del(&f.resource_read("wurst2")).await.result), win::ERROR_ACCESS_DENIED);
        // online and depended-on resources stay
        let on = api_online_resource(&f.svc, &f.ctx, ApiOnlineResourceRequest { resource: h }).await;
        assert_eq!(on.result.0, 0);
        assert_eq!(code(del(&h).await.result), win::ERROR_RESOURCE_ONLINE);
        let off = api_offline_resource(&f.svc, &f.ctx, ApiOfflineResourceRequest { resource: h }).await;
        assert_eq!(off.result.0, 0);
        let other = f.create_resource(&g, "other", "Generic Service").await;
        let add = ApiAddResourceDependencyRequest { resource: other, depends_on: h };
        assert_eq!(api_add_resource_dependency(&f.svc, &f.ctx, add).await.result.0, 0);
        assert_eq!(code(del(&h).await.result), win::ERROR_DEPENDENT_RESOURCE_EXISTS);
        assert_eq!(code(del(&other).await.result), 0);
        assert_eq!(code(del(&h).await.result), 0);
        assert!(f.snap().find_resource_by_name("wurst2").is_none());
        // the handle outlives the resource
        assert_eq!(code(del(&h).await.result), win::ERROR_RESOURCE_NOT_FOUND);
        assert_eq!(code(rename(&h, "z").await.result), win::ERROR_RESOURCE_NOT_AVAILABLE);
    }

    #[tokio::test]
    async fn fail_online_offline_restart() {
        let f = fx();
        let h = f.resource("Cluster Name");
        let state = |f: &Fx| f.snap().find_resource_by_name("Cluster Name").unwrap().state;
        let r = api_fail_resource(&f.svc, &f.ctx, ApiFailResourceRequest { resource: h }).await;
        assert_eq!(r.result.0, 0);
        assert_eq!(state(&f), ResourceState::Failed);
        let r = api_online_resource(&f.svc, &f.ctx, ApiOnlineResourceRequest { resource: h }).await;
        assert_eq!(r.result.0, 0);
        assert_eq!(state(&f), ResourceState::Online);
        let req = ApiOfflineResourceExRequest { resource: h, ..Default::default() };
        assert_eq!(api_offline_resource_ex(&f.svc, &f.ctx, req).await.result.0, 0);
        assert_eq!(state(&f), ResourceState::Offline);
        let req = ApiOnlineResourceExRequest { resource: h, ..Default::default() };
        assert_eq!(api_online_resource_ex(&f.svc, &f.ctx, req).await.result.0, 0);
        let req = ApiRestartResourceRequest { resource: h, flags: 0 };
        assert_eq!(api_restart_resource(&f.svc, &f.ctx, req).await.result.0, 0);
        assert_eq!(state(&f), ResourceState::Online);
        // read-only handles change nothing
        let ro = f.resource_read("Cluster Name");
        let r = api_offline_resource(&f.svc, &f.ctx, ApiOfflineResourceRequest { resource: ro }).await;
        assert_eq!(r.result.0, win::ERROR_ACCESS_DENIED);
        let r = api_fail_resource(&f.svc, &f.ctx, ApiFailResourceRequest { resource: ro }).await;
        assert_eq!(r.result.0, win::ERROR_ACCESS_DENIED);
        let r = api_restart_resource(&f.svc, &f.ctx, ApiRestartResourceRequest { resource: ro, flags: 0 }).await;
        assert_eq!(r.result.0, win::ERROR_ACCESS_DENIED);
        assert_eq!(state(&f), ResourceState::Online);
        // an address no node can host stays offline: pending
        for pnn in 0..3 {
            f.sim.kill_node(pnn).unwrap();
        }
        let ip = f.resource("IP Address 127.0.100.3");
        let r = api_online_resource(&f.svc, &f.ctx, ApiOnlineResourceRequest { resource: ip }).await;
        assert_eq!(r.result.0, win::ERROR_IO_PENDING);
        let r = api_online_resource(&f.svc, &f.ctx, ApiOnlineResourceRequest { resource: ContextHandle::NULL }).await;
        assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);
    }

    #[tokio::test]
    async fn dependencies() {
        let f = fx();
        let g = f.create_group("g").await;
        let a = f.create_resource(&g, "a", "Generic Service").await;
        let b = f.create_resource(&g, "b", "Generic Service").await;
        let add = |x: &ContextHandle, y: &ContextHandle| {
            let req = ApiAddResourceDependencyRequest { resource: *x, depends_on: *y };
            api_add_resource_dependency(&f.svc, &f.ctx, req)
        };
        let remove = |x: &ContextHandle, y: &ContextHandle| {
            let req = ApiRemoveResourceDependencyRequest { resource: *x, depends_on: *y };
            api_remove_resource_dependency(&f.svc, &f.ctx, req)
        };
        let can = |x: &ContextHandle, y: &ContextHandle| {
            let req = ApiCanResourceBeDependentRequest { resource: *x, resource_dependent: *y };
            api_can_resource_be_dependent(&f.svc, &f.ctx, req).result.0
        };
        let expr = |x: &ContextHandle| {
            let req = ApiGetResourceDependencyExpressionRequest { resource: *x };
            api_get_resource_dependency_expression(&f.svc, &f.ctx, req).dependency_expression.unwrap().0
        };
        assert_eq!(can(&a, &b), 0);
        assert_eq!(add(&a, &b).await.result.0, 0);
        assert_eq!(expr(&a), "[Cluster Name] and [b]");
        assert_eq!(f.snap().find_resource_by_name("a").unwrap().dependencies.len(), 2);
        assert_eq!(add(&a, &b).await.result.0, win::ERROR_DEPENDENCY_ALREADY_EXISTS);
        assert_eq!(can(&a, &b), win::ERROR_DEPENDENCY_ALREADY_EXISTS);
        assert_eq!(add(&b, &a).await.result.0, win::ERROR_CIRCULAR_DEPENDENCY);
        assert_eq!(can(&b, &a), win::ERROR_CIRCULAR_DEPENDENCY);
        assert_eq!(add(&a, &a).await.result.0, win::ERROR_INVALID_PARAMETER);
        // resources of different groups
        assert_eq!(add(&a, &f.resource("File Server")).await.result.0, win::ERROR_INVALID_PARAMETER);
        assert_eq!(add(&f.resource_read("a"), &b).await.result.0, win::ERROR_ACCESS_DENIED);
        assert_eq!(add(&a, &f.resource_read("b")).await.result.0, win::ERROR_ACCESS_DENIED);
        assert_eq!(add(&a, &g).await.result.0, win::ERROR_INVALID_HANDLE);
        // resources mirroring CTDB state keep their dependencies
        let share = f.resource("File Share share");
        let fs_group = f.group("File Server");
        let c = f.create_resource(&fs_group, "c", "Generic Service").await;
        assert_eq!(add(&share, &c).await.result.0, win::ERROR_NOT_SUPPORTED);
        assert_eq!(can(&share, &c), win::ERROR_NOT_SUPPORTED);
        // both online: ERROR_RESOURCE_ONLINE
        for h in [&a, &b] {
            let on = api_online_resource(&f.svc, &f.ctx, ApiOnlineResourceRequest { resource: *h }).await;
            assert_eq!(on.result.0, 0);
        }
        let d = f.create_resource(&g, "d", "Generic Service").await;
        assert_eq!(can(&d, &a), 0);
        let on = api_online_resource(&f.svc, &f.ctx, ApiOnlineResourceRequest { resource: d }).await;
        assert_eq!(on.result.0, 0);
        assert_eq!(can(&d, &a), win::ERROR_RESOURCE_ONLINE);

        assert_eq!(remove(&a, &b).await.result.0, 0);
        assert_eq!(expr(&a), "[Cluster Name]");
        assert_eq!(remove(&a, &b).await.result.0, win::ERROR_DEPENDENCY_NOT_FOUND);
        // every resource keeps a Network Name in its chain
        assert_eq!(remove(&a, &f.resource("Cluster Name")).await.result.0, win::ERROR_INVALID_STATE);
        assert_eq!(remove(&share, &f.resource("File Server")).await.result.0, win::ERROR_NOT_SUPPORTED);
    }

    #[test]
    fn dependency_expression_grammar() {
        let p = |e: &str| parse_dependency_expression(e);
        assert_eq!(p("").unwrap(), Vec::<Vec<String>>::new());
        assert_eq!(p("[a]").unwrap(), vec![vec!["a".to_owned()]]);
        assert_eq!(p("[a] and [b c]").unwrap(), vec![vec!["a".to_owned()], vec!["b c".to_owned()]]);
        assert_eq!(p("[a] or [b]").unwrap(), vec![vec!["a".to_owned(), "b".to_owned()]]);
        assert_eq!(
            p("([a] or [b]) AND ([c]) and [d]").unwrap(),
            vec![vec!["a".to_owned(), "b".to_owned()], vec!["c".to_owned()], vec!["d".to_owned()]]
        );
        for bad in ["[a] and", "and [a]", "[a] [b]", "([a]", "[a", "x", "[a] and or [b]", "()"] {
            assert_eq!(p(bad), Err(win::ERROR_INVALID_PARAMETER), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn set_dependency_expression() {
        let f = fx();
        let g = f.create_group("g").await;
        let a = f.create_resource(&g, "a", "Generic Service").await;
        let b = f.create_resource(&g, "b", "Generic Service").await;
        let cn_id = f.snap().cluster_name_resource().unwrap().id.clone();
        let set = |h: &ContextHandle, e: Option<&str>| {
            let req = ApiSetResourceDependencyExpressionRequest { resource: *h, dependency_expression: e.map(w) };
            api_set_resource_dependency_expression(&f.svc, &f.ctx, req)
        };
        let deps = |name: &str| f.snap().find_resource_by_name(name).unwrap().dependencies.clone();
        let b_id = f.snap().find_resource_by_name("b").unwrap().id.clone();
        assert_eq!(set(&a, Some("[Cluster Name] and ([b])")).await.result.0, 0);
        assert_eq!(deps("a"), vec![cn_id.clone(), b_id.clone()]);
        // "b" alone still reaches the Network Name through b
        assert_eq!(set(&a, Some(&format!("[{b_id}]"))).await.result.0, 0);
        assert_eq!(deps("a"), vec![b_id.clone()]);
        assert_eq!(set(&a, Some("[b] or [Cluster Name]")).await.result.0, win::ERROR_NOT_SUPPORTED);
        assert_eq!(set(&a, Some("[b] or [B]")).await.result.0, 0);
        assert_eq!(set(&a, Some("[nope]")).await.result.0, win::ERROR_RESOURCE_NOT_FOUND);
        assert_eq!(set(&a, Some("[b] and")).await.result.0, win::ERROR_INVALID_PARAMETER);
        assert_eq!(set(&b, Some("[a]")).await.result.0, win::ERROR_CIRCULAR_DEPENDENCY);
        assert_eq!(set(&b, None).await.result.0, win::ERROR_INVALID_STATE);
        assert_eq!(set(&f.resource_read("a"), Some("[b]")).await.result.0, win::ERROR_ACCESS_DENIED);
        // a derived resource: its current expression is accepted, another refused
        let ip = f.resource("Cluster IP Address");
        assert_eq!(set(&ip, Some("[Cluster Name]")).await.result.0, 0);
        assert_eq!(set(&ip, Some("")).await.result.0, win::ERROR_NOT_SUPPORTED);
    }

    #[tokio::test]
    async fn enumerations_and_possible_owners() {
        let f = fx();
        let en = |h: &ContextHandle, t: u32| {
            let r = api_create_res_enum(&f.svc, &f.ctx, ApiCreateResEnumRequest { resource: *h, enum_type: t });
            assert_eq!(r.result.0, 0);
            names(r.return_enum)
        };
        let cn = f.resource("Cluster Name");
        assert_eq!(en(&cn, res_enum::NODES), ["CTDB_NODE_0", "CTDB_NODE_1", "CTDB_NODE_2"]);
        assert!(en(&cn, res_enum::DEPENDS).is_empty());
        assert!(en(&cn, res_enum::PROVIDES).contains(&"Cluster IP Address".to_owned()));
        assert_eq!(en(&f.resource("File Share share"), res_enum::DEPENDS), ["File Server"]);
        assert!(en(&cn, 0x100).is_empty());
        let r = api_create_res_enum(
            &f.svc,
            &f.ctx,
            ApiCreateResEnumRequest { resource: ContextHandle::NULL, enum_type: 4 },
        );
        assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);

        let g = f.create_group("g").await;
        let a = f.create_resource(&g, "a", "Generic Service").await;
        let node1 = f.node("CTDB_NODE_1");
        let add = |r: &ContextHandle, n: &ContextHandle| {
            api_add_resource_node(&f.svc, &f.ctx, ApiAddResourceNodeRequest { resource: *r, node: *n })
        };
        let remove = |r: &ContextHandle, n: &ContextHandle| {
            api_remove_resource_node(&f.svc, &f.ctx, ApiRemoveResourceNodeRequest { resource: *r, node: *n })
        };
        assert_eq!(add(&a, &node1).await.result.0, win::ERROR_OBJECT_ALREADY_EXISTS);
        assert_eq!(remove(&a, &node1).await.result.0, 0);
        assert_eq!(en(&a, res_enum::NODES), ["CTDB_NODE_0", "CTDB_NODE_2"]);
        assert_eq!(remove(&a, &node1).await.result.0, win::ERROR_CLUSTER_NODE_NOT_FOUND);
        assert_eq!(add(&a, &node1).await.result.0, 0);
        assert_eq!(en(&a, res_enum::NODES), ["CTDB_NODE_0", "CTDB_NODE_2", "CTDB_NODE_1"]);
        assert_eq!(add(&a, &a).await.result.0, win::ERROR_INVALID_HANDLE);
        assert_eq!(add(&f.resource_read("a"), &node1).await.result.0, win::ERROR_ACCESS_DENIED);
        // the owner of an online resource stays a possible owner
        let on = api_online_resource(&f.svc, &f.ctx, ApiOnlineResourceRequest { resource: a }).await;
        assert_eq!(on.result.0, 0);
        let owner = f.snap().find_resource_by_name("a").unwrap().owner.unwrap();
        let owner_h = f.node(&format!("CTDB_NODE_{owner}"));
        assert_eq!(remove(&a, &owner_h).await.result.0, win::ERROR_INVALID_STATE);
        // resources mirroring CTDB state keep theirs
        assert_eq!(remove(&cn, &node1).await.result.0, win::ERROR_NOT_SUPPORTED);
    }

    #[tokio::test]
    async fn change_resource_group() {
        let f = fx();
        let g1 = f.create_group("g1").await;
        let g2 = f.create_group("g2").await;
        let a = f.create_resource(&g1, "a", "Generic Service").await;
        let b = f.create_resource(&g1, "b", "Generic Service").await;
        f.create_resource(&g1, "lone", "Generic Service").await;
        let req = ApiAddResourceDependencyRequest { resource: a, depends_on: b };
        assert_eq!(api_add_resource_dependency(&f.svc, &f.ctx, req).await.result.0, 0);
        let change = |r: &ContextHandle, g: &ContextHandle| {
            let req = ApiChangeResourceGroupRequest { resource: *r, group: *g };
            api_change_resource_group(&f.svc, &f.ctx, req)
        };
        assert_eq!(change(&b, &g2).await.result.0, 0);
        let snap = f.snap();
        let g2_id = &snap.find_group_by_name("g2").unwrap().id;
        assert_eq!(&snap.find_resource_by_name("a").unwrap().group_id, g2_id);
        assert_eq!(&snap.find_resource_by_name("b").unwrap().group_id, g2_id);
        assert_ne!(&snap.find_resource_by_name("lone").unwrap().group_id, g2_id);
        // a resource of the Cluster Group depends on "Cluster Name", which cannot move
        let wurst = f.create_resource(&f.group("Cluster Group"), "wurst", "Generic Service").await;
        assert_eq!(change(&wurst, &g1).await.result.0, win::ERROR_CORE_RESOURCE);
        assert_eq!(change(&a, &f.group_read("g1")).await.result.0, win::ERROR_ACCESS_DENIED);
        assert_eq!(change(&a, &a).await.result.0, win::ERROR_INVALID_HANDLE);
        let ex = |flags: u64| {
            let req = ApiChangeResourceGroupExRequest { resource: a, group: g1, flags };
            api_change_resource_group_ex(&f.svc, &f.ctx, req)
        };
        assert_eq!(ex(2).await.result.0, win::ERROR_INVALID_PARAMETER);
        assert_eq!(ex(CHANGE_RESOURCE_GROUP_FORCE_MOVE_TO_CSV).await.result.0, win::ERROR_NOT_SUPPORTED);
        assert_eq!(ex(0).await.result.0, 0);
        assert_eq!(
            f.snap().find_resource_by_name("b").unwrap().group_id,
            f.snap().find_group_by_name("g1").unwrap().id
        );
    }

    #[test]
    fn csv_state_changes_are_refused() {
        let f = fx();
        let h = f.resource("Cluster Name");
        let r = api_change_csv_state(&f.svc, &f.ctx, ApiChangeCsvStateRequest { resource: h, state: 1 });
        assert_eq!(r.result.0, win::ERROR_NOT_SUPPORTED);
        let req = ApiChangeCsvStateExRequest { resource: h, state: 1, volume_name: w("x") };
        assert_eq!(api_change_csv_state_ex(&f.svc, &f.ctx, req).result.0, win::ERROR_NOT_SUPPORTED);
        let req = ApiChangeCsvStateRequest { resource: f.resource_read("Cluster Name"), state: 0 };
        assert_eq!(api_change_csv_state(&f.svc, &f.ctx, req).result.0, win::ERROR_ACCESS_DENIED);
        let req = ApiChangeCsvStateRequest { resource: ContextHandle::NULL, state: 0 };
        assert_eq!(api_change_csv_state(&f.svc, &f.ctx, req).result.0, win::ERROR_INVALID_HANDLE);
    }

    #[test]
    fn create_resource_enum() {
        let f = fx();
        let cluster = f.cluster();
        let req = |p: &[&str], ro: &[&str]| {
            let p = multi_sz_encode(p);
            let ro = multi_sz_encode(ro);
            ApiCreateResourceEnumRequest {
                cluster,
                cb_properties: p.len() as u32,
                properties: Some(ConfBytes(p)),
                cb_ro_properties: ro.len() as u32,
                ro_properties: Some(ConfBytes(ro)),
            }
        };
        let r = api_create_resource_enum(&f.svc, &f.ctx, req(&[], &[]));
        assert_eq!(r.result.0, 0);
        let list = r.result_list.unwrap().entries;
        assert_eq!(list.len(), f.snap().resources.len());
        let cn = list.iter().find(|e| e.name.as_ref().unwrap().0 == "Cluster Name").unwrap();
        assert_eq!(cn.owner_name.as_ref().unwrap().0, "Cluster Group");
        assert_eq!(cn.owner_id.as_ref().unwrap().0, f.snap().cluster_group().unwrap().id);
        assert_eq!((cn.cb_properties, cn.properties.is_none()), (0, true));

        let r = api_create_resource_enum(&f.svc, &f.ctx, req(&["Name", "Description"], &["Type"]));
        assert_eq!(r.result.0, 0);
        let e =
            r.result_list.unwrap().entries.into_iter().find(|e| e.name.as_ref().unwrap().0 == "Cluster Name").unwrap();
        let p = PropertyList::decode(&e.properties.unwrap().0).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p.get("Name"), Some(&PropValue::Sz("Cluster Name".into())));
        let ro = PropertyList::decode(&e.ro_properties.unwrap().0).unwrap();
        assert_eq!(ro.get("Type"), Some(&PropValue::Sz("Network Name".into())));
        assert_eq!(e.cb_ro_properties as usize, ro.encode().len());

        let r = api_create_resource_enum(&f.svc, &f.ctx, req(&["*"], &["*"]));
        assert_eq!(r.result.0, 0);
        let snap = f.snap();
        for (e, res) in r.result_list.unwrap().entries.into_iter().zip(&snap.resources) {
            assert_eq!(e.name.as_ref().unwrap().0, res.name);
            let p = PropertyList::decode(&e.properties.unwrap().0).unwrap();
            assert_eq!(p, properties::resource_common(res, &snap));
            let ro = PropertyList::decode(&e.ro_properties.unwrap().0).unwrap();
            assert_eq!(ro, properties::resource_ro_common(res, &snap));
        }
        for (p, ro) in [(&["Nope"][..], &[][..]), (&["Type"], &[]), (&[], &["Name"]), (&[], &["*", "Type"])] {
            let r = api_create_resource_enum(&f.svc, &f.ctx, req(p, ro));
            assert_eq!((r.result.0, r.result_list), (win::ERROR_INVALID_PARAMETER, None));
        }
        let mut bad = req(&[], &[]);
        bad.cluster = f.resource("Cluster Name");
        assert_eq!(api_create_resource_enum(&f.svc, &f.ctx, bad).result.0, win::ERROR_INVALID_HANDLE);
    }
}
