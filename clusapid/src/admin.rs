//! The administration channel: a Unix socket on which the daemon takes requests from the
//! `clusapid witness ...` commands (and only from root or members of the configured admin
//! group, checked with the peer's credentials), and the client side those commands use.
//!
//! One request per connection: the client writes one JSON line ([`AdminRequest`]), the daemon
//! answers one JSON line ([`AdminResponse`]) and closes. A refused peer gets an
//! [`AdminResponse::Error`] saying why, never a silent close.

use std::io::ErrorKind;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nodes::ids::names_equal;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::services::witness::peers::{ClusterListing, CommandOutcome};
use crate::services::witness::registry::{Command, Filter, ForcedResponse};
use crate::services::witness::WitnessService;
use crate::services::Services;

/// Longest request line accepted.
const MAX_REQUEST: u64 = 64 * 1024;

/// Where a client is moved to: a node (name or pnn: its public IPs now), or one address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub node: Option<String>,
    pub ip: Option<IpAddr>,
}

/// What an administrator asks of the selected registrations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    MoveClient { to: Target },
    MoveShare { to: Target },
    ForceUnregister,
    ForceResponse { response: ForcedResponse },
}

/// A request on the socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum AdminRequest {
    WitnessList { filter: Filter },
    WitnessCommand { filter: Filter, action: Action },
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "snake_case")]
pub enum AdminResponse {
    WitnessList { listing: ClusterListing },
    WitnessCommand { outcome: CommandOutcome },
    Error { message: String },
}

/// Who may use the socket besides root.
#[derive(Clone, Debug, Default)]
pub struct AdminAccess {
    /// The admin group's name and gid.
    pub group: Option<(String, u32)>,
}

impl AdminAccess {
    /// Looks the group up (`None`: root only).
    pub fn new(group: Option<&str>) -> anyhow::Result<AdminAccess> {
        let group = match group {
            None => None,
            Some(name) => {
                Some((name.to_string(), gid_of(name).ok_or_else(|| anyhow::anyhow!("admin_group: no group {name}"))?))
            }
        };
        Ok(AdminAccess { group })
    }

    /// Whether a peer with `uid`/`gid` may administer, or why not.
    fn check(&self, uid: u32, gid: u32) -> Result<(), String> {
        if uid == 0 {
            return Ok(());
        }
        if let Some((name, g)) = &self.group {
            if gid == *g || supplementary_groups(uid).contains(g) {
                return Ok(());
            }
            return Err(format!("permission denied: only root and members of group {name} may administer clusapid"));
        }
        Err("permission denied: only root may administer clusapid (set admin_group to allow a group)".into())
    }
}

fn gid_of(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut buf = vec![0u8; 16 * 1024];
    let mut out: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer refers to live, correctly sized storage of ours.
    let rc = unsafe { libc::getgrnam_r(c.as_ptr(), &mut grp, buf.as_mut_ptr().cast(), buf.len(), &mut out) };
    (rc == 0 && !out.is_null()).then_some(grp.gr_gid)
}

fn supplementary_groups(uid: u32) -> Vec<u32> {
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0u8; 16 * 1024];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: as above.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut out) };
    if rc != 0 || out.is_null() {
        return Vec::new();
    }
    let mut groups = vec![0 as libc::gid_t; 256];
    let mut n = groups.len() as libc::c_int;
    // SAFETY: pw_name points into buf (alive); groups has room for n entries.
    let rc = unsafe { libc::getgrouplist(pw.pw_name, pw.pw_gid, groups.as_mut_ptr(), &mut n) };
    if rc < 0 {
        return Vec::new();
    }
    groups.truncate(n.max(0) as usize);
    groups
}

/// Binds the socket at `path` (its directory made if missing; a stale socket replaced, a
/// live one left to its daemon), mode 0660 with the admin group as group.
pub async fn bind(path: &Path, access: &AdminAccess) -> anyhow::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        if !dir.exists() {
            std::fs::create_dir_all(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            anyhow::bail!("{} is in use by another clusapid", path.display());
        }
        std::fs::remove_file(path)?;
    }
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    if let Some((_, gid)) = &access.group {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())?;
        // SAFETY: a valid NUL-terminated path; uid -1 leaves the owner.
        if unsafe { libc::chown(c.as_ptr(), u32::MAX, *gid) } != 0 {
            tracing::warn!(path = %path.display(), error = %std::io::Error::last_os_error(), "cannot give the admin socket to the admin group");
        }
    }
    Ok(l)
}

/// Serves requests until the task is aborted.
pub async fn serve(listener: UnixListener, access: AdminAccess, services: Arc<Services>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "admin socket accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let (access, services) = (access.clone(), services.clone());
        tokio::spawn(async move {
            if let Err(e) = handle(stream, &access, &services.witness).await {
                tracing::debug!(error = %e, "admin connection failed");
            }
        });
    }
}

async fn handle(stream: UnixStream, access: &AdminAccess, w: &WitnessService) -> std::io::Result<()> {
    let cred = stream.peer_cred()?;
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(MAX_REQUEST));
    reader.read_line(&mut line).await?;
    let response = match access.check(cred.uid(), cred.gid()) {
        Err(message) => {
            tracing::warn!(uid = cred.uid(), pid = ?cred.pid(), "admin request refused: {message}");
            AdminResponse::Error { message }
        }
        Ok(()) => match serde_json::from_str::<AdminRequest>(&line) {
            Err(e) => AdminResponse::Error { message: format!("bad request: {e}") },
            Ok(req) => {
                tracing::info!(uid = cred.uid(), ?req, "admin request");
                answer(w, req).await
            }
        },
    };
    let mut out = serde_json::to_vec(&response).unwrap_or_default();
    out.push(b'\n');
    write.write_all(&out).await?;
    write.shutdown().await
}

/// Runs one request.
pub async fn answer(w: &WitnessService, req: AdminRequest) -> AdminResponse {
    match req {
        AdminRequest::WitnessList { filter } => AdminResponse::WitnessList { listing: w.peers.list(filter).await },
        AdminRequest::WitnessCommand { filter, action } => {
            let snap = w.backend().snapshot();
            let resolve = |t: &Target| resolve_target(&snap, t);
            let command = match action {
                Action::MoveClient { to } => resolve(&to).map(|ips| Command::MoveClient { ips }),
                Action::MoveShare { to } => resolve(&to).map(|ips| Command::MoveShare { ips }),
                Action::ForceUnregister => Ok(Command::ForceUnregister),
                Action::ForceResponse { response } => Ok(Command::ForceResponse { response }),
            };
            match command {
                Err(message) => AdminResponse::Error { message },
                Ok(command) => AdminResponse::WitnessCommand { outcome: w.peers.command(filter, command).await },
            }
        }
    }
}

/// The addresses a [`Target`] stands for.
pub fn resolve_target(snap: &nodes::ClusterState, t: &Target) -> Result<Vec<IpAddr>, String> {
    match (&t.node, t.ip) {
        (Some(_), Some(_)) | (None, None) => Err("give a destination node or an address, not both".into()),
        (None, Some(ip)) => match snap.ip_host(ip) {
            Some(_) => Ok(vec![ip]),
            None => Err(format!("{ip} is not a public address of the cluster")),
        },
        (Some(node), None) => {
            let n = snap
                .nodes
                .iter()
                .find(|n| names_equal(&n.name, node) || node.parse::<u32>().is_ok_and(|p| p == n.pnn))
                .ok_or_else(|| format!("no node {node}"))?;
            let ips: Vec<IpAddr> = snap.ips_hosted_by(n.pnn).collect();
            if ips.is_empty() {
                return Err(format!("{} hosts no public address now", n.name));
            }
            Ok(ips)
        }
    }
}

/// Why the admin client got no answer.
#[derive(Debug, thiserror::Error)]
pub enum AdminClientError {
    #[error("no clusapid answers on {0} (is clusapid running on this node? --socket names another socket)")]
    NotRunning(PathBuf),
    #[error("permission denied on {0}: the admin socket is for root and the admin group")]
    Denied(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("unreadable answer from clusapid: {0}")]
    Answer(String),
}

/// Sends `req` to the daemon at `path` and returns its answer.
pub async fn request(path: &Path, req: &AdminRequest) -> Result<AdminResponse, AdminClientError> {
    let stream = UnixStream::connect(path).await.map_err(|e| match e.kind() {
        ErrorKind::NotFound | ErrorKind::ConnectionRefused => AdminClientError::NotRunning(path.into()),
        ErrorKind::PermissionDenied => AdminClientError::Denied(path.into()),
        _ => AdminClientError::Io { path: path.into(), source: e },
    })?;
    let io = |e| AdminClientError::Io { path: path.into(), source: e };
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(req).map_err(|e| AdminClientError::Answer(e.to_string()))?;
    line.push(b'\n');
    write.write_all(&line).await.map_err(io)?;
    let mut answer = String::new();
    BufReader::new(read).read_line(&mut answer).await.map_err(io)?;
    serde_json::from_str(&answer).map_err(|e| AdminClientError::Answer(format!("{e}: {answer:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_rules() {
        let root_only = AdminAccess::default();
        assert!(root_only.check(0, 0).is_ok());
        assert!(root_only.check(1000, 1000).unwrap_err().contains("only root"));
        let grp = AdminAccess { group: Some(("clusadm".into(), 4242)) };
        assert!(grp.check(1000, 4242).is_ok());
        assert!(grp.check(1000, 1000).unwrap_err().contains("group clusadm"));
    }

    #[test]
    fn requests_are_json() {
        let r = AdminRequest::WitnessCommand {
            filter: Filter { client_name: Some("WIN11".into()), ..Default::default() },
            action: Action::MoveClient { to: Target { node: Some("CTDB_NODE_2".into()), ip: None } },
        };
        let t = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<AdminRequest>(&t).unwrap(), r);
        assert!(t.contains(r#""request":"witness_command""#), "{t}");
    }

    #[test]
    fn targets() {
        let sim = nodes::SimulatedCluster::new(nodes::SimConfig::with_nodes(3)).unwrap();
        let snap = nodes::ClusterBackend::snapshot(&sim);
        let ip = snap.public_ips[0].addr;
        let host = snap.ip_host(ip).flatten().unwrap();
        assert_eq!(resolve_target(&snap, &Target { node: None, ip: Some(ip) }), Ok(vec![ip]));
        let by_name = resolve_target(&snap, &Target { node: Some(format!("ctdb_node_{host}")), ip: None }).unwrap();
        assert!(by_name.contains(&ip));
        assert_eq!(resolve_target(&snap, &Target { node: Some(host.to_string()), ip: None }).unwrap(), by_name);
        assert!(resolve_target(&snap, &Target { node: Some("nope".into()), ip: None }).is_err());
        assert!(resolve_target(&snap, &Target { node: None, ip: Some("192.0.2.1".parse().unwrap()) }).is_err());
        assert!(resolve_target(&snap, &Target::default()).is_err());
    }
}
