//! Shared by the tests that run a real loopback CTDB cluster with
//! `scripts/ctdb-local-cluster` (see `ctdb_cluster.rs` for the conventions):
//! one such cluster per host, serialised by the workspace tests' [`HostLock`] (the
//! `tests` crate's loopback cluster takes the same one), in the fixed directory [`DIR`],
//! stopped by [`Cluster`]'s drop.
//!
//! [`Ctdb`] says which ctdbd runs it: the installed one (Samba 4.22 from
//! bookworm-backports in CI) or Debian 12's own CTDB 4.17, unpacked by
//! `scripts/install-deps` into [`CTDB_417_ROOT`] (the script's `CTDB_ROOT`),
//! so the backend is tested against both supported versions.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub use tests::ctdb::{HostLock, DIR};

pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ctdb-local-cluster")
}

/// Where `scripts/install-deps` unpacks Debian 12's CTDB 4.17.
pub const CTDB_417_ROOT: &str = "/var/cache/clusapid/ctdb-4.17/root";

/// The CTDB installation a test cluster runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ctdb {
    /// The installed `ctdbd` and `ctdb`.
    Installed,
    /// Another installation unpacked under this root (`CTDB_ROOT`).
    Unpacked(PathBuf),
}

impl Ctdb {
    /// Debian 12's CTDB 4.17, if `scripts/install-deps` unpacked it.
    pub fn debian12_417() -> Option<Ctdb> {
        let root = PathBuf::from(CTDB_417_ROOT);
        root.join("usr/sbin/ctdbd").exists().then_some(Ctdb::Unpacked(root))
    }

    /// Starts every node of the 3-node cluster in [`DIR`] that is not running and waits until
    /// all are healthy.
    pub fn start_cluster(&self) {
        let t = Instant::now();
        let o = self.command().args(["start", DIR, "--nodes", "3"]).output().expect("run ctdb-local-cluster");
        assert!(o.status.success(), "cluster start failed:\n{}", text(&o));
        println!("cluster (re)started in {:.1}s", t.elapsed().as_secs_f64());
    }

    /// The script with this installation's environment.
    pub fn command(&self) -> Command {
        let mut c = Command::new("bash");
        c.arg(script());
        if let Ctdb::Unpacked(root) = self {
            c.env("CTDB_ROOT", root);
        }
        c
    }
}

/// False (after a loud message) when Debian 12's CTDB 4.17 is not unpacked;
/// panics instead when `CI=true` on Debian 12, where install-deps unpacks it.
pub fn ctdb_417_or_skip(test: &str) -> Option<Ctdb> {
    if let Some(c) = Ctdb::debian12_417() {
        return Some(c);
    }
    let bookworm = std::fs::read_to_string("/etc/os-release").is_ok_and(|t| t.contains("VERSION_CODENAME=bookworm"));
    if bookworm && std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "CTDB 4.17 is not unpacked in {CTDB_417_ROOT} (scripts/install-deps), but CI=true requires {test} to run"
        );
    }
    eprintln!();
    eprintln!(
        "!!! SKIPPING {test}: Debian 12's CTDB 4.17 is not unpacked in {CTDB_417_ROOT} (run scripts/install-deps) !!!"
    );
    None
}

/// The two tests of a real-cluster check, both running the test file's `exercise(cluster)`
/// through [`exercise_on`]:
/// `$installed` on the installed CTDB (skipped as [`ctdbd_or_skip`] says) and `$old` on
/// Debian 12's own CTDB 4.17 (skipped as [`ctdb_417_or_skip`] says); `$what` names them in
/// the skip messages.
macro_rules! on_both_ctdb_versions {
    ($what:literal, $(#[$installed_doc:meta])* $installed:ident, $(#[$old_doc:meta])* $old:ident) => {
        $(#[$installed_doc])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $installed() {
            if !common::ctdbd_or_skip($what) {
                return;
            }
            common::exercise_on(common::Ctdb::Installed, exercise).await;
        }

        $(#[$old_doc])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $old() {
            let Some(ctdb) = common::ctdb_417_or_skip(concat!($what, " (4.17)")) else { return };
            common::exercise_on(ctdb, exercise).await;
        }
    };
}

/// Runs a real-cluster test's `exercise` on a fresh cluster of `ctdb` (see [`Cluster::fresh_with`])
/// and says how long the whole took.
pub async fn exercise_on<F: std::future::Future<Output = ()>>(ctdb: Ctdb, exercise: impl FnOnce(Cluster) -> F) {
    let t = Instant::now();
    exercise(Cluster::fresh_with(ctdb)).await;
    println!("whole test took {:?}", t.elapsed());
}

pub fn have_ctdbd() -> bool {
    ["/usr/sbin/ctdbd", "/usr/bin/ctdbd", "/usr/local/sbin/ctdbd"].iter().any(|p| Path::new(p).exists())
        || Command::new("sh").args(["-c", "command -v ctdbd"]).output().map(|o| o.status.success()).unwrap_or(false)
}

/// False (after a loud message) when ctdbd is missing and the test should
/// be skipped; panics instead when `CI=true`.
pub fn ctdbd_or_skip(test: &str) -> bool {
    if have_ctdbd() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("ctdbd is not installed, but CI=true requires {test} to run");
    }
    eprintln!();
    eprintln!("!!! SKIPPING {test}: ctdbd not found (install Debian's `ctdb`) !!!");
    false
}

pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The loopback cluster; stopped (and cleaned up) on drop, then the host lock is released.
pub struct Cluster {
    pub dir: PathBuf,
    pub ctdb: Ctdb,
    _lock: HostLock,
}

impl Cluster {
    /// Stops leftovers of a crashed run and starts a fresh 3-node cluster
    /// of the installed CTDB.
    pub fn fresh() -> Cluster {
        Cluster::fresh_with(Ctdb::Installed)
    }

    /// The same with the CTDB installation `ctdb`; waits for the host lock first.
    pub fn fresh_with(ctdb: Ctdb) -> Cluster {
        let lock = HostLock::take();
        println!("CTDB: {ctdb:?}");
        let c = Cluster { dir: DIR.into(), ctdb, _lock: lock };
        let _ = c.script(&["stop", DIR, "--clean"]);
        let _ = std::fs::remove_dir_all(DIR);
        c.start();
        c
    }

    pub fn script(&self, args: &[&str]) -> Output {
        self.ctdb.command().args(args).output().expect("run ctdb-local-cluster")
    }

    /// The pid of node `pnn`'s ctdbd.
    pub fn pid(&self, pnn: u32) -> u32 {
        let p = self.dir.join(format!("node.{pnn}/run/ctdbd.pid"));
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).trim().parse().expect("pid")
    }

    /// `ctdb ARGS` against node `pnn`, in the background.
    pub fn ctdb_spawn(&self, pnn: u32, args: &[&str]) -> std::process::Child {
        self.ctdb.command().args(["ctdb", DIR, &pnn.to_string()]).args(args).spawn().expect("spawn ctdb")
    }

    /// Starts every node that is not running and waits until all are healthy.
    pub fn start(&self) {
        self.ctdb.start_cluster();
    }

    /// Stops the ctdbd of node `pnn` (SIGTERM, then its eventd).
    pub fn stop_node(&self, pnn: u32) {
        let o = self.script(&["stop", DIR, "--node", &pnn.to_string()]);
        assert!(o.status.success(), "stop node {pnn}: {}", text(&o));
    }

    pub fn socket(&self, pnn: u32) -> PathBuf {
        self.dir.join(format!("node.{pnn}/run/ctdbd.socket"))
    }

    /// `ctdb ARGS` against node `pnn`.
    pub fn ctdb_on(&self, pnn: u32, args: &[&str]) -> String {
        let o = self.script(&[&["ctdb", DIR, &pnn.to_string()], args].concat());
        assert!(o.status.success(), "ctdb {args:?} on node {pnn}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        tests::ctdb::stop_on_drop(|args| self.script(args));
    }
}

/// Polls `pred` every 5 ms until it holds; returns how long that took.
pub async fn within<F: FnMut() -> bool>(what: &str, timeout: Duration, mut pred: F) -> Duration {
    let t = Instant::now();
    loop {
        if pred() {
            return t.elapsed();
        }
        assert!(t.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
