//! Network operations ([MS-CMRP] 3.1.4.2.81-87, 3.1.4.2.120): open/close, state, name and id,
//! the per-network enumeration of interfaces, and the internal network priority order.
//!
//! Networks are the subnets of CTDB's public addresses ("Cluster Network 1..", client access)
//! followed by the subnets of the node addresses CTDB talks over (internal use). They can be
//! renamed (kept in the admin overlay). CTDB's private traffic uses the addresses of its
//! `nodes` file, so the internal network order cannot change: ApiSetNetworkPriorityOrder
//! accepts the current order and answers ERROR_NOT_SUPPORTED for any other.

use idl::clusapi::*;
use nodes::{ClusterState, Network, NetworkRole};

use super::access::Granted;
use super::objclass::{enumerate, Networks};
use super::{status, win, ClusapiService};
use crate::services::CallCtx;

pub use super::objclass::{
    close as api_close_network, get_id as api_get_network_id, get_state as api_get_network_state,
    open as api_open_network, open as api_open_network_ex, set_name as api_set_network_name,
};
pub use super::win::ERROR_NETWORK_NOT_AVAILABLE;

pub use idl::clusenum::network_enum;

/// [MS-CMRP 3.1.4.2.85] ApiCreateNetworkEnum: the network interfaces on the network
/// (NETINTERFACES); "the server SHOULD ignore all bits in dwType except" that one.
pub fn api_create_network_enum(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateNetworkEnumRequest,
) -> ApiCreateNetworkEnumResponse {
    enumerate::<Networks, _>(s, ctx, &req.network, req.enum_type, |snap, n| {
        vec![(network_enum::NETINTERFACES, snap.netinterfaces_on_network(&n.id).map(|i| i.name.clone()).collect())]
    })
}

/// The networks the cluster may use internally, in their (fixed) priority order.
pub fn internal_networks(snap: &ClusterState) -> impl Iterator<Item = &Network> {
    snap.networks.iter().filter(|n| n.role.as_u32() & NetworkRole::InternalUse.as_u32() != 0)
}

/// [MS-CMRP 3.1.4.2.87] ApiSetNetworkPriorityOrder: the list must name every internal network
/// exactly once by id (unknown: ERROR_CLUSTER_NETWORK_NOT_FOUND; not internal:
/// ERROR_CLUSTER_NETWORK_NOT_INTERNAL; missing, repeated or a count that disagrees:
/// ERROR_INVALID_PARAMETER). The current order succeeds; another is refused by design (see the
/// module documentation).
pub fn api_set_network_priority_order(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiSetNetworkPriorityOrderRequest,
) -> ApiSetNetworkPriorityOrderResponse {
    let r = (|| {
        if Granted::entitled(ctx.access) != Some(Granted::All) {
            return Err(win::ERROR_ACCESS_DENIED);
        }
        let list = &req.network_id_list.0;
        if usize::try_from(req.network_count).ok() != Some(list.len()) {
            return Err(win::ERROR_INVALID_PARAMETER);
        }
        let snap = s.backend.snapshot();
        let mut ids: Vec<&str> = Vec::with_capacity(list.len());
        for id in list {
            let id = id.as_ref().ok_or(win::ERROR_INVALID_PARAMETER)?.as_str();
            let n = snap.network_by_id(id).ok_or(win::ERROR_CLUSTER_NETWORK_NOT_FOUND)?;
            if n.role.as_u32() & NetworkRole::InternalUse.as_u32() == 0 {
                return Err(win::ERROR_CLUSTER_NETWORK_NOT_INTERNAL);
            }
            if ids.contains(&n.id.as_str()) {
                return Err(win::ERROR_INVALID_PARAMETER);
            }
            ids.push(&n.id);
        }
        let current: Vec<&str> = internal_networks(&snap).map(|n| n.id.as_str()).collect();
        if ids.len() != current.len() {
            return Err(win::ERROR_INVALID_PARAMETER);
        }
        if ids == current {
            Ok(())
        } else {
            Err(win::ERROR_NOT_SUPPORTED)
        }
    })();
    ApiSetNetworkPriorityOrderResponse { rpc_status: 0, result: status(r) }
}

#[cfg(test)]
mod tests {
    use idl::ConfArray;
    use idl::ContextHandle;
    use nodes::NetworkState;

    use super::super::fixture::{fx, names, w};
    use super::*;

    #[test]
    fn open_state_id_enum() {
        // opening by name: objclass::tests::open_by_name
        let f = fx();
        let r = api_open_network(&f.svc, &f.ctx, ApiOpenNetworkRequest { network_name: w("Cluster Network 1") });
        let h = r.network;
        let req = ApiOpenNetworkExRequest { network_name: w("Cluster Network 2"), desired_access: 0x0200_0000 };
        let r = api_open_network_ex(&f.svc, &f.ro, req);
        assert_eq!((r.status.0, r.granted_access), (0, 0x8000_0000));

        let r = api_get_network_state(&f.svc, &f.ctx, ApiGetNetworkStateRequest { network: h });
        assert_eq!((r.result.0, r.state), (0, NetworkState::Up.as_u32()));
        let r = api_get_network_id(&f.svc, &f.ctx, ApiGetNetworkIdRequest { network: h });
        assert_eq!(r.guid.unwrap().0, f.snap().find_network_by_name("Cluster Network 1").unwrap().id);
        let r = api_create_network_enum(&f.svc, &f.ctx, ApiCreateNetworkEnumRequest { network: h, enum_type: 1 });
        assert_eq!(names(r.return_enum), ["CTDB_NODE_0 - lo", "CTDB_NODE_1 - lo", "CTDB_NODE_2 - lo"]);
        let r = api_create_network_enum(&f.svc, &f.ctx, ApiCreateNetworkEnumRequest { network: h, enum_type: 8 });
        assert!(names(r.return_enum).is_empty());

        // bad and wrong-type handles
        let g = f.group("Cluster Group");
        let r = api_get_network_state(&f.svc, &f.ctx, ApiGetNetworkStateRequest { network: g });
        assert_eq!((r.result.0, r.state), (win::ERROR_INVALID_HANDLE, u32::MAX));
        let r = api_get_network_id(&f.svc, &f.ctx, ApiGetNetworkIdRequest { network: g });
        assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);
        let r = api_create_network_enum(&f.svc, &f.ctx, ApiCreateNetworkEnumRequest { network: g, enum_type: 1 });
        assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);

        let c = api_close_network(&f.svc, &f.ctx, ApiCloseNetworkRequest { network: h });
        assert_eq!((c.result.0, c.network.is_null()), (0, true));
        let c = api_close_network(&f.svc, &f.ctx, ApiCloseNetworkRequest { network: h });
        assert_eq!(c.result.0, win::ERROR_INVALID_HANDLE);
    }

    #[tokio::test]
    async fn rename() {
        let f = fx();
        let h =
            api_open_network(&f.svc, &f.ctx, ApiOpenNetworkRequest { network_name: w("Cluster Network 1") }).network;
        let set = |h: &ContextHandle, n: &str| {
            api_set_network_name(&f.svc, &f.ctx, ApiSetNetworkNameRequest { network: *h, network_name: w(n) })
        };
        assert_eq!(set(&h, "Cluster Network 2").await.result.0, win::ERROR_ALREADY_EXISTS);
        assert_eq!(set(&h, "").await.result.0, win::ERROR_INVALID_NAME);
        assert_eq!(set(&h, "Public").await.result.0, 0);
        let snap = f.snap();
        assert!(
            snap.find_network_by_name("Public").is_some() && snap.find_network_by_name("Cluster Network 1").is_none()
        );
        let r = api_open_network(&f.svc, &f.ctx, ApiOpenNetworkRequest { network_name: w("public") });
        assert_eq!(r.status.0, 0);
        let req = ApiOpenNetworkExRequest { network_name: w("Public"), desired_access: 1 };
        let ro = api_open_network_ex(&f.svc, &f.ctx, req).network;
        assert_eq!(set(&ro, "Other").await.result.0, win::ERROR_ACCESS_DENIED);
        assert_eq!(set(&ContextHandle::NULL, "Other").await.result.0, win::ERROR_INVALID_HANDLE);
    }

    #[test]
    fn priority_order() {
        let f = fx();
        let snap = f.snap();
        let internal = snap.find_network_by_name("Cluster Network 2").unwrap().id.clone();
        let public = snap.find_network_by_name("Cluster Network 1").unwrap().id.clone();
        let set = |ctx: &CallCtx, count: u32, ids: &[&str]| {
            let list = ConfArray(ids.iter().map(|i| Some(w(i))).collect());
            let req = ApiSetNetworkPriorityOrderRequest { network_count: count, network_id_list: list };
            api_set_network_priority_order(&f.svc, ctx, req).result.0
        };
        assert_eq!(set(&f.ctx, 1, &[&internal]), 0);
        assert_eq!(set(&f.ro, 1, &[&internal]), win::ERROR_ACCESS_DENIED);
        assert_eq!(set(&f.ctx, 2, &[&internal]), win::ERROR_INVALID_PARAMETER);
        assert_eq!(set(&f.ctx, 0, &[]), win::ERROR_INVALID_PARAMETER);
        assert_eq!(set(&f.ctx, 2, &[&internal, &internal]), win::ERROR_INVALID_PARAMETER);
        assert_eq!(set(&f.ctx, 1, &["nope"]), win::ERROR_CLUSTER_NETWORK_NOT_FOUND);
        assert_eq!(set(&f.ctx, 1, &[&public]), win::ERROR_CLUSTER_NETWORK_NOT_INTERNAL);
    }
}
