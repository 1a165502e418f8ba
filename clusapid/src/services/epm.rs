//! The endpoint mapper ([C706] appendix O): `ept_map` answers with the TCP tower of the
//! interfaces clusapid registered; `ept_lookup` lists the registrations (tower and
//! annotation), `max_ents` at a time, continued through a lookup handle kept in the caller's
//! association group until the list is done or `ept_lookup_handle_free` releases it.

use idl::epm::{
    inquiry, vers, Annotation, EpmapperServer, EptEntry, EptEntryArray, EptLookupHandleFreeRequest,
    EptLookupHandleFreeResponse, EptLookupRequest, EptLookupResponse, EptMapRequest, EptMapResponse, RpcIfId, TcpTower,
    Tower, TowerArray, Twr, EPT_S_CANT_PERFORM_OP, EPT_S_INVALID_ENTRY, EPT_S_NOT_REGISTERED,
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
    /// What ept_lookup shows next to it (at most 63 characters).
    pub annotation: &'static str,
}

/// A lookup in progress: the entries still to hand out.
struct LookupHandle {
    rest: std::sync::Mutex<Vec<EptEntry>>,
}

/// Whether a registration matches an ept_lookup inquiry ([C706] O.2.4).
fn lookup_matches(reg: &Registration, req: &EptLookupRequest) -> bool {
    let by_if = matches!(req.inquiry_type, inquiry::MATCH_BY_IF | inquiry::MATCH_BY_BOTH);
    let by_obj = matches!(req.inquiry_type, inquiry::MATCH_BY_OBJ | inquiry::MATCH_BY_BOTH);
    if by_obj {
        // every registration here has the nil object
        if req.object.is_some_and(|o| !o.is_nil()) {
            return false;
        }
    }
    if by_if {
        let Some(RpcIfId { uuid, vers_major, vers_minor }) = req.interface_id else { return false };
        if uuid != reg.uuid {
            return false;
        }
        let ok = match req.vers_option {
            vers::ALL => true,
            vers::COMPATIBLE => vers_major == reg.major && reg.minor >= vers_minor,
            vers::EXACT => vers_major == reg.major && vers_minor == reg.minor,
            vers::MAJOR_ONLY => vers_major == reg.major,
            vers::UPTO => (reg.major, reg.minor) <= (vers_major, vers_minor),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
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

impl EpmService {
    /// The address a tower names: the one the client reached us on.
    fn local_ip(ctx: &CallCtx) -> [u8; 4] {
        match ctx.local {
            Some(std::net::SocketAddr::V4(a)) => a.ip().octets(),
            _ => [127, 0, 0, 1],
        }
    }

    /// [C706] O.2.4 ept_lookup: the matching registrations, `max_ents` per call. The first call
    /// (null handle) takes a snapshot, kept behind a lookup handle in the caller's association
    /// group; each call continues from it; the call that finds nothing left answers
    /// EPT_S_NOT_REGISTERED with a null handle and frees it.
    pub fn ept_lookup(&self, ctx: &CallCtx, req: &EptLookupRequest) -> EptLookupResponse {
        let answer = |entry_handle, entries: Vec<EptEntry>, status| EptLookupResponse {
            entry_handle,
            num_ents: u32::try_from(entries.len()).unwrap_or(0),
            entries: EptEntryArray { max: req.max_ents, entries },
            status: WError(status),
        };
        if req.inquiry_type > inquiry::MATCH_BY_BOTH {
            return answer(ContextHandle::NULL, vec![], EPT_S_CANT_PERFORM_OP);
        }
        let (handle, mut rest) = if req.entry_handle.is_null() {
            let ip = Self::local_ip(ctx);
            let all: Vec<EptEntry> = self
                .registrations
                .iter()
                .filter(|r| lookup_matches(r, req))
                .map(|r| EptEntry {
                    object: Guid::NIL,
                    tower: Some(Twr(Tower::ncacn_ip_tcp(&TcpTower {
                        interface: (r.uuid, r.major, r.minor),
                        transfer: (idl::NDR20_UUID, 2),
                        port: r.port,
                        ip,
                    })
                    .to_bytes())),
                    annotation: Annotation(r.annotation.to_string()),
                })
                .collect();
            (None, all)
        } else {
            let Some(h) = ctx.group.get::<LookupHandle>(&req.entry_handle) else {
                return answer(ContextHandle::NULL, vec![], EPT_S_INVALID_ENTRY);
            };
            let rest = std::mem::take(&mut *h.rest.lock().unwrap_or_else(|e| e.into_inner()));
            (Some(req.entry_handle), rest)
        };
        if rest.is_empty() {
            if let Some(h) = handle {
                ctx.group.remove::<LookupHandle>(&h);
            }
            return answer(ContextHandle::NULL, vec![], EPT_S_NOT_REGISTERED);
        }
        let n = usize::try_from(req.max_ents).unwrap_or(usize::MAX).min(rest.len());
        let later = rest.split_off(n);
        // the handle stays until a call finds nothing left: clients loop until a status other
        // than success (Samba's rpcclient, Windows' RpcMgmtEpEltInqNext callers)
        let next = match handle {
            Some(h) => {
                if let Some(lh) = ctx.group.get::<LookupHandle>(&h) {
                    *lh.rest.lock().unwrap_or_else(|e| e.into_inner()) = later;
                }
                h
            }
            None => match ctx.group.insert(LookupHandle { rest: std::sync::Mutex::new(later) }) {
                Some(h) => h,
                // the association's handle limit: no lookup can be kept
                None => return answer(ContextHandle::NULL, vec![], EPT_S_CANT_PERFORM_OP),
            },
        };
        answer(next, rest, 0)
    }
}

impl EpmapperServer for EpmService {
    type Ctx = CallCtx;

    async fn ept_map(&self, ctx: &CallCtx, req: EptMapRequest) -> EptMapResponse {
        EpmService::ept_map(self, ctx, &req)
    }

    async fn ept_lookup(&self, ctx: &CallCtx, req: EptLookupRequest) -> EptLookupResponse {
        EpmService::ept_lookup(self, ctx, &req)
    }

    async fn ept_lookup_handle_free(
        &self,
        ctx: &CallCtx,
        req: EptLookupHandleFreeRequest,
    ) -> EptLookupHandleFreeResponse {
        // ept_map never hands out handles; ept_lookup's are freed here or when the list is done
        let status = if req.entry_handle.is_null() || ctx.group.remove::<LookupHandle>(&req.entry_handle) {
            0
        } else {
            EPT_S_INVALID_ENTRY
        };
        EptLookupHandleFreeResponse { entry_handle: ContextHandle::NULL, status: WError(status) }
    }
}
