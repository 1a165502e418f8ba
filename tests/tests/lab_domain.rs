//! Domain logons on the lab (`scripts/lab up DIR --dc`): a Samba AD DC, the three nodes joined
//! as one clustered member, clusapid with `logon = "winbind"` and the issue's access
//! configuration (full for LAB\Cluster Admins, read for LAB\Domain Users, deny for LAB\Cluster
//! Deny). Real clients from the lab's `client` host: rpcclient and smbtorture with Kerberos
//! required and with NTLM only, the admin, a plain user (read-only: pause refused), a user of a
//! denied group and a wrong password; a capture in which tshark finds the Kerberos AP-REQ in
//! the bind; SPNEGO falling back to NTLM when a node's keytab lacks the key; account access
//! edits that apply on every node.
//!
//! Needs root (network namespaces); skipped with a message otherwise, a failure under CI=true.
//! One lab serves every test of this binary: the first test brings it up in
//! `/tmp/clusapid-lab-domain-<hash of the checkout>`, the process takes it down when it exits
//! (`LAB_KEEP=1` keeps it for inspection). The tests run one at a time: they share the lab's
//! state (a paused node, an access edit). A test that fails does not take the next ones with it:
//! the access edit is undone whatever happens, and after a failed test every node is enabled
//! again before the next one starts.
//!
//! rpcclient reaches the cluster name through its first address, on whichever node CTDB gave it.
//! Pausing that node moves the address, and ctdbd's releaseip resets the connections to it before
//! the reply goes out: a Windows client reconnects and sends the call again (MS-CMRP 3.2.4.6),
//! rpcclient does not. So the tests pause a node that is not serving rpcclient
//! ([`Lab::node_to_pause`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use dcerpc::pdu::auth_level;
use tests::domain::{
    cluster_descriptor, cluster_name, descriptor_aces, open_cluster, open_cluster_ex, set_account_access,
    CLUSAPI_ALL_ACCESS,
};
use tests::*;

const PASSWORD: &str = "Passw0rd-1";
const KRB_NAME: &str = "ncacn_ip_tcp:labcluster.lab.example[seal]";

/// The lab of this test binary.
struct Lab {
    dir: PathBuf,
    prefix: String,
}

static LAB: OnceLock<Result<Lab, String>> = OnceLock::new();
static SERIAL: Mutex<()> = Mutex::new(());

fn script() -> PathBuf {
    workspace_root().join("scripts/lab")
}

fn lab_dir() -> PathBuf {
    // one directory per checkout, so two checkouts' test runs never share a lab
    let root = workspace_root();
    let h = root.to_string_lossy().bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    PathBuf::from(format!("/tmp/clusapid-lab-domain-{h:08x}"))
}

extern "C" fn take_the_lab_down() {
    if std::env::var_os("LAB_KEEP").is_some_and(|v| v == "1") {
        return;
    }
    if let Some(Ok(lab)) = LAB.get() {
        let _ = Command::new(script()).arg("down").arg(&lab.dir).output();
    }
}

fn bring_up() -> Result<Lab, String> {
    let dir = lab_dir();
    // a lab left by a crashed run of this binary
    let _ = Command::new(script()).arg("down").arg(&dir).output();
    let bin = clusapid_bin();
    let started = Instant::now();
    let out = Command::new(script())
        .arg("up")
        .arg(&dir)
        .arg("--dc")
        .env("CLUSAPID", &bin)
        .output()
        .map_err(|e| format!("running scripts/lab: {e}"))?;
    // registered once the lab may exist, whatever happens next
    // SAFETY: a plain extern "C" fn with no arguments.
    unsafe { libc::atexit(take_the_lab_down) };
    if !out.status.success() {
        return Err(format!(
            "scripts/lab up {} --dc failed:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    eprintln!("lab with a DC up in {:.0} s", started.elapsed().as_secs_f64());
    let env = std::fs::read_to_string(dir.join("lab.env")).map_err(|e| format!("lab.env: {e}"))?;
    let prefix = env.lines().find_map(|l| l.strip_prefix("PREFIX=")).ok_or("lab.env has no PREFIX")?.trim().to_owned();
    Ok(Lab { dir, prefix })
}

/// The shared lab (brought up on first use) and the lock that serialises the tests; `None`
/// (after a loud skip message) when the tests cannot run here.
fn lab() -> Option<(&'static Lab, MutexGuard<'static, ()>)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        if under_ci() {
            panic!("CI=true, so this cannot be skipped: the domain lab needs root");
        }
        loud(&format!(
            "SKIPPED {} (would fail under CI=true): the domain lab needs root (network namespaces)",
            std::thread::current().name().unwrap_or("?")
        ));
        return None;
    }
    let (guard, after_a_failure) = match SERIAL.lock() {
        Ok(g) => (g, false),
        Err(poisoned) => {
            SERIAL.clear_poison();
            (poisoned.into_inner(), true)
        }
    };
    let lab = match LAB.get_or_init(bring_up) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    if after_a_failure {
        lab.enable_every_node();
    }
    Some((lab, guard))
}

impl Lab {
    /// `scripts/lab exec DIR host -- args...`, with a timeout.
    fn exec(&self, host: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(script());
        cmd.arg("exec").arg(&self.dir).arg(host).arg("--").args(args);
        let (out, timed_out) = run_with_timeout(&mut cmd, None, Duration::from_secs(120));
        assert!(!timed_out, "timed out: {cmd:?}\n{}", output_text(&out));
        out
    }

    fn rpcclient(&self, kerberos: &str, user: &str, password: &str, binding: &str, cmds: &str) -> (bool, String) {
        let u = format!("LAB\\{user}%{password}");
        let out =
            self.exec("client", &["rpcclient", &format!("--use-kerberos={kerberos}"), "-U", &u, binding, "-c", cmds]);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        eprintln!("$ rpcclient --use-kerberos={kerberos} -U 'LAB\\{user}%...' '{binding}' -c '{cmds}'\n{text}");
        (out.status.success(), text)
    }

    /// rpcclient as `user` (the right password) with Kerberos required, through the cluster's
    /// DNS name ([`KRB_NAME`]).
    fn rpcclient_kerberos(&self, user: &str, cmds: &str) -> (bool, String) {
        self.rpcclient("required", user, PASSWORD, KRB_NAME, cmds)
    }

    /// Waits until the cluster serves again (after a pause or a failover).
    fn wait(&self) {
        let out = Command::new(script()).arg("wait").arg(&self.dir).output().expect("scripts/lab wait");
        assert!(out.status.success(), "scripts/lab wait: {}", output_text(&out));
    }

    /// After a failed test, which may have left a node paused: `ctdb enable` on every node (a
    /// no-op on an enabled one), then [`Lab::wait`].
    fn enable_every_node(&self) {
        eprintln!("a test failed before this one: enabling every node again");
        for n in 0..3 {
            let out = self.exec(&format!("node{n}"), &["ctdb", "enable"]);
            assert!(out.status.success(), "ctdb enable on node{n}: {}", output_text(&out));
        }
        self.wait();
    }

    /// A node that is not serving rpcclient's connections to the cluster name (see the module
    /// doc): the one after the node that `clusapi_get_cluster_name` reports.
    fn node_to_pause(&self) -> String {
        let (ok, text) = self.rpcclient_kerberos("clusadmin", "clusapi_get_cluster_name");
        let serving = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("NodeName: CTDB_NODE_"))
            .and_then(|pnn| pnn.trim().parse::<u32>().ok());
        let Some(serving) = serving.filter(|_| ok) else {
            panic!("no NodeName from clusapi_get_cluster_name:\n{text}")
        };
        format!("CTDB_NODE_{}", (serving + 1) % 3)
    }

    /// Every clusapid log line of the lab since `since` bytes of each node's log.
    fn clusapid_log(&self) -> String {
        let mut s = String::new();
        for n in 0..3 {
            s.push_str(
                &std::fs::read_to_string(self.dir.join(format!("node{n}/log/clusapid.log"))).unwrap_or_default(),
            );
        }
        s
    }

    /// The SID of a domain name, as node0's winbindd resolves it.
    fn sid_of(&self, name: &str) -> String {
        let out = self.exec("node0", &["wbinfo", "-n", name]);
        assert!(out.status.success(), "wbinfo -n {name}: {}", output_text(&out));
        String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_owned()
    }

    /// Runs `f` on a thread inside the client host's network namespace (our own sealed client
    /// then reaches the lab's addresses).
    fn in_client<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let ns = Path::new("/run/netns").join(format!("{}-client", self.prefix));
        std::thread::spawn(move || {
            let fd = std::fs::File::open(&ns).unwrap_or_else(|e| panic!("{}: {e}", ns.display()));
            // SAFETY: a valid namespace file descriptor; setns of a network namespace affects
            // only this thread.
            let r = unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&fd), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns into {}: {}", ns.display(), std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }
}

/// Our own sealed SPNEGO/NTLM client as `LAB\user`, bound to clusapi at `addr:4135`.
fn domain_client(addr: [u8; 4], user: &str) -> RpcClient {
    let who = format!("LAB\\{user}");
    let mut c = RpcClient::connect_addr(
        SocketAddr::from((addr, 4135)),
        Auth::Spnego { user: &who, password: PASSWORD, level: auth_level::PKT_PRIVACY },
    );
    c.bind(clusapi_syntax(), 0).unwrap_or_else(|e| panic!("bind as {who}: {e:?}"));
    c
}

#[test]
fn kerberos_admin_pauses_and_resumes() {
    let Some((lab, _serial)) = lab() else { return };
    let node = lab.node_to_pause();
    let (ok, text) = lab.rpcclient_kerberos(
        "clusadmin",
        &format!("clusapi_get_cluster_name; clusapi_pause_node {node}; clusapi_resume_node {node}"),
    );
    assert!(ok, "{text}");
    for needle in ["ClusterName: LABCLUSTER", &format!("{node} has been paused"), &format!("{node} has been resumed")] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
    assert!(
        lab.clusapid_log().lines().any(|l| l.contains("LAB\\\\clusadmin") && l.contains("mech=Kerberos")),
        "no clusapid logged a Kerberos logon of clusadmin"
    );
    lab.wait();
}

#[test]
fn ntlm_admin_through_winbindd() {
    let Some((lab, _serial)) = lab() else { return };
    let (ok, text) =
        lab.rpcclient("off", "clusadmin", PASSWORD, "ncacn_ip_tcp:192.0.2.101[seal]", "clusapi_get_cluster_name");
    assert!(ok && text.contains("ClusterName: LABCLUSTER"), "{text}");
    // SPNEGO carrying NTLM, and raw NTLMSSP
    let (ok, text) = lab.rpcclient(
        "off",
        "clusadmin",
        PASSWORD,
        "ncacn_ip_tcp:192.0.2.102[seal,spnego]",
        "clusapi_get_cluster_name",
    );
    assert!(ok && text.contains("ClusterName: LABCLUSTER"), "{text}");
    assert!(lab
        .clusapid_log()
        .lines()
        .any(|l| l.contains("LAB\\\\clusadmin") && l.contains("type=9 level=6 mech=NTLM")));
}

#[test]
fn plain_user_reads_but_cannot_pause() {
    let Some((lab, _serial)) = lab() else { return };
    let node = lab.node_to_pause();
    let (ok, text) =
        lab.rpcclient_kerberos("plainuser", &format!("clusapi_get_cluster_name; clusapi_pause_node {node}"));
    assert!(!ok, "the pause must fail:\n{text}");
    assert!(text.contains("ClusterName: LABCLUSTER"), "{text}");
    assert!(text.contains(&format!("Failed to pause node {node}")) && text.contains("WERR_ACCESS_DENIED"), "{text}");
    assert!(!text.contains("has been paused"), "{text}");
}

#[test]
fn denied_group_is_refused() {
    let Some((lab, _serial)) = lab() else { return };
    for (krb, binding) in [("required", KRB_NAME), ("off", "ncacn_ip_tcp:192.0.2.103[seal]")] {
        let (ok, text) = lab.rpcclient(krb, "denieduser", PASSWORD, binding, "clusapi_get_cluster_name");
        assert!(!ok, "{text}");
        assert!(text.contains("WERR_ACCESS_DENIED"), "{text}");
        assert!(!text.contains("ClusterName:"), "{text}");
    }
}

#[test]
fn wrong_password_is_refused() {
    let Some((lab, _serial)) = lab() else { return };
    let (ok, text) = lab.rpcclient("required", "clusadmin", "wrong-1", KRB_NAME, "clusapi_get_cluster_name");
    assert!(!ok && !text.contains("ClusterName:"), "{text}");
    let (ok, text) =
        lab.rpcclient("off", "clusadmin", "wrong-1", "ncacn_ip_tcp:192.0.2.101[seal]", "clusapi_get_cluster_name");
    assert!(!ok && !text.contains("ClusterName:"), "{text}");
    assert!(text.contains("NT_STATUS_LOGON_FAILURE") || text.contains("ACCESS_DENIED"), "{text}");
}

/// The whole rpc.clusapi suite with Kerberos required and with NTLM only: the same outcome as
/// against the demo (tests/knownfail).
#[test]
fn smbtorture_with_kerberos_required_and_with_ntlm_only() {
    let Some((lab, _serial)) = lab() else { return };
    for (krb, binding) in [("required", KRB_NAME), ("off", "ncacn_ip_tcp:labcluster.lab.example[seal,ntlm]")] {
        let user = format!("LAB\\clusadmin%{PASSWORD}");
        let args = ["smbtorture", binding, &format!("--use-kerberos={krb}"), "-U", &user, "rpc.clusapi"];
        let started = Instant::now();
        let out = lab.exec("client", &args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let (outcomes, announced) = parse_subunit(&stdout);
        eprintln!(
            "smbtorture --use-kerberos={krb}: {} results in {:.1} s",
            outcomes.len(),
            started.elapsed().as_secs_f64()
        );
        let run = TortureRun {
            command: args.join(" "),
            outcomes,
            announced,
            output: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
            status: out.status,
            timed_out: false,
        };
        assert!(run.outcomes.contains_key("cluster.OpenCluster"), "{}", run.output);
        check_against_knownfail(&run, "rpc.clusapi");
    }
    let log = lab.clusapid_log();
    assert!(log.lines().any(|l| l.contains("calls=") && l.contains("mech=Kerberos") && l.contains("clusadmin")));
    lab.wait();
}

/// tshark finds the Kerberos AP-REQ in the bind (SPNEGO with Kerberos first), for the
/// cluster's SPN.
#[test]
fn capture_shows_the_kerberos_ap_req_in_the_bind() {
    let Some((lab, _serial)) = lab() else { return };
    if !require_tool("tshark") || !require_tool("tcpdump") {
        return;
    }
    let pcap = lab.dir.join("client/kerberos-bind.pcap");
    let _ = std::fs::remove_file(&pcap);
    // tcpdump in the client's network namespace; `ip netns exec` execs it, so the child we
    // start is tcpdump itself and is stopped by its pid
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &format!("{}-client", lab.prefix)]);
    cmd.args(["tcpdump", "-i", "eth0", "-U", "-s", "0", "-Z", "root", "-w"]).arg(&pcap).arg("tcp port 4135");
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    let mut dump = cmd.spawn().expect("tcpdump");
    // tcpdump says "listening on" once it captures (its stderr, read on a thread)
    let mut err = dump.stderr.take().unwrap();
    let said = std::sync::Arc::new(Mutex::new(Vec::new()));
    let s2 = said.clone();
    std::thread::spawn(move || {
        let mut b = [0u8; 256];
        while let Ok(n) = std::io::Read::read(&mut err, &mut b) {
            if n == 0 {
                break;
            }
            s2.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&b[..n]);
        }
    });
    let said_text = || String::from_utf8_lossy(&said.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    let t0 = Instant::now();
    while !said_text().contains("listening on") {
        assert!(t0.elapsed() < Duration::from_secs(30), "tcpdump did not start: {}", said_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ok, text) = lab.rpcclient(
        "required",
        "clusadmin",
        PASSWORD,
        "ncacn_ip_tcp:labcluster.lab.example[seal,spnego]",
        "clusapi_get_cluster_name",
    );
    assert!(ok, "{text}");
    // the packets reach the file (-U writes each one at once); read it until the bind is there
    let read = || {
        Command::new("tshark")
            .arg("-r")
            .arg(&pcap)
            .args(["-d", "tcp.port==4135,dcerpc", "-Y", "dcerpc.pkt_type == 11 && kerberos.msg_type == 14"])
            .args(["-T", "fields", "-e", "dcerpc.auth_type", "-e", "spnego.MechType", "-e", "kerberos.SNameString"])
            .output()
            .expect("tshark")
    };
    let t0 = Instant::now();
    let mut out = read();
    while out.stdout.is_empty() && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(500));
        out = read();
    }
    // SAFETY: the pid of the tcpdump we started (not yet reaped, so it cannot be reused).
    unsafe { libc::kill(dump.id() as libc::pid_t, libc::SIGTERM) };
    assert!(wait_timeout(&mut dump, Duration::from_secs(10)).is_some(), "tcpdump did not stop");
    if out.stdout.is_empty() {
        out = read();
        eprintln!("tcpdump said: {}", said_text());
    }
    let fields = String::from_utf8_lossy(&out.stdout);
    eprintln!("tshark: bind with a Kerberos AP-REQ: {fields}");
    let first =
        fields.lines().next().unwrap_or_else(|| panic!("no bind with an AP-REQ in the capture: {}", output_text(&out)));
    let cols: Vec<&str> = first.split('\t').collect();
    assert_eq!(cols.first(), Some(&"9"), "SPNEGO bind: {first}");
    assert!(cols.get(1).is_some_and(|m| m.starts_with("1.2.840.48018.1.2.2")), "Kerberos first: {first}");
    assert!(
        cols.get(2).is_some_and(|s| s.contains("MSServerClusterMgmtAPI") && s.contains("labcluster.lab.example")),
        "{first}"
    );
}

/// With the key missing from a node's keytab, that node logs why and SPNEGO clients that also
/// offer NTLM fall back to it; clients that require Kerberos are refused.
#[test]
fn spnego_falls_back_to_ntlm_when_the_keytab_lacks_the_key() {
    let Some((lab, _serial)) = lab() else { return };
    let keytab = lab.dir.join("node2/etc-samba/clusapid.keytab");
    let aside = lab.dir.join("node2/etc-samba/clusapid.keytab.aside");
    std::fs::rename(&keytab, &aside).expect("moving node2's keytab aside");
    let before = std::fs::read_to_string(lab.dir.join("node2/log/clusapid.log")).unwrap_or_default().len();
    let binding = "ncacn_ip_tcp:node2.lab.example[seal,spnego]";
    let desired = lab.rpcclient("desired", "clusadmin", PASSWORD, binding, "clusapi_get_cluster_name");
    let required = lab.rpcclient("required", "clusadmin", PASSWORD, binding, "clusapi_get_cluster_name");
    std::fs::rename(&aside, &keytab).expect("restoring node2's keytab");
    let log = std::fs::read_to_string(lab.dir.join("node2/log/clusapid.log")).unwrap_or_default();
    let new = &log[before.min(log.len())..];
    assert!(desired.0 && desired.1.contains("ClusterName: LABCLUSTER"), "{}", desired.1);
    assert!(!required.0, "{}", required.1);
    assert!(new.contains("the keytab has no key for the service principal"), "{new}");
    assert!(new.contains("fell back to NTLM") && new.contains("mech=NTLM"), "{new}");
    // and with the keytab back, Kerberos again
    let (ok, text) = lab.rpcclient("required", "clusadmin", PASSWORD, binding, "clusapi_get_cluster_name");
    assert!(ok, "{text}");
}

/// CLUSCTL_CLUSTER_SET_ACCOUNT_ACCESS from one node applies on every node (each node's
/// clusapid reads the edit from the cluster registry within a few seconds), shows in the
/// descriptor clients read, and goes away with a delete. Probed without changing anything:
/// plainuser asks each node for "All" with ApiOpenClusterEx; once every node grants it,
/// plainuser pauses and resumes a node through Kerberos. The grant is removed even when a check
/// in between fails.
#[test]
fn account_access_edits_apply_on_every_node() {
    let Some((lab, _serial)) = lab() else { return };
    let plain = lab.sid_of("LAB\\plainuser");
    assert!(plain.starts_with("S-1-5-21-"), "{plain}");
    let users = lab.sid_of("LAB\\Domain Users");
    const NODES: [[u8; 4]; 3] = [[192, 0, 2, 11], [192, 0, 2, 12], [192, 0, 2, 13]];
    // what plainuser gets from each node when asking for "All" (GENERIC_ALL 0x10000000 or a status)
    let probe = |lab: &Lab| -> Vec<Result<u32, u32>> {
        lab.in_client(|| {
            NODES.iter().map(|n| open_cluster_ex(&mut domain_client(*n, "plainuser"), CLUSAPI_ALL_ACCESS)).collect()
        })
    };
    let wait_for = |lab: &Lab, want: Result<u32, u32>, what: &str| {
        let t0 = Instant::now();
        loop {
            let got = probe(lab);
            if got.iter().all(|g| *g == want) {
                return;
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "{what} never applied on every node: {got:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    wait_for(lab, Err(5), "the configured read-only access");

    // as clusadmin on `node`: the ACEs of the cluster descriptor before the edit of plainuser's
    // access (`mask`, `kind`), and the edit's status
    let edit_access = |node: [u8; 4], mask: u32, kind: u32| {
        let p = plain.clone();
        lab.in_client(move || {
            let mut admin = domain_client(node, "clusadmin");
            assert_eq!(cluster_name(&mut admin).unwrap(), "LABCLUSTER");
            let aces = descriptor_aces(&cluster_descriptor(&mut admin).unwrap());
            let h = open_cluster(&mut admin).unwrap();
            (aces, set_account_access(&mut admin, h, &p, mask, kind))
        })
    };
    let (aces, granted) = edit_access([192, 0, 2, 11], 3, 0);
    // the removal below runs whatever happens here, so a failure leaves no grant to the next test
    let with_the_grant = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(aces.contains(&(0, 1, users.clone())), "Domain Users read: {aces:?}");
        assert_eq!(granted, 0);
        wait_for(lab, Ok(0x1000_0000), "the grant");
        let node = lab.node_to_pause();
        let (ok, text) =
            lab.rpcclient_kerberos("plainuser", &format!("clusapi_pause_node {node}; clusapi_resume_node {node}"));
        assert!(ok && text.contains("has been paused") && text.contains("has been resumed"), "{text}");
        lab.wait();
    }));

    let (aces, removed) = edit_access([192, 0, 2, 12], 0, 2);
    if let Err(panic) = with_the_grant {
        std::panic::resume_unwind(panic);
    }
    assert!(aces.contains(&(0, 3, plain.clone())), "plainuser full, read on node1: {aces:?}");
    assert_eq!(removed, 0);
    wait_for(lab, Err(5), "the removal");
    let node = lab.node_to_pause();
    let (ok, text) = lab.rpcclient_kerberos("plainuser", &format!("clusapi_pause_node {node}"));
    assert!(!ok && text.contains("WERR_ACCESS_DENIED"), "{text}");
}
