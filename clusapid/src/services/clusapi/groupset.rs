//! Group set operations ([MS-CMRP] 3.1.4.2.146-154, 3.1.4.2.159-162, 3.1.4.2.165): an honest,
//! empty surface.
//!
//! Group sets (Windows Server 2016) have no CTDB equivalent. These opnums exist when clusapid
//! presents 2016 or later ([`super::profile`]; clients, smbtorture among them, call them from
//! OS major 10 on) and fault with `nca_s_op_rng_error` on the 2012 R2 profile. The cluster has
//! no group set, and none is invented:
//! ApiCreateGroupSetEnum returns an empty list, ApiOpenGroupSet of any name is
//! ERROR_GROUPSET_NOT_FOUND, so no HGROUPSET_RPC handle can exist and every method taking one
//! answers ERROR_INVALID_HANDLE; removing a group from its set succeeds (it is in none).
//! Creating a group set is refused by design: ERROR_NOT_SUPPORTED.

use idl::clusapi::*;
use idl::WError;

use super::access::Granted;
use super::objclass::{handle, object, writable, Cluster, GroupSets, Groups};
use super::{status, win, ClusapiService};
use crate::services::CallCtx;

pub use super::objclass::{close as api_close_group_set, open as api_open_group_set};

/// [MS-CMRP 3.1.4.2.146] ApiCreateGroupSet: refused by design (ERROR_NOT_SUPPORTED) after the
/// spec's checks: "The server MUST require that the client have a security access level of
/// "All"" and "MUST fail the method using ERROR_INVALID_NAME if lpszGroupSetName is empty".
pub fn api_create_group_set(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateGroupSetRequest,
) -> ApiCreateGroupSetResponse {
    let e = if Granted::entitled(ctx.access) != Some(Granted::All) {
        win::ERROR_ACCESS_DENIED
    } else if req.group_set_name.as_str().is_empty() {
        win::ERROR_INVALID_NAME
    } else {
        win::ERROR_NOT_SUPPORTED
    };
    ApiCreateGroupSetResponse::error(e)
}

/// [MS-CMRP 3.1.4.2.149] ApiDeleteGroupSet: needs a group set handle (none exists).
pub fn api_delete_group_set(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiDeleteGroupSetRequest,
) -> ApiDeleteGroupSetResponse {
    let r = writable::<GroupSets>(ctx, &req.group_set).and(Err(win::ERROR_NOT_SUPPORTED));
    ApiDeleteGroupSetResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.150] ApiAddGroupToGroupSet: needs a group set handle (none exists).
pub fn api_add_group_to_group_set(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiAddGroupToGroupSetRequest,
) -> ApiAddGroupToGroupSetResponse {
    let r = writable::<GroupSets>(ctx, &req.group_set)
        .and_then(|_| writable::<Groups>(ctx, &req.group))
        .and(Err(win::ERROR_NOT_SUPPORTED));
    ApiAddGroupToGroupSetResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.151] ApiRemoveGroupFromGroupSet: the group belongs to no group set, which
/// the Win32 API documents as success.
pub fn api_remove_group_from_group_set(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiRemoveGroupFromGroupSetRequest,
) -> ApiRemoveGroupFromGroupSetResponse {
    let r = writable::<Groups>(ctx, &req.group).and_then(|h| object::<Groups>(&s.backend.snapshot(), &h).map(|_| ()));
    ApiRemoveGroupFromGroupSetResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.152] ApiMoveGroupToGroupSet: needs a group set handle (none exists).
pub fn api_move_group_to_group_set(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiMoveGroupToGroupSetRequest,
) -> ApiMoveGroupToGroupSetResponse {
    let r = writable::<GroupSets>(ctx, &req.group_set)
        .and_then(|_| writable::<Groups>(ctx, &req.group))
        .and(Err(win::ERROR_NOT_SUPPORTED));
    ApiMoveGroupToGroupSetResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.153] ApiAddGroupSetDependency: needs group set handles (none exists).
pub fn api_add_group_set_dependency(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiAddGroupSetDependencyRequest,
) -> ApiAddGroupSetDependencyResponse {
    let r = writable::<GroupSets>(ctx, &req.dependent_group_set)
        .and_then(|_| writable::<GroupSets>(ctx, &req.provider_group_set))
        .and(Err(win::ERROR_NOT_SUPPORTED));
    ApiAddGroupSetDependencyResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.154] ApiAddGroupToGroupSetDependency: needs a group set handle (none
/// exists).
pub fn api_add_group_to_group_set_dependency(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiAddGroupToGroupSetDependencyRequest,
) -> ApiAddGroupToGroupSetDependencyResponse {
    let r = writable::<Groups>(ctx, &req.dependent_group)
        .and_then(|_| writable::<GroupSets>(ctx, &req.provider_group_set))
        .and(Err(win::ERROR_NOT_SUPPORTED));
    ApiAddGroupToGroupSetDependencyResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.159] ApiSetGroupSetDependencyExpression: needs a group set handle (none
/// exists).
pub fn api_set_group_set_dependency_expression(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiSetGroupSetDependencyExpressionRequest,
) -> ApiSetGroupSetDependencyExpressionResponse {
    let r = writable::<GroupSets>(ctx, &req.group_set).and(Err(win::ERROR_NOT_SUPPORTED));
    ApiSetGroupSetDependencyExpressionResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.160] ApiRemoveGroupSetDependency: needs group set handles (none exists).
pub fn api_remove_group_set_dependency(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiRemoveGroupSetDependencyRequest,
) -> ApiRemoveGroupSetDependencyResponse {
    let r = writable::<GroupSets>(ctx, &req.group_set)
        .and_then(|_| writable::<GroupSets>(ctx, &req.depends_on))
        .and(Err(win::ERROR_DEPENDENCY_NOT_FOUND));
    ApiRemoveGroupSetDependencyResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.161] ApiRemoveClusterGroupToGroupSetDependency: needs a group set handle
/// (none exists).
pub fn api_remove_cluster_group_to_group_set_dependency(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiRemoveClusterGroupToGroupSetDependencyRequest,
) -> ApiRemoveClusterGroupToGroupSetDependencyResponse {
    let r = writable::<Groups>(ctx, &req.group)
        .and_then(|_| writable::<GroupSets>(ctx, &req.depends_on))
        .and(Err(win::ERROR_DEPENDENCY_NOT_FOUND));
    ApiRemoveClusterGroupToGroupSetDependencyResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.162] ApiCreateGroupSetEnum: the cluster's group sets — none.
pub fn api_create_group_set_enum(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateGroupSetEnumRequest,
) -> ApiCreateGroupSetEnumResponse {
    if let Err(e) = handle::<Cluster>(ctx, &req.cluster) {
        return ApiCreateGroupSetEnumResponse::error(e);
    }
    ApiCreateGroupSetEnumResponse {
        return_enum: Some(EnumList { entries: Vec::new() }),
        rpc_status: 0,
        result: WError(0),
    }
}

/// [MS-CMRP 3.1.4.2.165] ApiAddGroupToGroupSetEx: needs a group set handle (none exists).
pub fn api_add_group_to_group_set_ex(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiAddGroupToGroupSetExRequest,
) -> ApiAddGroupToGroupSetExResponse {
    let r = writable::<GroupSets>(ctx, &req.group_set)
        .and_then(|_| writable::<Groups>(ctx, &req.group))
        .and(Err(win::ERROR_NOT_SUPPORTED));
    ApiAddGroupToGroupSetExResponse { rpc_status: 0, result: status(r) }
}

#[cfg(test)]
mod tests {
    use super::super::group::fixture::{fx, w};
    use super::*;
    use idl::ContextHandle;

    #[test]
    fn there_is_no_group_set() {
        let f = fx();
        let r = api_open_group_set(&f.svc, &f.ctx, ApiOpenGroupSetRequest { group_set_name: w("Cluster Group") });
        assert_eq!((r.status.0, r.rpc_status, r.group_set.is_null()), (win::ERROR_GROUPSET_NOT_FOUND, 0, true));
        let r = api_create_group_set_enum(&f.svc, &f.ctx, ApiCreateGroupSetEnumRequest { cluster: f.cluster() });
        assert_eq!((r.result.0, r.return_enum.unwrap().entries.len()), (0, 0));
        let r =
            api_create_group_set_enum(&f.svc, &f.ctx, ApiCreateGroupSetEnumRequest { cluster: ContextHandle::NULL });
        assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);

        let create = |ctx: &CallCtx, n: &str| {
            api_create_group_set(&f.svc, ctx, ApiCreateGroupSetRequest { group_set_name: w(n) })
        };
        let r = create(&f.ctx, "set");
        assert_eq!((r.status.0, r.group_set.is_null()), (win::ERROR_NOT_SUPPORTED, true));
        assert_eq!(create(&f.ctx, "").status.0, win::ERROR_INVALID_NAME);
        assert_eq!(create(&f.ro, "set").status.0, win::ERROR_ACCESS_DENIED);
    }

    #[test]
    fn group_set_handles_are_never_valid() {
        let f = fx();
        let g = f.group("Cluster Group");
        let c = api_close_group_set(&f.svc, &f.ctx, ApiCloseGroupSetRequest { group_set: g });
        assert_eq!(c.result.0, win::ERROR_INVALID_HANDLE);
        let r = api_delete_group_set(&f.svc, &f.ctx, ApiDeleteGroupSetRequest { group_set: g });
        assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);
        let req = ApiAddGroupToGroupSetRequest { group_set: g, group: g };
        assert_eq!(api_add_group_to_group_set(&f.svc, &f.ctx, req).result.0, win::ERROR_INVALID_HANDLE);
        let req = ApiAddGroupToGroupSetExRequest { group_set: g, group: g, ..Default::default() };
        assert_eq!(api_add_group_to_group_set_ex(&f.svc, &f.ctx, req).result.0, win::ERROR_INVALID_HANDLE);
        let req = ApiMoveGroupToGroupSetRequest { group_set: g, group: g };
        assert_eq!(api_move_group_to_group_set(&f.svc, &f.ctx, req).result.0, win::ERROR_INVALID_HANDLE);
        let req = ApiAddGroupSetDependencyRequest { dependent_group_set: g, provider_group_set: g };
        assert_eq!(api_add_group_set_dependency(&f.svc, &f.ctx, req).result.0, win::ERROR_INVALID_HANDLE);
        let req = ApiAddGroupToGroupSetDependencyRequest { dependent_group: g, provider_group_set: g };
        assert_eq!(api_add_group_to_group_set_dependency(&f.svc, &f.ctx, req).result.0, win::ERROR_INVALID_HANDLE);
        let req = ApiSetGroupSetDependencyExpressionRequest { group_set: g, dependency_expression: w("") };
        assert_eq!(api_set_group_set_dependency_expression(&f.svc, &f.ctx, req).result.0, win::ERROR_INVALID_HANDLE);
        let req = ApiRemoveGroupSetDependencyRequest { group_set: g, depends_on: g };
        assert_eq!(api_remove_group_set_dependency(&f.svc, &f.ctx, req).result.0, win::ERROR_INVALID_HANDLE);
        let req = ApiRemoveClusterGroupToGroupSetDependencyRequest { group: g, depends_on: g };
        let r = api_remove_cluster_group_to_group_set_dependency(&f.svc, &f.ctx, req);
        assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);
    }

    #[test]
    fn a_group_is_in_no_set() {
        let f = fx();
        let r = |g: ContextHandle| {
            api_remove_group_from_group_set(&f.svc, &f.ctx, ApiRemoveGroupFromGroupSetRequest { group: g }).result.0
        };
        assert_eq!(r(f.group("Cluster Group")), 0);
        assert_eq!(r(f.group_read("Cluster Group")), win::ERROR_ACCESS_DENIED);
        assert_eq!(r(ContextHandle::NULL), win::ERROR_INVALID_HANDLE);
    }
}
