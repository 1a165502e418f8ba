//! Resource type operations ([MS-CMRP] 3.1.4.2.27-28, 3.1.4.2.103): the per-type enumeration,
//! and type creation/deletion, which are refused by design.
//!
//! The resource types are the fixed table the CTDB mapping uses (IP Address, Network Name, File
//! Server, File Share, ... all "served by clusres.dll"). A new type would need a resource DLL
//! that CTDB cannot load, and deleting one would orphan the objects mapped onto it, so
//! ApiCreateResourceType and ApiDeleteResourceType answer ERROR_NOT_SUPPORTED (50), one of the
//! "any other condition" values of [MS-CMRP] 3.1.4.2.27-28. The type controls live in
//! `control.rs`.

use idl::clusapi::*;
use idl::WError;

use super::access::Granted;
use super::objclass::{selected_entries, EnumReply};
use super::{win, ClusapiService};
use crate::services::CallCtx;

pub use idl::clusenum::restype_enum;

/// [MS-CMRP 3.1.4.2.103] ApiCreateResTypeEnum: the nodes that can host resources of the type
/// (NODES) and/or the resources of the type (RESOURCES); other bits are ignored. An unknown
/// type name is ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND whatever the bits.
pub fn api_create_res_type_enum(
    s: &ClusapiService,
    _ctx: &CallCtx,
    req: ApiCreateResTypeEnumRequest,
) -> ApiCreateResTypeEnumResponse {
    let snap = s.backend.snapshot();
    let Some(t) = snap.find_resource_type(req.type_name.as_str()) else {
        return ApiCreateResTypeEnumResponse::error(win::ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND);
    };
    let nodes = t.possible_nodes.iter().filter_map(|&p| snap.node_name(p)).map(str::to_owned).collect();
    let resources = snap.resources_of_type(&t.name).map(|r| r.name.clone()).collect();
    ApiCreateResTypeEnumResponse::listed(selected_entries(
        req.enum_type,
        vec![(restype_enum::NODES, nodes), (restype_enum::RESOURCES, resources)],
    ))
}

/// Changing types needs "All" (the caller's entitlement: these methods have no handle).
fn check_all(ctx: &CallCtx) -> Result<(), u32> {
    if Granted::entitled(ctx.access) == Some(Granted::All) {
        Ok(())
    } else {
        Err(win::ERROR_ACCESS_DENIED)
    }
}

/// [MS-CMRP 3.1.4.2.27] ApiCreateResourceType: refused by design (see the module
/// documentation): ERROR_NOT_SUPPORTED.
pub fn api_create_resource_type(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateResourceTypeRequest,
) -> ApiCreateResourceTypeResponse {
    let r: Result<(), u32> = check_all(ctx).and_then(|()| {
        if req.type_name.as_str().trim().is_empty() {
            Err(win::ERROR_INVALID_PARAMETER)
        } else {
            Err(win::ERROR_NOT_SUPPORTED)
        }
    });
    ApiCreateResourceTypeResponse { rpc_status: 0, result: WError(r.err().unwrap_or(0)) }
}

/// [MS-CMRP 3.1.4.2.28] ApiDeleteResourceType: refused by design (see the module
/// documentation): ERROR_NOT_SUPPORTED for a known type, ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND
/// for an unknown one.
pub fn api_delete_resource_type(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiDeleteResourceTypeRequest,
) -> ApiDeleteResourceTypeResponse {
    let r: Result<(), u32> =
        check_all(ctx).and_then(|()| match s.backend.snapshot().find_resource_type(req.type_name.as_str()) {
            Some(_) => Err(win::ERROR_NOT_SUPPORTED),
            None => Err(win::ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND),
        });
    ApiDeleteResourceTypeResponse { rpc_status: 0, result: WError(r.err().unwrap_or(0)) }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{fx, names, w};
    use super::*;

    #[test]
    fn type_enumeration() {
        let f = fx();
        let en = |t: &str, bits: u32| {
            api_create_res_type_enum(&f.svc, &f.ctx, ApiCreateResTypeEnumRequest { type_name: w(t), enum_type: bits })
        };
        // smbtorture's types and bits
        for t in ["Physical Disk", "Storage Pool"] {
            for bits in [1, 2, 0x40, 0x80, 0x100] {
                assert_eq!(en(t, bits).result.0, 0, "{t} {bits:#x}");
            }
            for bits in [1, 2, 0x40, 0x80, 0x100] {
                assert_eq!(en("INVALID_TYPE_XXXX", bits).result.0, win::ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND);
            }
        }
        assert_eq!(names(en("physical disk", 1).return_enum), ["CTDB_NODE_0", "CTDB_NODE_1", "CTDB_NODE_2"]);
        assert!(names(en("Physical Disk", 2).return_enum).is_empty());
        let ips = names(en("IP Address", 2).return_enum);
        assert_eq!(ips.len(), 4);
        assert!(ips.contains(&"Cluster IP Address".to_owned()) && ips.contains(&"IP Address 127.0.100.2".to_owned()));
        // three nodes, "Cluster Name" and the File Server role's name
        assert_eq!(names(en("Network Name", 3).return_enum).len(), 5);
    }

    #[test]
    fn types_cannot_be_created_or_deleted() {
        let f = fx();
        let create = |ctx: &CallCtx, name: &str| {
            let req = ApiCreateResourceTypeRequest {
                type_name: w(name),
                display_name: w(name),
                dll_name: w("x.dll"),
                looks_alive: 5000,
                is_alive: 60000,
            };
            api_create_resource_type(&f.svc, ctx, req).result.0
        };
        assert_eq!(create(&f.ctx, "My Type"), win::ERROR_NOT_SUPPORTED);
        assert_eq!(create(&f.ctx, ""), win::ERROR_INVALID_PARAMETER);
        assert_eq!(create(&f.ro, "My Type"), win::ERROR_ACCESS_DENIED);
        let delete = |ctx: &CallCtx, name: &str| {
            api_delete_resource_type(&f.svc, ctx, ApiDeleteResourceTypeRequest { type_name: w(name) }).result.0
        };
        assert_eq!(delete(&f.ctx, "IP Address"), win::ERROR_NOT_SUPPORTED);
        assert_eq!(delete(&f.ctx, "nope"), win::ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND);
        assert_eq!(delete(&f.ro, "IP Address"), win::ERROR_ACCESS_DENIED);
        assert!(f.snap().find_resource_type("IP Address").is_some());
    }
}
