//! Quorum ([MS-CMRP] 3.1.4.2.6-7).
//!
//! CTDB decides membership among its nodes (with its recovery lock breaking ties); there is no
//! witness disk or share a Windows client could configure. The closest Windows configuration
//! is "node majority" with no quorum resource, which ApiGetQuorumResource reports. Changing the
//! quorum configuration is refused by design: ApiSetQuorumResource answers ERROR_NOT_SUPPORTED
//! (50), one of the "any other condition" values the spec allows, because CTDB's membership and
//! recovery lock are set in its configuration files on every node, not through a resource.

use idl::clusapi::*;
use idl::{WError, WString};

use super::access::Granted;
use super::{win, ClusapiService};
use crate::services::CallCtx;

/// CLUS_NODE_MAJORITY_QUORUM: the quorum type reported in `pdwMaxQuorumLogSize`.
pub const CLUS_NODE_MAJORITY_QUORUM: u32 = 0;

/// [MS-CMRP 3.1.4.2.6] ApiGetQuorumResource: the server "MUST return ... the null Unicode string,
/// indicating that there is no specific resource associated with cluster quorum", the null
/// string as device path, and the quorum type (node majority).
pub fn api_get_quorum_resource(
    _s: &ClusapiService,
    ctx: &CallCtx,
    _req: ApiGetQuorumResourceRequest,
) -> ApiGetQuorumResourceResponse {
    if Granted::entitled(ctx.access).is_none() {
        return ApiGetQuorumResourceResponse::error(win::ERROR_ACCESS_DENIED);
    }
    ApiGetQuorumResourceResponse {
        resource_name: Some(WString::new("")),
        device_name: Some(WString::new("")),
        max_quorum_log_size: CLUS_NODE_MAJORITY_QUORUM,
        rpc_status: 0,
        result: WError(0),
    }
}

/// [MS-CMRP 3.1.4.2.7] ApiSetQuorumResource: refused by design (see the module documentation):
/// ERROR_NOT_SUPPORTED once the resource handle is valid and grants "All".
pub fn api_set_quorum_resource(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiSetQuorumResourceRequest,
) -> ApiSetQuorumResourceResponse {
    ApiSetQuorumResourceResponse { rpc_status: 0, result: super::resource::refused(s, ctx, &req.resource) }
}

#[cfg(test)]
mod tests {
    use idl::ContextHandle;

    use super::super::fixture::{fx, w};
    use super::*;

    #[test]
    fn node_majority_without_quorum_resource() {
        let f = fx();
        for ctx in [&f.ctx, &f.ro] {
            let r = api_get_quorum_resource(&f.svc, ctx, ApiGetQuorumResourceRequest {});
            assert_eq!((r.result.0, r.rpc_status), (0, 0));
            assert_eq!((r.resource_name.unwrap().0, r.device_name.unwrap().0), (String::new(), String::new()));
            assert_eq!(r.max_quorum_log_size, CLUS_NODE_MAJORITY_QUORUM);
        }
    }

    #[test]
    fn set_quorum_resource_is_refused() {
        let f = fx();
        let set = |h: ContextHandle| {
            let req = ApiSetQuorumResourceRequest { resource: h, device_name: w(""), max_quorum_log_size: 0 };
            api_set_quorum_resource(&f.svc, &f.ctx, req).result.0
        };
        assert_eq!(set(f.resource("Cluster Name")), win::ERROR_NOT_SUPPORTED);
        assert_eq!(set(f.resource_read("Cluster Name")), win::ERROR_ACCESS_DENIED);
        assert_eq!(set(f.group("Cluster Group")), win::ERROR_INVALID_HANDLE);
    }
}
