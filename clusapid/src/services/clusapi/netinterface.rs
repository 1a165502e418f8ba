//! Network interface operations ([MS-CMRP] 3.1.4.2.92-96, 3.1.4.2.121, 3.1.4.2.163): open/close,
//! state and id, the interface of a node on a network, and the filtered enumeration.
//!
//! One network interface per (node, CTDB interface), named "<node> - <interface>", e.g.
//! "CTDB_NODE_0 - eth1"; its network is the subnet of the public addresses that interface
//! carries, else the node's own subnet.

use idl::clusapi::*;
use idl::{WError, WString};

use super::cluster::enum_type;
use super::objclass::{handle, Cluster, EnumReply};
use super::{win, ClusapiService};
use crate::services::CallCtx;

pub use super::objclass::{
    close as api_close_net_interface, get_id as api_get_net_interface_id, get_state as api_get_net_interface_state,
    open as api_open_net_interface, open as api_open_net_interface_ex,
};

/// [MS-CMRP 3.1.4.2.95] ApiGetNetInterface: the name of the interface of a node on a network.
/// Unknown node: ERROR_CLUSTER_NODE_NOT_FOUND; unknown network:
/// ERROR_CLUSTER_NETWORK_NOT_FOUND; no such interface: ERROR_CLUSTER_NETINTERFACE_NOT_FOUND.
pub fn api_get_net_interface(
    s: &ClusapiService,
    _ctx: &CallCtx,
    req: ApiGetNetInterfaceRequest,
) -> ApiGetNetInterfaceResponse {
    let snap = s.backend.snapshot();
    if snap.find_node_by_name(req.node_name.as_str()).is_none() {
        return ApiGetNetInterfaceResponse::error(win::ERROR_CLUSTER_NODE_NOT_FOUND);
    }
    if snap.find_network_by_name(req.network_name.as_str()).is_none() {
        return ApiGetNetInterfaceResponse::error(win::ERROR_CLUSTER_NETWORK_NOT_FOUND);
    }
    match snap.find_netinterface(req.node_name.as_str(), req.network_name.as_str()) {
        Some(i) => ApiGetNetInterfaceResponse {
            interface_name: Some(WString::new(i.name.clone())),
            rpc_status: 0,
            result: WError(0),
        },
        None => ApiGetNetInterfaceResponse::error(win::ERROR_CLUSTER_NETINTERFACE_NOT_FOUND),
    }
}

/// [MS-CMRP 3.1.4.2.163] ApiCreateNetInterfaceEnum: the interfaces on the named node and the
/// named network; an empty name does not filter (the Win32 API's optional names). Unknown
/// names are ERROR_CLUSTER_NODE_NOT_FOUND / ERROR_CLUSTER_NETWORK_NOT_FOUND. Entries are of type
/// CLUSTER_ENUM_NETINTERFACE.
pub fn api_create_net_interface_enum(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateNetInterfaceEnumRequest,
) -> ApiCreateNetInterfaceEnumResponse {
    let entries = (|| {
        handle::<Cluster>(ctx, &req.cluster)?;
        let snap = s.backend.snapshot();
        let node = match req.node_name.as_str() {
            "" => None,
            name => Some(snap.find_node_by_name(name).ok_or(win::ERROR_CLUSTER_NODE_NOT_FOUND)?.pnn),
        };
        let network = match req.network_name.as_str() {
            "" => None,
            name => Some(snap.find_network_by_name(name).ok_or(win::ERROR_CLUSTER_NETWORK_NOT_FOUND)?.id.clone()),
        };
        Ok(snap
            .net_interfaces
            .iter()
            .filter(|i| node.is_none_or(|p| i.node_pnn == p) && network.as_ref().is_none_or(|n| *n == i.network_id))
            .map(|i| EnumEntry { entry_type: enum_type::NETINTERFACE, name: Some(WString::new(i.name.clone())) })
            .collect())
    })();
    match entries {
        Ok(entries) => ApiCreateNetInterfaceEnumResponse::listed(entries),
        Err(e) => ApiCreateNetInterfaceEnumResponse::failed(e),
    }
}

#[cfg(test)]
mod tests {
    use idl::ContextHandle;
    use nodes::NetInterfaceState;

    use super::super::fixture::{fx, names, w};
    use super::*;

    #[test]
    fn open_state_id() {
        let f = fx();
        let r = api_open_net_interface(
            &f.svc,
            &f.ctx,
            ApiOpenNetInterfaceRequest { net_interface_name: w("ctdb_node_1 - LO") },
        );
        assert_eq!((r.status.0, r.rpc_status, r.net_interface.is_null()), (0, 0, false));
        let h = r.net_interface;
        // smbtorture's hard-coded Windows name does not exist here
        let req = ApiOpenNetInterfaceRequest { net_interface_name: w("node1 - Ethernet") };
        let r = api_open_net_interface(&f.svc, &f.ctx, req);
        assert_eq!(
            (r.status.0, r.rpc_status, r.net_interface.is_null()),
            (win::ERROR_CLUSTER_NETINTERFACE_NOT_FOUND, 0, true)
        );
        let req =
            ApiOpenNetInterfaceExRequest { net_interface_name: w("CTDB_NODE_2 - lo"), desired_access: 0x0200_0000 };
        let r = api_open_net_interface_ex(&f.svc, &f.ro, req);
        assert_eq!((r.status.0, r.granted_access), (0, 0x8000_0000));
        let req = ApiOpenNetInterfaceExRequest { net_interface_name: w("CTDB_NODE_2 - lo"), desired_access: 2 };
        assert_eq!(api_open_net_interface_ex(&f.svc, &f.ctx, req).status.0, win::ERROR_INVALID_PARAMETER);

        let state = |h: &ContextHandle| {
            api_get_net_interface_state(&f.svc, &f.ctx, ApiGetNetInterfaceStateRequest { net_interface: *h })
        };
        assert_eq!((state(&h).result.0, state(&h).state), (0, NetInterfaceState::Up.as_u32()));
        f.sim.set_interface_link(1, "lo", false).unwrap();
        assert_eq!(state(&h).state, NetInterfaceState::Failed.as_u32());
        let r = api_get_net_interface_id(&f.svc, &f.ctx, ApiGetNetInterfaceIdRequest { net_interface: h });
        assert_eq!(r.guid.unwrap().0, f.snap().find_netinterface_by_name("CTDB_NODE_1 - lo").unwrap().id);

        let g = f.group("Cluster Group");
        assert_eq!((state(&g).result.0, state(&g).state), (win::ERROR_INVALID_HANDLE, u32::MAX));
        let r = api_get_net_interface_id(&f.svc, &f.ctx, ApiGetNetInterfaceIdRequest { net_interface: g });
        assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);
        let c = api_close_net_interface(&f.svc, &f.ctx, ApiCloseNetInterfaceRequest { net_interface: h });
        assert_eq!((c.result.0, c.net_interface.is_null()), (0, true));
        let c = api_close_net_interface(&f.svc, &f.ctx, ApiCloseNetInterfaceRequest { net_interface: h });
        assert_eq!(c.result.0, win::ERROR_INVALID_HANDLE);
    }

    #[test]
    fn interface_of_node_on_network() {
        let f = fx();
        let get = |node: &str, net: &str| {
            api_get_net_interface(
                &f.svc,
                &f.ctx,
                ApiGetNetInterfaceRequest { node_name: w(node), network_name: w(net) },
            )
        };
        let r = get("CTDB_NODE_1", "Cluster Network 1");
        assert_eq!((r.result.0, r.interface_name.unwrap().0), (0, "CTDB_NODE_1 - lo".to_owned()));
        assert_eq!(get("node1", "Cluster Network 1").result.0, win::ERROR_CLUSTER_NODE_NOT_FOUND);
        assert_eq!(get("CTDB_NODE_1", "Cluster Network 9").result.0, win::ERROR_CLUSTER_NETWORK_NOT_FOUND);
        assert_eq!(get("CTDB_NODE_1", "Cluster Network 2").result.0, win::ERROR_CLUSTER_NETINTERFACE_NOT_FOUND);
    }

    #[test]
    fn filtered_enumeration() {
        let f = fx();
        let cluster = f.cluster();
        let en = |node: &str, net: &str| {
            let req = ApiCreateNetInterfaceEnumRequest { cluster, node_name: w(node), network_name: w(net) };
            api_create_net_interface_enum(&f.svc, &f.ctx, req)
        };
        let r = en("", "");
        assert_eq!(r.result.0, 0);
        let list = r.return_enum.unwrap().entries;
        assert_eq!(list.len(), 3);
        assert!(list.iter().all(|e| e.entry_type == enum_type::NETINTERFACE));
        assert_eq!(names(en("CTDB_NODE_2", "").return_enum), ["CTDB_NODE_2 - lo"]);
        assert_eq!(names(en("", "Cluster Network 1").return_enum).len(), 3);
        assert!(names(en("CTDB_NODE_2", "Cluster Network 2").return_enum).is_empty());
        assert_eq!(en("x", "").result.0, win::ERROR_CLUSTER_NODE_NOT_FOUND);
        assert_eq!(en("", "x").result.0, win::ERROR_CLUSTER_NETWORK_NOT_FOUND);
        let req = ApiCreateNetInterfaceEnumRequest { cluster: f.group("Cluster Group"), ..Default::default() };
        assert_eq!(api_create_net_interface_enum(&f.svc, &f.ctx, req).result.0, win::ERROR_INVALID_HANDLE);
    }
}
