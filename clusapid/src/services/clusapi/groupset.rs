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

use super::access::Granted;
use super::objclass::{handle, writable, writable_object, Cluster, EnumReply, GroupSets, Groups};
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

/// `ApiX(handle field: Class, ...) => code;` — the methods that need a group set handle (none
/// exists): each handle is checked in order ([`writable`]: an open handle of its class with
/// "All" access, so ERROR_INVALID_HANDLE for any group set handle), then the method answers
/// `code`.
macro_rules! need_group_set {
    ($($(#[$doc:meta])* $op:ident($($h:ident: $class:ty),+) => $code:ident;)*) => { idl::__paste! { $(
        $(#[$doc])*
        pub fn [<$op:snake>](_s: &ClusapiService, ctx: &CallCtx, req: [<$op Request>]) -> [<$op Response>] {
            let r = Ok(())$(.and_then(|()| writable::<$class>(ctx, &req.$h).map(drop)))+.and(Err(win::$code));
            [<$op Response>] { rpc_status: 0, result: status(r) }
        }
    )* } };
}

need_group_set! {
    /// [MS-CMRP 3.1.4.2.149] ApiDeleteGroupSet.
    ApiDeleteGroupSet(group_set: GroupSets) => ERROR_NOT_SUPPORTED;
    /// [MS-CMRP 3.1.4.2.150] ApiAddGroupToGroupSet.
    ApiAddGroupToGroupSet(group_set: GroupSets, group: Groups) => ERROR_NOT_SUPPORTED;
    /// [MS-CMRP 3.1.4.2.152] ApiMoveGroupToGroupSet.
    ApiMoveGroupToGroupSet(group_set: GroupSets, group: Groups) => ERROR_NOT_SUPPORTED;
    /// [MS-CMRP 3.1.4.2.153] ApiAddGroupSetDependency.
    ApiAddGroupSetDependency(dependent_group_set: GroupSets, provider_group_set: GroupSets) => ERROR_NOT_SUPPORTED;
    /// [MS-CMRP 3.1.4.2.154] ApiAddGroupToGroupSetDependency.
    ApiAddGroupToGroupSetDependency(dependent_group: Groups, provider_group_set: GroupSets) => ERROR_NOT_SUPPORTED;
    /// [MS-CMRP 3.1.4.2.159] ApiSetGroupSetDependencyExpression.
    ApiSetGroupSetDependencyExpression(group_set: GroupSets) => ERROR_NOT_SUPPORTED;
    /// [MS-CMRP 3.1.4.2.160] ApiRemoveGroupSetDependency.
    ApiRemoveGroupSetDependency(group_set: GroupSets, depends_on: GroupSets) => ERROR_DEPENDENCY_NOT_FOUND;
    /// [MS-CMRP 3.1.4.2.161] ApiRemoveClusterGroupToGroupSetDependency.
    ApiRemoveClusterGroupToGroupSetDependency(group: Groups, depends_on: GroupSets) => ERROR_DEPENDENCY_NOT_FOUND;
    /// [MS-CMRP 3.1.4.2.165] ApiAddGroupToGroupSetEx.
    ApiAddGroupToGroupSetEx(group_set: GroupSets, group: Groups) => ERROR_NOT_SUPPORTED;
}

/// [MS-CMRP 3.1.4.2.151] ApiRemoveGroupFromGroupSet: the group belongs to no group set, which
/// the Win32 API documents as success.
pub fn api_remove_group_from_group_set(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiRemoveGroupFromGroupSetRequest,
) -> ApiRemoveGroupFromGroupSetResponse {
    let r = writable_object::<Groups>(s, ctx, &req.group);
    ApiRemoveGroupFromGroupSetResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.162] ApiCreateGroupSetEnum: the cluster's group sets — none.
pub fn api_create_group_set_enum(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateGroupSetEnumRequest,
) -> ApiCreateGroupSetEnumResponse {
    match handle::<Cluster>(ctx, &req.cluster) {
        Ok(_) => ApiCreateGroupSetEnumResponse::listed(Vec::new()),
        Err(e) => ApiCreateGroupSetEnumResponse::failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{fx, w};
    use super::*;
    use idl::ContextHandle;

    #[test]
    fn there_is_no_group_set() {
        // opening one: objclass::tests::open_by_name
        let f = fx();
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
