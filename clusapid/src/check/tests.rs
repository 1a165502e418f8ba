//! The decisions of `clusapid check`, from synthetic facts.

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn proc_(pid: u32, exe: &str, args: &[&str]) -> ProcInfo {
    let name = exe.rsplit('/').next().unwrap();
    ProcInfo {
        pid,
        comm: name.chars().take(15).collect(),
        exe: Some(exe.into()),
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

fn lab_config() -> Config {
    Config::parse(
        "listen = [\"0.0.0.0\"]\nport = 4135\nepm_port = 135\nbackend = \"ctdb\"\naccounts = \"/acc\"\n",
        Path::new("node0/clusapid.toml"),
    )
    .unwrap()
}

fn healthy_samba() -> SambaFacts {
    let mut g = BTreeMap::new();
    g.insert("clustering".to_string(), "Yes".to_string());
    g.insert("smb3 share cap:cluster".to_string(), "yes".to_string());
    g.insert("smb3 share cap:continuous availability".to_string(), "yes".to_string());
    SambaFacts {
        globals: Ok(g),
        version: Some((4, 22)),
        rpc_processes: vec![proc_(
            900,
            "/usr/libexec/samba/samba-dcerpcd",
            &["/usr/libexec/samba/samba-dcerpcd", "--libexec-rpcds", "--ready-signal-fd=40", "--np-helper"],
        )],
        libexec: Some(PathBuf::from("/usr/libexec/samba")),
        rpcds: ["rpcd_classic", "rpcd_epmapper", "rpcd_lsad", "rpcd_witness", "rpcd_winreg"].map(String::from).to_vec(),
        ctdb_dcerpcd_script: false,
    }
}

/// A healthy lab node where clusapid (pid 500) holds both ports.
fn healthy() -> Facts {
    let clusapid = proc_(500, "/work/target/release/clusapid", &["clusapid", "serve", "--config", "x"]);
    let mut owners = BTreeMap::new();
    owners.insert(11, vec![clusapid.clone()]);
    owners.insert(12, vec![clusapid]);
    Facts {
        config_path: PathBuf::from("node0/clusapid.toml"),
        config: Ok(lab_config()),
        ctdb: Some(Ok(CtdbView {
            pnn: 0,
            nodes: vec![(0, 0), (1, 0), (2, 0)],
            recovery_active: false,
            public_ips: vec![ip("192.0.2.101"), ip("192.0.2.102")],
        })),
        ports: PortFacts {
            listening: vec![
                ListenSocket { addr: ip("0.0.0.0"), port: 135, inode: 11 },
                ListenSocket { addr: ip("0.0.0.0"), port: 4135, inode: 12 },
                ListenSocket { addr: ip("0.0.0.0"), port: 445, inode: 13 },
            ],
            owners,
            root: true,
        },
        samba: healthy_samba(),
        credentials: Credentials::Accounts { path: PathBuf::from("/acc"), read: Ok((1, 0, 0o600)) },
        names: vec![Resolved { name: "LABCLUSTER".into(), addrs: Ok(vec![ip("192.0.2.101"), ip("192.0.2.102")]) }],
        running: false,
    }
}

fn finding<'a>(r: &'a Report, topic: &str) -> &'a Finding {
    r.findings.iter().find(|f| f.topic.starts_with(topic)).unwrap_or_else(|| panic!("no {topic} in {r:#?}"))
}

#[test]
fn a_healthy_node_is_ok() {
    let r = assess(&healthy());
    assert_eq!(r.worst(), Level::Ok, "{}", r.render());
    assert_eq!(r.exit_code(), 0);
    assert!(finding(&r, "port 135").message.contains("held by clusapid (pid 500)"), "{}", r.render());
    assert!(r.render().ends_with("Result: OK (9 OK, 0 WARN, 0 FAIL)\n"), "{}", r.render());
}

#[test]
fn port_135_held_by_samba_dcerpcd_names_it_and_the_fix() {
    let mut f = healthy();
    let d =
        proc_(777, "/usr/libexec/samba/samba-dcerpcd", &["/usr/libexec/samba/samba-dcerpcd", "-D", "--libexec-rpcds"]);
    f.ports.owners.insert(11, vec![d.clone()]);
    f.samba.rpc_processes.push(d);
    let r = assess(&f);
    assert_eq!(r.exit_code(), 1);
    let p = finding(&r, "port 135");
    assert_eq!(p.level, Level::Fail);
    assert!(p.message.contains("samba-dcerpcd (pid 777"), "{}", p.message);
    let fix = p.fix.as_deref().unwrap();
    assert!(
        fix.contains(
            "/usr/libexec/samba/samba-dcerpcd -D /usr/libexec/samba/rpcd_classic /usr/libexec/samba/rpcd_lsad /usr/libexec/samba/rpcd_winreg"
        ),
        "the explicit list without rpcd_epmapper and rpcd_witness: {fix}"
    );
    // the same daemon also runs Samba's witness
    assert_eq!(finding(&r, "Samba's rpcd_witness").level, Level::Fail);
    assert!(
        r.render().contains("FAIL  port 135 (endpoint mapper): held by Samba's samba-dcerpcd (pid 777"),
        "{}",
        r.render()
    );
}

#[test]
fn other_holders_unknown_holders_and_wildcards() {
    // an unrelated program on 127.0.0.1:135 conflicts with listen = 0.0.0.0
    let mut f = healthy();
    f.ports.listening.retain(|s| s.port != 135);
    f.ports.listening.push(ListenSocket { addr: ip("127.0.0.1"), port: 135, inode: 21 });
    f.ports.owners.insert(21, vec![proc_(4321, "/usr/bin/python3", &["python3", "-m", "http.server", "135"])]);
    let r = assess(&f);
    let p = finding(&r, "port 135");
    assert_eq!(p.level, Level::Fail);
    assert!(p.message.contains("python3 (pid 4321: python3 -m http.server 135)"), "{}", p.message);
    assert!(p.fix.as_deref().unwrap().contains("epm_port"));

    // a socket nobody visible holds: as non-root, say how to see it
    f.ports.owners.remove(&21);
    f.ports.root = false;
    let p = assess(&f).findings.into_iter().find(|x| x.topic.starts_with("port 135")).unwrap();
    assert_eq!(p.level, Level::Fail);
    assert!(p.fix.unwrap().contains("as root"));

    // a listener on another address does not conflict with a specific listen address
    let mut f = healthy();
    f.config.as_mut().unwrap().listen = vec![ip("127.0.0.1")];
    f.ports.listening = vec![ListenSocket { addr: ip("127.0.0.2"), port: 135, inode: 31 }];
    f.ports.owners.clear();
    let r = assess(&f);
    assert_eq!(finding(&r, "port 135").level, Level::Ok, "{}", r.render());
    assert!(finding(&r, "port 135").message.contains("free"));
    // but [::] does (it may take IPv4 too)
    f.ports.listening = vec![ListenSocket { addr: ip("::"), port: 135, inode: 31 }];
    assert_eq!(finding(&assess(&f), "port 135").level, Level::Fail);
}

#[test]
fn running_expects_the_ports_held() {
    let mut f = healthy();
    f.ports.listening.clear();
    assert_eq!(finding(&assess(&f), "port 135").level, Level::Ok, "free is fine before a start");
    f.running = true;
    assert_eq!(finding(&assess(&f), "port 135").level, Level::Fail);
}

#[test]
fn ctdbd_unreachable_fails_unhealthy_warns() {
    let mut f = healthy();
    f.ctdb = Some(Err("connection refused".into()));
    let r = assess(&f);
    assert_eq!(finding(&r, "ctdbd").level, Level::Fail);
    assert!(finding(&r, "ctdbd").message.contains("/run/ctdb/ctdbd.socket"));
    f.ctdb = Some(Ok(CtdbView { pnn: 1, nodes: vec![(0, 0), (1, 4)], recovery_active: false, public_ips: vec![] }));
    let c = assess(&f).findings.into_iter().find(|x| x.topic == "ctdbd").unwrap();
    assert_eq!(c.level, Level::Warn);
    assert!(c.message.contains("pnn 1 (DISABLED)"), "{}", c.message);
    assert!(c.fix.unwrap().contains("ctdb enable"));
}

#[test]
fn samba_standalone_mode_and_witness() {
    // standalone with the explicit list: fine
    let mut f = healthy();
    f.samba.rpc_processes = vec![proc_(
        800,
        "/usr/libexec/samba/samba-dcerpcd",
        &["/usr/libexec/samba/samba-dcerpcd", "-D", "/usr/libexec/samba/rpcd_classic", "/usr/libexec/samba/rpcd_lsad"],
    )];
    f.samba.globals.as_mut().unwrap().insert("rpc start on demand helpers".into(), "No".into());
    let r = assess(&f);
    assert_eq!(finding(&r, "Samba's rpcd_witness").level, Level::Ok);
    assert_eq!(finding(&r, "samba-dcerpcd").level, Level::Ok, "{}", r.render());
    // standalone configured but not started yet: warn with the command
    f.samba.rpc_processes.clear();
    f.samba.ctdb_dcerpcd_script = true;
    let r = assess(&f);
    let d = finding(&r, "samba-dcerpcd");
    assert_eq!(d.level, Level::Warn);
    assert!(d.message.contains("47.samba-dcerpcd"));
    assert!(!d.fix.as_deref().unwrap().contains("rpcd_epmapper /"), "{:?}", d.fix);
    // a running rpcd_witness fails
    f.samba.rpc_processes = vec![proc_(801, "/usr/libexec/samba/rpcd_witness", &["/usr/libexec/samba/rpcd_witness"])];
    assert_eq!(finding(&assess(&f), "Samba's rpcd_witness").level, Level::Fail);
}

#[test]
fn share_capabilities() {
    let mut f = healthy();
    f.samba.globals.as_mut().unwrap().remove("smb3 share cap:continuous availability");
    let r = assess(&f);
    let c = finding(&r, "witness share capabilities");
    assert_eq!(c.level, Level::Warn);
    assert!(c.message.contains("CONTINUOUS AVAILABILITY") && !c.message.contains("CLUSTER,"), "{}", c.message);
    assert!(c.fix.as_deref().unwrap().contains("smb3 share cap:CONTINUOUS AVAILABILITY = yes"));
    f.samba.version = Some((4, 17));
    assert!(finding(&assess(&f), "witness share capabilities").message.contains("Samba 4.17"));
    f.samba.globals = Err("testparm: not found".into());
    assert_eq!(finding(&assess(&f), "witness share capabilities").level, Level::Warn);
    // the simulated backend has no Samba to check
    let mut f = healthy();
    f.config.as_mut().unwrap().backend = BackendKind::Simulated;
    f.ctdb = None;
    f.samba.globals = Err("no smb.conf".into());
    assert!(!assess(&f).findings.iter().any(|x| x.topic == "witness share capabilities"));
}

#[test]
fn credentials() {
    let mut f = healthy();
    f.credentials = Credentials::Accounts { path: "/acc".into(), read: Err("No such file or directory".into()) };
    let c = assess(&f).findings.into_iter().find(|x| x.topic == "accounts").unwrap();
    assert_eq!(c.level, Level::Fail);
    assert!(c.fix.unwrap().contains("clusapid user add --accounts /acc"));
    f.credentials = Credentials::Accounts { path: "/acc".into(), read: Ok((0, 0, 0o600)) };
    assert_eq!(finding(&assess(&f), "accounts").level, Level::Fail);
    f.credentials = Credentials::Accounts { path: "/acc".into(), read: Ok((1, 1, 0o644)) };
    let c = assess(&f).findings.into_iter().find(|x| x.topic == "accounts").unwrap();
    assert_eq!(c.level, Level::Warn);
    assert!(c.fix.unwrap().contains("chmod 600"));

    let kt = |p: Result<Vec<String>, String>, w: Result<(), String>| Credentials::Winbind {
        keytab: "/etc/samba/clusapid.keytab".into(),
        principals: p,
        winbindd: w,
    };
    f.credentials = kt(Ok(vec!["MSServerClusterMgmtAPI/labcluster@LAB.EXAMPLE".into()]), Ok(()));
    assert_eq!(finding(&assess(&f), "domain logons").level, Level::Ok);
    f.credentials = kt(Ok(vec!["host/node0@LAB.EXAMPLE".into()]), Ok(()));
    assert_eq!(finding(&assess(&f), "domain logons").level, Level::Warn);
    f.credentials = kt(Err("Permission denied".into()), Ok(()));
    assert_eq!(finding(&assess(&f), "domain logons").level, Level::Warn);
    f.credentials = kt(Ok(vec![]), Err("could not ping winbindd".into()));
    assert_eq!(finding(&assess(&f), "domain logons").level, Level::Fail);
}

#[test]
fn cluster_name() {
    let mut f = healthy();
    f.names = vec![Resolved { name: "LABCLUSTER".into(), addrs: Err("Name or service not known".into()) }];
    let c = assess(&f).findings.into_iter().find(|x| x.topic == "cluster name").unwrap();
    assert_eq!(c.level, Level::Warn);
    assert!(c.fix.unwrap().contains("DNS A records for LABCLUSTER"));
    f.names = vec![Resolved { name: "LABCLUSTER".into(), addrs: Ok(vec![ip("192.0.2.101"), ip("192.0.2.11")]) }];
    let c = assess(&f).findings.into_iter().find(|x| x.topic == "cluster name").unwrap();
    assert_eq!(c.level, Level::Warn, "a node address is not a public one");
    assert!(c.message.contains("192.0.2.11 not public"), "{}", c.message);
}

#[test]
fn a_bad_configuration_stops_the_check() {
    let mut f = healthy();
    f.config = Err("x.toml: TOML parse error".into());
    let r = assess(&f);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.exit_code(), 1);
    assert!(r.render().contains("FAIL  configuration: x.toml: TOML parse error\n      fix: "), "{}", r.render());
}
