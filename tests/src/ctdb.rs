//! A real CTDB cluster on loopback for tests, started with `scripts/ctdb-local-cluster`.
//!
//! Only one such cluster can exist per host (node addresses 127.0.0.1-N are fixed), so users
//! take [`HostLock`], an exclusive `flock` on `/tmp/clusapid-ctdb-cluster.lock` shared with
//! the `nodes` crate's real-cluster tests, and use the fixed directory [`DIR`]. The guard
//! returned by [`LocalCluster::start`] stops the cluster when dropped, pass or fail.

use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use crate::workspace_root;

/// Where the test cluster lives.
pub const DIR: &str = "/tmp/clusapid-ctdb-cluster-test";
const LOCK: &str = "/tmp/clusapid-ctdb-cluster.lock";

/// The cross-process lock; released when dropped.
pub struct HostLock {
    _file: std::fs::File,
}

impl HostLock {
    /// Blocks until no other test owns the loopback cluster.
    pub fn take() -> Self {
        let f =
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(LOCK).expect("open lock file");
        // SAFETY: flock on a file descriptor we own; blocks until free.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(r, 0, "flock {LOCK}");
        HostLock { _file: f }
    }
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A running loopback cluster; stopped on drop.
pub struct LocalCluster {
    dir: PathBuf,
    _lock: HostLock,
}

impl LocalCluster {
    /// Takes the host lock and starts `nodes` nodes (waits until all are OK).
    pub fn start(nodes: u32) -> LocalCluster {
        let lock = HostLock::take();
        let c = LocalCluster { dir: PathBuf::from(DIR), _lock: lock };
        let t = Instant::now();
        let o = c.script(&["start", DIR, "--nodes", &nodes.to_string()]);
        assert!(o.status.success(), "cluster start failed:\n{}", text(&o));
        eprintln!("ctdb cluster started in {:.1}s", t.elapsed().as_secs_f64());
        c
    }

    fn script(&self, args: &[&str]) -> Output {
        Command::new("bash")
            .arg(workspace_root().join("scripts/ctdb-local-cluster"))
            .args(args)
            .output()
            .expect("run scripts/ctdb-local-cluster")
    }

    /// The cluster directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// ctdbd socket of node `pnn`.
    pub fn socket(&self, pnn: u32) -> PathBuf {
        self.dir.join(format!("node.{pnn}/run/ctdbd.socket"))
    }

    /// pid of node `pnn`'s ctdbd.
    pub fn pid(&self, pnn: u32) -> u32 {
        let p = self.dir.join(format!("node.{pnn}/run/ctdbd.pid"));
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).trim().parse().expect("pid")
    }

    /// Starts nodes that are not running (after a kill).
    pub fn restart_missing(&self, nodes: u32) {
        let o = self.script(&["start", DIR, "--nodes", &nodes.to_string()]);
        assert!(o.status.success(), "cluster restart failed:\n{}", text(&o));
    }

    /// `ctdb ARGS` through node 0 (test mode finds its socket under CTDB_BASE).
    pub fn ctdb(&self, args: &[&str]) -> String {
        let o = Command::new("ctdb")
            .args(args)
            .env("CTDB_TEST_MODE", "yes")
            .env("CTDB_BASE", self.dir.join("node.0"))
            .output()
            .expect("run ctdb");
        assert!(o.status.success(), "ctdb {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `ctdb ARGS` through node 0, in the background (to time what clusapid sees while the tool
    /// still waits for ctdb's takeover run).
    pub fn ctdb_spawn(&self, args: &[&str]) -> std::process::Child {
        Command::new("ctdb")
            .args(args)
            .env("CTDB_TEST_MODE", "yes")
            .env("CTDB_BASE", self.dir.join("node.0"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn ctdb")
    }

    /// The `ctdb status` line of `pnn`, e.g. "pnn:1 127.0.0.2 DISABLED".
    pub fn status_line(&self, pnn: u32) -> String {
        let prefix = format!("pnn:{pnn} ");
        self.ctdb(&["status"]).lines().find(|l| l.starts_with(&prefix)).unwrap_or_default().trim().to_string()
    }

    /// Public IPs hosted by `pnn` according to `ctdb ip all`.
    pub fn ips_on(&self, pnn: u32) -> Vec<String> {
        self.ctdb(&["ip", "all"])
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let a = it.next()?;
                let p: i64 = it.next()?.parse().ok()?;
                (a.contains('.') && p == i64::from(pnn)).then(|| a.to_string())
            })
            .collect()
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        stop_on_drop(|args| self.script(args));
    }
}

/// What a guard of the cluster in [`DIR`] does when dropped (this crate's [`LocalCluster`] and the
/// `nodes` crate's test cluster): `stop` it through `script` (the guard's way of running
/// `scripts/ctdb-local-cluster`), cleaned up after a pass; after a failure its logs are kept.
pub fn stop_on_drop(script: impl Fn(&[&str]) -> Output) {
    let clean = !std::thread::panicking();
    let mut args = vec!["stop", DIR];
    if clean {
        args.push("--clean");
    }
    let o = script(&args);
    if !o.status.success() {
        eprintln!("cluster stop failed: {}", text(&o));
    } else if clean {
        let _ = std::fs::remove_dir_all(DIR);
    }
    if !clean {
        eprintln!("test failed: ctdb logs kept in {DIR}/node.*/log.ctdb");
    }
}
