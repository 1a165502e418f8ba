//! Harness for the integration tests in `tests/tests/`: builds and starts `clusapid` on free
//! loopback ports ([`Demo`]), drives it with Samba's `smbtorture` and `rpcclient`, with a small
//! blocking Rust DCE/RPC client ([`RpcClient`]) that can send exact requests, and checks
//! smbtorture runs against the known-failure list `tests/knownfail` ([`check_against_knownfail`]).
//! [`capture`] replays the pcaps in `captures/` (TCP, DCE/RPC, NTLMSSP, stubs) without tshark.
//!
//! Every child process is started here and stopped by its own pid; nothing is looked up by
//! name. External tools get a hermetic empty `smb.conf`, so the host's Samba configuration
//! does not change what the tests see.

pub mod capture;
pub mod clusapi_nodes;
pub mod ctdb;
pub mod domain;
pub mod http;
pub mod lab;
pub mod win;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use auth::{AuthType, ClientSecret, Initiator, NtlmInitiator};
use dcerpc::client::{ClientConnection, ClientError, ClientEvent};
use dcerpc::pdu::{self, ContextResult, SyntaxId};
use idl::clusapi::Clusapi;
use idl::epm::Epmapper;

/// The full-access account every demo is started with.
pub const ALICE: &str = "alice%Passw0rd-1";
/// Its user name.
pub const ALICE_USER: &str = "alice";
/// Its password.
pub const ALICE_PASSWORD: &str = "Passw0rd-1";
/// The read-only account some tests add with `--read-only-user`.
pub const BOB: &str = "bob%Passw0rd-2";
/// Its user name.
pub const BOB_USER: &str = "bob";
/// Its password.
pub const BOB_PASSWORD: &str = "Passw0rd-2";
/// The demo's default cluster name.
pub const CLUSTER_NAME: &str = "CTDB-CLUSTER";

/// Whether we run under CI (`CI=true`, as GitHub/GitLab set it): things that may be skipped
/// locally (missing tools, port 135 taken) are failures there.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Prints a loud notice on the real stderr: the test harness captures `eprintln!` of passing
/// tests, but not direct writes, so skips are visible in a normal `cargo test` run.
pub fn loud(msg: &str) {
    let bar = "!".repeat(78);
    let _ = writeln!(io::stderr(), "\n{bar}\n!!! {msg}\n{bar}\n");
}

/// Skips (returns from) the current test with a loud message, or fails it under CI.
#[macro_export]
macro_rules! skip_or_fail {
    ($($arg:tt)*) => {{
        let msg = format!($($arg)*);
        if $crate::under_ci() {
            panic!("CI=true, so this cannot be skipped: {msg}");
        }
        let name = std::thread::current().name().unwrap_or("?").to_string();
        $crate::loud(&format!("SKIPPED {name} (would fail under CI=true): {msg}"));
        return;
    }};
}

// ---------------------------------------------------------------------------------------------
// Building and locating things
// ---------------------------------------------------------------------------------------------

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// `captures/` in the workspace.
pub fn captures_dir() -> PathBuf {
    workspace_root().join("captures")
}

/// `tests/knownfail`.
pub fn knownfail_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("knownfail")
}

/// The cargo profile directory name this test executable was built in (`debug`, `release`,
/// or a custom profile's name), read from the executable's own path
/// (`<target>/<profile>/deps/<test>-<hash>`).
fn profile_dir_name() -> String {
    let exe = std::env::current_exe().expect("path of the test executable");
    let mut dir = exe.parent().expect("test executable has a directory");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().expect("deps/ has a parent");
    }
    dir.file_name().map_or_else(|| "debug".into(), |n| n.to_string_lossy().into_owned())
}

/// The target directory: `CARGO_TARGET_DIR` if set, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let p = PathBuf::from(d);
            if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// Builds `clusapid` once per test process, with the profile this test was built with, and
/// returns the binary's path.
pub fn clusapid_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let profile = profile_dir_name();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace_root()).args(["build", "-p", "clusapid", "--bin", "clusapid"]);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        cmd.env("CARGO_TARGET_DIR", target_dir());
        let out = cmd.output().expect("running cargo build -p clusapid");
        assert!(
            out.status.success(),
            "cargo build -p clusapid failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = target_dir().join(&profile).join("clusapid");
        assert!(bin.is_file(), "cargo built clusapid but {} does not exist", bin.display());
        bin
    })
    .clone()
}

/// Whether `tool` is on PATH.
pub fn have_tool(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            let p = d.join(tool);
            p.is_file()
                && std::fs::metadata(&p)
                    .is_ok_and(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
        })
    })
}

/// Panics (under CI) or returns false (locally, with a loud message) when a tool is missing.
pub fn require_tool(tool: &str) -> bool {
    if have_tool(tool) {
        return true;
    }
    let msg = format!("`{tool}` is not installed (Debian: see .ci/run)");
    if under_ci() {
        panic!("CI=true, so this cannot be skipped: {msg}");
    }
    let name = std::thread::current().name().unwrap_or("?").to_string();
    loud(&format!("SKIPPED {name} (would fail under CI=true): {msg}"));
    false
}

/// Held while a test owns 127.0.0.1:135: an in-process mutex plus an exclusive `flock` on
/// `/tmp/clusapid-port135.lock`, so that test processes of other checkouts (cargo runs the
/// binaries of one workspace one after the other, but two checkouts may test at once) wait too.
pub struct Port135Guard {
    _file: std::fs::File,
    _mutex: std::sync::MutexGuard<'static, ()>,
}

/// Serializes the tests that put an endpoint mapper on 127.0.0.1:135, in this process and
/// across processes.
pub fn port135_lock() -> Port135Guard {
    use std::os::unix::io::AsRawFd;
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let mutex = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let path = "/tmp/clusapid-port135.lock";
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path).expect("open lock file");
    // SAFETY: flock on a file descriptor we own; blocks until free.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(r, 0, "flock {path}");
    Port135Guard { _file: file, _mutex: mutex }
}

/// A scratch directory that lives as long as the returned guard.
pub fn scratch_dir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("clusapid-tests.").tempdir().expect("creating a temporary directory")
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/// Strips ANSI escape sequences (tracing colours) from log text.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            if it.peek() == Some(&'[') {
                it.next();
                for d in it.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Waits for `child` at most `timeout`; kills it (by its pid, SIGKILL) when it is late.
/// Returns its status, or `None` if it had to be killed.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Runs a command with stdin from `input`, stdout/stderr captured, killed after `timeout`.
/// Returns the output and whether it timed out.
pub fn run_with_timeout(cmd: &mut Command, input: Option<&[u8]>, timeout: Duration) -> (Output, bool) {
    let dir = scratch_dir();
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    cmd.stdout(std::fs::File::create(&out_path).expect("stdout file"));
    cmd.stderr(std::fs::File::create(&err_path).expect("stderr file"));
    cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
        let _ = stdin.write_all(data);
    }
    let status = wait_timeout(&mut child, timeout);
    let timed_out = status.is_none();
    let status = status.unwrap_or_else(|| child.wait().expect("reaping a killed child"));
    let stdout = std::fs::read(&out_path).unwrap_or_default();
    let stderr = std::fs::read(&err_path).unwrap_or_default();
    (Output { status, stdout, stderr }, timed_out)
}

/// A hermetic smb.conf for smbtorture and rpcclient (`<target>/clusapid-tests/smb.conf`), so
/// the host's Samba configuration does not change what the tests see.
fn samba_conf() -> PathBuf {
    static CONF: OnceLock<PathBuf> = OnceLock::new();
    CONF.get_or_init(|| {
        let dir = target_dir().join("clusapid-tests");
        std::fs::create_dir_all(&dir).expect("creating target/clusapid-tests");
        let p = dir.join("smb.conf");
        // written under a unique name and renamed, so concurrent test processes never see half a file
        let tmp = dir.join(format!("smb.conf.{}", std::process::id()));
        std::fs::write(&tmp, "[global]\n\tworkgroup = WORKGROUP\n\tnetbios name = CLUSAPITEST\n")
            .expect("writing smb.conf");
        std::fs::rename(&tmp, &p).expect("renaming smb.conf");
        p
    })
    .clone()
}

/// Which port a started daemon reports its ports on.
enum Announce {
    /// `demo`: the banner on stdout.
    Stdout,
    /// `serve`: the `Serving clusapi=[..] epmapper=[..]` log line on stderr.
    Stderr,
}

/// A running `clusapid` (demo or serve) on loopback ports, stopped when dropped.
pub struct Demo {
    child: Child,
    /// The clusapi port.
    pub port: u16,
    /// The endpoint mapper port.
    pub epm_port: u16,
    /// The daemon's stdout banner (demo only).
    pub stdout: String,
    /// Its log (stderr), at debug level.
    pub stderr_path: PathBuf,
    /// Its administration socket (demos; a `serve` config names its own).
    pub admin_socket: PathBuf,
    _dir: tempfile::TempDir,
}

/// The port in `ncacn_ip_tcp:127.0.0.1[PORT]`.
fn bracket_port(line: &str) -> Option<u16> {
    let s = &line[line.find("ncacn_ip_tcp:")?..];
    let open = s.find('[')?;
    let close = s[open..].find(']')? + open;
    s[open + 1..close].split(',').next()?.trim().parse().ok()
}

/// The first port in `KEY=[127.0.0.1:PORT, ...]` of a log line.
fn log_port(line: &str, key: &str) -> Option<u16> {
    let s = &line[line.find(&format!("{key}=["))? + key.len() + 2..];
    let end = s.find([']', ','])?;
    let addr = &s[..end];
    addr.rsplit(':').next()?.trim().parse().ok()
}

impl Demo {
    /// `clusapid demo --port 0 --epm-port 0 --user alice%Passw0rd-1 EXTRA...`.
    pub fn start(extra: &[&str]) -> Demo {
        let mut args = vec!["demo", "--port", "0", "--epm-port", "0", "--user", ALICE];
        args.extend_from_slice(extra);
        Self::launch(&args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `clusapid demo --port 0 --epm-port 135 --user alice%Passw0rd-1 EXTRA...`, for clients
    /// that always ask the endpoint mapper on port 135 (rpcclient, smbtorture without a port).
    /// Hold [`port135_lock`] while it runs. `Err` says why 135 is not available (not root, or
    /// taken); any other failure panics.
    pub fn start_with_epm_135(extra: &[&str]) -> Result<Demo, String> {
        if let Err(e) = std::net::TcpListener::bind(("127.0.0.1", 135)) {
            return Err(format!(
                "cannot bind 127.0.0.1:135 for the endpoint mapper ({e}): not root, or the port is taken"
            ));
        }
        let mut args = vec!["demo", "--port", "0", "--epm-port", "135", "--user", ALICE];
        args.extend_from_slice(extra);
        match Self::launch(&args) {
            Ok(d) => Ok(d),
            Err(e) if e.contains("binding endpoint mapper") => {
                Err(format!("clusapid could not bind 127.0.0.1:135: {}", e.lines().next().unwrap_or("")))
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// `clusapid demo ARGS...` (the caller picks every option); the error carries the log.
    pub fn launch(args: &[&str]) -> Result<Demo, String> {
        Self::spawn(args, Announce::Stdout)
    }

    /// `clusapid serve --config FILE`.
    pub fn serve(config: &Path) -> Result<Demo, String> {
        let c = config.to_str().expect("utf-8 path");
        Self::spawn(&["serve", "--config", c], Announce::Stderr)
    }

    fn spawn(args: &[&str], announce: Announce) -> Result<Demo, String> {
        let bin = clusapid_bin();
        let dir = scratch_dir();
        let stderr_path = dir.path().join("clusapid.log");
        let stderr = std::fs::File::create(&stderr_path).expect("log file");
        let mut cmd = Command::new(&bin);
        cmd.arg("--log").arg("debug").args(args);
        // every demo its own administration socket (not the shared default path)
        let admin_socket = dir.path().join("admin.sock");
        if args.first() == Some(&"demo") && !args.contains(&"--admin-socket") {
            cmd.arg("--admin-socket").arg(&admin_socket);
        }
        cmd.env("NO_COLOR", "1").env_remove("RUST_LOG");
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(stderr);
        let mut child = cmd.spawn().map_err(|e| format!("spawning {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // nobody listens any more: keep draining so the daemon never blocks
                    continue;
                }
            }
        });
        let mut demo =
            Demo { child, port: 0, epm_port: 0, stdout: String::new(), stderr_path, admin_socket, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            while let Ok(line) = rx.try_recv() {
                demo.stdout.push_str(&line);
                demo.stdout.push('\n');
                if let Announce::Stdout = announce {
                    if line.contains("clusapi v3.0") {
                        demo.port = bracket_port(&line).unwrap_or(0);
                    } else if line.contains("endpoint mapper") {
                        demo.epm_port = bracket_port(&line).unwrap_or(0);
                    }
                }
            }
            if let Announce::Stderr = announce {
                let log = demo.stderr();
                if let Some(line) = log.lines().find(|l| l.contains("Serving") && l.contains("clusapi=")) {
                    demo.port = log_port(line, "clusapi").unwrap_or(0);
                    demo.epm_port = log_port(line, "epmapper").unwrap_or(0);
                }
            }
            if demo.port != 0 && demo.epm_port != 0 {
                return Ok(demo);
            }
            if let Ok(Some(status)) = demo.child.try_wait() {
                return Err(format!(
                    "clusapid {args:?} exited ({status}) before announcing its ports\nstdout:\n{}\nlog:\n{}",
                    demo.stdout,
                    demo.stderr()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "clusapid {args:?} did not announce its ports within 30 s\nstdout:\n{}\nlog:\n{}",
                    demo.stdout,
                    demo.stderr()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `ncacn_ip_tcp:127.0.0.1[PORT,OPTS]` (OPTS may be empty).
    pub fn binding(&self, opts: &str) -> String {
        if opts.is_empty() {
            format!("ncacn_ip_tcp:127.0.0.1[{}]", self.port)
        } else {
            format!("ncacn_ip_tcp:127.0.0.1[{},{opts}]", self.port)
        }
    }

    /// The log so far, without colours.
    pub fn stderr(&self) -> String {
        strip_ansi(&String::from_utf8_lossy(&std::fs::read(&self.stderr_path).unwrap_or_default()))
    }

    /// Panics (with the log) if the daemon has exited.
    pub fn assert_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("clusapid exited ({status}); log:\n{}", self.stderr());
        }
    }

    /// Prints the last `n` lines of the log to stderr.
    pub fn dump_log(&self, n: usize) {
        let log = self.stderr();
        let lines: Vec<&str> = log.lines().collect();
        let from = lines.len().saturating_sub(n);
        eprintln!("----- clusapid (pid {}) log, last {} lines -----", self.pid(), lines.len() - from);
        for l in &lines[from..] {
            eprintln!("{l}");
        }
        eprintln!("----- end of clusapid log -----");
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // still running and not reaped, so the pid is still this child's
            if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
                // SAFETY: kill(2) with our own child's pid and a valid signal number.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            if wait_timeout(&mut self.child, Duration::from_secs(5)).is_none() {
                eprintln!("clusapid (pid {}) ignored SIGTERM for 5 s and was killed", self.child.id());
            }
        }
        if std::thread::panicking() {
            self.dump_log(200);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// smbtorture and rpcclient
// ---------------------------------------------------------------------------------------------

/// The result of one smbtorture test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// `failure:` with smbtorture's explanation.
    Failure(String),
    /// `error:` with smbtorture's explanation; also a test that started and never finished.
    Error(String),
    Skip(String),
    Xfail(String),
    UxSuccess(String),
}

impl Outcome {
    /// Passed (success, or an expected failure smbtorture itself knows about).
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Success | Outcome::Xfail(_))
    }
    /// A skip: neither a pass nor a failure.
    pub fn is_skip(&self) -> bool {
        matches!(self, Outcome::Skip(_))
    }
    /// The explanation, if any.
    pub fn detail(&self) -> &str {
        match self {
            Outcome::Success => "",
            Outcome::Failure(d) | Outcome::Error(d) | Outcome::Skip(d) | Outcome::Xfail(d) | Outcome::UxSuccess(d) => d,
        }
    }
    fn label(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure(_) => "failure",
            Outcome::Error(_) => "error",
            Outcome::Skip(_) => "skip",
            Outcome::Xfail(_) => "xfail",
            Outcome::UxSuccess(_) => "uxsuccess",
        }
    }
}

/// One smbtorture run.
#[derive(Debug)]
pub struct TortureRun {
    /// The command line, for reports.
    pub command: String,
    /// Test name (as smbtorture prints it, relative to the suite asked for) → outcome.
    pub outcomes: BTreeMap<String, Outcome>,
    /// The count from `progress: N`, when printed.
    pub announced: Option<usize>,
    /// stdout then stderr.
    pub output: String,
    pub status: ExitStatus,
    pub timed_out: bool,
}

impl TortureRun {
    /// The run whose command line was `command` and whose result is `out` (smbtorture started
    /// elsewhere, e.g. inside a lab namespace).
    pub fn from_output(command: String, out: &Output, timed_out: bool) -> TortureRun {
        let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
        output.push_str(&String::from_utf8_lossy(&out.stderr));
        let (outcomes, announced) = parse_subunit(&String::from_utf8_lossy(&out.stdout));
        TortureRun { command, outcomes, announced, output, status: out.status, timed_out }
    }

    /// The outcome of `name`.
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.outcomes.get(name)
    }

    /// Panics unless `name` succeeded.
    pub fn assert_success(&self, name: &str) {
        match self.outcome(name) {
            Some(Outcome::Success) => {}
            other => panic!("smbtorture {name}: expected success, got {other:?}\n$ {}\n{}", self.command, self.output),
        }
    }

    /// Panics unless `name` did not pass and its explanation mentions one of `needles`.
    pub fn assert_refused(&self, name: &str, needles: &[&str]) {
        match self.outcome(name) {
            Some(o) if !o.passed() && !o.is_skip() && needles.iter().any(|n| o.detail().contains(n)) => {}
            other => panic!(
                "smbtorture {name}: expected a failure mentioning one of {needles:?}, got {other:?}\n$ {}\n{}",
                self.command, self.output
            ),
        }
    }
}

/// Parses smbtorture's subunit-v1-like output: `test: NAME`, then `success: NAME`,
/// `failure: NAME [` ... `]`, `error: NAME [` ... `]`, `skip:`, `xfail:`, `uxsuccess:`.
/// A test that started and never reported is recorded as an error.
pub fn parse_subunit(text: &str) -> (BTreeMap<String, Outcome>, Option<usize>) {
    let mut outcomes = BTreeMap::new();
    let mut started: Vec<String> = Vec::new();
    let mut announced = None;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(n) = line.strip_prefix("progress: ") {
            if let Ok(n) = n.trim().parse::<usize>() {
                announced = Some(announced.unwrap_or(0) + n);
            }
            continue;
        }
        if let Some(name) = line.strip_prefix("test: ") {
            started.push(name.trim().to_string());
            continue;
        }
        let Some((kind, rest)) = line.split_once(": ") else { continue };
        let kind = match kind {
            "success" | "successful" => "success",
            "failure" | "fail" => "failure",
            "error" => "error",
            "skip" => "skip",
            "xfail" => "xfail",
            "uxsuccess" => "uxsuccess",
            _ => continue,
        };
        let rest = rest.trim_end();
        let (name, detail) = if let Some(name) = rest.strip_suffix('[') {
            let mut d = String::new();
            for l in lines.by_ref() {
                if l.trim_end() == "]" {
                    break;
                }
                d.push_str(l);
                d.push('\n');
            }
            (name.trim().to_string(), d.trim_end().to_string())
        } else {
            (rest.trim().to_string(), String::new())
        };
        let o = match kind {
            "success" => Outcome::Success,
            "failure" => Outcome::Failure(detail),
            "error" => Outcome::Error(detail),
            "skip" => Outcome::Skip(detail),
            "xfail" => Outcome::Xfail(detail),
            _ => Outcome::UxSuccess(detail),
        };
        started.retain(|s| s != &name);
        outcomes.insert(name, o);
    }
    for s in started {
        outcomes.entry(s).or_insert_with(|| Outcome::Error("started but never reported (crash or timeout)".into()));
    }
    (outcomes, announced)
}

fn samba_user_args(cmd: &mut Command, user: &str) {
    if user.is_empty() {
        cmd.args(["-N", "-U", ""]);
    } else {
        cmd.args(["-U", user]);
    }
}

/// Runs `smbtorture BINDING -U USER EXTRA... TESTS...` (anonymous `-N -U ''` when `user` is
/// empty) with a 5 minute timeout.
pub fn smbtorture(binding: &str, user: &str, tests: &[&str], extra_args: &[&str]) -> TortureRun {
    smbtorture_timeout(binding, user, tests, extra_args, Duration::from_secs(300))
}

/// [`smbtorture`] with an explicit timeout.
pub fn smbtorture_timeout(
    binding: &str,
    user: &str,
    tests: &[&str],
    extra_args: &[&str],
    timeout: Duration,
) -> TortureRun {
    let mut cmd = Command::new("smbtorture");
    cmd.arg(format!("--configfile={}", samba_conf().display())).arg(binding);
    samba_user_args(&mut cmd, user);
    cmd.args(extra_args).args(tests);
    let command = format!("{cmd:?}");
    let started = Instant::now();
    let (out, timed_out) = run_with_timeout(&mut cmd, None, timeout);
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    let (outcomes, announced) = parse_subunit(&String::from_utf8_lossy(&out.stdout));
    eprintln!(
        "smbtorture {tests:?} on {binding}: {} results in {:.1} s{}",
        outcomes.len(),
        started.elapsed().as_secs_f64(),
        if timed_out { " (TIMED OUT)" } else { "" }
    );
    TortureRun { command, outcomes, announced, output, status: out.status, timed_out }
}

/// Runs `rpcclient -U USER BINDING -c CMDS` (anonymous `-N -U ''` when `user` is empty),
/// killed after 60 s.
///
/// rpcclient 4.17 ignores the port of an `ncacn_ip_tcp` binding: it always asks the endpoint
/// mapper on port 135 for the interface's port, so the daemon must run with
/// [`Demo::start_with_epm_135`].
pub fn rpcclient(binding: &str, user: &str, cmds: &str) -> Output {
    let mut cmd = Command::new("rpcclient");
    cmd.arg(format!("--configfile={}", samba_conf().display()));
    samba_user_args(&mut cmd, user);
    cmd.arg(binding).arg("-c").arg(cmds);
    let (out, timed_out) = run_with_timeout(&mut cmd, None, Duration::from_secs(60));
    assert!(!timed_out, "rpcclient timed out: {cmd:?}\n{}", String::from_utf8_lossy(&out.stdout));
    out
}

/// stdout and stderr of an [`Output`], for messages.
pub fn output_text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// ---------------------------------------------------------------------------------------------
// Known failures
// ---------------------------------------------------------------------------------------------

/// The known-failure list: full test name (`rpc.clusapi.cluster.SetClusterName`) → reason.
#[derive(Clone, Debug, Default)]
pub struct KnownFail {
    pub entries: BTreeMap<String, String>,
}

/// The Windows version `clusapid demo` presents without `--windows-version`.
pub const DEFAULT_PROFILE: &str = "2022";

/// The presented versions, oldest first (the order `@VERSION+` tags count in).
pub const PROFILES: [&str; 5] = ["2012r2", "2016", "2019", "2022", "2025"];

/// Whether a known-failure line's profile tags (`@2012r2`, `@2016+`, `@2016,2019`; none: every
/// profile) select `profile`.
fn tags_select(tags: &str, profile: &str) -> bool {
    let rank = |v: &str| PROFILES.iter().position(|p| p.eq_ignore_ascii_case(v));
    tags.split(',').map(str::trim).filter(|t| !t.is_empty()).any(|t| match t.strip_suffix('+') {
        Some(from) => matches!((rank(from), rank(profile)), (Some(a), Some(b)) if b >= a),
        None => t.eq_ignore_ascii_case(profile),
    })
}

impl KnownFail {
    /// Parses the list for the default profile ([`DEFAULT_PROFILE`]); see [`Self::parse_for`].
    pub fn parse(text: &str) -> KnownFail {
        Self::parse_for(text, DEFAULT_PROFILE)
    }

    /// Parses the list as it applies to `profile` (a `--windows-version` value): one name per
    /// line, optionally followed by `@TAGS` (the profiles the line is for: `@2012r2`,
    /// `@2016+` = 2016 and later, comma-separated; without tags: all), `#` starts a comment; a
    /// comment after the name is its reason, otherwise the last whole-line comment above it is.
    pub fn parse_for(text: &str, profile: &str) -> KnownFail {
        let mut entries = BTreeMap::new();
        let mut section = String::new();
        for line in text.lines() {
            let (body, comment) = match line.split_once('#') {
                Some((b, c)) => (b.trim(), c.trim()),
                None => (line.trim(), ""),
            };
            if body.is_empty() {
                if !comment.is_empty() {
                    section = comment.to_string();
                }
                continue;
            }
            let (name, tags) = match body.split_once('@') {
                Some((n, t)) => (n.trim(), Some(t.trim())),
                None => (body, None),
            };
            if tags.is_some_and(|t| !tags_select(t, profile)) {
                continue;
            }
            let reason = if comment.is_empty() { section.clone() } else { comment.to_string() };
            entries.insert(name.to_string(), reason);
        }
        KnownFail { entries }
    }

    /// Reads a file ([`knownfail_path`] normally) for the default profile.
    pub fn load(path: &Path) -> KnownFail {
        Self::load_for(path, DEFAULT_PROFILE)
    }

    /// Reads a file for `profile`.
    pub fn load_for(path: &Path, profile: &str) -> KnownFail {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        Self::parse_for(&text, profile)
    }
}

/// What a run says about the known-failure list.
#[derive(Debug, Default)]
pub struct Ratchet {
    /// Did not pass and is not listed.
    pub new_failures: Vec<(String, Outcome)>,
    /// Listed and passed: remove it from the list.
    pub unexpected_passes: Vec<(String, String)>,
    /// Listed under the suite prefix but absent from the run (renamed or removed tests).
    pub not_run: Vec<(String, String)>,
    /// Listed, still failing.
    pub known: usize,
    pub passed: usize,
    pub skipped: usize,
}

impl Ratchet {
    /// Whether the run matches the list.
    pub fn ok(&self) -> bool {
        self.new_failures.is_empty() && self.unexpected_passes.is_empty() && self.not_run.is_empty()
    }

    /// A readable report.
    pub fn report(&self, list: &Path) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "smbtorture vs {}: {} passed, {} known failures, {} skipped, {} new failures, {} unexpected passes, {} listed but not run",
            list.display(),
            self.passed,
            self.known,
            self.skipped,
            self.new_failures.len(),
            self.unexpected_passes.len(),
            self.not_run.len()
        );
        if !self.new_failures.is_empty() {
            let _ = writeln!(s, "\nNEW FAILURES (fix them, or list them with a reason if they are expected):");
            for (n, o) in &self.new_failures {
                let first = o.detail().lines().next().unwrap_or("");
                let _ = writeln!(s, "  {n}  [{}] {first}", o.label());
            }
        }
        if !self.unexpected_passes.is_empty() {
            let _ = writeln!(s, "\nUNEXPECTED PASSES (good news: remove these lines, the list only shrinks):");
            for (n, r) in &self.unexpected_passes {
                let _ = writeln!(s, "  {n}  # {r}");
            }
        }
        if !self.not_run.is_empty() {
            let _ = writeln!(s, "\nLISTED BUT NOT RUN (stale entries: remove or rename them):");
            for (n, r) in &self.not_run {
                let _ = writeln!(s, "  {n}  # {r}");
            }
        }
        s
    }
}

/// Compares a run (whose names are relative to `suite_prefix`, e.g. `rpc.clusapi`) with a list.
pub fn evaluate_knownfail(run: &TortureRun, suite_prefix: &str, kf: &KnownFail) -> Ratchet {
    let full = |n: &str| if suite_prefix.is_empty() { n.to_string() } else { format!("{suite_prefix}.{n}") };
    let mut r = Ratchet::default();
    for (name, o) in &run.outcomes {
        let name = full(name);
        let listed = kf.entries.get(&name);
        if o.is_skip() {
            r.skipped += 1;
        } else if o.passed() {
            r.passed += 1;
            if let Some(reason) = listed {
                r.unexpected_passes.push((name, reason.clone()));
            }
        } else if listed.is_some() {
            r.known += 1;
        } else {
            r.new_failures.push((name, o.clone()));
        }
    }
    let ran: std::collections::BTreeSet<String> = run.outcomes.keys().map(|n| full(n)).collect();
    let scope = format!("{suite_prefix}.");
    for (name, reason) in &kf.entries {
        if name.starts_with(&scope) && !ran.contains(name) {
            r.not_run.push((name.clone(), reason.clone()));
        }
    }
    r
}

/// Fails the test when `run` (the whole suite `suite_prefix`) does not match `tests/knownfail`:
/// a test that did not pass and is not listed (new failure), a listed test that passed
/// (unexpected pass), or a listed test of the suite that did not run. Skips are neither.
///
/// With `UPDATE_KNOWNFAIL=1` the lines of unexpected passes and of tests that no longer run
/// are removed from the file instead (the list only shrinks; new failures still fail).
pub fn check_against_knownfail(run: &TortureRun, suite_prefix: &str) {
    check_against_knownfail_for(run, suite_prefix, DEFAULT_PROFILE)
}

/// [`check_against_knownfail`] for a daemon presenting `profile` (`--windows-version`): the
/// lines tagged for other profiles do not count. `UPDATE_KNOWNFAIL=1` removes only untagged
/// lines and lines tagged for `profile` alone.
pub fn check_against_knownfail_for(run: &TortureRun, suite_prefix: &str, profile: &str) {
    let path = knownfail_path();
    let kf = KnownFail::load_for(&path, profile);
    let mut r = evaluate_knownfail(run, suite_prefix, &kf);
    if std::env::var_os("UPDATE_KNOWNFAIL").is_some_and(|v| v == "1") {
        let gone: std::collections::BTreeSet<&str> =
            r.unexpected_passes.iter().chain(r.not_run.iter()).map(|(n, _)| n.as_str()).collect();
        if !gone.is_empty() {
            let text = std::fs::read_to_string(&path).expect("reading the known-failure list");
            let removable = |l: &str| {
                let body = l.split('#').next().unwrap_or("");
                let (name, tags) = body.split_once('@').unwrap_or((body, ""));
                let tags = tags.trim();
                gone.contains(name.trim()) && (tags.is_empty() || tags.eq_ignore_ascii_case(profile))
            };
            let kept: Vec<&str> = text.lines().filter(|l| !removable(l)).collect();
            std::fs::write(&path, kept.join("\n") + "\n").expect("rewriting the known-failure list");
            loud(&format!("UPDATE_KNOWNFAIL=1: removed {} lines from {}: {gone:?}", gone.len(), path.display()));
        }
        r.unexpected_passes.clear();
        r.not_run.clear();
    }
    let report = r.report(&path);
    if !r.ok() {
        eprintln!("----- smbtorture output -----\n{}\n----- end of smbtorture output -----", run.output);
    }
    eprintln!("{report}");
    assert!(r.ok(), "{report}\n$ {}\n(full smbtorture output above in the test's stderr)", run.command);
}

// ---------------------------------------------------------------------------------------------
// A blocking DCE/RPC client
// ---------------------------------------------------------------------------------------------

/// clusapi v3.0.
pub fn clusapi_syntax() -> SyntaxId {
    SyntaxId::new(Clusapi::UUID, Clusapi::VERSION_MAJOR, Clusapi::VERSION_MINOR)
}

/// epmapper v3.0.
pub fn epm_syntax() -> SyntaxId {
    SyntaxId::new(Epmapper::UUID, Epmapper::VERSION_MAJOR, Epmapper::VERSION_MINOR)
}

/// Everything that can go wrong on a call.
#[derive(Debug)]
pub enum RpcError {
    Io(io::Error),
    /// The server closed the connection (EOF or reset).
    Closed,
    Client(ClientError),
    Fault(u32),
    Unexpected(String),
}

impl From<io::Error> for RpcError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
                RpcError::Closed
            }
            _ => RpcError::Io(e),
        }
    }
}

/// The authentication of a [`RpcClient`].
#[derive(Clone, Copy, Debug)]
pub enum Auth<'a> {
    None,
    /// auth type 10 (raw NTLMSSP).
    Ntlm {
        user: &'a str,
        password: &'a str,
        level: u8,
    },
    /// auth type 9 (SPNEGO around NTLMSSP).
    Spnego {
        user: &'a str,
        password: &'a str,
        level: u8,
    },
}

impl Auth<'static> {
    /// alice over SPNEGO at packet privacy.
    pub fn alice() -> Self {
        Auth::Spnego { user: ALICE_USER, password: ALICE_PASSWORD, level: pdu::auth_level::PKT_PRIVACY }
    }
}

/// One TCP connection driven by [`ClientConnection`].
pub struct RpcClient {
    stream: TcpStream,
    conn: ClientConnection,
    inbuf: Vec<u8>,
    /// The association group of the last bind.
    pub assoc_group_id: u32,
}

/// Connects to 127.0.0.1:`port` with 10 s read/write timeouts.
pub fn tcp_connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connecting to 127.0.0.1:{port}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
    s.set_write_timeout(Some(Duration::from_secs(10))).expect("write timeout");
    let _ = s.set_nodelay(true);
    s
}

/// Reads one complete PDU from `stream` (buffering extra bytes in `inbuf`).
pub fn read_pdu(stream: &mut TcpStream, inbuf: &mut Vec<u8>) -> Result<Vec<u8>, RpcError> {
    loop {
        if let Some(n) = pdu::frame_length(inbuf) {
            if n < pdu::HEADER_LEN {
                return Err(RpcError::Unexpected(format!("fragment length {n}")));
            }
            if inbuf.len() >= n {
                let rest = inbuf.split_off(n);
                return Ok(std::mem::replace(inbuf, rest));
            }
        }
        let mut buf = [0u8; 16384];
        let got = stream.read(&mut buf)?;
        if got == 0 {
            return Err(RpcError::Closed);
        }
        inbuf.extend_from_slice(&buf[..got]);
    }
}

/// Waits until the server closes `stream` (EOF or reset), discarding what it sends. Returns
/// the PDUs received before the close, or an error if it neither closes nor goes quiet.
pub fn read_until_close(stream: &mut TcpStream) -> Result<Vec<Vec<u8>>, RpcError> {
    let mut inbuf = Vec::new();
    let mut pdus = Vec::new();
    loop {
        match read_pdu(stream, &mut inbuf) {
            Ok(p) => pdus.push(p),
            Err(RpcError::Closed) => return Ok(pdus),
            Err(e) => return Err(e),
        }
    }
}

impl RpcClient {
    /// Connects to `addr` (any address, e.g. in a lab namespace the calling thread entered)
    /// with `auth`; bind with [`RpcClient::bind`]. A user `DOMAIN\\name` names its domain.
    pub fn connect_addr(addr: std::net::SocketAddr, auth: Auth<'_>) -> RpcClient {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
        s.set_read_timeout(Some(Duration::from_secs(30))).expect("read timeout");
        s.set_write_timeout(Some(Duration::from_secs(30))).expect("write timeout");
        let _ = s.set_nodelay(true);
        Self::over(s, auth)
    }

    /// Connects to 127.0.0.1:`port` with `auth`; bind with [`RpcClient::bind`].
    pub fn connect(port: u16, auth: Auth<'_>) -> RpcClient {
        Self::over(tcp_connect(port), auth)
    }

    /// A client on an open connection (e.g. one made in another network namespace).
    pub fn over(stream: TcpStream, auth: Auth<'_>) -> RpcClient {
        let conn = match auth {
            Auth::None => ClientConnection::anonymous(),
            Auth::Ntlm { user, password, level } => {
                ClientConnection::authenticated(initiator(AuthType::Ntlmssp, user, password), level)
            }
            Auth::Spnego { user, password, level } => {
                ClientConnection::authenticated(initiator(AuthType::Spnego, user, password), level)
            }
        };
        RpcClient { stream, conn, inbuf: Vec::new(), assoc_group_id: 0 }
    }

    /// Connects and binds clusapi v3.0 as alice over SPNEGO at packet privacy.
    pub fn clusapi(port: u16) -> RpcClient {
        Self::clusapi_as(port, Auth::alice())
    }

    /// Connects and binds clusapi v3.0 with `auth`; panics if the bind is refused.
    pub fn clusapi_as(port: u16, auth: Auth<'_>) -> RpcClient {
        let mut c = Self::connect(port, auth);
        let r =
            c.bind(clusapi_syntax(), 0).unwrap_or_else(|e| panic!("clusapi bind on port {port} with {auth:?}: {e:?}"));
        assert_eq!(r[0].result, pdu::result::ACCEPTANCE, "clusapi context refused: {r:?}");
        c
    }

    /// Connects anonymously and binds the endpoint mapper.
    pub fn epm(port: u16) -> RpcClient {
        let mut c = Self::connect(port, Auth::None);
        let r = c.bind(epm_syntax(), 0).unwrap_or_else(|e| panic!("epmapper bind on port {port}: {e:?}"));
        assert_eq!(r[0].result, pdu::result::ACCEPTANCE, "epmapper context refused: {r:?}");
        c
    }

    /// Binds one presentation context (id 0), running the authentication legs. Returns the
    /// per-context results.
    pub fn bind(&mut self, syntax: SyntaxId, assoc_group_id: u32) -> Result<Vec<ContextResult>, RpcError> {
        let mut out = Vec::new();
        self.conn.bind(&[(0, syntax)], assoc_group_id, &mut out);
        self.send_raw(&out)?;
        loop {
            let mut frag = read_pdu(&mut self.stream, &mut self.inbuf)?;
            let mut out = Vec::new();
            let ev = self.conn.handle_fragment(&mut frag, &mut out).map_err(RpcError::Client)?;
            if !out.is_empty() {
                self.send_raw(&out)?;
            }
            match ev {
                ClientEvent::Bound { assoc_group_id, results } => {
                    self.assoc_group_id = assoc_group_id;
                    return Ok(results);
                }
                ClientEvent::Pending => continue,
                ClientEvent::Fault { status, .. } => return Err(RpcError::Fault(status)),
                other => return Err(RpcError::Unexpected(format!("{other:?} during bind"))),
            }
        }
    }

    /// Sends one request on context 0 and waits for its response stub or fault.
    pub fn try_call(&mut self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, RpcError> {
        let mut out = Vec::new();
        let call_id = self.conn.request(0, opnum, stub, &mut out);
        self.send_raw(&out)?;
        loop {
            let mut frag = read_pdu(&mut self.stream, &mut self.inbuf)?;
            let mut out = Vec::new();
            match self.conn.handle_fragment(&mut frag, &mut out).map_err(RpcError::Client)? {
                ClientEvent::Pending => continue,
                ClientEvent::Response { call_id: id, stub } if id == call_id => return Ok(stub),
                ClientEvent::Fault { call_id: id, status } if id == call_id || id == 0 => {
                    return Err(RpcError::Fault(status))
                }
                other => return Err(RpcError::Unexpected(format!("{other:?} while waiting for call {call_id}"))),
            }
        }
    }

    /// [`RpcClient::try_call`], with anything but a response or a fault being a panic.
    pub fn call(&mut self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, u32> {
        match self.try_call(opnum, stub) {
            Ok(s) => Ok(s),
            Err(RpcError::Fault(f)) => Err(f),
            Err(e) => panic!("opnum {opnum}: {e:?}"),
        }
    }

    /// Writes raw bytes.
    pub fn send_raw(&mut self, b: &[u8]) -> Result<(), RpcError> {
        self.stream.write_all(b)?;
        Ok(())
    }

    /// The underlying socket.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Closes the connection (both directions).
    pub fn close(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// An NTLM initiator for `user` (`DOMAIN\\name` names the domain, else WORKGROUP).
fn initiator(kind: AuthType, user: &str, password: &str) -> Initiator {
    let (domain, user) = user.split_once('\\').unwrap_or(("WORKGROUP", user));
    Initiator::new(
        kind,
        NtlmInitiator::new(
            user,
            domain,
            ClientSecret::Password(password.into()),
            "TESTS",
            rand::random(),
            rand::random(),
        ),
    )
}

/// The ept_map request for the ncacn_ip_tcp tower of `iface` `major.minor` (NDR 2.0, port 0,
/// address 0.0.0.0), at most four towers back, as Windows and Samba clients ask.
fn ept_map_request(iface: idl::Guid, major: u16, minor: u16) -> idl::epm::EptMapRequest {
    use idl::epm::{EptMapRequest, TcpTower, Tower, Twr};
    let tower = Tower::ncacn_ip_tcp(&TcpTower {
        interface: (iface, major, minor),
        transfer: (idl::NDR20_UUID, 2),
        port: 0,
        ip: [0; 4],
    });
    EptMapRequest {
        object: Some(idl::Guid::NIL),
        map_tower: Some(Twr(tower.to_bytes())),
        entry_handle: idl::ContextHandle::NULL,
        max_towers: 4,
    }
}

/// ept_map over `c` for the ncacn_ip_tcp tower of `iface` `major.minor` (NDR 2.0, port 0,
/// address 0.0.0.0), as Windows and Samba clients ask; panics on a fault.
pub fn ept_map(c: &mut RpcClient, iface: idl::Guid, major: u16, minor: u16) -> idl::epm::EptMapResponse {
    use idl::epm::{EptMapRequest, EptMapResponse};
    let req = ept_map_request(iface, major, minor);
    let stub = c.call(EptMapRequest::OPNUM, &req.to_stub()).expect("ept_map faulted");
    EptMapResponse::decode_stub(&stub, idl::ByteOrder::Little).expect("decoding ept_map")
}

/// ept_map as [`ept_map`], answering the `ncacn_ip_tcp` towers returned (port and address
/// floors), or why there are none.
pub fn try_ept_map(
    c: &mut RpcClient,
    iface: idl::Guid,
    major: u16,
    minor: u16,
) -> Result<Vec<idl::epm::TcpTower>, String> {
    use idl::epm::{EptMapRequest, EptMapResponse, TcpTower, Tower};
    let req = ept_map_request(iface, major, minor);
    let stub = c.try_call(EptMapRequest::OPNUM, &req.to_stub()).map_err(|e| format!("ept_map: {e:?}"))?;
    let r = EptMapResponse::decode_stub(&stub, idl::ByteOrder::Little).map_err(|e| format!("ept_map reply: {e:?}"))?;
    if r.status.0 != 0 {
        return Err(format!("ept_map status 0x{:08x}", r.status.0));
    }
    Ok(r.towers
        .towers
        .iter()
        .flatten()
        .filter_map(|t| Tower::parse(&t.0))
        .filter(|t| t.is_ncacn_ip_tcp())
        .filter_map(|t| {
            let port = u16::from_be_bytes(t.floors[3].rhs.get(..2)?.try_into().ok()?);
            let ip: [u8; 4] = t.floors[4].rhs.get(..4)?.try_into().ok()?;
            Some(TcpTower { interface: t.interface()?, transfer: t.transfer()?, port, ip })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
smbtorture 4.17.12-Debian
progress: 5
test: cluster.OpenCluster
time: 2026-01-01 00:00:00
success: cluster.OpenCluster
test: cluster.SetClusterName
failure: cluster.SetClusterName [
clusapi.c:192: r.out.result was WERR_CALL_NOT_IMPLEMENTED
]
test: resource.FailResource
skip: resource.FailResource [
disabled FailResource - enable dangerous tests to use
]
test: node.OpenNode
error: node.OpenNode [
NT_STATUS_ACCESS_DENIED
]
test: node.Crash
";

    fn run() -> TortureRun {
        let (outcomes, announced) = parse_subunit(SAMPLE);
        TortureRun {
            command: "test".into(),
            outcomes,
            announced,
            output: SAMPLE.into(),
            status: std::process::Command::new("true").status().unwrap(),
            timed_out: false,
        }
    }

    #[test]
    fn parses_outcomes() {
        let r = run();
        assert_eq!(r.announced, Some(5));
        assert_eq!(r.outcomes.len(), 5);
        assert_eq!(r.outcome("cluster.OpenCluster"), Some(&Outcome::Success));
        assert!(
            matches!(r.outcome("cluster.SetClusterName"), Some(Outcome::Failure(d)) if d.contains("WERR_CALL_NOT_IMPLEMENTED"))
        );
        assert!(r.outcome("resource.FailResource").unwrap().is_skip());
        assert!(matches!(r.outcome("node.OpenNode"), Some(Outcome::Error(d)) if d == "NT_STATUS_ACCESS_DENIED"));
        assert!(matches!(r.outcome("node.Crash"), Some(Outcome::Error(_))));
    }

    #[test]
    fn ratchet_flags_new_failures_unexpected_passes_and_stale_entries() {
        let r = run();
        let exact = KnownFail::parse(
            "# not yet implemented\nrpc.clusapi.cluster.SetClusterName\nrpc.clusapi.node.OpenNode  # no nodes\nrpc.clusapi.node.Crash # x\n\
             rpc.clusapi.resource.FailResource # skips are neither\nrpc.other.Thing # other suite: out of scope\n",
        );
        assert_eq!(exact.entries["rpc.clusapi.cluster.SetClusterName"], "not yet implemented");
        assert_eq!(exact.entries["rpc.clusapi.node.OpenNode"], "no nodes");
        let ok = evaluate_knownfail(&r, "rpc.clusapi", &exact);
        assert!(ok.ok(), "{}", ok.report(Path::new("x")));
        assert_eq!((ok.passed, ok.known, ok.skipped), (1, 3, 1));

        // a failure not listed
        let missing = KnownFail::parse("rpc.clusapi.cluster.SetClusterName\nrpc.clusapi.node.Crash\n");
        let bad = evaluate_knownfail(&r, "rpc.clusapi", &missing);
        assert!(!bad.ok());
        assert_eq!(bad.new_failures.len(), 1);
        assert_eq!(bad.new_failures[0].0, "rpc.clusapi.node.OpenNode");

        // a listed test that passes
        let stale = KnownFail::parse(
            "rpc.clusapi.cluster.OpenCluster # fixed\nrpc.clusapi.cluster.SetClusterName\nrpc.clusapi.node.OpenNode\nrpc.clusapi.node.Crash\n",
        );
        let bad = evaluate_knownfail(&r, "rpc.clusapi", &stale);
        assert!(!bad.ok());
        assert_eq!(bad.unexpected_passes.len(), 1);
        assert!(bad.report(Path::new("kf")).contains("UNEXPECTED PASSES"));

        // a listed test of the suite that no longer exists
        let gone = KnownFail::parse(
            "rpc.clusapi.cluster.SetClusterName\nrpc.clusapi.node.OpenNode\nrpc.clusapi.node.Crash\nrpc.clusapi.cluster.Renamed\n",
        );
        let bad = evaluate_knownfail(&r, "rpc.clusapi", &gone);
        assert_eq!(bad.not_run.len(), 1);
        assert!(!bad.ok());
    }

    #[test]
    fn knownfail_profile_tags() {
        let text = "rpc.clusapi.a.All # everywhere\nrpc.clusapi.a.Old @2012r2 # old only\n\
                    rpc.clusapi.a.New @2016+ # new\nrpc.clusapi.a.Two @2016, 2025\n";
        let names = |p: &str| KnownFail::parse_for(text, p).entries.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names("2012r2"), ["rpc.clusapi.a.All", "rpc.clusapi.a.Old"]);
        assert_eq!(names("2016"), ["rpc.clusapi.a.All", "rpc.clusapi.a.New", "rpc.clusapi.a.Two"]);
        assert_eq!(names("2022"), ["rpc.clusapi.a.All", "rpc.clusapi.a.New"]);
        assert_eq!(names("2025"), ["rpc.clusapi.a.All", "rpc.clusapi.a.New", "rpc.clusapi.a.Two"]);
        assert_eq!(KnownFail::parse(text).entries["rpc.clusapi.a.New"], "new");
        assert!(tags_select("2019+", "2022") && !tags_select("2019+", "2016") && !tags_select("2030+", "2025"));
    }

    #[test]
    fn port_parsing() {
        assert_eq!(bracket_port("  clusapi v3.0      ncacn_ip_tcp:127.0.0.1[43211]  (packet privacy)"), Some(43211));
        assert_eq!(bracket_port("  endpoint mapper   ncacn_ip_tcp:127.0.0.1[135]"), Some(135));
        let l = strip_ansi(
            "\u{1b}[2m2026\u{1b}[0m INFO clusapid: Serving \u{1b}[3mclusapi\u{1b}[0m\u{1b}[2m=\u{1b}[0m[127.0.0.1:4135] epmapper=[127.0.0.1:135, 127.0.0.2:135]",
        );
        assert_eq!(log_port(&l, "clusapi"), Some(4135));
        assert_eq!(log_port(&l, "epmapper"), Some(135));
    }
}
