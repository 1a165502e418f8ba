//! Domain logons without a domain: the daemon runs with a fake domain verifier (what winbindd
//! answers: the session key and the user's SIDs) and the lab's access configuration (full for
//! Cluster Admins, read for Domain Users, deny for Cluster Deny), and real sealed SPNEGO
//! connections check what each kind of account may do, that the cluster security descriptor
//! clients read reflects the configuration, and that CLUSCTL_CLUSTER_SET_ACCOUNT_ACCESS changes
//! access at once, also on connections already open, and persists in the cluster registry.

use std::net::SocketAddr;
use std::sync::Arc;

use auth::{AuthError, CredentialStore, LocalVerifier, NtlmLogon, NtlmVerifier, StaticCredentials, VerifiedLogon};
use clusapid::accounts::Accounts;
use clusapid::cluster_access::ClusterAccess;
use clusapid::daemon::{self, DaemonSettings, Logons};
use dcerpc::pdu::{auth_level, fault, SyntaxId};
use idl::witness::{Witness, WitnessrGetInterfaceListRequest, WitnessrGetInterfaceListResponse};
use idl::ByteOrder;
use nodes::{ClusterBackend, SimConfig, SimulatedCluster};
use tests::domain::{
    cluster_descriptor, cluster_name, descriptor_aces, open_cluster, pause_or_resume, set_account_access,
};
use tests::{Auth, RpcClient};

const DOMAIN: &str = "S-1-5-21-100-200-300";
const PASSWORD: &str = "Passw0rd-1";

fn sid(rid: u32) -> String {
    format!("{DOMAIN}-{rid}")
}
const ADMINS: u32 = 1106;
const DENY: u32 = 1107;
const USERS: u32 = 513;

/// Checks passwords locally and answers with the SIDs a DC would: user, Domain Users, and the
/// user's groups.
struct FakeDomain(LocalVerifier);

impl NtlmVerifier for FakeDomain {
    fn verify(&self, l: &NtlmLogon<'_>) -> Result<VerifiedLogon, AuthError> {
        let mut v = self.0.verify(l)?;
        let (rid, groups): (u32, &[u32]) = match l.user.to_ascii_lowercase().as_str() {
            "clusadmin" => (1103, &[ADMINS]),
            "plainuser" => (1104, &[]),
            "denieduser" => (1105, &[DENY]),
            _ => return Err(AuthError::LogonFailure),
        };
        v.account = Some(l.user.to_ascii_lowercase());
        v.domain = Some("LAB".into());
        v.sids = [rid, USERS].iter().chain(groups).map(|r| sid(*r)).collect();
        v.sids.push("S-1-5-11".into());
        Ok(v)
    }
    fn blocking(&self) -> bool {
        true
    }
}

struct Server {
    rt: tokio::runtime::Runtime,
    port: u16,
    backend: Arc<SimulatedCluster>,
}

fn start(backend: Arc<SimulatedCluster>) -> Server {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let creds: Arc<dyn CredentialStore> = Arc::new(
        StaticCredentials::new()
            .with_password("clusadmin", PASSWORD)
            .with_password("plainuser", PASSWORD)
            .with_password("denieduser", PASSWORD),
    );
    let logons = Logons {
        mechanisms: auth::Mechanisms { ntlm: Arc::new(FakeDomain(LocalVerifier::new(creds))), kerberos: None },
        access: Arc::new(ClusterAccess::new(
            &["BUILTIN\\Administrators".into(), sid(ADMINS)],
            &[sid(USERS)],
            &[sid(DENY)],
        )),
        acceptor: auth::AcceptorConfig {
            netbios_computer: "LABCLUSTER".into(),
            netbios_domain: "LAB".into(),
            dns_computer: "labcluster.lab.example".into(),
            dns_domain: "lab.example".into(),
        },
    };
    let b: Arc<dyn ClusterBackend> = backend.clone();
    let d = rt
        .block_on(daemon::start_with(
            DaemonSettings {
                listen: vec!["127.0.0.1".parse().unwrap()],
                port: 0,
                epm_port: 0,
                max_request: 1 << 20,
                accounts: Accounts::default(),
                backend: b,
                domain: None,
                admin_socket: None,
                metrics_listen: None,
                admin_access: Default::default(),
                limits: Default::default(),
                witness_ip_change_settle: clusapid::config::DEFAULT_WITNESS_IP_CHANGE_SETTLE,
            },
            Some(logons),
        ))
        .unwrap();
    let port = d.clusapi_addrs[0].port();
    rt.spawn(d.wait());
    Server { rt, port, backend }
}

fn connect(port: u16, user: &str) -> RpcClient {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let who = format!("LAB\\{user}");
    let mut c =
        RpcClient::connect_addr(addr, Auth::Spnego { user: &who, password: PASSWORD, level: auth_level::PKT_PRIVACY });
    c.bind(tests::clusapi_syntax(), 0).unwrap_or_else(|e| panic!("bind as {user}: {e:?}"));
    c
}

#[test]
fn domain_accounts_get_what_the_cluster_descriptor_says() {
    let backend = Arc::new(SimulatedCluster::new(SimConfig::with_nodes(3)).unwrap());
    let srv = start(backend);

    // full, read-only, refused
    let mut admin = connect(srv.port, "clusadmin");
    assert_eq!(cluster_name(&mut admin).unwrap(), "CTDB-CLUSTER");
    assert_eq!(pause_or_resume(&mut admin, "CTDB_NODE_1", true), 0);
    assert_eq!(pause_or_resume(&mut admin, "CTDB_NODE_1", false), 0);
    let mut plain = connect(srv.port, "plainuser");
    assert_eq!(cluster_name(&mut plain).unwrap(), "CTDB-CLUSTER");
    assert_eq!(pause_or_resume(&mut plain, "CTDB_NODE_1", true), 5, "read-only: pause refused");
    let mut denied = connect(srv.port, "denieduser");
    assert_eq!(cluster_name(&mut denied), Err(fault::ACCESS_DENIED), "denied: every clusapi call faults");
    assert_eq!(open_cluster(&mut denied), Err(fault::ACCESS_DENIED));

    // witness needs only an authenticated caller
    let who = "LAB\\denieduser";
    let mut w = RpcClient::connect_addr(
        SocketAddr::from(([127, 0, 0, 1], srv.port)),
        Auth::Spnego { user: who, password: PASSWORD, level: auth_level::PKT_PRIVACY },
    );
    w.bind(SyntaxId::new(Witness::UUID, Witness::VERSION_MAJOR, Witness::VERSION_MINOR), 0).unwrap();
    let stub = w.call(WitnessrGetInterfaceListRequest::OPNUM, &WitnessrGetInterfaceListRequest {}.to_stub()).unwrap();
    let r = WitnessrGetInterfaceListResponse::decode_stub(&stub, ByteOrder::Little).unwrap();
    assert_eq!(r.result.0, 0);

    // a wrong password never gets a context
    let mut bad = RpcClient::connect_addr(
        SocketAddr::from(([127, 0, 0, 1], srv.port)),
        Auth::Spnego { user: "LAB\\clusadmin", password: "wrong", level: auth_level::PKT_PRIVACY },
    );
    assert!(bad.bind(tests::clusapi_syntax(), 0).is_err() || cluster_name(&mut bad).is_err());

    // the descriptor clients read: deny Cluster Deny, allow Administrators, Cluster Admins,
    // read Domain Users
    let sd = cluster_descriptor(&mut plain).unwrap();
    assert_eq!(
        descriptor_aces(&sd),
        vec![(1, 3, sid(DENY)), (0, 3, "S-1-5-32-544".to_string()), (0, 3, sid(ADMINS)), (0, 1, sid(USERS)),]
    );

    // SET_ACCOUNT_ACCESS: read-only callers cannot; the admin grants plainuser full access,
    // which takes effect on plainuser's open connection at once
    let h = open_cluster(&mut plain).unwrap();
    assert_eq!(set_account_access(&mut plain, h, &sid(1104), 3, 0), 5);
    let h = open_cluster(&mut admin).unwrap();
    assert_eq!(set_account_access(&mut admin, h, &sid(1104), 3, 0), 0);
    assert!(descriptor_aces(&cluster_descriptor(&mut admin).unwrap()).contains(&(0, 3, sid(1104))));
    assert_eq!(pause_or_resume(&mut plain, "CTDB_NODE_1", true), 0, "granted full access");
    assert_eq!(pause_or_resume(&mut plain, "CTDB_NODE_1", false), 0);
    // block, then remove the entries: back to what the configuration says
    assert_eq!(set_account_access(&mut admin, h, &sid(1104), 4, 1), 0);
    assert_eq!(cluster_name(&mut plain), Err(fault::ACCESS_DENIED), "blocked");
    assert_eq!(set_account_access(&mut admin, h, &sid(1104), 0, 2), 0);
    assert_eq!(cluster_name(&mut plain).unwrap(), "CTDB-CLUSTER");
    assert_eq!(pause_or_resume(&mut plain, "CTDB_NODE_1", true), 5);
    // a grant for Domain Users kept in the cluster registry survives a restart
    assert_eq!(set_account_access(&mut admin, h, &sid(USERS), 3, 0), 0);
    let backend = srv.backend.clone();
    drop((admin, plain, denied, w));
    drop(srv.rt);
    let srv2 = start(backend);
    let mut plain = connect(srv2.port, "plainuser");
    assert_eq!(pause_or_resume(&mut plain, "CTDB_NODE_2", true), 0, "the edit persisted");
    assert_eq!(pause_or_resume(&mut plain, "CTDB_NODE_2", false), 0);
}
