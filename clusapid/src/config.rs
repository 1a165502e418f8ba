//! Daemon settings: the TOML file read by `clusapid serve --config FILE`, command-line
//! overrides, and the defaults `clusapid demo` uses.
//!
//! ```toml
//! cluster_name = "SAMBACLUSTER"      # else smb.conf's netbios name, else the host name
//! listen = ["127.0.0.1"]             # addresses for both listeners
//! port = 4135                        # clusapi (and mgmt) endpoint
//! epm_port = 135                     # endpoint mapper
//! accounts = "/var/lib/clusapid/accounts"
//! backend = "simulated"              # or "ctdb"
//! nodes = 3                          # simulated backend only
//! ctdb_socket = "/var/run/ctdb/ctdbd.socket"  # ctdb backend only
//! state_dir = "/var/lib/clusapid"    # where admin-written state is kept
//! max_request = 4194304              # largest reassembled request, bytes
//! worker_threads = 0                 # runtime threads (0 = one per CPU)
//! smb_conf = "/etc/samba/smb.conf"   # cluster name; shares of the File Server role (ctdb backend)
//! admin_socket = "/run/clusapid/admin.sock"  # `clusapid witness ...` ("" = none)
//! admin_group = "clusadm"            # who besides root may use it (default: root only)
//! version = "2022"                   # Windows version presented: 2012r2, 2016, 2019, 2022, 2025
//! node_names = "ctdb"                # CTDB_NODE_<pnn>, or "hostname" (ctdb backend only)
//! registry_read_cache_ms = 200       # ctdb backend: registry reads skip ctdbd this long (0 = never)
//! witness_ip_change_settle_ms = 2000 # witness IP_CHANGE once the public IPs are still this long
//! host_name = "fs1.example.com"      # what this node publishes with node_names = "hostname"
//! logon = "accounts"                 # or "winbind": domain logons (README "Joining a domain")
//! keytab = "/etc/samba/clusapid.keytab"  # Kerberos acceptor keys (default: KRB5_KTNAME)
//! full_access = ['BUILTIN\Administrators', 'LAB\Cluster Admins']   # names or SIDs
//! read_access = ['LAB\Domain Users']
//! deny_access = ['LAB\Cluster Deny']
//! metrics_listen = "127.0.0.1:9135" # status and metrics over HTTP (default: off)
//!
//! [limits]                           # what one client may make the daemon hold (see Limits)
//! connections_per_client = 64
//! associations = 4096
//! handles_per_association = 16384
//! pending_calls_per_association = 64
//! witness_registrations_per_client = 64
//! unauthenticated_idle_secs = 30
//! ```

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use nodes::{NodeNaming, WindowsVersion};
use serde::Deserialize;

/// Which cluster the daemon serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The in-process simulated N-node cluster.
    #[default]
    Simulated,
    /// A real ctdbd over its Unix socket.
    Ctdb,
}

/// Who may log on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogonKind {
    /// The accounts file (NT hashes); access levels from the file.
    #[default]
    Accounts,
    /// Domain accounts through winbindd (NTLM pass-through, Kerberos PACs); access from the
    /// cluster security descriptor (`full_access`, `read_access`, `deny_access`).
    Winbind,
}

/// Where the administration socket is unless `admin_socket` says otherwise.
pub const DEFAULT_ADMIN_SOCKET: &str = "/run/clusapid/admin.sock";

/// How long the cluster's public addresses must stay unchanged before witness IP_CHANGE
/// notifications go out, unless `witness_ip_change_settle_ms` says otherwise
/// (`services::witness` module doc).
pub const DEFAULT_WITNESS_IP_CHANGE_SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// Settings, after defaults.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub cluster_name: Option<String>,
    pub listen: Vec<IpAddr>,
    pub port: u16,
    pub epm_port: u16,
    pub accounts: PathBuf,
    pub backend: BackendKind,
    pub nodes: u32,
    pub ctdb_socket: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub max_request: usize,
    /// Threads running the daemon's tasks; 0: one per CPU (or `TOKIO_WORKER_THREADS`). Set it
    /// lower where clusapid shares few CPUs with smbd and ctdbd: idle workers looking for
    /// work cost CPU when the busy ones run (README "Performance").
    pub worker_threads: usize,
    /// smb.conf whose share sections become the File Server role's shares.
    pub smb_conf: PathBuf,
    /// The administration socket; an empty path disables it.
    pub admin_socket: PathBuf,
    /// The group whose members may use the administration socket besides root.
    pub admin_group: Option<String>,
    /// The Windows Server version presented (README "Which Windows version clusapid
    /// presents").
    pub version: WindowsVersion,
    /// How nodes are named: `ctdb` (`CTDB_NODE_<pnn>`) or `hostname`.
    pub node_names: NodeNaming,
    /// With `node_names = "hostname"`: the name this node publishes, a host name or a fully
    /// qualified one (the first label is the host name). Default: the machine's.
    pub host_name: Option<String>,
    /// Who may log on.
    pub logon: LogonKind,
    /// The keytab of the Kerberos acceptor; without it (and without `KRB5_KTNAME` in the
    /// environment) Kerberos is offered only with `logon = "winbind"`, from MIT's default keytab.
    pub keytab: Option<PathBuf>,
    /// Accounts and groups (names or SIDs) with full access (domain logons).
    pub full_access: Vec<String>,
    /// Accounts and groups with read access (domain logons).
    pub read_access: Vec<String>,
    /// Accounts and groups refused (domain logons); wins over the other two.
    pub deny_access: Vec<String>,
    /// ctdb backend: how long registry reads serve the copy of the persistent database in
    /// memory after it was confirmed current (`nodes::ctdb::backend` module doc; other nodes'
    /// writes are seen at once through their change messages, and within this long anyway).
    /// 0: every read asks ctdbd first.
    pub registry_read_cache_ms: u64,
    /// How long the public addresses must be still before witness IP_CHANGE notifications go
    /// out (`services::witness` module doc); 0: at every change.
    pub witness_ip_change_settle_ms: u64,
    /// What one client may make the daemon hold.
    pub limits: Limits,
    /// The status and metrics endpoint (HTTP, `GET /metrics`, `/status`, `/`); `None`: off.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// Resource limits per client, per association and for the whole daemon (`[limits]`). Each
/// refusal is the protocol's answer and a warning in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Open TCP connections from one client address, both endpoints together. Beyond it the
    /// connection's bind is answered with bind_nak `local_limit_exceeded` and it is closed.
    pub connections_per_client: usize,
    /// Association groups alive at once. Beyond it a bind creating a new one gets bind_nak
    /// `local_limit_exceeded`.
    pub associations: usize,
    /// Context handles one association group holds. Beyond it an open answers
    /// ERROR_NOT_ENOUGH_MEMORY (8) and ept_lookup EPT_S_CANT_PERFORM_OP.
    pub handles_per_association: usize,
    /// Calls of one association group waiting at once (ApiGetNotify, ApiGetNotifyV2,
    /// ApiGetBatchNotification, WitnessrAsyncNotify ...). Beyond it the call is answered with a
    /// fault RPC_S_SERVER_TOO_BUSY (0x6bb) without waiting.
    pub pending_calls_per_association: usize,
    /// Witness registrations of one client address. Beyond it WitnessrRegister(Ex) answers
    /// ERROR_NO_SYSTEM_RESOURCES (1450).
    pub witness_registrations_per_client: usize,
    /// A connection that has not authenticated and sends nothing for this many seconds is
    /// closed (0 = never).
    pub unauthenticated_idle_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections_per_client: 64,
            associations: 4096,
            handles_per_association: 16_384,
            pending_calls_per_association: 64,
            witness_registrations_per_client: 64,
            unauthenticated_idle_secs: 30,
        }
    }
}

impl Limits {
    /// Sets one limit by its config key (`clusapid demo --limit KEY=VALUE`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let n: u64 = value.parse().map_err(|_| ConfigError::Invalid(format!("limit {key}: not a number: {value}")))?;
        let size = usize::try_from(n).unwrap_or(usize::MAX);
        match key {
            "connections_per_client" => self.connections_per_client = size,
            "associations" => self.associations = size,
            "handles_per_association" => self.handles_per_association = size,
            "pending_calls_per_association" => self.pending_calls_per_association = size,
            "witness_registrations_per_client" => self.witness_registrations_per_client = size,
            "unauthenticated_idle_secs" => self.unauthenticated_idle_secs = n,
            _ => return Err(ConfigError::Invalid(format!("unknown limit {key}"))),
        }
        Ok(())
    }

    /// Checks the values: every count at least 1.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (k, v) in [
            ("connections_per_client", self.connections_per_client),
            ("associations", self.associations),
            ("handles_per_association", self.handles_per_association),
            ("pending_calls_per_association", self.pending_calls_per_association),
            ("witness_registrations_per_client", self.witness_registrations_per_client),
        ] {
            if v == 0 {
                return Err(ConfigError::Invalid(format!("limits.{k}: at least 1")));
            }
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cluster_name: None,
            listen: vec![IpAddr::from([127, 0, 0, 1])],
            port: 4135,
            epm_port: 135,
            accounts: PathBuf::from("/var/lib/clusapid/accounts"),
            backend: BackendKind::Simulated,
            nodes: 3,
            ctdb_socket: None,
            state_dir: None,
            max_request: 4 * 1024 * 1024,
            worker_threads: 0,
            smb_conf: PathBuf::from("/etc/samba/smb.conf"),
            admin_socket: PathBuf::from(DEFAULT_ADMIN_SOCKET),
            admin_group: None,
            version: WindowsVersion::default(),
            node_names: NodeNaming::default(),
            host_name: None,
            logon: LogonKind::Accounts,
            keytab: None,
            full_access: vec!["BUILTIN\\Administrators".to_string()],
            read_access: Vec::new(),
            deny_access: Vec::new(),
            registry_read_cache_ms: nodes::ctdb::backend::READ_CACHE.as_millis() as u64,
            witness_ip_change_settle_ms: DEFAULT_WITNESS_IP_CHANGE_SETTLE.as_millis() as u64,
            limits: Limits::default(),
            metrics_listen: None,
        }
    }
}

/// Errors loading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}{hint}", hint = config_io_hint(source))]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Toml { path: PathBuf, source: toml::de::Error },
    #[error("{0}")]
    Invalid(String),
}

/// What to do when the configuration file cannot be read.
fn config_io_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            "\n  write one: the Debian package installs /etc/clusapid/clusapid.toml, the example is \
             packaging/clusapid.toml in the source (README \"Deploying on a CTDB node\")"
        }
        std::io::ErrorKind::PermissionDenied => "\n  run clusapid as root (the unit does), or make the file readable",
        _ => "",
    }
}

impl Config {
    /// Reads a TOML file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io { path: path.into(), source: e })?;
        Self::parse(&text, path)
    }

    /// Parses and validates the text of a TOML file (`path` only names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let c: Config = toml::from_str(text).map_err(|e| ConfigError::Toml { path: path.into(), source: e })?;
        c.validate()?;
        Ok(c)
    }

    /// Checks values that serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.listen.is_empty() {
            return Err(ConfigError::Invalid("listen: at least one address is needed".into()));
        }
        if self.nodes == 0 || self.nodes > 64 {
            return Err(ConfigError::Invalid("nodes: between 1 and 64".into()));
        }
        if self.registry_read_cache_ms > 10_000 {
            return Err(ConfigError::Invalid("registry_read_cache_ms: at most 10000".into()));
        }
        if self.witness_ip_change_settle_ms > 60_000 {
            return Err(ConfigError::Invalid("witness_ip_change_settle_ms: at most 60000".into()));
        }
        if self.worker_threads > 1024 {
            return Err(ConfigError::Invalid("worker_threads: at most 1024 (0: one per CPU)".into()));
        }
        if self.max_request < 4096 {
            return Err(ConfigError::Invalid("max_request: at least 4096".into()));
        }
        if let Some(n) = &self.cluster_name {
            if n.is_empty() || n.len() > 63 {
                return Err(ConfigError::Invalid("cluster_name: 1 to 63 characters".into()));
            }
        }
        if self.node_names == NodeNaming::Hostname && self.backend != BackendKind::Ctdb {
            return Err(ConfigError::Invalid(
                "node_names = \"hostname\": only with backend = \"ctdb\" (simulated nodes have no host names)".into(),
            ));
        }
        if let Some(h) = &self.host_name {
            if split_host_name(h).is_none() {
                return Err(ConfigError::Invalid(format!("host_name: {h:?} is not a DNS name")));
            }
        }
        for (key, list) in
            [("full_access", &self.full_access), ("read_access", &self.read_access), ("deny_access", &self.deny_access)]
        {
            for n in list {
                if n.trim().is_empty() || n.len() > 512 {
                    return Err(ConfigError::Invalid(format!("{key}: empty or overlong entry {n:?}")));
                }
                if n.starts_with("S-") && n.parse::<crate::domain::Sid>().is_err() {
                    return Err(ConfigError::Invalid(format!("{key}: {n:?} is not a valid SID")));
                }
            }
        }
        self.limits.validate()
    }

    /// What this node publishes with `node_names = "hostname"`: (host name, fully qualified
    /// name), from `host_name` or the machine ([`local_host_names`]).
    pub fn published_host_name(&self) -> Option<(String, String)> {
        if self.node_names != NodeNaming::Hostname {
            return None;
        }
        match &self.host_name {
            Some(h) => split_host_name(h),
            None => Some(local_host_names()),
        }
    }

    /// The cluster name: configured, else smb.conf's `netbios name`, else the host name.
    pub fn resolved_cluster_name(&self) -> String {
        if let Some(n) = &self.cluster_name {
            return n.clone();
        }
        if let Some(n) = netbios_name_from_smb_conf(&self.smb_conf) {
            return n;
        }
        hostname().to_uppercase()
    }
}

/// `netbios name` from an smb.conf's [global] section, if present.
pub fn netbios_name_from_smb_conf(path: &Path) -> Option<String> {
    global_from_smb_conf(path, "netbios name").map(|v| v.to_uppercase())
}

/// `netbios name` from the text of an smb.conf.
pub fn netbios_name_from_smb_conf_text(text: &str) -> Option<String> {
    global_from_smb_conf_text(text, "netbios name").map(|v| v.to_uppercase())
}

/// The value of `key` (e.g. `workgroup`, `realm`) in an smb.conf's [global] section, if
/// present and not empty.
pub fn global_from_smb_conf(path: &Path, key: &str) -> Option<String> {
    global_from_smb_conf_text(&std::fs::read_to_string(path).ok()?, key)
}

/// [`global_from_smb_conf`] of the text of an smb.conf: its first non-empty setting.
pub fn global_from_smb_conf_text(text: &str, key: &str) -> Option<String> {
    smb_conf_globals(text).find(|(k, v)| k == key && !v.is_empty()).map(|(_, v)| v.to_owned())
}

/// The `key = value` lines of an smb.conf's [global] section(s), in order: keys lower-case with
/// their inner white space made single spaces, values trimmed; comments skipped.
pub fn smb_conf_globals(text: &str) -> impl Iterator<Item = (String, &str)> {
    let mut in_global = false;
    text.lines().filter_map(move |line| {
        let l = line.trim();
        if l.starts_with('[') {
            in_global = l.eq_ignore_ascii_case("[global]");
            return None;
        }
        if !in_global || l.starts_with('#') || l.starts_with(';') {
            return None;
        }
        let (k, v) = l.split_once('=')?;
        Some((k.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase(), v.trim()))
    })
}

/// (host name, fully qualified name) of a configured name: `fs1` gives (`fs1`, `fs1`),
/// `fs1.example.com` gives (`fs1`, `fs1.example.com`). `None` unless every label is 1 to 63
/// letters, digits or hyphens.
pub fn split_host_name(name: &str) -> Option<(String, String)> {
    let name = name.trim().trim_end_matches('.');
    let label_ok = |l: &str| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if name.len() > 253 || !name.split('.').all(label_ok) {
        return None;
    }
    let host = name.split('.').next()?.to_string();
    Some((host, name.to_string()))
}

/// The machine's (host name, fully qualified name): the full `gethostname` when it has a
/// domain, else the canonical name the resolver gives for it when that has one, else the host
/// name alone.
pub fn local_host_names() -> (String, String) {
    let full = full_hostname();
    let host = full.split('.').next().unwrap_or("clusapid").to_string();
    if full.contains('.') {
        return (host, full);
    }
    match canonical_name(&full) {
        Some(c) if c.contains('.') => (host, c),
        _ => (host.clone(), host),
    }
}

/// The resolver's canonical name for `host` (getaddrinfo with AI_CANONNAME).
fn canonical_name(host: &str) -> Option<String> {
    let c_host = std::ffi::CString::new(host).ok()?;
    // SAFETY: hints is plain data; getaddrinfo gets valid pointers and a result that is
    // freed with freeaddrinfo below; ai_canonname is a NUL-terminated string or null.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = libc::AI_CANONNAME;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        if libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut res) != 0 || res.is_null() {
            return None;
        }
        let name = (*res).ai_canonname;
        let out = (!name.is_null()).then(|| std::ffi::CStr::from_ptr(name).to_string_lossy().into_owned());
        libc::freeaddrinfo(res);
        out.and_then(|n| split_host_name(&n)).map(|(_, f)| f)
    }
}

/// The machine's host name as `gethostname` returns it (may include a domain).
fn full_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for buf.len() bytes; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "clusapid".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The machine's host name (first label).
pub fn hostname() -> String {
    full_hostname().split('.').next().unwrap_or("clusapid").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_section_defaults_and_checks() {
        let p = Path::new("t.toml");
        let c = Config::parse("[limits]\nconnections_per_client = 5\nunauthenticated_idle_secs = 0\n", p).unwrap();
        assert_eq!(c.limits.connections_per_client, 5);
        assert_eq!(c.limits.unauthenticated_idle_secs, 0);
        assert_eq!(c.limits.associations, Limits::default().associations);
        assert_eq!(Config::parse("", p).unwrap().limits, Limits::default());
        assert!(Config::parse("[limits]\nsessions = 5\n", p).is_err(), "unknown keys are refused");
        assert!(Config::parse("[limits]\nassociations = 0\n", p).is_err(), "a count of 0 is refused");
        let mut l = Limits::default();
        l.set("pending_calls_per_association", "3").unwrap();
        assert_eq!(l.pending_calls_per_association, 3);
        assert!(l.set("nope", "1").is_err() && l.set("associations", "x").is_err());
    }

    #[test]
    fn parse_full_file() {
        let c: Config = toml::from_str(
            r#"
            cluster_name = "C1"
            listen = ["127.0.0.1", "127.0.0.2"]
            port = 5000
            epm_port = 1135
            accounts = "/tmp/acc"
            backend = "ctdb"
            ctdb_socket = "/tmp/s"
            "#,
        )
        .unwrap();
        assert_eq!(c.port, 5000);
        assert_eq!(c.backend, BackendKind::Ctdb);
        assert_eq!(c.listen.len(), 2);
        assert_eq!(c.nodes, 3);
        c.validate().unwrap();
    }

    #[test]
    fn worker_threads_default_and_bound() {
        let p = Path::new("t.toml");
        assert_eq!(Config::parse("", p).unwrap().worker_threads, 0, "0: one per CPU");
        assert_eq!(Config::parse("worker_threads = 1\n", p).unwrap().worker_threads, 1);
        assert!(Config::parse("worker_threads = 1025\n", p).is_err());
        assert!(Config::parse("worker_threads = -1\n", p).is_err());
    }

    #[test]
    fn version_and_node_names() {
        let c: Config = toml::from_str("").unwrap();
        assert_eq!((c.version, c.node_names), (WindowsVersion::Ws2022, NodeNaming::Ctdb));
        assert_eq!(c.published_host_name(), None);
        let c: Config = toml::from_str("version = \"2012r2\"").unwrap();
        assert_eq!(c.version, WindowsVersion::Ws2012R2);
        assert!(toml::from_str::<Config>("version = \"2008\"").is_err());
        let c: Config =
            toml::from_str("backend = \"ctdb\"\nnode_names = \"hostname\"\nhost_name = \"fs1.example.com\"").unwrap();
        c.validate().unwrap();
        assert_eq!(c.published_host_name(), Some(("fs1".into(), "fs1.example.com".into())));
        // simulated nodes have no host names; names must be DNS names
        let c: Config = toml::from_str("node_names = \"hostname\"").unwrap();
        assert!(c.validate().is_err());
        let c: Config = toml::from_str("backend = \"ctdb\"\nnode_names = \"hostname\"\nhost_name = \"a b\"").unwrap();
        assert!(c.validate().is_err());
        assert_eq!(split_host_name("fs1"), Some(("fs1".into(), "fs1".into())));
        assert_eq!(split_host_name("fs1..x"), None);
        let (h, f) = local_host_names();
        assert!(!h.contains('.') && f.starts_with(&h), "{h} {f}");
    }

    #[test]
    fn the_packaged_example_parses() {
        let p = Path::new("packaging/clusapid.toml");
        let c = Config::parse(include_str!("../../packaging/clusapid.toml"), p).unwrap();
        c.validate().unwrap();
        assert_eq!(c.backend, BackendKind::Ctdb);
        assert_eq!((c.epm_port, c.port), (135, 4135));
        assert_eq!(c.listen, vec![IpAddr::from([0, 0, 0, 0])]);
        assert_eq!(c.accounts, Path::new("/var/lib/clusapid/accounts"));
        assert_eq!(c.metrics_listen, None, "off unless asked for");
    }

    #[test]
    fn metrics_listen() {
        let p = Path::new("t.toml");
        assert_eq!(Config::parse("", p).unwrap().metrics_listen, None, "off by default");
        let c = Config::parse("metrics_listen = \"127.0.0.1:9135\"", p).unwrap();
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9135".parse().unwrap()));
        assert!(Config::parse("metrics_listen = \"127.0.0.1\"", p).is_err(), "a port is needed");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<Config>("prot = 1").is_err());
        let c: Config = toml::from_str("nodes = 0").unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn smb_conf_netbios_name() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("smb.conf");
        std::fs::write(&p, "[global]\n  workgroup = W\n  netbios   name = fsclus\n[share]\n netbios name = no\n")
            .unwrap();
        assert_eq!(netbios_name_from_smb_conf(&p).as_deref(), Some("FSCLUS"));
    }
}
