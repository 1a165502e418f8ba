//! The I/O of `clusapid check`: reads what [`super::assess`] decides from. Everything here
//! only reads (ctdbd's node map and public addresses, `/proc`, testparm, files, the
//! resolver); nothing is started, stopped or written. Processes of other network namespaces
//! (other lab nodes on the same machine) are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{assess, Credentials, CtdbView, Facts, ListenSocket, PortFacts, ProcInfo, Report, Resolved, SambaFacts};
use crate::config::{BackendKind, Config, LogonKind};

/// How long ctdbd and testparm may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Gathers the facts for the configuration at `config` and decides.
pub fn run(config: &Path, running: bool) -> Report {
    assess(&gather(config, running))
}

/// Everything [`assess`] needs.
pub fn gather(config_path: &Path, running: bool) -> Facts {
    let config = Config::load(config_path).map_err(|e| e.to_string());
    let cfg = config.clone().unwrap_or_default();
    let ctdb = (config.is_ok() && cfg.backend == BackendKind::Ctdb).then(|| {
        let socket = cfg.ctdb_socket.clone().unwrap_or_else(|| PathBuf::from("/run/ctdb/ctdbd.socket"));
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt
                .block_on(async { tokio::time::timeout(TIMEOUT, ctdb_view(&socket)).await })
                .unwrap_or_else(|_| Err("no answer within 10 s".into())),
            Err(e) => Err(e.to_string()),
        }
    });
    let mut ports: Vec<u16> = vec![cfg.epm_port, cfg.port];
    ports.extend(cfg.metrics_listen.map(|m| m.port()));
    let procs = Processes::scan();
    Facts {
        config_path: config_path.to_path_buf(),
        ports: port_facts(&ports, &procs),
        samba: samba_facts(&cfg.smb_conf, &procs),
        credentials: credentials(&cfg),
        names: cluster_names(&cfg).into_iter().map(resolve).collect(),
        ctdb,
        config,
        running,
    }
}

async fn ctdb_view(socket: &Path) -> Result<CtdbView, String> {
    use nodes::ctdb::protocol::CTDB_CURRENT_NODE;
    let (conn, _messages) = nodes::ctdb::Connection::connect(socket, &[]).await.map_err(|e| e.to_string())?;
    let result = async {
        let map = conn.get_nodemap(CTDB_CURRENT_NODE).await?;
        let recmode = conn.get_recmode(CTDB_CURRENT_NODE).await?;
        let mut ips = BTreeSet::new();
        for n in map.iter().filter(|n| nodes::CtdbNodeFlags(n.flags).can_host_ips() || n.pnn == conn.pnn()) {
            if let Ok(list) = conn.get_public_ips(n.pnn, false).await {
                ips.extend(list.into_iter().filter_map(|e| e.addr));
            }
        }
        Ok::<_, nodes::ctdb::ClientError>(CtdbView {
            pnn: conn.pnn(),
            nodes: map.iter().map(|n| (n.pnn, n.flags)).collect(),
            recovery_active: recmode == nodes::ctdb::protocol::RECOVERY_ACTIVE,
            public_ips: ips.into_iter().collect(),
        })
    }
    .await;
    conn.close();
    result.map_err(|e| e.to_string())
}

/// The processes of this network namespace, and which sockets each holds.
struct Processes {
    procs: Vec<(ProcInfo, Vec<u64>)>,
    root: bool,
}

impl Processes {
    fn scan() -> Processes {
        let own_ns = std::fs::read_link("/proc/self/ns/net").ok();
        let mut procs = Vec::new();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Processes { procs, root: is_root() };
        };
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            let base = e.path();
            // another namespace's processes (another lab node) are not this node's
            if own_ns.is_some() && std::fs::read_link(base.join("ns/net")).ok() != own_ns {
                continue;
            }
            let comm = std::fs::read_to_string(base.join("comm")).unwrap_or_default().trim_end().to_string();
            let exe = std::fs::read_link(base.join("exe"))
                .ok()
                .map(|p| p.to_string_lossy().trim_end_matches(" (deleted)").to_string());
            let args = std::fs::read(base.join("cmdline"))
                .map(|b| {
                    b.split(|&c| c == 0)
                        .filter(|a| !a.is_empty())
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect()
                })
                .unwrap_or_default();
            let mut sockets = Vec::new();
            if let Ok(fds) = std::fs::read_dir(base.join("fd")) {
                for fd in fds.flatten() {
                    if let Some(i) = std::fs::read_link(fd.path())
                        .ok()
                        .and_then(|l| super::procnet::socket_inode(&l.to_string_lossy()))
                    {
                        sockets.push(i);
                    }
                }
            }
            procs.push((ProcInfo { pid, comm, exe, args }, sockets));
        }
        Processes { procs, root: is_root() }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The listening sockets on `ports` and their owners.
fn port_facts(ports: &[u16], procs: &Processes) -> PortFacts {
    let mut listening: Vec<ListenSocket> = Vec::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        if let Ok(t) = std::fs::read_to_string(file) {
            listening.extend(super::procnet::parse_listening(&t, v6).into_iter().filter(|s| ports.contains(&s.port)));
        }
    }
    let mut owners: BTreeMap<u64, Vec<ProcInfo>> = BTreeMap::new();
    for (p, sockets) in &procs.procs {
        for s in &listening {
            if sockets.contains(&s.inode) {
                owners.entry(s.inode).or_default().push(p.clone());
            }
        }
    }
    PortFacts { listening, owners, root: procs.root }
}

/// Runs `cmd` with a time limit; its stdout when it exits 0.
fn output(cmd: &mut Command) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{:?} did not finish within 10 s", cmd.get_program()));
            }
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{:?} failed ({}): {}", cmd.get_program(), out.status, err.lines().last().unwrap_or("")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `[global]` of testparm's output (lower-case keys; parametric keys as testparm prints them).
pub fn parse_globals(text: &str) -> BTreeMap<String, String> {
    crate::config::smb_conf_globals(text).map(|(k, v)| (k, v.to_owned())).collect()
}

/// "Version 4.22.6-Debian-..." → (4, 22).
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let v = text.split_whitespace().nth(1)?;
    let mut it = v.split(['.', '-']);
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn samba_facts(smb_conf: &Path, procs: &Processes) -> SambaFacts {
    let globals = output(Command::new("testparm").arg("-s").arg("--section-name=global").arg(smb_conf))
        .map(|t| parse_globals(&format!("[global]\n{t}")))
        .or_else(|e| match std::fs::read_to_string(smb_conf) {
            // without testparm: the file itself (a registry configuration is then not seen)
            Ok(t) if e.contains("No such file") => Ok(parse_globals(&t)),
            _ => Err(e),
        });
    let version = output(Command::new("smbd").arg("--version"))
        .or_else(|_| output(Command::new("/usr/sbin/smbd").arg("--version")))
        .ok()
        .and_then(|t| parse_version(&t));
    let rpc_processes = procs
        .procs
        .iter()
        .map(|(p, _)| p)
        .filter(|p| p.program() == "samba-dcerpcd" || p.program().starts_with("rpcd_"))
        .cloned()
        .collect();
    let libexec = ["/usr/libexec/samba", "/usr/lib/x86_64-linux-gnu/samba", "/usr/local/samba/libexec"]
        .iter()
        .map(PathBuf::from)
        .find(|d| d.join("samba-dcerpcd").exists());
    let mut rpcds: Vec<String> = libexec
        .as_ref()
        .and_then(|d| std::fs::read_dir(d).ok())
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| n.starts_with("rpcd_"))
                .collect()
        })
        .unwrap_or_default();
    rpcds.sort();
    let ctdb_base = std::env::var_os("CTDB_BASE").map_or_else(|| PathBuf::from("/etc/ctdb"), PathBuf::from);
    let script = ctdb_base.join("events/legacy/47.samba-dcerpcd.script");
    let ctdb_dcerpcd_script = std::fs::metadata(&script).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    SambaFacts { globals, version, rpc_processes, libexec, rpcds, ctdb_dcerpcd_script }
}

fn credentials(cfg: &Config) -> Credentials {
    match cfg.logon {
        LogonKind::Accounts => {
            let path = cfg.accounts.clone();
            let read = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| crate::accounts::Accounts::parse(&t, &path).map_err(|e| e.to_string()))
                .and_then(|a| {
                    let mode = std::fs::metadata(&path).map_err(|e| e.to_string())?.permissions().mode() & 0o7777;
                    let full = a.iter().filter(|x| x.access == crate::accounts::AccessLevel::Full).count();
                    Ok((full, a.iter().count() - full, mode))
                });
            Credentials::Accounts { path, read }
        }
        LogonKind::Winbind => {
            let keytab = cfg.keytab.clone().unwrap_or_else(|| {
                std::env::var("KRB5_KTNAME").map_or_else(
                    |_| PathBuf::from("/etc/krb5.keytab"),
                    |k| PathBuf::from(k.trim_start_matches("FILE:").trim_start_matches("WRFILE:")),
                )
            });
            let principals = std::fs::read(&keytab)
                .map_err(|e| e.to_string())
                .and_then(|b| super::keytab::principals(&b).map_err(|e| e.to_string()));
            let winbindd = crate::domain::Winbind::new().and_then(|w| w.ping()).map_err(|e| e.to_string());
            Credentials::Winbind { keytab, principals, winbindd }
        }
    }
}

/// The names clients use for the cluster: its NetBIOS name, and with a realm the DNS name.
fn cluster_names(cfg: &Config) -> Vec<String> {
    let name = cfg.resolved_cluster_name();
    let mut v = vec![name.clone()];
    if let Some(realm) = crate::config::global_from_smb_conf(&cfg.smb_conf, "realm") {
        v.push(format!("{}.{}", name.to_lowercase(), realm.to_lowercase()));
    }
    v
}

fn resolve(name: String) -> Resolved {
    let addrs = (name.as_str(), 0u16)
        .to_socket_addrs()
        .map(|it| {
            let mut v: Vec<IpAddr> = it.map(|a| a.ip()).collect();
            v.sort();
            v.dedup();
            v
        })
        .map_err(|e| e.to_string());
    Resolved { name, addrs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn testparm_globals_and_versions() {
        let g = parse_globals(
            "# Global parameters\n[global]\n\tclustering = Yes\n\trpc start on demand helpers = No\n\tsmb3 share cap:cluster = yes\n[data]\n\tpath = /x\n",
        );
        assert_eq!(g.get("clustering").map(String::as_str), Some("Yes"));
        assert_eq!(g.get("rpc start on demand helpers").map(String::as_str), Some("No"));
        assert_eq!(g.get("smb3 share cap:cluster").map(String::as_str), Some("yes"));
        assert!(!g.contains_key("path"), "only [global]");
        assert_eq!(parse_version("Version 4.22.6-Debian-4.22.6+dfsg-0+deb13u1~bpo12+1\n"), Some((4, 22)));
        assert_eq!(parse_version("Version 4.17.12-Debian\n"), Some((4, 17)));
        assert_eq!(parse_version("garbage"), None);
    }
}
