//! Wiring: builds the backend, the accounts, the services and the two endpoints (the
//! endpoint mapper and the clusapi port, which also serves witness), binds the listeners and
//! serves until stopped.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use dcerpc::pdu::auth_level;
use dcerpc::server::SystemEntropy;
use dcerpc::{InterfaceSpec, ServerConfig};
use idl::clusapi::Clusapi;
use idl::epm::Epmapper;
use idl::mgmt::Mgmt;
use idl::witness::Witness;
use nodes::ClusterBackend;
use tokio::net::TcpListener;

use crate::accounts::Accounts;
use crate::services::clusapi::ClusapiService;
use crate::services::epm::{EpmService, Registration};
use crate::services::mgmt::MgmtService;
use crate::services::witness::WitnessService;
use crate::services::{Interface, Services};
use crate::transport::{self, Endpoint, Shared};

/// Everything needed to start serving.
pub struct DaemonSettings {
    pub listen: Vec<IpAddr>,
    pub port: u16,
    pub epm_port: u16,
    pub max_request: usize,
    /// Per-client and per-association limits.
    pub limits: crate::config::Limits,
    pub accounts: Accounts,
    pub backend: Arc<dyn ClusterBackend>,
}

/// A running daemon: the bound addresses and the listener tasks.
pub struct Daemon {
    pub clusapi_addrs: Vec<SocketAddr>,
    pub epm_addrs: Vec<SocketAddr>,
    pub shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Daemon {
    /// Waits until a listener stops (it never does on its own).
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// Stops accepting connections.
    pub fn abort(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn acceptor_config(snap: &nodes::ClusterState) -> auth::AcceptorConfig {
    let node = snap.node_name(snap.cluster.this_pnn).unwrap_or("CTDB_NODE").to_uppercase();
    auth::AcceptorConfig {
        netbios_computer: node.clone(),
        netbios_domain: snap.cluster.name.to_uppercase(),
        dns_computer: node.to_lowercase(),
        dns_domain: String::new(),
    }
}

/// Binds both listeners and starts serving.
pub async fn start(s: DaemonSettings) -> anyhow::Result<Daemon> {
    let snap = s.backend.snapshot();
    let accounts = Arc::new(RwLock::new(s.accounts));
    let creds: Arc<dyn auth::CredentialStore> = Arc::new(SharedAccounts(accounts.clone()));

    // bind the clusapi port first: with port 0 the kernel picks it and the mapper must know it
    let mut clusapi_listeners = Vec::new();
    let mut port = s.port;
    for ip in &s.listen {
        let l = TcpListener::bind(SocketAddr::new(*ip, port))
            .await
            .with_context(|| format!("binding clusapi port {ip}:{port}"))?;
        port = l.local_addr()?.port();
        clusapi_listeners.push(l);
    }
    let mut epm_listeners = Vec::new();
    let mut epm_port = s.epm_port;
    for ip in &s.listen {
        let l = TcpListener::bind(SocketAddr::new(*ip, epm_port))
            .await
            .with_context(|| format!("binding endpoint mapper port {ip}:{epm_port}"))?;
        epm_port = l.local_addr()?.port();
        epm_listeners.push(l);
    }

    let services = Arc::new(Services {
        epm: EpmService {
            registrations: vec![
                Registration {
                    uuid: Clusapi::UUID,
                    major: Clusapi::VERSION_MAJOR,
                    minor: Clusapi::VERSION_MINOR,
                    port,
                    annotation: "Failover Cluster Management API (clusapid)",
                },
                // the witness shares the clusapi port
                Registration {
                    uuid: Witness::UUID,
                    major: Witness::VERSION_MAJOR,
                    minor: Witness::VERSION_MINOR,
                    port,
                    annotation: "Service Witness Protocol (clusapid)",
                },
                // mgmt answers on every endpoint; listed with the clusapi port
                Registration {
                    uuid: Mgmt::UUID,
                    major: Mgmt::VERSION_MAJOR,
                    minor: Mgmt::VERSION_MINOR,
                    port,
                    annotation: "Remote management (clusapid)",
                },
                // the mapper registers itself, as Windows and Samba do (ept_map for its own tower)
                Registration {
                    uuid: Epmapper::UUID,
                    major: Epmapper::VERSION_MAJOR,
                    minor: Epmapper::VERSION_MINOR,
                    port: epm_port,
                    annotation: "Endpoint mapper (clusapid)",
                },
            ],
        },
        clusapi: ClusapiService::new(s.backend.clone()),
        witness: WitnessService::new(s.backend.clone())
            .with_registrations_per_client(s.limits.witness_registrations_per_client),
        mgmt: MgmtService { counters: Default::default(), principal: acceptor_config(&snap).netbios_computer },
        accounts,
    });
    let shared = Arc::new(Shared::new(services, s.limits));
    let base = |interfaces, sec_addr: u16| ServerConfig {
        interfaces,
        sec_addr: sec_addr.to_string(),
        max_request: s.max_request,
        acceptor: acceptor_config(&snap),
        credentials: creds.clone(),
        entropy: Arc::new(SystemEntropy),
    };
    // mgmt is served on every endpoint, as the Windows RPC runtime does; inquiries need no
    // authentication, remote stop is refused by the service itself
    let mgmt = InterfaceSpec {
        name: "mgmt",
        uuid: Mgmt::UUID,
        major: Mgmt::VERSION_MAJOR,
        minor: Mgmt::VERSION_MINOR,
        min_auth_level: auth_level::NONE,
    };
    let clusapi_spec = InterfaceSpec {
        name: "clusapi",
        uuid: Clusapi::UUID,
        major: Clusapi::VERSION_MAJOR,
        minor: Clusapi::VERSION_MINOR,
        // [MS-CMRP] 2.1: the server MUST refuse anything below packet privacy
        min_auth_level: auth_level::PKT_PRIVACY,
    };
    let witness_spec = InterfaceSpec {
        name: "witness",
        uuid: Witness::UUID,
        major: Witness::VERSION_MAJOR,
        minor: Witness::VERSION_MINOR,
        // [MS-SWN] 7 (as Samba quotes it): Windows fails calls below packet integrity; Samba
        // refuses such binds
        min_auth_level: auth_level::PKT_INTEGRITY,
    };
    let epm_spec = InterfaceSpec {
        name: "epmapper",
        uuid: Epmapper::UUID,
        major: Epmapper::VERSION_MAJOR,
        minor: Epmapper::VERSION_MINOR,
        min_auth_level: auth_level::NONE,
    };
    let served = |specs: &[&InterfaceSpec]| -> Arc<[(idl::Guid, u16, u16)]> {
        specs.iter().map(|s| (s.uuid, s.major, s.minor)).collect()
    };
    let clusapi_ep = Arc::new(Endpoint {
        name: "clusapi",
        served: served(&[&clusapi_spec, &witness_spec]),
        config: Arc::new(base(vec![clusapi_spec.clone(), mgmt.clone(), witness_spec.clone()], port)),
        interfaces: vec![Interface::Clusapi, Interface::Mgmt, Interface::Witness],
    });
    let epm_ep = Arc::new(Endpoint {
        name: "epmapper",
        served: served(&[&epm_spec]),
        config: Arc::new(base(vec![epm_spec.clone(), mgmt], epm_port)),
        interfaces: vec![Interface::Epmapper, Interface::Mgmt],
    });
    let mut tasks = Vec::new();
    let mut clusapi_addrs = Vec::new();
    let mut epm_addrs = Vec::new();
    for l in clusapi_listeners {
        clusapi_addrs.push(l.local_addr()?);
        tasks.push(tokio::spawn(transport::serve(l, clusapi_ep.clone(), shared.clone())));
    }
    for l in epm_listeners {
        epm_addrs.push(l.local_addr()?);
        tasks.push(tokio::spawn(transport::serve(l, epm_ep.clone(), shared.clone())));
    }
    tasks.push(tokio::spawn(crate::memory::trim_periodically()));
    Ok(Daemon { clusapi_addrs, epm_addrs, shared, tasks })
}

/// The accounts as the NTLM acceptor sees them (reloadable behind a lock).
struct SharedAccounts(Arc<RwLock<Accounts>>);

impl auth::CredentialStore for SharedAccounts {
    fn nt_hash(&self, user: &str) -> Option<[u8; 16]> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).get(user).map(|a| a.nt_hash)
    }
}
