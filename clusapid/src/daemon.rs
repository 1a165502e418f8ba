//! Wiring: builds the backend, the accounts (or the domain logons), the services and the two
//! endpoints (the endpoint mapper and the clusapi port, which also serves witness), binds the
//! listeners (or takes them bound: `serve` binds before it waits for ctdbd, so the ports are
//! held from the start) and serves until stopped; with `metrics_listen` also the status and
//! metrics endpoint ([`crate::http`]). Bind failures name the fix ([`transport::bind_error`]). With domain logons it also runs the background task
//! that resolves the access configuration's names through winbindd and picks up other nodes'
//! account access edits.

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
use crate::cluster_access::ClusterAccess;
use crate::domain::{Winbind, WinbindVerifier};
use crate::services::clusapi::ClusapiService;
use crate::services::epm::{EpmService, Registration};
use crate::services::mgmt::MgmtService;
use crate::services::witness::WitnessService;
use crate::services::{Interface, Services};
use crate::transport::{self, bind_error, Endpoint, Shared};

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
    /// The administration socket (`None`: none).
    pub admin_socket: Option<std::path::PathBuf>,
    pub admin_access: crate::admin::AdminAccess,
    /// Domain logons instead of the accounts: `None` for local accounts.
    pub domain: Option<DomainSettings>,
    /// The status and metrics endpoint (`None`: off, nothing is counted).
    pub metrics_listen: Option<SocketAddr>,
    /// How long the public addresses must be still before witness IP_CHANGE notifications go
    /// out (`witness_ip_change_settle_ms`).
    pub witness_ip_change_settle: std::time::Duration,
}

/// The two listening endpoints, bound.
pub struct Listeners {
    clusapi: Vec<TcpListener>,
    epm: Vec<TcpListener>,
    port: u16,
    epm_port: u16,
}

/// Binds `port` on every address of `listen`; with port 0 the first bind picks the port the
/// others then use. Returns the listeners and the port.
async fn bind_all(
    listen: &[std::net::IpAddr],
    port: u16,
    what: &'static str,
) -> anyhow::Result<(Vec<TcpListener>, u16)> {
    let (mut listeners, mut port) = (Vec::new(), port);
    for ip in listen {
        let addr = SocketAddr::new(*ip, port);
        let l = TcpListener::bind(addr).await.map_err(|e| bind_error(e, what, addr))?;
        port = l.local_addr()?.port();
        listeners.push(l);
    }
    Ok((listeners, port))
}

impl Listeners {
    /// Binds the clusapi port, then the endpoint mapper, on every address of `listen` (port 0:
    /// the kernel picks one, the same on every address).
    pub async fn bind(listen: &[std::net::IpAddr], port: u16, epm_port: u16) -> anyhow::Result<Listeners> {
        // the clusapi port first: with port 0 the kernel picks it and the mapper must know it
        let (clusapi, port) = bind_all(listen, port, "clusapi port").await?;
        let (epm, epm_port) = bind_all(listen, epm_port, "endpoint mapper port").await?;
        Ok(Listeners { clusapi, epm, port, epm_port })
    }

    /// The clusapi port bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The endpoint mapper port bound.
    pub fn epm_port(&self) -> u16 {
        self.epm_port
    }
}

/// Domain logons (`logon = "winbind"`).
#[derive(Clone, Debug, Default)]
pub struct DomainSettings {
    /// The member's NetBIOS name (smb.conf `netbios name`: the machine account's name).
    pub netbios_name: String,
    /// The domain's NetBIOS name (smb.conf `workgroup`).
    pub workgroup: String,
    /// The realm (smb.conf `realm`), the DNS domain in lower case.
    pub realm: String,
    /// The Kerberos acceptor's keytab (`None`: `KRB5_KTNAME` or MIT's default).
    pub keytab: Option<std::path::PathBuf>,
    pub full_access: Vec<String>,
    pub read_access: Vec<String>,
    pub deny_access: Vec<String>,
}

/// How often other nodes' account access edits are picked up.
pub const ACCESS_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

/// How often access list names winbindd could not resolve yet are retried (right after a start
/// winbindd may not reach a DC for a while; logons are refused until every deny name resolves).
pub const ACCESS_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// Logged once every configured access list name has a SID (the lab waits for it).
pub const ACCESS_COMPLETE_LOG: &str = "Access list complete: every configured name resolved";

/// The mechanisms and access list of domain logons; fails when libwbclient cannot be loaded.
fn domain_logons(d: &DomainSettings) -> anyhow::Result<(auth::Mechanisms, Arc<ClusterAccess>, Winbind)> {
    let wb = Winbind::new().context("logon = \"winbind\" needs libwbclient.so.0 (Debian package libwbclient0)")?;
    if let Err(e) = wb.ping() {
        tracing::warn!(error = %e, "winbindd does not answer yet: domain logons fail until it does");
    }
    let keytab = d.keytab.as_ref().map(|p| p.to_string_lossy().into_owned());
    let kerberos: Option<Arc<dyn auth::GssAcceptorFactory>> =
        match crate::domain::gss::KerberosAcceptor::new(keytab.as_deref(), Some(wb.clone())) {
            Ok(k) => {
                tracing::info!(keytab = k.keytab(), "Kerberos enabled");
                Some(Arc::new(k))
            }
            Err(e) => {
                tracing::warn!(error = %e, "Kerberos disabled: clients authenticate with NTLM only");
                None
            }
        };
    let mechanisms = auth::Mechanisms { ntlm: Arc::new(WinbindVerifier::new(wb.clone())), kerberos };
    let access = Arc::new(ClusterAccess::new(&d.full_access, &d.read_access, &d.deny_access));
    Ok((mechanisms, access, wb))
}

/// Resolves the access list's names through winbindd, retrying those that fail, and reads the
/// cluster registry so that account access edits made on other nodes take effect.
async fn access_refresh(services: Arc<Services>, wb: Winbind) {
    let mut reported = std::collections::HashSet::new();
    let mut complete = false;
    let mut last_read = tokio::time::Instant::now() - ACCESS_REFRESH;
    loop {
        let unresolved = services.clusapi.access.unresolved();
        if unresolved.is_empty() && !complete {
            complete = true;
            tracing::info!("{ACCESS_COMPLETE_LOG}");
        }
        for name in unresolved {
            let (domain, account) = match name.split_once('\\') {
                Some((d, a)) => (d.to_owned(), a.to_owned()),
                None => (String::new(), name.clone()),
            };
            let w = wb.clone();
            let r = tokio::task::spawn_blocking(move || w.lookup_name(&domain, &account)).await;
            match r {
                Ok(Ok(sid)) => {
                    tracing::info!(name, %sid, "Access list name resolved");
                    services.clusapi.access.resolved(&name, sid);
                }
                Ok(Err(e)) => {
                    if reported.insert(name.clone()) {
                        tracing::warn!(
                            name,
                            error = %e,
                            "Access list name not resolved yet (retried every second; while a deny name is \
                             unresolved, domain logons are refused)"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "Name lookup task failed"),
            }
        }
        if last_read.elapsed() >= ACCESS_REFRESH {
            let _ = crate::services::clusapi::registry::live(&services.clusapi).await;
            last_read = tokio::time::Instant::now();
        }
        let pending = !services.clusapi.access.unresolved().is_empty();
        tokio::time::sleep(if pending || !complete { ACCESS_RETRY } else { ACCESS_REFRESH }).await;
    }
}

/// A running daemon: the bound addresses and the listener tasks.
pub struct Daemon {
    pub clusapi_addrs: Vec<SocketAddr>,
    pub epm_addrs: Vec<SocketAddr>,
    /// The status and metrics endpoint's address, when on.
    pub metrics_addr: Option<SocketAddr>,
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

/// The names a domain member announces in its NTLM CHALLENGE: the DC checks that the NTLMv2
/// response it is asked to verify names the member that passes it through (MsvAvNbComputerName
/// and MsvAvNbDomainName of the client's blob), so they are the machine account's, not the
/// cluster node's.
fn member_acceptor_config(d: &DomainSettings) -> auth::AcceptorConfig {
    let dns_domain = d.realm.to_lowercase();
    auth::AcceptorConfig {
        netbios_computer: d.netbios_name.to_uppercase(),
        netbios_domain: d.workgroup.to_uppercase(),
        dns_computer: if dns_domain.is_empty() {
            d.netbios_name.to_lowercase()
        } else {
            format!("{}.{dns_domain}", d.netbios_name.to_lowercase())
        },
        dns_domain,
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
    start_with(s, None).await
}

/// How clients log on, when the caller provides it instead of the settings (tests: a fake
/// domain verifier): the mechanisms, the cluster access list, and the names announced in the
/// NTLM CHALLENGE. No name resolution or refresh task runs for them.
pub struct Logons {
    pub mechanisms: auth::Mechanisms,
    pub access: Arc<ClusterAccess>,
    pub acceptor: auth::AcceptorConfig,
}

/// [`start`] with the logons given (`None`: from the settings).
pub async fn start_with(s: DaemonSettings, logons: Option<Logons>) -> anyhow::Result<Daemon> {
    let listeners = Listeners::bind(&s.listen, s.port, s.epm_port).await?;
    start_bound(s, listeners, logons).await
}

/// [`start_with`] on listeners bound already (`s.listen`, `s.port` and `s.epm_port` are not
/// used).
pub async fn start_bound(s: DaemonSettings, listeners: Listeners, logons: Option<Logons>) -> anyhow::Result<Daemon> {
    let snap = s.backend.snapshot();
    let accounts = Arc::new(RwLock::new(s.accounts));
    let creds: Arc<dyn auth::CredentialStore> = Arc::new(SharedAccounts(accounts.clone()));
    let (mechanisms, access, winbind, acceptor) = match (logons, &s.domain) {
        (Some(l), _) => (l.mechanisms, l.access, None, l.acceptor),
        (None, Some(d)) => {
            let (m, a, w) = domain_logons(d)?;
            (m, a, Some(w), member_acceptor_config(d))
        }
        (None, None) => (auth::Mechanisms::local(creds), Arc::default(), None, acceptor_config(&snap)),
    };

    let Listeners { clusapi: clusapi_listeners, epm: epm_listeners, port, epm_port } = listeners;
    let metrics_listener = match s.metrics_listen {
        Some(addr) => Some(crate::http::bind(addr).await?),
        None => None,
    };
    let metrics = metrics_listener.as_ref().map(|_| Arc::new(crate::metrics::Metrics::default()));

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
        clusapi: ClusapiService::new(s.backend.clone()).with_access(access),
        witness: WitnessService::new(s.backend.clone())
            .with_registrations_per_client(s.limits.witness_registrations_per_client)
            .with_ip_change_settle(s.witness_ip_change_settle),
        mgmt: MgmtService { counters: Default::default(), principal: acceptor_config(&snap).netbios_computer },
        accounts,
    });
    let mut tasks = services.witness.start_background().await;
    if let Some(path) = &s.admin_socket {
        match crate::admin::bind(path, &s.admin_access).await {
            Ok(l) => {
                tracing::info!(socket = %path.display(), "Administration socket ready");
                tasks.push(tokio::spawn(crate::admin::serve(l, s.admin_access.clone(), services.clone())));
            }
            Err(e) => {
                tracing::warn!(socket = %path.display(), error = %e, "No administration socket: `clusapid witness` commands cannot reach this daemon")
            }
        }
    }
    // the account access edits kept in the cluster registry apply from the first call on
    let _ = crate::services::clusapi::registry::live(&services.clusapi).await;
    let shared = Arc::new(Shared::new(services, s.limits).with_metrics(metrics.clone()));
    let base = |interfaces, sec_addr: u16| ServerConfig {
        interfaces,
        sec_addr: sec_addr.to_string(),
        max_request: s.max_request,
        acceptor: acceptor.clone(),
        mechanisms: mechanisms.clone(),
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
    if let Some(wb) = winbind {
        tasks.push(tokio::spawn(access_refresh(shared.services.clone(), wb)));
    }
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
    let mut metrics_addr = None;
    if let (Some(l), Some(m)) = (metrics_listener, metrics) {
        metrics_addr = Some(l.local_addr()?);
        tracing::info!(addr = ?metrics_addr, "Status and metrics endpoint ready (GET /metrics, /status, /)");
        let src = crate::http::StatusSource { shared: shared.clone(), metrics: m, backend: s.backend.clone() };
        tasks.push(tokio::spawn(crate::http::serve(l, Arc::new(src))));
    }
    tasks.push(tokio::spawn(crate::memory::trim_periodically()));
    Ok(Daemon { clusapi_addrs, epm_addrs, metrics_addr, shared, tasks })
}

/// The accounts as the NTLM acceptor sees them (reloadable behind a lock).
struct SharedAccounts(Arc<RwLock<Accounts>>);

impl auth::CredentialStore for SharedAccounts {
    fn nt_hash(&self, user: &str) -> Option<[u8; 16]> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).get(user).map(|a| a.nt_hash)
    }
}
