//! The RPC interfaces clusapid serves and what every call is given: [`CallCtx`] (who is
//! calling, over which association) and [`Services`] (one object per interface).

pub mod clusapi;
pub mod epm;
pub mod mgmt;
pub mod witness;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use dcerpc::{AssociationGroup, Principal, ServerConnection};
use idl::clusapi::Clusapi;
use idl::epm::Epmapper;
use idl::mgmt::Mgmt;
use idl::witness::Witness;
use idl::{ByteOrder, DispatchError, Guid};

use crate::accounts::{AccessLevel, Accounts};

/// An interface served on some endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interface {
    Epmapper,
    Clusapi,
    Mgmt,
    Witness,
}

impl Interface {
    /// Name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Interface::Epmapper => "epmapper",
            Interface::Clusapi => "clusapi",
            Interface::Mgmt => "mgmt",
            Interface::Witness => "witness",
        }
    }

    /// The spec name of an operation.
    pub fn op_name(self, opnum: u16) -> &'static str {
        match self {
            Interface::Epmapper => Epmapper::op_name(opnum),
            Interface::Clusapi => Clusapi::op_name(opnum),
            Interface::Mgmt => Mgmt::op_name(opnum),
            Interface::Witness => Witness::op_name(opnum),
        }
        .unwrap_or("?")
    }
}

/// What a call knows about its caller.
pub struct CallCtx {
    /// The association group (owner of context handles).
    pub group: Arc<AssociationGroup>,
    pub principal: Option<Principal>,
    /// The caller's access level: from the accounts file for local accounts, from the cluster
    /// security descriptor for domain logons; `None` for unauthenticated callers and for
    /// domain accounts the descriptor gives nothing.
    pub access: Option<AccessLevel>,
    /// The generation of the cluster access list `access` was evaluated against (a newer one
    /// means the context is rebuilt before the next call).
    pub access_generation: u64,
    pub peer: SocketAddr,
    pub local: Option<SocketAddr>,
    /// The interfaces (uuid, major, minor) of the endpoint the call came in on, for mgmt.
    pub served: Arc<[(Guid, u16, u16)]>,
}

impl CallCtx {
    /// Builds the context of calls on a bound connection.
    pub fn new(
        conn: &ServerConnection,
        peer: SocketAddr,
        local: Option<SocketAddr>,
        served: Arc<[(Guid, u16, u16)]>,
        services: &Services,
    ) -> Self {
        let principal = conn.principal().cloned();
        let access_generation = services.clusapi.access.generation();
        let access = principal.as_ref().and_then(|p| {
            if !p.sids.is_empty() || p.mechanism == auth::Mechanism::Kerberos {
                // a domain logon: [MS-CMRP] 3.1.1.3, the cluster security descriptor
                services.clusapi.access.entitlement(&p.sids)
            } else {
                let acc = services.accounts.read().unwrap_or_else(|e| e.into_inner());
                acc.get(&p.user).map(|a| a.access)
            }
        });
        let group = match conn.group() {
            Some(g) => g.clone(),
            // a call is only produced on a bound connection, which always has a group
            None => dcerpc::Associations::new().create(),
        };
        CallCtx { group, principal, access, access_generation, peer, local, served }
    }
}

impl CallCtx {
    /// A context outside any connection (tests and local tools): a fresh association group, no
    /// principal, the given account level, peer 127.0.0.1.
    pub fn local(access: Option<AccessLevel>) -> Self {
        CallCtx {
            group: dcerpc::Associations::new().create(),
            principal: None,
            access,
            access_generation: 0,
            peer: SocketAddr::from(([127, 0, 0, 1], 0)),
            local: None,
            served: Arc::from(Vec::new()),
        }
    }
}

/// One object per interface.
pub struct Services {
    pub epm: epm::EpmService,
    pub clusapi: clusapi::ClusapiService,
    pub mgmt: mgmt::MgmtService,
    pub witness: witness::WitnessService,
    pub accounts: Arc<RwLock<Accounts>>,
}

impl Services {
    /// Runs one call of `iface`.
    pub async fn dispatch(
        &self,
        iface: Interface,
        ctx: &CallCtx,
        opnum: u16,
        stub: &[u8],
        order: ByteOrder,
        out: &mut Vec<u8>,
    ) -> Result<Option<u32>, DispatchError> {
        match iface {
            Interface::Epmapper => Epmapper::dispatch(&self.epm, ctx, opnum, stub, order, out).await,
            Interface::Clusapi => {
                // a method the presented Windows version lacks is not in its interface
                let version = clusapi::profile::version_of(&self.clusapi);
                if !clusapi::profile::has_opnum(version, opnum) {
                    return Err(DispatchError::OpRange(opnum));
                }
                Clusapi::dispatch(&self.clusapi, ctx, opnum, stub, order, out).await
            }
            Interface::Mgmt => Mgmt::dispatch(&self.mgmt, ctx, opnum, stub, order, out).await,
            Interface::Witness => Witness::dispatch(&self.witness, ctx, opnum, stub, order, out).await,
        }
    }
}
