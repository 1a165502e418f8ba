//! The `clusapid` command: `demo` (embedded simulated cluster), `serve` (from a config file),
//! `check` (is this node ready for `serve`?), `user add|del|list` (the accounts file) and
//! `witness ...` (the administration socket).

use std::io::{BufRead, IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use clusapid::accounts::{AccessLevel, Accounts};
use clusapid::config::{BackendKind, Config};
use clusapid::daemon::{self, DaemonSettings};
use nodes::{ClusterBackend, SimConfig, SimulatedCluster, WindowsVersion};

#[derive(Parser)]
#[command(
    name = "clusapid",
    version,
    about = "Failover Cluster Management API (MS-CMRP) server for Samba/CTDB clusters"
)]
struct Cli {
    /// Log filter (tracing env-filter syntax), e.g. `debug` or `clusapid=debug`. Overrides RUST_LOG.
    #[arg(long, global = true)]
    log: Option<String>,
    /// Log line format: `text` (colour codes only on a terminal) or `json` (one object per line).
    #[arg(long, global = true, value_enum, default_value_t = clusapid::logging::LogFormat::Text)]
    log_format: clusapid::logging::LogFormat,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve an embedded simulated N-node CTDB cluster (no ctdbd needed).
    Demo(DemoArgs),
    /// Serve the cluster described by a configuration file.
    Serve(ServeArgs),
    /// Check that this node is ready for `serve`: ctdbd, the ports, Samba's settings, the
    /// accounts or keytab, the cluster name. Exit status 1 when something FAILs.
    Check(CheckArgs),
    /// Manage the accounts file.
    #[command(subcommand)]
    User(UserCmd),
    /// SMB Witness: list and steer the cluster's registrations, or watch as a client.
    #[command(subcommand)]
    Witness(clusapid::witness_cli::WitnessCmd),
}

#[derive(Args)]
struct DemoArgs {
    /// Address to listen on (repeatable).
    #[arg(long, default_value = "127.0.0.1")]
    listen: Vec<IpAddr>,
    /// clusapi port (0 = any free port).
    #[arg(long, default_value_t = 4135)]
    port: u16,
    /// Endpoint mapper port (0 = any free port). Default 135; a user who may not bind it
    /// gets a free port and a note.
    #[arg(long)]
    epm_port: Option<u16>,
    /// An account with full access, NAME%PASSWORD (repeatable). Without one, `admin` gets a random password.
    #[arg(long)]
    user: Vec<String>,
    /// A read-only account, NAME%PASSWORD (repeatable).
    #[arg(long)]
    read_only_user: Vec<String>,
    /// Number of simulated nodes.
    #[arg(long, default_value_t = 3)]
    nodes: u32,
    /// Number of public IPs (default: one per node); more than 254 are 127.100.x.y/16.
    #[arg(long)]
    public_ips: Option<usize>,
    /// Cluster name.
    #[arg(long, default_value = "CTDB-CLUSTER")]
    cluster_name: String,
    /// Keep admin changes in this file across restarts.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Administration socket for `clusapid witness ...` (default: /run/clusapid/admin.sock as
    /// root, none otherwise).
    #[arg(long)]
    admin_socket: Option<PathBuf>,
    /// Windows Server version to present: 2012r2, 2016, 2019, 2022 or 2025.
    #[arg(long, value_parser = parse_windows_version, default_value = "2022")]
    windows_version: WindowsVersion,
    /// Set one of the `[limits]` of the config file, KEY=VALUE (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    limit: Vec<String>,
    /// Serve status and metrics over HTTP on ADDR:PORT (GET /metrics, /status, /).
    #[arg(long, value_name = "ADDR:PORT")]
    metrics_listen: Option<SocketAddr>,
}

#[derive(Args)]
struct CheckArgs {
    /// The configuration `serve` will use.
    #[arg(long, default_value = "/etc/clusapid/clusapid.toml")]
    config: PathBuf,
    /// Also check that a daemon holds the ports (run against a node where clusapid runs).
    #[arg(long)]
    running: bool,
}

fn parse_windows_version(s: &str) -> Result<WindowsVersion, String> {
    WindowsVersion::parse(s).ok_or_else(|| format!("{s:?}: expected 2012r2, 2016, 2019, 2022 or 2025"))
}

#[derive(Args)]
struct ServeArgs {
    /// TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// ctdbd socket (selects the ctdb backend; the default socket is /run/ctdb/ctdbd.socket).
    #[arg(long)]
    ctdb_socket: Option<PathBuf>,
    #[arg(long)]
    port: Option<u16>,
    #[arg(long)]
    epm_port: Option<u16>,
    #[arg(long)]
    accounts: Option<PathBuf>,
    #[arg(long)]
    listen: Vec<IpAddr>,
    #[arg(long)]
    cluster_name: Option<String>,
    /// Windows Server version to present (overrides `version` of the file): 2012r2, 2016,
    /// 2019, 2022 or 2025.
    #[arg(long, value_parser = parse_windows_version)]
    windows_version: Option<WindowsVersion>,
    /// Serve status and metrics over HTTP on ADDR:PORT (overrides `metrics_listen`).
    #[arg(long, value_name = "ADDR:PORT")]
    metrics_listen: Option<SocketAddr>,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add or replace an account; the password is read from the terminal, or from stdin when it is not one.
    Add {
        #[arg(long, default_value = "/var/lib/clusapid/accounts")]
        accounts: PathBuf,
        /// Grant read access only.
        #[arg(long)]
        read_only: bool,
        name: String,
    },
    /// Remove an account.
    Del {
        #[arg(long, default_value = "/var/lib/clusapid/accounts")]
        accounts: PathBuf,
        name: String,
    },
    /// List accounts and their access level.
    List {
        #[arg(long, default_value = "/var/lib/clusapid/accounts")]
        accounts: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    clusapid::logging::init(cli.log.as_deref(), cli.log_format);
    match cli.cmd {
        Cmd::User(u) => user_cmd(u),
        Cmd::Demo(a) => runtime()?.block_on(demo(a)),
        Cmd::Serve(a) => {
            let cfg = serve_config(a)?;
            runtime_with(cfg.worker_threads)?.block_on(serve(cfg))
        }
        Cmd::Check(a) => {
            let report = clusapid::check::run(&a.config, a.running);
            print!("{}", report.render());
            std::io::stdout().flush()?;
            std::process::exit(report.exit_code());
        }
        Cmd::Witness(w) => runtime()?.block_on(clusapid::witness_cli::run(w)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    runtime_with(0)
}

/// The daemon's runtime: `workers` threads, or with 0 tokio's default (`TOKIO_WORKER_THREADS`,
/// else one per CPU).
fn runtime_with(workers: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if workers > 0 {
        b.worker_threads(workers);
    }
    Ok(b.enable_all().build()?)
}

fn split_user(s: &str) -> anyhow::Result<(&str, &str)> {
    s.split_once('%').context("expected NAME%PASSWORD")
}

fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let a = prompt_hidden("Password: ")?;
        let b = prompt_hidden("Retype password: ")?;
        if a != b {
            bail!("passwords do not match");
        }
        Ok(a)
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

fn prompt_hidden(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    // SAFETY: termios is plain data; tcgetattr/tcsetattr on fd 0, restored below.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    let have = unsafe { libc::tcgetattr(0, &mut t) } == 0;
    if have {
        let mut quiet = t;
        quiet.c_lflag &= !libc::ECHO;
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &quiet) };
    }
    let mut line = String::new();
    let r = std::io::stdin().lock().read_line(&mut line);
    if have {
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
    }
    eprintln!();
    r?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn user_cmd(u: UserCmd) -> anyhow::Result<()> {
    match u {
        UserCmd::Add { accounts, read_only, name } => {
            let mut a = Accounts::load(&accounts)?;
            let pw = read_password()?;
            if pw.is_empty() {
                bail!("empty password refused");
            }
            let level = if read_only { AccessLevel::ReadOnly } else { AccessLevel::Full };
            a.add(&name, &pw, level)?;
            a.save(&accounts)?;
            println!(
                "{name}: {} access, stored in {}",
                if read_only { "read-only" } else { "full" },
                accounts.display()
            );
        }
        UserCmd::Del { accounts, name } => {
            let mut a = Accounts::load(&accounts)?;
            a.remove(&name)?;
            a.save(&accounts)?;
            println!("{name}: removed");
        }
        UserCmd::List { accounts } => {
            let a = Accounts::load(&accounts)?;
            for acc in a.iter() {
                let level = match acc.access {
                    AccessLevel::Full => "full",
                    AccessLevel::ReadOnly => "read-only",
                };
                println!("{}\t{level}", acc.name);
            }
        }
    }
    Ok(())
}

/// Whether this process may bind `port` on every address of `listen` (false only when the
/// kernel refuses for lack of privilege; a port in use is reported by the real bind).
fn may_bind(listen: &[IpAddr], port: u16) -> bool {
    listen.iter().all(|ip| {
        !matches!(std::net::TcpListener::bind((*ip, port)), Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied)
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn demo(a: DemoArgs) -> anyhow::Result<()> {
    if a.nodes == 0 || a.nodes > 64 {
        bail!("--nodes: between 1 and 64");
    }
    let mut accounts = Accounts::default();
    let mut shown = Vec::new();
    for u in &a.user {
        let (n, p) = split_user(u)?;
        accounts.add(n, p, AccessLevel::Full)?;
        shown.push((n.to_string(), p.to_string(), "full"));
    }
    for u in &a.read_only_user {
        let (n, p) = split_user(u)?;
        accounts.add(n, p, AccessLevel::ReadOnly)?;
        shown.push((n.to_string(), p.to_string(), "read-only"));
    }
    if shown.is_empty() {
        let pw: String =
            (0..12).map(|_| char::from(b"abcdefghjkmnpqrstuvwxyz23456789"[rand::random::<usize>() % 31])).collect();
        let pw = format!("Demo-{pw}");
        accounts.add("admin", &pw, AccessLevel::Full)?;
        shown.push(("admin".into(), pw, "full"));
    }
    let mut limits = clusapid::config::Limits::default();
    for l in &a.limit {
        let Some((k, v)) = l.split_once('=') else { bail!("--limit {l}: expected KEY=VALUE") };
        limits.set(k, v)?;
    }
    limits.validate()?;
    // port 135 is privileged: a user who may not bind it gets a free port and a note
    let (epm_port, epm_note) = match a.epm_port {
        Some(p) => (p, false),
        None if may_bind(&a.listen, 135) => (135, false),
        None => (0, true),
    };
    if a.public_ips.is_some_and(|n| n > 10_000) {
        bail!("--public-ips: at most 10000");
    }
    let mut sim = SimConfig::with_nodes_and_ips(a.nodes, a.public_ips.unwrap_or(a.nodes as usize));
    sim.cluster_name = a.cluster_name.clone();
    sim.state_file = a.state_file.clone();
    sim.windows_version = a.windows_version;
    let backend: Arc<dyn ClusterBackend> = Arc::new(SimulatedCluster::new(sim).map_err(|e| anyhow::anyhow!("{e}"))?);
    let snap = backend.snapshot();
    let d = daemon::start(DaemonSettings {
        listen: a.listen.clone(),
        port: a.port,
        epm_port,
        max_request: Config::default().max_request,
        limits,
        accounts,
        backend: backend.clone(),
        // SAFETY: geteuid has no preconditions.
        admin_socket: a.admin_socket.clone().or_else(|| {
            (unsafe { libc::geteuid() } == 0).then(|| PathBuf::from(clusapid::config::DEFAULT_ADMIN_SOCKET))
        }),
        admin_access: clusapid::admin::AdminAccess::default(),
        domain: None,
        metrics_listen: a.metrics_listen,
        witness_ip_change_settle: clusapid::config::DEFAULT_WITNESS_IP_CHANGE_SETTLE,
    })
    .await?;
    let node = snap.node_name(snap.cluster.this_pnn).unwrap_or("?").to_string();
    println!(
        "clusapid demo: cluster {} with {} simulated nodes, serving as {node}, presenting {}",
        snap.cluster.name,
        snap.nodes.len(),
        snap.cluster.windows_version.product()
    );
    for addr in &d.clusapi_addrs {
        println!(
            "  clusapi v3.0      ncacn_ip_tcp:{}[{}]  (packet privacy: NTLMSSP or SPNEGO)",
            addr.ip(),
            addr.port()
        );
    }
    for addr in &d.epm_addrs {
        println!("  endpoint mapper   ncacn_ip_tcp:{}[{}]", addr.ip(), addr.port());
    }
    if epm_note {
        println!(
            "  note              port 135 needs root or CAP_NET_BIND_SERVICE, so the mapper is on the free port above. \
             smbtorture takes the clusapi port ([PORT,seal]); rpcclient always asks the mapper on 135. \
             For 135: sudo setcap cap_net_bind_service=+ep {}",
            std::env::current_exe().map_or_else(|_| "clusapid".into(), |p| p.display().to_string())
        );
    }
    if let Some(m) = d.metrics_addr {
        println!("  status, metrics   http://{m}/  http://{m}/metrics");
    }
    for (n, _, level) in &shown {
        println!("  account           {n} ({level})");
    }
    if let (Some(addr), Some((n, p, _))) = (d.clusapi_addrs.first(), shown.first()) {
        println!("Try:");
        println!(
            "  rpcclient -U '{n}%{p}' 'ncacn_ip_tcp:{}[{},seal]' -c 'clusapi_get_cluster_name; clusapi_get_cluster_version2; clusapi_create_enum'",
            addr.ip(),
            addr.port()
        );
    }
    std::io::stdout().flush()?;
    tokio::select! {
        _ = wait_for_signal() => {}
        _ = d.wait() => {}
    }
    Ok(())
}

/// Connects to ctdbd, retrying with back-off until it answers (a node's clusapid may start
/// before its ctdbd); SIGINT/SIGTERM still stop the daemon meanwhile.
async fn connect_ctdb(cfg: nodes::CtdbConfig) -> Arc<dyn ClusterBackend> {
    let mut delay = std::time::Duration::from_millis(100);
    loop {
        match nodes::CtdbBackend::connect(cfg.clone()).await {
            Ok(b) => {
                tracing::info!(socket = %cfg.socket.display(), "Connected to ctdbd");
                return b;
            }
            Err(e) => {
                tracing::warn!(socket = %cfg.socket.display(), error = %e, retry_ms = delay.as_millis() as u64, "ctdbd not reachable");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = wait_for_signal() => std::process::exit(0),
                }
                delay = (delay * 2).min(std::time::Duration::from_secs(5));
            }
        }
    }
}

/// The configuration `clusapid serve` runs with: the file, then the command line's overrides.
fn serve_config(a: ServeArgs) -> anyhow::Result<Config> {
    let mut cfg = match &a.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if let Some(s) = a.ctdb_socket {
        cfg.ctdb_socket = Some(s);
        cfg.backend = BackendKind::Ctdb;
    }
    if let Some(p) = a.port {
        cfg.port = p;
    }
    if let Some(p) = a.epm_port {
        cfg.epm_port = p;
    }
    if let Some(p) = a.accounts {
        cfg.accounts = p;
    }
    if !a.listen.is_empty() {
        cfg.listen = a.listen;
    }
    if let Some(n) = a.cluster_name {
        cfg.cluster_name = Some(n);
    }
    if let Some(v) = a.windows_version {
        cfg.version = v;
    }
    if a.metrics_listen.is_some() {
        cfg.metrics_listen = a.metrics_listen;
    }
    cfg.validate()?;
    Ok(cfg)
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    let domain = match cfg.logon {
        clusapid::config::LogonKind::Winbind => Some(daemon::DomainSettings {
            netbios_name: clusapid::config::netbios_name_from_smb_conf(&cfg.smb_conf)
                .unwrap_or_else(|| clusapid::config::hostname().to_uppercase()),
            workgroup: clusapid::config::global_from_smb_conf(&cfg.smb_conf, "workgroup")
                .unwrap_or_else(|| "WORKGROUP".into()),
            realm: clusapid::config::global_from_smb_conf(&cfg.smb_conf, "realm").unwrap_or_default(),
            keytab: cfg.keytab.clone(),
            full_access: cfg.full_access.clone(),
            read_access: cfg.read_access.clone(),
            deny_access: cfg.deny_access.clone(),
        }),
        clusapid::config::LogonKind::Accounts => {
            if cfg.keytab.is_some() {
                tracing::warn!("keytab is set but logon = \"accounts\": Kerberos needs domain logons; ignored");
            }
            None
        }
    };
    let accounts = if domain.is_some() { Accounts::default() } else { Accounts::load(&cfg.accounts)? };
    if accounts.is_empty() && domain.is_none() {
        tracing::warn!(accounts = %cfg.accounts.display(), "No accounts: every authentication will fail; add one with `clusapid user add`");
    }
    let name = cfg.resolved_cluster_name();
    let shown_name = name.clone();
    // hold the ports from the start, before waiting for ctdbd: nothing else (samba-dcerpcd in
    // standalone mode) can take 135 meanwhile, and systemd may start what comes after us
    let listeners = daemon::Listeners::bind(&cfg.listen, cfg.port, cfg.epm_port).await?;
    clusapid::sdnotify::notify(&format!(
        "READY=1\nSTATUS=Ports {} and {} bound; reading the cluster",
        listeners.epm_port(),
        listeners.port()
    ));
    let backend: Arc<dyn ClusterBackend> = match cfg.backend {
        BackendKind::Simulated => {
            let mut sim = SimConfig::with_nodes(cfg.nodes);
            sim.cluster_name = name;
            sim.state_file = cfg.state_dir.as_ref().map(|d| d.join("simulated-state.toml"));
            sim.windows_version = cfg.version;
            Arc::new(SimulatedCluster::new(sim).map_err(|e| anyhow::anyhow!("{e}"))?)
        }
        BackendKind::Ctdb => {
            let socket = cfg.ctdb_socket.clone().unwrap_or_else(|| PathBuf::from("/run/ctdb/ctdbd.socket"));
            // the smb.conf file's own shares first; the watcher below adds the registry's
            // (testparm needs ctdbd for those) and follows every change
            let file = std::fs::read_to_string(&cfg.smb_conf).unwrap_or_default();
            let shares = clusapid::shares::parse_shares(&file);
            if shares.is_empty() && !clusapid::shares::uses_registry(&file) {
                tracing::warn!(smb_conf = %cfg.smb_conf.display(), "No shares found: the File Server role is empty until some are added");
            }
            let ctdb_cfg = nodes::CtdbConfig {
                socket: socket.clone(),
                cluster_name: name,
                shares,
                state_file: cfg.state_dir.as_ref().map(|d| d.join("ctdb-overlay.toml")),
                windows_version: cfg.version,
                node_naming: cfg.node_names,
                host_name: cfg.published_host_name(),
                read_cache: std::time::Duration::from_millis(cfg.registry_read_cache_ms),
            };
            let backend = connect_ctdb(ctdb_cfg).await;
            tokio::spawn(clusapid::shares::watch(clusapid::shares::ShareSource::new(&cfg.smb_conf), backend.clone()));
            backend
        }
    };
    let settings = DaemonSettings {
        listen: cfg.listen.clone(),
        port: cfg.port,
        epm_port: cfg.epm_port,
        max_request: cfg.max_request,
        limits: cfg.limits,
        accounts,
        backend,
        admin_socket: (!cfg.admin_socket.as_os_str().is_empty()).then(|| cfg.admin_socket.clone()),
        admin_access: clusapid::admin::AdminAccess::new(cfg.admin_group.as_deref())?,
        domain,
        metrics_listen: cfg.metrics_listen,
        witness_ip_change_settle: std::time::Duration::from_millis(cfg.witness_ip_change_settle_ms),
    };
    let d = daemon::start_bound(settings, listeners, None).await?;
    tracing::info!(clusapi = ?d.clusapi_addrs, epmapper = ?d.epm_addrs, version = %cfg.version.product(), "Serving");
    clusapid::sdnotify::notify(&format!("STATUS=Serving cluster {shown_name}, presenting {}", cfg.version.product()));
    tokio::select! {
        _ = wait_for_signal() => {}
        _ = d.wait() => {}
    }
    Ok(())
}
