//! The status page's content (README "Status and metrics"): the cluster as this node serves it
//! (nodes, groups), who is connected (connections, witness registrations) and how the daemon
//! is doing, as a serializable [`Status`] (JSON at `/status`) and as a small HTML page (`/`).
//! Pure: built from a snapshot and lists the caller gathered; [`crate::http`] serves it.

use std::fmt::Write as _;

use nodes::ClusterState;
use serde::Serialize;

use crate::metrics::ConnectionInfo;
use crate::services::witness::registry::RegistrationInfo;

/// A node as the status page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub pnn: u32,
    pub address: String,
    /// `Up`, `Down`, `Paused`, `Joining` or `Unknown`.
    pub state: String,
}

/// A group (role) as the status page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupStatus {
    pub name: String,
    /// The owner node's name (`None`: no node hosts it).
    pub owner: Option<String>,
    /// `Online`, `Offline`, `Failed`, `PartialOnline`, `Pending` or `Unknown`.
    pub state: String,
}

/// Everything on the status page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    pub cluster: String,
    /// The node this daemon serves as.
    pub node: String,
    /// The Windows version presented.
    pub presents: String,
    /// `ctdb` or `simulated`.
    pub backend: String,
    /// Whether the backend reaches its cluster (ctdbd).
    pub backend_available: bool,
    pub daemon_version: String,
    pub uptime_secs: u64,
    pub nodes: Vec<NodeStatus>,
    pub groups: Vec<GroupStatus>,
    /// Open connections to the clusapi and endpoint mapper ports.
    pub connections: Vec<ConnectionInfo>,
    /// SMB Witness registrations this node holds.
    pub witness_registrations: Vec<RegistrationInfo>,
    pub associations: usize,
    pub context_handles: usize,
}

/// What [`build`] needs besides the snapshot.
pub struct Inputs {
    pub backend: &'static str,
    pub backend_available: bool,
    pub uptime_secs: u64,
    pub connections: Vec<ConnectionInfo>,
    pub witness_registrations: Vec<RegistrationInfo>,
    pub associations: usize,
    pub context_handles: usize,
}

/// The status of the cluster in `snap` and of the daemon.
pub fn build(snap: &ClusterState, i: Inputs) -> Status {
    let node_name = |pnn: u32| snap.node_name(pnn).map_or_else(|| format!("pnn {pnn}"), str::to_string);
    Status {
        cluster: snap.cluster.name.clone(),
        node: node_name(snap.cluster.this_pnn),
        presents: snap.cluster.windows_version.product().to_string(),
        backend: i.backend.to_string(),
        backend_available: i.backend_available,
        daemon_version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_secs: i.uptime_secs,
        nodes: snap
            .nodes
            .iter()
            .map(|n| NodeStatus {
                name: n.name.clone(),
                pnn: n.pnn,
                address: n.address.to_string(),
                state: format!("{:?}", n.state),
            })
            .collect(),
        groups: snap
            .groups
            .iter()
            .map(|g| GroupStatus {
                name: g.name.clone(),
                owner: g.owner.map(node_name),
                state: format!("{:?}", g.state),
            })
            .collect(),
        connections: i.connections,
        witness_registrations: i.witness_registrations,
        associations: i.associations,
        context_handles: i.context_handles,
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn table(o: &mut String, title: &str, head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    let _ = write!(o, "<h2>{}</h2>\n<table>\n<tr>", escape(title));
    for h in head {
        let _ = write!(o, "<th>{}</th>", escape(h));
    }
    o.push_str("</tr>\n");
    let mut any = false;
    for row in rows {
        any = true;
        o.push_str("<tr>");
        for cell in row {
            let _ = write!(o, "<td>{}</td>", escape(&cell));
        }
        o.push_str("</tr>\n");
    }
    if !any {
        let _ = writeln!(o, "<tr><td colspan=\"{}\">none</td></tr>", head.len());
    }
    o.push_str("</table>\n");
}

/// The status page (every value escaped; no scripts, no external resources).
pub fn html(s: &Status) -> String {
    let mut o = String::with_capacity(8 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>clusapid: {c}</title>\n<style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:2px 6px;text-align:left}}</style></head>\n<body>\n<h1>{c}</h1>\n<p>Served as node <b>{n}</b>, presenting {p}; backend {b} ({a}); clusapid {v}, up {u} s. <a href=\"/status\">JSON</a> · <a href=\"/metrics\">metrics</a></p>\n",
        c = escape(&s.cluster),
        n = escape(&s.node),
        p = escape(&s.presents),
        b = escape(&s.backend),
        a = if s.backend_available { "reachable" } else { "NOT reachable" },
        v = escape(&s.daemon_version),
        u = s.uptime_secs,
    );
    table(
        &mut o,
        "Nodes",
        &["Node", "pnn", "Address", "State"],
        s.nodes.iter().map(|n| vec![n.name.clone(), n.pnn.to_string(), n.address.clone(), n.state.clone()]),
    );
    table(
        &mut o,
        "Groups",
        &["Group", "Owner", "State"],
        s.groups.iter().map(|g| vec![g.name.clone(), g.owner.clone().unwrap_or_else(|| "-".into()), g.state.clone()]),
    );
    table(
        &mut o,
        "Connections",
        &["Endpoint", "Client", "Local address", "User", "Authentication", "Since", "Calls"],
        s.connections.iter().map(|c| {
            vec![
                c.endpoint.to_string(),
                c.peer.clone(),
                c.local.clone().unwrap_or_default(),
                c.user.clone().unwrap_or_else(|| "-".into()),
                c.auth.clone().unwrap_or_else(|| "-".into()),
                c.since.clone(),
                c.calls.to_string(),
            ]
        }),
    );
    table(
        &mut o,
        "Witness registrations",
        &["Client", "Address", "User", "Registered IP", "File server node", "State", "Since"],
        s.witness_registrations.iter().map(|r| {
            vec![
                r.client_name.clone(),
                r.client_address.clone(),
                r.user.clone(),
                r.ip_address.clone(),
                r.file_server_node.clone().unwrap_or_else(|| "-".into()),
                r.state.clone(),
                r.registered_since.clone(),
            ]
        }),
    );
    let _ = writeln!(
        o,
        "<p>{} association groups, {} context handles.</p>\n</body></html>",
        s.associations, s.context_handles
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodes::{ClusterBackend, SimConfig, SimulatedCluster};

    fn inputs() -> Inputs {
        Inputs {
            backend: "simulated",
            backend_available: true,
            uptime_secs: 5,
            connections: vec![ConnectionInfo {
                endpoint: "clusapi",
                peer: "127.0.0.1:40000".into(),
                local: Some("127.0.0.1:4135".into()),
                since: "2026-12-03T21:42:10Z".into(),
                user: Some("W\\<script>".into()),
                auth: Some("spnego NTLM level 6".into()),
                calls: 3,
            }],
            witness_registrations: Vec::new(),
            associations: 1,
            context_handles: 2,
        }
    }

    #[test]
    fn status_of_a_simulated_cluster() {
        let sim = SimulatedCluster::new(SimConfig::with_nodes(3)).unwrap();
        let snap = sim.snapshot();
        let s = build(&snap, inputs());
        assert_eq!(s.nodes.len(), 3);
        assert_eq!(s.nodes[1].name, "CTDB_NODE_1");
        assert_eq!(s.nodes[1].state, "Up");
        assert!(s.groups.iter().any(|g| g.name == "Cluster Group" && g.state == "Online" && g.owner.is_some()));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["connections"][0]["calls"], 3);
        assert_eq!(json["nodes"][0]["pnn"], 0);
        let page = html(&s);
        assert!(page.contains("<td>CTDB_NODE_2</td>"), "{page}");
        assert!(page.contains("W\\&lt;script&gt;") && !page.contains("<script>"), "values are escaped: {page}");
        assert!(page.contains("<td colspan=\"7\">none</td>"), "an empty table says so");
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    }
}
