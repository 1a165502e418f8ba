//! `clusapid witness ...`: the administrator's view of the cluster's SMB Witness registrations
//! (`list`, and the steering commands `move-client`, `move-share`, `force-unregister`,
//! `force-response`, sent to the local daemon's [`crate::admin`] socket, which applies them on
//! whichever node holds each registration), and `watch`, a witness client for Linux that
//! registers like an SMB3 client would and prints every notification.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use dcerpc::pdu::SyntaxId;
use idl::witness::*;
use idl::{ByteOrder, WString};

use crate::admin::{self, Action, AdminRequest, AdminResponse, Target};
use crate::rpc_client::{map_endpoint, Credentials, RpcConnection, RpcFailure};
use crate::services::witness::registry::{rfc3339, Filter, ForcedResponse, RegistrationInfo};

#[derive(Subcommand)]
pub enum WitnessCmd {
    /// List the cluster's witness registrations (every node's).
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        socket: SocketArgs,
    },
    /// Tell clients to move to another node (CLIENT_MOVE), like Move-SmbWitnessClient.
    MoveClient(MoveArgs),
    /// Tell clients a share moved (SHARE_MOVE; version 2 registrations with a share).
    MoveShare(MoveArgs),
    /// Remove registrations (a pending notification call ends with ERROR_NOT_FOUND).
    ForceUnregister {
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        socket: SocketArgs,
    },
    /// Deliver a notification of your choice.
    ForceResponse {
        /// RESOURCE_CHANGE for the net name: `available` or `unavailable`.
        #[arg(long, value_parser = ["available", "unavailable"], group = "response")]
        resource_change: Option<String>,
        /// CLIENT_MOVE to these addresses (comma-separated).
        #[arg(long, value_delimiter = ',', group = "response")]
        client_move: Vec<IpAddr>,
        /// SHARE_MOVE to these addresses (comma-separated).
        #[arg(long, value_delimiter = ',', group = "response")]
        share_move: Vec<IpAddr>,
        /// IP_CHANGE: IP=online|offline (comma-separated).
        #[arg(long, value_delimiter = ',', group = "response")]
        ip_change: Vec<String>,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        socket: SocketArgs,
    },
    /// Register with a cluster's witness as an SMB3 client would and print each notification.
    Watch(WatchArgs),
}

#[derive(Args, Clone, Default)]
pub struct FilterArgs {
    #[command(flatten)]
    pub filter: Filter,
    /// Act on every registration (needed by steering commands without a filter).
    #[arg(long)]
    pub all: bool,
}

impl FilterArgs {
    /// The filter of a steering command, which must select something explicitly.
    fn steering(&self) -> anyhow::Result<Filter> {
        if self.filter.is_empty() && !self.all {
            bail!("name the registrations (--client, --ip, --share, --net-name, --node, --id) or pass --all");
        }
        Ok(self.filter.clone())
    }
}

/// What `move-client` and `move-share` take: where to, whom, and the daemon's socket.
#[derive(Args, Clone)]
pub struct MoveArgs {
    #[command(flatten)]
    pub to: TargetArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub socket: SocketArgs,
}

#[derive(Args, Clone)]
pub struct TargetArgs {
    /// Destination node (name or pnn): its public addresses now.
    #[arg(long, group = "target", required_unless_present = "to_ip")]
    pub to_node: Option<String>,
    /// Destination address.
    #[arg(long, group = "target")]
    pub to_ip: Option<IpAddr>,
}

#[derive(Args, Clone)]
pub struct SocketArgs {
    /// The daemon's administration socket.
    #[arg(long, default_value = crate::config::DEFAULT_ADMIN_SOCKET)]
    pub socket: PathBuf,
}

#[derive(Args, Clone)]
pub struct WatchArgs {
    /// Where to ask for the witness interfaces (address or name of a cluster node or public IP).
    #[arg(long)]
    pub server: String,
    /// The name the client connects to for SMB (the cluster's NetBIOS or DNS name).
    #[arg(long)]
    pub net_name: String,
    /// The share the client has open (version 2).
    #[arg(long)]
    pub share: Option<String>,
    /// The address the client uses for SMB (default: the first available public address).
    #[arg(long)]
    pub ip: Option<IpAddr>,
    /// `[DOMAIN\]USER%PASSWORD`.
    #[arg(short = 'U', long = "user")]
    pub user: String,
    /// Register with protocol version 1 (WitnessrRegister) even when the server offers 2.
    #[arg(long)]
    pub v1: bool,
    /// KeepAliveTimeout for version 2, seconds.
    #[arg(long, default_value_t = 120)]
    pub keep_alive: u32,
    /// Do not ask for IP_CHANGE / CLIENT_MOVE notifications (version 2 flag IP_NOTIFICATION).
    #[arg(long)]
    pub no_ip_notification: bool,
    /// Endpoint mapper port.
    #[arg(long, default_value_t = 135)]
    pub epm_port: u16,
    /// Exit after this many notifications.
    #[arg(long)]
    pub count: Option<u64>,
    /// JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `clusapid witness` subcommand.
pub async fn run(cmd: WitnessCmd) -> anyhow::Result<()> {
    match cmd {
        WitnessCmd::List { filter, json, socket } => {
            let listing = match ask(&socket, AdminRequest::WitnessList { filter: filter.filter }).await? {
                AdminResponse::WitnessList { listing } => listing,
                other => bail!("unexpected answer {other:?}"),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&listing)?);
            } else {
                print_table(&listing.registrations);
            }
            if !listing.silent_nodes.is_empty() {
                eprintln!("warning: no answer from the clusapid of node(s) {:?}", listing.silent_nodes);
            }
            Ok(())
        }
        WitnessCmd::MoveClient(MoveArgs { to, filter, socket }) => {
            command(&socket, filter.steering()?, Action::MoveClient { to: target(&to) }).await
        }
        WitnessCmd::MoveShare(MoveArgs { to, filter, socket }) => {
            command(&socket, filter.steering()?, Action::MoveShare { to: target(&to) }).await
        }
        WitnessCmd::ForceUnregister { filter, socket } => {
            command(&socket, filter.steering()?, Action::ForceUnregister).await
        }
        WitnessCmd::ForceResponse { resource_change, client_move, share_move, ip_change, filter, socket } => {
            let response = if let Some(rc) = resource_change {
                ForcedResponse::ResourceChange { available: rc == "available" }
            } else if !client_move.is_empty() {
                ForcedResponse::ClientMove { ips: client_move }
            } else if !share_move.is_empty() {
                ForcedResponse::ShareMove { ips: share_move }
            } else if !ip_change.is_empty() {
                let ips = ip_change
                    .iter()
                    .map(|s| {
                        let (ip, st) = s.split_once('=').context("--ip-change IP=online|offline")?;
                        let online = match st {
                            "online" => true,
                            "offline" => false,
                            _ => bail!("--ip-change {s}: online or offline"),
                        };
                        Ok((ip.parse::<IpAddr>().with_context(|| format!("--ip-change {s}"))?, online))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                ForcedResponse::IpChange { ips }
            } else {
                bail!("give one of --resource-change, --client-move, --share-move, --ip-change");
            };
            command(&socket, filter.steering()?, Action::ForceResponse { response }).await
        }
        WitnessCmd::Watch(w) => watch(w).await,
    }
}

fn target(t: &TargetArgs) -> Target {
    Target { node: t.to_node.clone(), ip: t.to_ip }
}

async fn ask(socket: &SocketArgs, req: AdminRequest) -> anyhow::Result<AdminResponse> {
    match admin::request(&socket.socket, &req).await? {
        AdminResponse::Error { message } => bail!("{message}"),
        r => Ok(r),
    }
}

async fn command(socket: &SocketArgs, filter: Filter, action: Action) -> anyhow::Result<()> {
    let outcome = match ask(socket, AdminRequest::WitnessCommand { filter, action }).await? {
        AdminResponse::WitnessCommand { outcome } => outcome,
        other => bail!("unexpected answer {other:?}"),
    };
    let per_node: Vec<String> = outcome.affected.iter().map(|(n, c)| format!("node {n}: {c}")).collect();
    println!("{} registration(s) reached ({})", outcome.total(), per_node.join(", "));
    if !outcome.silent_nodes.is_empty() {
        eprintln!("warning: no answer from the clusapid of node(s) {:?}", outcome.silent_nodes);
    }
    if outcome.total() == 0 {
        bail!("no registration matched");
    }
    Ok(())
}

fn print_table(regs: &[RegistrationInfo]) {
    let rows: Vec<[String; 10]> = regs
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                r.client_name.clone(),
                r.file_server_node.clone().unwrap_or_else(|| "-".into()),
                r.witness_node.clone(),
                r.net_name.clone(),
                r.share_name.clone().unwrap_or_else(|| "-".into()),
                r.ip_address.clone(),
                r.state.clone(),
                if r.flags.is_empty() {
                    format!("v{}", r.version)
                } else {
                    format!("v{} {}", r.version, r.flags.join("|"))
                },
                r.registered_since.clone(),
            ]
        })
        .collect();
    let head = [
        "ID",
        "CLIENT",
        "FILE SERVER NODE",
        "WITNESS NODE",
        "NET NAME",
        "SHARE",
        "IP ADDRESS",
        "STATE",
        "FLAGS",
        "REGISTERED SINCE",
    ];
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let s: Vec<String> = cells.iter().enumerate().map(|(i, c)| format!("{c:<width$}", width = w[i])).collect();
        println!("{}", s.join("  ").trim_end());
    };
    line(head.to_vec());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
    println!("{} registration(s)", rows.len());
}

fn witness_syntax() -> SyntaxId {
    SyntaxId::new(Witness::UUID, Witness::VERSION_MAJOR, Witness::VERSION_MINOR)
}

/// A witness connection on `host`.
async fn connect_witness(host: IpAddr, epm_port: u16, creds: &Credentials) -> Result<RpcConnection, RpcFailure> {
    let port = map_endpoint(host, epm_port, Witness::UUID, Witness::VERSION_MAJOR, Witness::VERSION_MINOR).await?;
    RpcConnection::open(SocketAddr::new(host, port), Some(creds), witness_syntax()).await
}

async fn interfaces(c: &mut RpcConnection) -> Result<Vec<WitnessInterfaceInfo>, RpcFailure> {
    let stub = c.call(WitnessrGetInterfaceListRequest::OPNUM, &WitnessrGetInterfaceListRequest {}.to_stub()).await?;
    let r = WitnessrGetInterfaceListResponse::decode_stub(&stub, ByteOrder::Little)
        .map_err(|e| RpcFailure::Protocol(format!("{e:?}")))?;
    if r.result.0 != 0 {
        return Err(RpcFailure::Protocol(format!("WitnessrGetInterfaceList: error {}", r.result.0)));
    }
    Ok(r.interface_list.and_then(|l| l.interface_info).map(|a| a.0).unwrap_or_default())
}

fn iface_ip(i: &WitnessInterfaceInfo) -> IpAddr {
    if i.flags & interface_flags::IPV4_VALID != 0 {
        IpAddr::V4(i.ipv4_addr())
    } else {
        IpAddr::V6(i.ipv6_addr())
    }
}

/// Where the client registers: a witness on a node that does not serve `ip` (per the list
/// `server` gave, where INTERFACE_WITNESS marks the addresses `server` does not host).
fn pick_witness(list: &[WitnessInterfaceInfo], server: IpAddr, ip: IpAddr) -> Option<IpAddr> {
    let usable =
        |i: &&WitnessInterfaceInfo| i.state == state::AVAILABLE && i.flags & interface_flags::INTERFACE_WITNESS != 0;
    let ip_is_remote = list.iter().any(|i| iface_ip(i) == ip && i.flags & interface_flags::INTERFACE_WITNESS != 0);
    if ip_is_remote && list.iter().all(|i| iface_ip(i) != server || i.flags & interface_flags::INTERFACE_WITNESS == 0) {
        // the server we asked does not host ip: it is a witness for it
        return Some(server);
    }
    list.iter().filter(usable).map(iface_ip).find(|&a| a != ip)
}

struct Printer {
    json: bool,
}

impl Printer {
    fn now() -> (String, u128) {
        let t = SystemTime::now();
        let ms = t.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        let base = rfc3339(t);
        (format!("{}.{:03}Z", base.trim_end_matches('Z'), ms % 1000), ms)
    }

    fn event(&self, event: &str, fields: serde_json::Value, text: String) {
        let (ts, ms) = Self::now();
        if self.json {
            let mut v = serde_json::json!({ "time": ts, "time_unix_ms": ms as u64, "event": event });
            if let (Some(o), serde_json::Value::Object(f)) = (v.as_object_mut(), fields) {
                o.extend(f);
            }
            println!("{v}");
        } else {
            println!("{ts} {text}");
        }
    }

    fn notification(&self, m: &RespAsyncNotify) {
        let flags = |f: u32| {
            let mut v = Vec::new();
            for (b, n) in [
                (ipaddr_flags::V4, "V4"),
                (ipaddr_flags::V6, "V6"),
                (ipaddr_flags::ONLINE, "ONLINE"),
                (ipaddr_flags::OFFLINE, "OFFLINE"),
            ] {
                if f & b != 0 {
                    v.push(n);
                }
            }
            v
        };
        let kind = match m.message_type {
            message_type::RESOURCE_CHANGE_NOTIFICATION => "RESOURCE_CHANGE",
            message_type::CLIENT_MOVE_NOTIFICATION => "CLIENT_MOVE",
            message_type::SHARE_MOVE_NOTIFICATION => "SHARE_MOVE",
            message_type::IP_CHANGE_NOTIFICATION => "IP_CHANGE",
            _ => "UNKNOWN",
        };
        if m.message_type == message_type::RESOURCE_CHANGE_NOTIFICATION {
            let changes: Vec<(String, &str)> = m
                .resource_changes()
                .unwrap_or_default()
                .into_iter()
                .map(|c| {
                    let st = match c.change_type {
                        resource_state::AVAILABLE => "AVAILABLE",
                        resource_state::UNAVAILABLE => "UNAVAILABLE",
                        _ => "UNKNOWN",
                    };
                    (c.name, st)
                })
                .collect();
            let text = changes.iter().map(|(n, s)| format!("{n} {s}")).collect::<Vec<_>>().join(", ");
            let json: Vec<_> = changes.iter().map(|(n, s)| serde_json::json!({"name": n, "state": s})).collect();
            self.event("notification", serde_json::json!({"type": kind, "changes": json}), format!("{kind} {text}"));
        } else {
            let addrs: Vec<(String, Vec<&str>)> = m
                .ip_lists()
                .unwrap_or_default()
                .into_iter()
                .flat_map(|l| l.addrs)
                .map(|a| {
                    let ip = if a.flags & ipaddr_flags::V6 != 0 {
                        IpAddr::from(a.ipv6).to_string()
                    } else {
                        IpAddr::from(a.ipv4).to_string()
                    };
                    (ip, flags(a.flags))
                })
                .collect();
            let text = addrs.iter().map(|(ip, f)| format!("{ip} ({})", f.join("|"))).collect::<Vec<_>>().join(", ");
            let json: Vec<_> = addrs.iter().map(|(ip, f)| serde_json::json!({"ip": ip, "flags": f})).collect();
            self.event("notification", serde_json::json!({"type": kind, "ips": json}), format!("{kind} {text}"));
        }
    }
}

async fn resolve(server: &str, port: u16) -> anyhow::Result<IpAddr> {
    if let Ok(ip) = server.parse() {
        return Ok(ip);
    }
    let mut addrs = tokio::net::lookup_host((server, port)).await.with_context(|| format!("resolving {server}"))?;
    addrs.next().map(|a| a.ip()).with_context(|| format!("{server} has no address"))
}

/// One registration, its notifications until the witness is lost (`Ok(false)`), the count is
/// reached or the user stops (`Ok(true)`).
async fn session(
    w: &WatchArgs,
    creds: &Credentials,
    p: &Printer,
    witness: IpAddr,
    ip: IpAddr,
    v2: bool,
    seen: &mut u64,
) -> Result<bool, RpcFailure> {
    let mut c = connect_witness(witness, w.epm_port, creds).await?;
    let client = crate::config::hostname().to_uppercase();
    let (context, code) = if v2 {
        let flags = if w.no_ip_notification { register_flags::NONE } else { register_flags::IP_NOTIFICATION };
        let req = WitnessrRegisterExRequest {
            version: WITNESS_V2,
            net_name: Some(WString::new(&w.net_name)),
            share_name: w.share.as_deref().map(WString::new),
            ip_address: Some(WString::new(ip.to_string())),
            client_computer_name: Some(WString::new(&client)),
            flags,
            keep_alive_timeout: w.keep_alive,
        };
        let out = c.call(WitnessrRegisterExRequest::OPNUM, &req.to_stub()).await?;
        let r = WitnessrRegisterExResponse::decode_stub(&out, ByteOrder::Little)
            .map_err(|e| RpcFailure::Protocol(format!("{e:?}")))?;
        (r.context, r.result.0)
    } else {
        let req = WitnessrRegisterRequest {
            version: WITNESS_V1,
            net_name: Some(WString::new(&w.net_name)),
            ip_address: Some(WString::new(ip.to_string())),
            client_computer_name: Some(WString::new(&client)),
        };
        let out = c.call(WitnessrRegisterRequest::OPNUM, &req.to_stub()).await?;
        let r = WitnessrRegisterResponse::decode_stub(&out, ByteOrder::Little)
            .map_err(|e| RpcFailure::Protocol(format!("{e:?}")))?;
        (r.context, r.result.0)
    };
    if code != 0 {
        return Err(RpcFailure::Protocol(format!("registration refused with error {code}")));
    }
    p.event(
        "registered",
        serde_json::json!({"witness": witness.to_string(), "ip": ip.to_string(), "version": if v2 { 2 } else { 1 }}),
        format!("registered with the witness on {witness} for {ip} (version {})", if v2 { 2 } else { 1 }),
    );
    loop {
        let out = {
            let stub = WitnessrAsyncNotifyRequest { context }.to_stub();
            let call = c.call(WitnessrAsyncNotifyRequest::OPNUM, &stub);
            tokio::select! {
                r = call => Some(r?),
                _ = tokio::signal::ctrl_c() => None,
            }
        };
        let Some(out) = out else {
            // stopped: unregister (the abandoned notification call's answer is skipped)
            let _ = c.call(WitnessrUnRegisterRequest::OPNUM, &WitnessrUnRegisterRequest { context }.to_stub()).await;
            p.event(
                "unregistered",
                serde_json::json!({"witness": witness.to_string()}),
                format!("unregistered from {witness}"),
            );
            return Ok(true);
        };
        let r = WitnessrAsyncNotifyResponse::decode_stub(&out, ByteOrder::Little)
            .map_err(|e| RpcFailure::Protocol(format!("{e:?}")))?;
        match (r.result.0, r.resp) {
            (0, Some(m)) => {
                p.notification(&m);
                *seen += 1;
                if w.count.is_some_and(|n| *seen >= n) {
                    let _ = c
                        .call(WitnessrUnRegisterRequest::OPNUM, &WitnessrUnRegisterRequest { context }.to_stub())
                        .await;
                    return Ok(true);
                }
            }
            (1460, _) => continue, // ERROR_TIMEOUT: the keep-alive; ask again
            (code, _) => {
                p.event(
                    "registration_ended",
                    serde_json::json!({"error": code}),
                    format!("the witness ended the registration (error {code})"),
                );
                return Ok(false);
            }
        }
    }
}

async fn watch(w: WatchArgs) -> anyhow::Result<()> {
    let creds = Credentials::parse(&w.user).context("-U: [DOMAIN\\]USER%PASSWORD")?;
    let p = Printer { json: w.json };
    let server = resolve(&w.server, w.epm_port).await?;
    let mut seen = 0u64;
    let mut known: Vec<IpAddr> = vec![server];
    let mut delay = Duration::from_millis(200);
    loop {
        // the interface list from any node that answers
        let mut got = None;
        for &host in &known {
            match connect_witness(host, w.epm_port, &creds).await {
                Ok(mut c) => match interfaces(&mut c).await {
                    Ok(list) => {
                        got = Some((host, list));
                        break;
                    }
                    Err(e) => tracing::debug!(%host, error = %e, "interface list"),
                },
                Err(RpcFailure::Bind(e)) => bail!("{host}: the witness refused us: {e}"),
                Err(e) => tracing::debug!(%host, error = %e, "witness connection"),
            }
        }
        let Some((asked, list)) = got else {
            p.event("no_witness", serde_json::json!({}), "no witness answers; retrying".into());
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
            continue;
        };
        known = std::iter::once(asked).chain(list.iter().map(iface_ip)).collect();
        known.dedup();
        let ip = match w.ip {
            Some(ip) => ip,
            None => {
                list.iter().find(|i| i.state == state::AVAILABLE).map(iface_ip).context("no available interface")?
            }
        };
        if !list.iter().any(|i| iface_ip(i) == ip) {
            bail!("{ip} is not one of the witness interfaces of {asked}");
        }
        let Some(witness) = pick_witness(&list, asked, ip) else {
            p.event(
                "no_witness",
                serde_json::json!({"ip": ip.to_string()}),
                format!("no witness interface for {ip}; retrying"),
            );
            tokio::time::sleep(delay).await;
            continue;
        };
        let v2 = !w.v1 && list.iter().any(|i| i.version >= WITNESS_V2);
        match session(&w, &creds, &p, witness, ip, v2, &mut seen).await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(RpcFailure::Bind(e)) => bail!("{witness}: the witness refused us: {e}"),
            Err(e) => p.event(
                "witness_lost",
                serde_json::json!({"witness": witness.to_string(), "error": e.to_string()}),
                format!("lost the witness on {witness}: {e}"),
            ),
        }
        delay = Duration::from_millis(200);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(ip: [u8; 4], witness: bool, available: bool) -> WitnessInterfaceInfo {
        WitnessInterfaceInfo {
            ipv4: ip,
            flags: interface_flags::IPV4_VALID | if witness { interface_flags::INTERFACE_WITNESS } else { 0 },
            state: if available { state::AVAILABLE } else { state::UNAVAILABLE },
            version: WITNESS_V2,
            ..Default::default()
        }
    }

    #[test]
    fn witness_choice() {
        let a: IpAddr = [192, 0, 2, 101].into();
        let b: IpAddr = [192, 0, 2, 102].into();
        let c: IpAddr = [192, 0, 2, 103].into();
        let node: IpAddr = [192, 0, 2, 11].into();
        // asked a node that hosts a: another node's address is the witness
        let list = [
            iface([192, 0, 2, 101], false, true),
            iface([192, 0, 2, 102], true, true),
            iface([192, 0, 2, 103], true, false),
        ];
        assert_eq!(pick_witness(&list, node, a), Some(b));
        // asked a node that does not host b: that node is a witness for b
        assert_eq!(pick_witness(&list, node, b), Some(node));
        // nothing usable but the registered address itself
        let list = [iface([192, 0, 2, 101], false, true), iface([192, 0, 2, 103], true, false)];
        assert_eq!(pick_witness(&list, a, a), None);
        let _ = c;
    }
}
