//! The lab (`scripts/lab`) for tests: a clustered Samba file server with real CTDB IP takeover in
//! network namespaces, one per test binary, shared by its tests.
//!
//! [`shared`] brings the lab up on first use (after a `down` of whatever a crashed earlier run
//! left in the same directory) and hands each test a [`LabUse`], which also serialises the
//! binary's tests: they change the cluster (disable nodes, kill daemons), so they take turns.
//! The lab goes down when the test process exits (an `atexit` handler: the harness exits the
//! process after the last test, whatever the filter), keeping its logs in `DIR/logs` when a
//! test failed.
//!
//! The test process itself stays in the root namespaces; [`Lab::tcp`] opens a socket from
//! inside a lab host's network namespace (a short-lived thread `setns`es into it), so the
//! project's own Rust client talks to the lab's addresses like any client would.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::{output_text, run_with_timeout, workspace_root, Auth, RpcClient};

/// The lab's client host.
pub const CLIENT: &str = "client";
/// Node i's own address is `192.0.2.(11 + i)`.
pub fn node_ip(i: u32) -> IpAddr {
    IpAddr::from([192, 0, 2, 11 + i as u8])
}
/// The CTDB public addresses 192.0.2.101..(100 + 2N).
pub fn public_ips(nodes: u32) -> Vec<IpAddr> {
    (1..=2 * nodes).map(|k| IpAddr::from([192, 0, 2, 100 + k as u8])).collect()
}
/// The account smbd and clusapid know in the lab.
pub const LAB_USER: &str = "alice";
pub const LAB_PASSWORD: &str = "Passw0rd-1";
/// The clustered server's NetBIOS name (the cluster name).
pub const LAB_CLUSTER: &str = "LABCLUSTER";

/// A lab that is up.
pub struct Lab {
    dir: PathBuf,
    nodes: u32,
    prefix: String,
}

fn script() -> PathBuf {
    workspace_root().join("scripts/lab")
}

fn text(o: &Output) -> String {
    output_text(o)
}

impl Lab {
    /// `scripts/lab down DIR` leftovers, then `scripts/lab up DIR --nodes N`.
    fn up(dir: &Path, nodes: u32) -> Lab {
        let _ = Command::new(script()).arg("down").arg(dir).output();
        let t = Instant::now();
        let (o, timed_out) = run_with_timeout(
            Command::new(script())
                .arg("up")
                .arg(dir)
                .args(["--nodes", &nodes.to_string()])
                .env("CLUSAPID", crate::clusapid_bin()),
            None,
            Duration::from_secs(300),
        );
        if timed_out || !o.status.success() {
            let _ = Command::new(script()).arg("down").arg(dir).arg("--keep-logs").output();
            panic!("scripts/lab up {} failed (logs kept in {}/logs):\n{}", dir.display(), dir.display(), text(&o));
        }
        eprintln!("lab up in {:.1}s:\n{}", t.elapsed().as_secs_f64(), String::from_utf8_lossy(&o.stdout));
        let env = std::fs::read_to_string(dir.join("lab.env")).expect("lab.env");
        let prefix = env.lines().find_map(|l| l.strip_prefix("PREFIX=")).expect("PREFIX in lab.env").trim().to_string();
        Lab { dir: dir.to_path_buf(), nodes, prefix }
    }

    fn down(&self, keep_logs: bool) {
        let mut cmd = Command::new(script());
        cmd.arg("down").arg(&self.dir);
        if keep_logs {
            cmd.arg("--keep-logs");
        }
        match cmd.output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!("scripts/lab down failed: {}", text(&o)),
            Err(e) => eprintln!("scripts/lab down: {e}"),
        }
    }

    /// The lab's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of nodes.
    pub fn nodes(&self) -> u32 {
        self.nodes
    }

    /// Runs `args` on `host` (`client`, `node0`, ...) with `scripts/lab exec`, 120 s at most.
    pub fn exec(&self, host: &str, args: &[&str]) -> Output {
        self.exec_for(host, args, Duration::from_secs(120))
    }

    /// [`Lab::exec`] with another time limit (suites that wait out protocol time-outs).
    pub fn exec_for(&self, host: &str, args: &[&str], limit: Duration) -> Output {
        let (o, timed_out) = run_with_timeout(
            Command::new(script()).arg("exec").arg(&self.dir).arg(host).arg("--").args(args),
            None,
            limit,
        );
        assert!(!timed_out, "{host}: {args:?} timed out:\n{}", text(&o));
        o
    }

    /// Starts `args` on `host` in the background, stdout piped (the child is the command
    /// itself: `scripts/lab exec` replaces itself with it).
    pub fn spawn(&self, host: &str, args: &[&str]) -> std::process::Child {
        Command::new(script())
            .arg("exec")
            .arg(&self.dir)
            .arg(host)
            .arg("--")
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("scripts/lab exec")
    }

    /// [`Lab::exec`] that must succeed; its stdout.
    pub fn exec_ok(&self, host: &str, args: &[&str]) -> String {
        let o = self.exec(host, args);
        assert!(o.status.success(), "{host}: {args:?} failed:\n{}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `ctdb ARGS` on node `i`.
    pub fn ctdb(&self, i: u32, args: &[&str]) -> String {
        self.exec_ok(&format!("node{i}"), &[&["ctdb"], args].concat())
    }

    /// `scripts/lab start DIR NODE...` (every node when empty), which waits until the lab serves.
    pub fn start(&self, nodes: &[u32]) {
        let names: Vec<String> = nodes.iter().map(|i| format!("node{i}")).collect();
        let (o, timed_out) = run_with_timeout(
            Command::new(script()).arg("start").arg(&self.dir).args(&names),
            None,
            Duration::from_secs(300),
        );
        assert!(!timed_out && o.status.success(), "scripts/lab start {names:?}:\n{}", text(&o));
    }

    /// The pid of a daemon from its pid file (`node0`, "ctdbd" | "smbd" | "clusapid").
    pub fn pid(&self, host: &str, daemon: &str) -> Option<u32> {
        let file = match daemon {
            "ctdbd" => self.dir.join(host).join("run/ctdb/ctdbd.pid"),
            "smbd" => self.dir.join(host).join("run/samba/smbd.pid"),
            "clusapid" => self.dir.join(host).join("clusapid.pid"),
            other => panic!("no pid file for {other}"),
        };
        let pid: u32 = std::fs::read_to_string(file).ok()?.trim().parse().ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    }

    /// The network namespace of `host`.
    pub fn netns(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

    /// The public IPs really configured on node `i`'s interface (`ip addr`).
    pub fn ips_on(&self, i: u32) -> Vec<IpAddr> {
        let o = Command::new("ip")
            .args(["-n", &self.netns(&format!("node{i}")), "-4", "-o", "addr", "show", "dev", "eth0"])
            .output()
            .expect("ip addr");
        let own = node_ip(i);
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().nth(3)?.split('/').next()?.parse().ok())
            .filter(|a| *a != own)
            .collect()
    }

    /// Which node's interface carries `addr` (`None`: none, or several).
    pub fn ip_holder(&self, addr: IpAddr) -> Option<u32> {
        let holders: Vec<u32> = (0..self.nodes).filter(|&i| self.ips_on(i).contains(&addr)).collect();
        (holders.len() == 1).then(|| holders[0])
    }

    /// A TCP connection to `addr` opened from inside `host`'s network namespace.
    pub fn tcp(&self, host: &str, addr: SocketAddr) -> std::io::Result<TcpStream> {
        let anchor: u32 = std::fs::read_to_string(self.dir.join(host).join("anchor.pid"))?
            .trim()
            .parse()
            .map_err(|e| std::io::Error::other(format!("anchor pid: {e}")))?;
        let ns = std::fs::File::open(format!("/proc/{anchor}/ns/net"))?;
        std::thread::spawn(move || {
            // SAFETY: setns on a namespace fd we own, for this thread only (CLONE_NEWNET is
            // per thread); the thread ends right after, the socket keeps its namespace.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
            s.set_read_timeout(Some(Duration::from_secs(20)))?;
            s.set_write_timeout(Some(Duration::from_secs(20)))?;
            let _ = s.set_nodelay(true);
            Ok(s)
        })
        .join()
        .expect("setns thread")
    }

    /// clusapi from the client as the lab user, found through the endpoint mapper on
    /// `addr`:135, as Windows tools reach a cluster; `None` when that fails.
    pub fn clusapi(&self, addr: IpAddr) -> Result<RpcClient, String> {
        let epm = self.tcp(CLIENT, SocketAddr::new(addr, 135)).map_err(|e| format!("{addr}:135: {e}"))?;
        let mut c = RpcClient::over(epm, Auth::None);
        c.bind(crate::epm_syntax(), 0).map_err(|e| format!("epm bind on {addr}: {e:?}"))?;
        let towers = crate::try_ept_map(&mut c, idl::clusapi::Clusapi::UUID, 3, 0)?;
        c.close();
        let port = towers.first().ok_or_else(|| format!("ept_map on {addr}: no tower"))?.port;
        let s = self.tcp(CLIENT, SocketAddr::new(addr, port)).map_err(|e| format!("{addr}:{port}: {e}"))?;
        let auth = Auth::Spnego { user: LAB_USER, password: LAB_PASSWORD, level: dcerpc::pdu::auth_level::PKT_PRIVACY };
        let mut c = RpcClient::over(s, auth);
        let r = c.bind(crate::clusapi_syntax(), 0).map_err(|e| format!("clusapi bind on {addr}:{port}: {e:?}"))?;
        if r[0].result != dcerpc::pdu::result::ACCEPTANCE {
            return Err(format!("clusapi context refused: {r:?}"));
        }
        Ok(c)
    }
}

/// A test's turn at the shared lab.
pub struct LabUse {
    lab: Arc<Lab>,
    _turn: MutexGuard<'static, ()>,
}

impl std::ops::Deref for LabUse {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        &self.lab
    }
}

impl Drop for LabUse {
    fn drop(&mut self) {
        if std::thread::panicking() {
            FAILED.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

static LAB: OnceLock<Result<Arc<Lab>, String>> = OnceLock::new();
static TURN: Mutex<()> = Mutex::new(());
static FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn lab_down_at_exit() {
    if let Some(Ok(lab)) = LAB.get() {
        lab.down(FAILED.load(std::sync::atomic::Ordering::SeqCst));
    }
}

/// The lab of this test binary (`/tmp/clusapid-lab-<name>`, `nodes` nodes), brought up on
/// first use; `None` (after a loud message) when not root, which fails under CI.
pub fn shared(name: &str, nodes: u32) -> Option<LabUse> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        if crate::under_ci() {
            panic!("CI=true, but the lab tests need root (network namespaces)");
        }
        let test = std::thread::current().name().unwrap_or("?").to_string();
        crate::loud(&format!("SKIPPED {test} (would fail under CI=true): the lab needs root"));
        return None;
    }
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let lab = LAB.get_or_init(|| {
        let dir = PathBuf::from(format!("/tmp/clusapid-lab-{name}"));
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(lab_down_at_exit) };
        std::panic::catch_unwind(|| Arc::new(Lab::up(&dir, nodes)))
            .map_err(|e| e.downcast_ref::<String>().cloned().unwrap_or_else(|| "scripts/lab up panicked".into()))
    });
    match lab {
        Ok(lab) => Some(LabUse { lab: lab.clone(), _turn: turn }),
        Err(e) => panic!("the lab did not come up: {e}"),
    }
}

/// Polls `f` every 100 ms until it is `Some`; panics after `timeout` with `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> (T, Duration) {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            return (v, t.elapsed());
        }
        assert!(t.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
