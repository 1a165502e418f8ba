//! The endpoint mapper ([C706] appendix O): `ept_map` answers with the TCP tower of the
//! interfaces clusapid registered; everything else is not registered here.

use idl::epm::{
    EpmapperServer, EptLookupHandleFreeRequest, EptLookupHandleFreeResponse, EptMapRequest, EptMapResponse, TcpTower,
    Tower, TowerArray, Twr, EPT_S_NOT_REGISTERED,
};
use idl::{ContextHandle, Guid, WError};

use super::CallCtx;

/// One interface reachable through the mapper.
#[derive(Clone, Debug)]
pub struct Registration {
    pub uuid: Guid,
    pub major: u16,
    pub minor: u16,
    pub port: u16,
}

/// The endpoint mapper's registrations.
pub struct EpmService {
    pub registrations: Vec<Registration>,
}

impl EpmService {
    /// [C706] O.2.9 ept_map: the towers of `map_tower`'s interface over ncacn_ip_tcp.
    pub fn ept_map(&self, ctx: &CallCtx, req: &EptMapRequest) -> EptMapResponse {
        let not_registered = || EptMapResponse {
            entry_handle: ContextHandle::NULL,
            num_towers: 0,
            towers: TowerArray { max: req.max_towers, towers: vec![] },
            status: WError(EPT_S_NOT_REGISTERED),
        };
        let Some(tower) = req.map_tower.as_ref().and_then(|t| Tower::parse(&t.0)) else {
            return not_registered();
        };
        let (Some((uuid, major, minor)), true) = (tower.interface(), tower.is_ncacn_ip_tcp()) else {
            return not_registered();
        };
        let Some(reg) = self.registrations.iter().find(|r| r.uuid == uuid && r.major == major && minor <= r.minor)
        else {
            return not_registered();
        };
        if req.max_towers == 0 {
            return not_registered();
        }
        // the address the client reached us on, unless it asked for a specific one
        let asked: [u8; 4] = tower.floors[4].rhs.as_slice().try_into().unwrap_or([0; 4]);
        let ip = match ctx.local {
            _ if asked != [0; 4] => asked,
            Some(std::net::SocketAddr::V4(a)) => a.ip().octets(),
            _ => [127, 0, 0, 1],
        };
        let t = Tower::ncacn_ip_tcp(&TcpTower {
            interface: (reg.uuid, reg.major, reg.minor),
            transfer: (idl::NDR20_UUID, 2),
            port: reg.port,
            ip,
        });
        EptMapResponse {
            entry_handle: ContextHandle::NULL,
            num_towers: 1,
            towers: TowerArray { max: req.max_towers, towers: vec![Some(Twr(t.to_bytes()))] },
            status: WError(0),
        }
    }
}

impl EpmapperServer for EpmService {
    type Ctx = CallCtx;

    async fn ept_map(&self, ctx: &CallCtx, req: EptMapRequest) -> EptMapResponse {
        EpmService::ept_map(self, ctx, &req)
    }

    async fn ept_lookup_handle_free(
        &self,
        _ctx: &CallCtx,
        _req: EptLookupHandleFreeRequest,
    ) -> EptLookupHandleFreeResponse {
        // ept_map never hands out lookup handles, so there is nothing to free
        EptLookupHandleFreeResponse { entry_handle: ContextHandle::NULL, status: WError(0) }
    }
}
