//! `clusapid check`: is this node ready for `clusapid serve`? Each finding is OK, WARN or
//! FAIL with the fix (README "Checking a node"); the exit status is 1 when one FAILs.
//!
//! This module decides ([`assess`]) from [`Facts`] and is pure; [`probe`] gathers the facts
//! (ctdbd, `/proc/net/tcp*` and `/proc/*/fd` for who holds a port, testparm, the accounts file
//! or keytab, name resolution) and [`procnet`] and [`keytab`] parse what it reads.
//!
//! What is checked:
//! - the configuration file parses;
//! - ctdbd answers on its socket and this node is healthy (ctdb backend);
//! - the endpoint mapper port (135), the clusapi port and `metrics_listen` are free or held by
//!   clusapid, else which process holds them and what to change (samba-dcerpcd in standalone
//!   mode: an explicit service list without rpcd_epmapper and rpcd_witness);
//! - Samba's own rpcd_witness is not running and samba-dcerpcd is not set up to start it;
//! - smb.conf announces the share capabilities Windows needs before it uses a witness
//!   (`smb3 share cap:CLUSTER`, `CONTINUOUS AVAILABILITY`, Samba 4.20 or later);
//! - the accounts file (local logons) or the keytab (domain logons) is readable and useful;
//! - the cluster name resolves, to the cluster's public addresses.

pub mod keytab;
pub mod probe;
pub mod procnet;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::config::{BackendKind, Config, LogonKind};

pub use probe::run;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        }
    }
}

/// One result: what was checked, what was found, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// What was checked ("port 135", "ctdbd").
    pub topic: String,
    pub message: String,
    /// What to change (WARN and FAIL).
    pub fix: Option<String>,
}

impl Finding {
    fn ok(topic: impl Into<String>, message: impl Into<String>) -> Self {
        Finding { level: Level::Ok, topic: topic.into(), message: message.into(), fix: None }
    }

    fn warn(topic: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Finding { level: Level::Warn, topic: topic.into(), message: message.into(), fix: Some(fix.into()) }
    }

    fn fail(topic: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Finding { level: Level::Fail, topic: topic.into(), message: message.into(), fix: Some(fix.into()) }
    }
}

/// Every finding of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The configuration file checked.
    pub config: PathBuf,
    pub findings: Vec<Finding>,
}

impl Report {
    /// The worst level found (`Ok` for an empty report).
    pub fn worst(&self) -> Level {
        self.findings.iter().map(|f| f.level).max().unwrap_or(Level::Ok)
    }

    /// 1 when something FAILs, else 0.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.worst() == Level::Fail)
    }

    /// The text `clusapid check` prints.
    pub fn render(&self) -> String {
        let mut o = format!("clusapid check of {}\n", self.config.display());
        for f in &self.findings {
            let _ = writeln!(o, "{:<5} {}: {}", f.level.label(), f.topic, f.message);
            if let Some(fix) = &f.fix {
                for (i, line) in fix.lines().enumerate() {
                    let _ = writeln!(o, "      {}{line}", if i == 0 { "fix: " } else { "     " });
                }
            }
        }
        let count = |l| self.findings.iter().filter(|f| f.level == l).count();
        let _ = writeln!(
            o,
            "Result: {} ({} OK, {} WARN, {} FAIL)",
            self.worst().label(),
            count(Level::Ok),
            count(Level::Warn),
            count(Level::Fail)
        );
        o
    }
}

// ---------------------------------------------------------------------------------------------
// Facts
// ---------------------------------------------------------------------------------------------

/// A process, as `/proc` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: u32,
    /// `/proc/PID/comm`.
    pub comm: String,
    /// The executable's path (`/proc/PID/exe`), when readable.
    pub exe: Option<String>,
    /// The command line.
    pub args: Vec<String>,
}

impl ProcInfo {
    /// The program's name: the executable's file name, else comm.
    pub fn program(&self) -> &str {
        self.exe.as_deref().and_then(|e| e.rsplit('/').next()).filter(|n| !n.is_empty()).unwrap_or(&self.comm)
    }

    fn describe(&self) -> String {
        let cmd = if self.args.is_empty() { self.comm.clone() } else { self.args.join(" ") };
        // one line, whatever the command line holds
        let cmd = cmd.split_whitespace().collect::<Vec<_>>().join(" ");
        format!("{} (pid {}: {})", self.program(), self.pid, shorten(&cmd, 160))
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max).collect();
    t.push('…');
    t
}

/// A listening TCP socket of this network namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenSocket {
    pub addr: IpAddr,
    pub port: u16,
    pub inode: u64,
}

/// Who listens where.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortFacts {
    pub listening: Vec<ListenSocket>,
    /// The processes holding each socket inode (several after a fork).
    pub owners: BTreeMap<u64, Vec<ProcInfo>>,
    /// Whether the checker runs as root (else other users' processes are invisible).
    pub root: bool,
}

/// What ctdbd said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtdbView {
    /// This node.
    pub pnn: u32,
    /// (pnn, CTDB node flags) of every node.
    pub nodes: Vec<(u32, u32)>,
    pub recovery_active: bool,
    /// Every public address of the cluster.
    pub public_ips: Vec<IpAddr>,
}

/// Samba's settings and processes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SambaFacts {
    /// `[global]` as testparm shows it (lower-case keys); `Err`: why testparm gave nothing.
    pub globals: Result<BTreeMap<String, String>, String>,
    /// smbd's version (major, minor).
    pub version: Option<(u32, u32)>,
    /// Running samba-dcerpcd and rpcd_* processes.
    pub rpc_processes: Vec<ProcInfo>,
    /// Samba's libexec directory and the rpcd_* programs in it.
    pub libexec: Option<PathBuf>,
    pub rpcds: Vec<String>,
    /// CTDB's 47.samba-dcerpcd event script is enabled (it starts samba-dcerpcd standalone).
    pub ctdb_dcerpcd_script: bool,
}

/// How callers would log on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// The accounts file: (full, read-only) account counts and the file's mode, or why not.
    Accounts { path: PathBuf, read: Result<(usize, usize, u32), String> },
    /// Domain logons: the keytab's principals (or why not) and whether winbindd answers.
    Winbind { keytab: PathBuf, principals: Result<Vec<String>, String>, winbindd: Result<(), String> },
}

/// How a name resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub name: String,
    pub addrs: Result<Vec<IpAddr>, String>,
}

/// Everything [`assess`] decides from.
#[derive(Clone, Debug)]
pub struct Facts {
    pub config_path: PathBuf,
    pub config: Result<Config, String>,
    /// `None` for the simulated backend.
    pub ctdb: Option<Result<CtdbView, String>>,
    pub ports: PortFacts,
    pub samba: SambaFacts,
    pub credentials: Credentials,
    pub names: Vec<Resolved>,
    /// `--running`: a clusapid is expected to hold the ports.
    pub running: bool,
}

// ---------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------

/// Decides every finding.
pub fn assess(f: &Facts) -> Report {
    let mut r = Report { config: f.config_path.clone(), findings: Vec::new() };
    let cfg = match &f.config {
        Ok(c) => c,
        Err(e) => {
            r.findings.push(Finding::fail(
                "configuration",
                e.clone(),
                "write the file `serve --config` reads (example: packaging/clusapid.toml, installed as /etc/clusapid/clusapid.toml)",
            ));
            return r;
        }
    };
    r.findings.push(Finding::ok(
        "configuration",
        format!(
            "{} parsed: backend {}, listen {}, endpoint mapper port {}, clusapi port {}, logons from {}",
            f.config_path.display(),
            match cfg.backend {
                BackendKind::Ctdb => "ctdb",
                BackendKind::Simulated => "simulated",
            },
            cfg.listen.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", "),
            cfg.epm_port,
            cfg.port,
            match cfg.logon {
                LogonKind::Accounts => "the accounts file",
                LogonKind::Winbind => "the domain (winbindd)",
            }
        ),
    ));
    if let Some(ctdb) = &f.ctdb {
        r.findings.push(assess_ctdb(ctdb, &ctdb_socket(cfg)));
    }
    let samba_fix = dcerpcd_fix(&f.samba);
    r.findings.push(assess_port("port", cfg.epm_port, "endpoint mapper", &cfg.listen, &f.ports, f.running, &samba_fix));
    r.findings.push(assess_port("port", cfg.port, "clusapi", &cfg.listen, &f.ports, f.running, &samba_fix));
    if let Some(m) = cfg.metrics_listen {
        r.findings.push(assess_port(
            "port",
            m.port(),
            "status and metrics",
            &[m.ip()],
            &f.ports,
            f.running,
            &samba_fix,
        ));
    }
    r.findings.extend(assess_samba_rpc(&f.samba, &samba_fix));
    if cfg.backend == BackendKind::Ctdb {
        r.findings.extend(assess_share_caps(&f.samba));
    }
    r.findings.push(assess_credentials(&f.credentials));
    let public = match &f.ctdb {
        Some(Ok(v)) => Some(&v.public_ips[..]),
        _ => None,
    };
    r.findings.push(assess_names(&f.names, public));
    r
}

fn ctdb_socket(cfg: &Config) -> PathBuf {
    cfg.ctdb_socket.clone().unwrap_or_else(|| PathBuf::from("/run/ctdb/ctdbd.socket"))
}

/// ctdbd reachable, and this node healthy.
pub fn assess_ctdb(v: &Result<CtdbView, String>, socket: &Path) -> Finding {
    let topic = "ctdbd";
    let v = match v {
        Ok(v) => v,
        Err(e) => {
            return Finding::fail(
                topic,
                format!("no answer on {}: {e}", socket.display()),
                "start CTDB (`systemctl start ctdb`) and check `ctdb status`; run this check as root \
                 (the socket is root's); `serve` retries until ctdbd answers, with node states Unknown \
                 and ERROR_CLUSTER_NODE_NOT_READY meanwhile",
            )
        }
    };
    let flags = nodes::CtdbNodeFlags;
    let mine =
        v.nodes.iter().find(|(p, _)| *p == v.pnn).map(|(_, f)| flags(*f)).unwrap_or(nodes::CtdbNodeFlags::UNKNOWN);
    let active = v.nodes.iter().filter(|(_, f)| flags(*f).can_host_ips()).count();
    let summary = format!(
        "{} answers: this node is pnn {} ({mine}); {active} of {} nodes healthy and active; {} public addresses",
        socket.display(),
        v.pnn,
        v.nodes.len(),
        v.public_ips.len()
    );
    if !mine.is_ok() {
        let fix = if mine.contains(nodes::CtdbNodeFlags::PERMANENTLY_DISABLED) {
            "the node is paused (`ctdb disable` or ApiPauseNode): `ctdb enable` resumes it"
        } else if mine.intersects(nodes::CtdbNodeFlags::UNHEALTHY) {
            "an event script's monitor fails: see `ctdb scriptstatus` and the CTDB log; the node hosts no public address meanwhile"
        } else {
            "see `ctdb status` (a stopped node: `ctdb continue`; a banned one recovers by itself)"
        };
        return Finding::warn(topic, summary, fix);
    }
    if v.recovery_active {
        return Finding::warn(topic, format!("{summary}; a recovery is running"), "wait for it to end (`ctdb status`)");
    }
    Finding::ok(topic, summary)
}

/// What a listening socket on (`laddr`, same port) does to binding `want`.
fn conflicts(laddr: IpAddr, want: IpAddr) -> bool {
    laddr == want || laddr.is_unspecified() || want.is_unspecified()
}

/// The kind of process that holds a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    Clusapid,
    /// samba-dcerpcd or one of its rpcd_* workers.
    SambaRpc,
    /// The AD DC's `samba` daemon.
    SambaDc,
    Other,
}

/// Classifies a process by its program name.
pub fn holder_kind(p: &ProcInfo) -> Holder {
    let prog = p.program();
    if prog == "clusapid" || p.comm == "clusapid" {
        Holder::Clusapid
    } else if prog == "samba-dcerpcd" || prog.starts_with("rpcd_") {
        Holder::SambaRpc
    } else if prog == "samba" {
        Holder::SambaDc
    } else {
        Holder::Other
    }
}

/// The explicit samba-dcerpcd command that leaves out rpcd_epmapper and rpcd_witness.
pub fn explicit_dcerpcd_command(libexec: &Path, rpcds: &[String]) -> String {
    let mut cmd = format!("{}/samba-dcerpcd -D", libexec.display());
    for r in rpcds.iter().filter(|r| r.as_str() != "rpcd_epmapper" && r.as_str() != "rpcd_witness") {
        let _ = write!(cmd, " {}/{r}", libexec.display());
    }
    cmd
}

/// What to change when Samba's RPC services would take clusapid's place.
pub fn dcerpcd_fix(s: &SambaFacts) -> String {
    let libexec = s.libexec.clone().unwrap_or_else(|| PathBuf::from("/usr/libexec/samba"));
    let rpcds = if s.rpcds.is_empty() {
        [
            "rpcd_classic",
            "rpcd_epmapper",
            "rpcd_fsrvp",
            "rpcd_lsad",
            "rpcd_mdssvc",
            "rpcd_spoolss",
            "rpcd_winreg",
            "rpcd_witness",
        ]
        .map(String::from)
        .to_vec()
    } else {
        s.rpcds.clone()
    };
    format!(
        "clusapid serves the endpoint mapper and SMB Witness itself. Either run samba-dcerpcd on demand \
         (Samba's default: `rpc start on demand helpers = yes`, no TCP listener), or start it in standalone \
         mode with an explicit list of services that leaves out rpcd_epmapper and rpcd_witness:\n  {}\n\
         (in the service CTDB's 47.samba-dcerpcd starts; clusapid.service is ordered before ctdb.service \
         so clusapid holds 135 first). README \"Deploying on a CTDB node\".",
        explicit_dcerpcd_command(&libexec, &rpcds)
    )
}

/// Whether `port` can be bound on every address of `listen`, or who holds it.
pub fn assess_port(
    topic_prefix: &str,
    port: u16,
    role: &str,
    listen: &[IpAddr],
    ports: &PortFacts,
    running: bool,
    samba_fix: &str,
) -> Finding {
    let topic = format!("{topic_prefix} {port} ({role})");
    if port == 0 {
        return Finding::ok(topic, "port 0: the kernel picks a free port at start");
    }
    let holders: Vec<&ListenSocket> =
        ports.listening.iter().filter(|s| s.port == port && listen.iter().any(|&w| conflicts(s.addr, w))).collect();
    if holders.is_empty() {
        if running {
            return Finding::fail(
                topic,
                "nothing listens on it, but --running expects clusapid to",
                "start clusapid (`systemctl start clusapid`) and read its log (`journalctl -u clusapid`)",
            );
        }
        return Finding::ok(topic, format!("free on {}", join_ips(listen)));
    }
    let mut procs: Vec<&ProcInfo> = Vec::new();
    let mut unseen = Vec::new();
    for s in &holders {
        match ports.owners.get(&s.inode) {
            Some(ps) if !ps.is_empty() => {
                // the most telling process of a shared socket: a known kind first
                let p = ps.iter().min_by_key(|p| (holder_kind(p) == Holder::Other, p.pid)).unwrap_or(&ps[0]);
                if !procs.iter().any(|q| q.pid == p.pid) {
                    procs.push(p);
                }
            }
            _ => unseen.push(format!("{}:{port}", s.addr)),
        }
    }
    let addrs = holders.iter().map(|s| format!("{}:{port}", fmt_ip(s.addr))).collect::<Vec<_>>().join(", ");
    if !procs.is_empty() && unseen.is_empty() && procs.iter().all(|p| holder_kind(p) == Holder::Clusapid) {
        let who = procs.iter().map(|p| format!("pid {}", p.pid)).collect::<Vec<_>>().join(", ");
        return Finding::ok(topic, format!("held by clusapid ({who}) on {addrs}"));
    }
    if let Some(p) = procs.iter().find(|p| holder_kind(p) != Holder::Clusapid) {
        let (message, fix) = match holder_kind(p) {
            Holder::SambaRpc => (
                format!("held by Samba's {} on {addrs}: samba-dcerpcd runs in standalone mode", p.describe()),
                samba_fix.to_string(),
            ),
            Holder::SambaDc => (
                format!("held by the Samba AD DC ({}) on {addrs}", p.describe()),
                "this machine is a domain controller, whose RPC server owns 135: run clusapid on the \
                 cluster's file server nodes, not on a DC"
                    .to_string(),
            ),
            _ => (
                format!("held by {} on {addrs}", p.describe()),
                format!(
                    "stop that program, or move it to another port; or give clusapid another port in the \
                     configuration ({} = ...), knowing that Windows looks for the endpoint mapper on 135 only",
                    if role == "endpoint mapper" {
                        "epm_port"
                    } else if role == "clusapi" {
                        "port"
                    } else {
                        "metrics_listen"
                    }
                ),
            ),
        };
        return Finding::fail(topic, message, fix);
    }
    Finding::fail(
        topic,
        format!("held on {} by a process this check cannot see", unseen.join(", ")),
        if ports.root {
            "find it with `ss -ltnp` and stop it, or choose another port".to_string()
        } else {
            "run `clusapid check` as root to see which process it is".to_string()
        },
    )
}

fn fmt_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(_) => format!("[{ip}]"),
        IpAddr::V4(_) => ip.to_string(),
    }
}

fn join_ips(ips: &[IpAddr]) -> String {
    ips.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ")
}

fn yes(v: Option<&String>) -> Option<bool> {
    v.map(|v| matches!(v.to_ascii_lowercase().as_str(), "yes" | "true" | "1" | "on"))
}

/// Samba's own RPC services: samba-dcerpcd's mode, and rpcd_witness.
pub fn assess_samba_rpc(s: &SambaFacts, fix: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let daemons: Vec<&ProcInfo> = s
        .rpc_processes
        .iter()
        .filter(|p| p.program() == "samba-dcerpcd" && !p.args.iter().any(|a| a == "--np-helper"))
        .collect();
    let witness: Vec<&ProcInfo> = s.rpc_processes.iter().filter(|p| p.program() == "rpcd_witness").collect();
    // a standalone samba-dcerpcd with every rpcd, or a list naming the two
    let full = |p: &&ProcInfo| {
        p.args.iter().any(|a| a == "--libexec-rpcds")
            || p.args.iter().any(|a| a.ends_with("rpcd_epmapper") || a.ends_with("rpcd_witness"))
    };
    if !witness.is_empty() {
        out.push(Finding::fail(
            "Samba's rpcd_witness",
            format!(
                "running ({}): two witness services would answer Windows clients",
                witness.iter().map(|p| format!("pid {}", p.pid)).collect::<Vec<_>>().join(", ")
            ),
            fix,
        ));
    } else if let Some(p) = daemons.iter().find(|p| full(p)) {
        out.push(Finding::fail(
            "Samba's rpcd_witness",
            format!("samba-dcerpcd runs in standalone mode with its endpoint mapper and witness: {}", p.describe()),
            fix,
        ));
    } else {
        out.push(Finding::ok("Samba's rpcd_witness", "not running"));
    }
    let on_demand = match &s.globals {
        Ok(g) => yes(g.get("rpc start on demand helpers")).unwrap_or(true),
        Err(_) => true,
    };
    if !daemons.is_empty() && daemons.iter().all(|p| !full(p)) {
        out.push(Finding::ok(
            "samba-dcerpcd",
            "runs in standalone mode with an explicit service list without rpcd_epmapper and rpcd_witness",
        ));
    } else if !on_demand && daemons.is_empty() {
        let how = if s.ctdb_dcerpcd_script { " (CTDB's 47.samba-dcerpcd event script is enabled)" } else { "" };
        out.push(Finding::warn(
            "samba-dcerpcd",
            format!("smb.conf has `rpc start on demand helpers = no`: samba-dcerpcd is to be started in standalone mode{how}, with its endpoint mapper on 135 unless told otherwise"),
            fix,
        ));
    } else if on_demand {
        out.push(Finding::ok(
            "samba-dcerpcd",
            "runs on demand (named pipes only, no TCP listener): no conflict on 135",
        ));
    }
    out
}

/// The share capabilities Windows needs before it uses any witness.
pub fn assess_share_caps(s: &SambaFacts) -> Vec<Finding> {
    let topic = "witness share capabilities";
    let g = match &s.globals {
        Ok(g) => g,
        Err(e) => {
            return vec![Finding::warn(
                topic,
                format!("Samba's settings could not be read: {e}"),
                "check that `testparm -s` works on this node (it needs ctdbd for `include = registry`)",
            )]
        }
    };
    let mut out = Vec::new();
    if yes(g.get("clustering")) != Some(true) {
        out.push(Finding::warn(
            "smb.conf clustering",
            "`clustering = yes` is not set: smbd does not serve the CTDB cluster",
            "set `clustering = yes` in [global] on every node (CTDB's clustered Samba)",
        ));
    }
    if let Some((maj, min)) = s.version {
        if (maj, min) < (4, 20) {
            return vec![Finding::warn(
                topic,
                format!("smbd is Samba {maj}.{min}: it never announces the cluster share capability, so Windows never uses a witness"),
                "Samba 4.20 or later (Debian 12: bookworm-backports); clusapi itself works",
            )];
        }
    }
    let cluster = yes(g.get("smb3 share cap:cluster")) == Some(true);
    let ca = yes(g.get("smb3 share cap:continuous availability")) == Some(true);
    if cluster && ca {
        out.push(Finding::ok(topic, "smb3 share cap:CLUSTER and CONTINUOUS AVAILABILITY are set"));
    } else {
        let missing: Vec<&str> = [(!cluster).then_some("CLUSTER"), (!ca).then_some("CONTINUOUS AVAILABILITY")]
            .into_iter()
            .flatten()
            .collect();
        out.push(Finding::warn(
            topic,
            format!("not announced: {}; Windows SMB3 clients will not use the witness", missing.join(", ")),
            format!(
                "in [global] of every node's smb.conf (or `net conf setparm global ...`):\n{}",
                missing.iter().map(|m| format!("  smb3 share cap:{m} = yes")).collect::<Vec<_>>().join("\n")
            ),
        ));
    }
    out
}

/// The accounts file or the keytab.
pub fn assess_credentials(c: &Credentials) -> Finding {
    match c {
        Credentials::Accounts { path, read } => {
            let topic = "accounts";
            match read {
                Err(e) => Finding::fail(
                    topic,
                    format!("{}: {e}", path.display()),
                    format!(
                        "create it as root: `clusapid user add --accounts {} NAME` (or set `logon = \"winbind\"` for domain logons)",
                        path.display()
                    ),
                ),
                Ok((0, 0, _)) => Finding::fail(
                    topic,
                    format!("{} holds no account: every logon fails", path.display()),
                    format!("`clusapid user add --accounts {} NAME`", path.display()),
                ),
                Ok((full, ro, mode)) if mode & 0o077 != 0 => Finding::warn(
                    topic,
                    format!("{} holds {full} full and {ro} read-only accounts, but is mode {mode:04o}", path.display()),
                    format!("it holds NT hashes: `chmod 600 {}`", path.display()),
                ),
                Ok((full, ro, _)) => {
                    Finding::ok(topic, format!("{}: {full} full and {ro} read-only accounts", path.display()))
                }
            }
        }
        Credentials::Winbind { keytab, principals, winbindd } => {
            let topic = "domain logons";
            if let Err(e) = winbindd {
                return Finding::fail(
                    topic,
                    format!("winbindd does not answer: {e}"),
                    "start winbindd (CTDB's 49.winbind event script) and check `wbinfo -t`",
                );
            }
            match principals {
                Err(e) => Finding::warn(
                    topic,
                    format!("keytab {}: {e}; Kerberos is off, only clients that also offer NTLM get in", keytab.display()),
                    "README \"Joining a domain\" steps 1-3 (`sync machine password to keytab`, `net ads keytab create -P`)",
                ),
                Ok(p) => {
                    let cluster_spn = p.iter().filter(|p| p.to_ascii_lowercase().starts_with("msserverclustermgmtapi/")).count();
                    if cluster_spn == 0 {
                        Finding::warn(
                            topic,
                            format!(
                                "winbindd answers; keytab {} has {} keys but none for MSServerClusterMgmtAPI/...",
                                keytab.display(),
                                p.len()
                            ),
                            "register the SPNs and rewrite the keytab: README \"Joining a domain\" steps 2 and 3",
                        )
                    } else {
                        Finding::ok(
                            topic,
                            format!(
                                "winbindd answers; keytab {} has {} keys, {cluster_spn} for MSServerClusterMgmtAPI/...",
                                keytab.display(),
                                p.len()
                            ),
                        )
                    }
                }
            }
        }
    }
}

/// The cluster name resolves (to the cluster's public addresses, when known).
pub fn assess_names(names: &[Resolved], public: Option<&[IpAddr]>) -> Finding {
    let topic = "cluster name";
    let Some(first) = names.first() else {
        return Finding::ok(topic, "nothing to resolve");
    };
    let ok: Vec<&Resolved> = names.iter().filter(|r| r.addrs.as_ref().is_ok_and(|a| !a.is_empty())).collect();
    if ok.is_empty() {
        let why = first.addrs.as_ref().err().cloned().unwrap_or_else(|| "no address".into());
        return Finding::warn(
            topic,
            format!("{} does not resolve ({why})", names.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")),
            format!(
                "Failover Cluster Manager connects by name: add DNS A records for {} pointing at the CTDB public addresses",
                first.name
            ),
        );
    }
    let shown = ok
        .iter()
        .map(|r| format!("{} → {}", r.name, join_ips(r.addrs.as_deref().unwrap_or(&[]))))
        .collect::<Vec<_>>()
        .join("; ");
    if let Some(public) = public.filter(|p| !p.is_empty()) {
        let all: Vec<IpAddr> = ok.iter().flat_map(|r| r.addrs.as_deref().unwrap_or(&[]).iter().copied()).collect();
        let stray: Vec<IpAddr> = all.iter().copied().filter(|a| !public.contains(a)).collect();
        if !stray.is_empty() {
            return Finding::warn(
                topic,
                format!("{shown}; {} not public addresses of the cluster", join_ips(&stray)),
                "point the name at the CTDB public addresses only (clients that reach a stray address miss failover)",
            );
        }
    }
    Finding::ok(topic, shown)
}

#[cfg(test)]
mod tests;
