//! The unit-test fixture of the clusapi handlers: a simulated 3-node cluster behind a
//! [`ClusapiService`], the contexts of a full and a read-only caller, and opening objects of
//! every class by name.

use std::sync::Arc;

use idl::clusapi::*;
use idl::{ContextHandle, WString};
use nodes::{ClusterBackend, ClusterState, SimConfig, SimulatedCluster};

use super::access::CLUSAPI_READ_ACCESS;
use super::objclass::{self, OpenRequest};
use super::{cluster, resource, ClusapiService};
use crate::accounts::AccessLevel;
use crate::services::CallCtx;

pub struct Fx {
    pub svc: ClusapiService,
    pub sim: Arc<SimulatedCluster>,
    /// A caller with full access.
    pub ctx: CallCtx,
    /// A read-only caller (its own association).
    pub ro: CallCtx,
}

fn ctx(access: AccessLevel) -> CallCtx {
    CallCtx::local(Some(access))
}

pub fn fx() -> Fx {
    let sim = Arc::new(SimulatedCluster::new(SimConfig::with_nodes(3)).unwrap());
    Fx { svc: ClusapiService::new(sim.clone()), sim, ctx: ctx(AccessLevel::Full), ro: ctx(AccessLevel::ReadOnly) }
}

pub fn w(s: &str) -> WString {
    WString::new(s)
}

/// The names of an enumeration reply.
pub fn names(l: Option<EnumList>) -> Vec<String> {
    l.unwrap().entries.into_iter().map(|e| e.name.unwrap().0).collect()
}

/// An open's reply, read the same way for every class.
pub trait Opened {
    /// (Status, rpc_status, whether the handle is null).
    fn answer(&self) -> (u32, u32, bool);
    fn handle(&self) -> ContextHandle;
}

/// `Reply.handle field,` — the open replies [`Opened`] reads.
macro_rules! opened {
    ($($reply:ident.$h:ident,)*) => {$(
        impl Opened for $reply {
            fn answer(&self) -> (u32, u32, bool) {
                (self.status.0, self.rpc_status, self.$h.is_null())
            }
            fn handle(&self) -> ContextHandle {
                self.$h
            }
        }
    )*};
}

opened! {
    ApiOpenGroupResponse.group,
    ApiOpenGroupExResponse.group,
    ApiOpenResourceResponse.resource,
    ApiOpenResourceExResponse.resource,
    ApiOpenNodeResponse.node,
    ApiOpenNetworkResponse.network,
    ApiOpenGroupSetResponse.group_set,
}

impl Fx {
    pub fn snap(&self) -> Arc<ClusterState> {
        self.sim.snapshot()
    }

    /// Opens with the full caller's association and checks that it succeeded (`what` names
    /// the object in the failure message).
    fn open<R: OpenRequest>(&self, req: R, what: &str) -> ContextHandle
    where
        R::Reply: Opened,
    {
        let r = objclass::open(&self.svc, &self.ctx, req);
        assert_eq!(r.answer().0, 0, "open {what}");
        r.handle()
    }

    pub fn group(&self, name: &str) -> ContextHandle {
        self.open(ApiOpenGroupRequest { group_name: w(name) }, &format!("group {name}"))
    }

    pub fn resource(&self, name: &str) -> ContextHandle {
        self.open(ApiOpenResourceRequest { resource_name: w(name) }, &format!("resource {name}"))
    }

    pub fn node(&self, name: &str) -> ContextHandle {
        self.open(ApiOpenNodeRequest { node_name: w(name) }, &format!("node {name}"))
    }

    /// A handle of the full caller's association that only grants "Read".
    pub fn group_read(&self, name: &str) -> ContextHandle {
        let req = ApiOpenGroupExRequest { group_name: w(name), desired_access: CLUSAPI_READ_ACCESS };
        objclass::open(&self.svc, &self.ctx, req).handle()
    }

    /// As [`Fx::group_read`], for a resource.
    pub fn resource_read(&self, name: &str) -> ContextHandle {
        let req = ApiOpenResourceExRequest { resource_name: w(name), desired_access: CLUSAPI_READ_ACCESS };
        objclass::open(&self.svc, &self.ctx, req).handle()
    }

    pub fn cluster(&self) -> ContextHandle {
        cluster::api_open_cluster(&self.svc, &self.ctx, ApiOpenClusterRequest {}).cluster
    }

    /// Creates a resource in the group, returning its handle.
    pub async fn create_resource(&self, group: &ContextHandle, name: &str, type_name: &str) -> ContextHandle {
        let req =
            ApiCreateResourceRequest { group: *group, resource_name: w(name), resource_type: w(type_name), flags: 0 };
        let r = resource::api_create_resource(&self.svc, &self.ctx, req).await;
        assert_eq!(r.status.0, 0, "create resource {name}");
        r.resource
    }

    pub async fn create_group(&self, name: &str) -> ContextHandle {
        let r =
            super::group::api_create_group(&self.svc, &self.ctx, ApiCreateGroupRequest { group_name: w(name) }).await;
        assert_eq!(r.status.0, 0, "create group {name}");
        r.group
    }
}
