//! The one place where CTDB state becomes Windows cluster objects:
//! [`build`] turns a [`RawCluster`] plus the admin [`Overlay`] into a
//! [`ClusterState`]. Every backend calls it, so all of them serve the same
//! shapes. The decisions are listed on [`build`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use crate::ids::{cluster_instance_id, fold_case, names_equal, node_instance_id, object_guid};
pub use crate::model::network_address;
use crate::model::*;
use crate::overlay::Overlay;
use crate::presentation::{DrainStatus, NodeHostName, NodeNaming};
use crate::raw::{CtdbNodeFlags, PublicIp, RawCluster};

/// Prefix length assumed for node (private) addresses, which CTDB's nodes
/// file gives without a mask.
pub const NODE_PREFIX_V4: u8 = 24;
/// IPv6 counterpart of [`NODE_PREFIX_V4`].
pub const NODE_PREFIX_V6: u8 = 64;

/// Windows node name of `pnn`: `CTDB_NODE_<pnn>`.
pub fn node_name(pnn: u32) -> String {
    format!("CTDB_NODE_{pnn}")
}

/// The host name node `pnn` published, unless another node published the same name (two nodes
/// cannot share one; both then keep `CTDB_NODE_<pnn>`).
fn published_host_name(raw: &RawCluster, pnn: u32) -> Option<&NodeHostName> {
    let h = raw.host_names.iter().find(|h| h.pnn == pnn)?;
    let clash = raw.host_names.iter().any(|o| o.pnn != pnn && names_equal(&o.host_name, &h.host_name));
    (!clash).then_some(h)
}

/// `NodeDrainStatus` of node `pnn`: a drain this daemon runs reports its own progress (in
/// progress, or failed); otherwise a node an administrator disabled (`ctdb disable`, which
/// moves its public IPs away) is draining while it still hosts an address and drained once it
/// hosts none; any other node has no drain.
fn drain_status(raw: &RawCluster, pnn: u32, flags: CtdbNodeFlags) -> DrainStatus {
    let hosting = raw.public_ips.iter().any(|p| p.pnn == Some(pnn));
    match raw.drains.iter().find(|d| d.pnn == pnn).map(|d| d.status) {
        Some(s @ (DrainStatus::InProgress | DrainStatus::Failed)) => s,
        _ if flags.contains(CtdbNodeFlags::PERMANENTLY_DISABLED) && hosting => DrainStatus::InProgress,
        _ if flags.contains(CtdbNodeFlags::PERMANENTLY_DISABLED) => DrainStatus::Completed,
        _ => DrainStatus::NotInitiated,
    }
}

/// Windows node id of `pnn`: decimal `pnn + 1`, because Windows node ids start
/// at 1 while CTDB pnns start at 0.
pub fn node_id(pnn: u32) -> String {
    (u64::from(pnn) + 1).to_string()
}

/// The pnn of Windows node id `id` (inverse of [`node_id`]).
pub fn pnn_from_node_id(id: &str) -> Option<u32> {
    let n: u64 = id.trim().parse().ok()?;
    u32::try_from(n.checked_sub(1)?).ok()
}

/// Node state from CTDB flags, first match wins:
///
/// | flags | state | why |
/// |---|---|---|
/// | UNKNOWN marker | Unknown | flags could not be read |
/// | DISCONNECTED, BANNED or STOPPED | Down | the node serves nothing and hosts no IP |
/// | PERMANENTLY_DISABLED | Paused | `ctdb disable` is Windows pause: in the cluster, hosts no roles |
/// | UNHEALTHY during recovery | Joining | a starting ctdbd is UNHEALTHY until its first monitor run, and its arrival triggers a recovery |
/// | UNHEALTHY | Paused | CTDB moves IPs off unhealthy nodes, which is what Paused shows; Windows has no "unhealthy" node state |
/// | none | Up | |
///
/// DELETED nodes are not mapped at all (see [`build`]).
pub fn node_state(flags: CtdbNodeFlags, recovery_mode_active: bool) -> NodeState {
    if flags.contains(CtdbNodeFlags::UNKNOWN) {
        NodeState::Unknown
    } else if flags.intersects(CtdbNodeFlags::DISCONNECTED | CtdbNodeFlags::BANNED | CtdbNodeFlags::STOPPED) {
        NodeState::Down
    } else if flags.contains(CtdbNodeFlags::PERMANENTLY_DISABLED) {
        NodeState::Paused
    } else if flags.contains(CtdbNodeFlags::UNHEALTHY) {
        if recovery_mode_active {
            NodeState::Joining
        } else {
            NodeState::Paused
        }
    } else {
        NodeState::Up
    }
}

/// Dotted IPv4 subnet mask for `prefix_len` (clamped to 32).
pub fn ipv4_mask(prefix_len: u8) -> Ipv4Addr {
    let p = u32::from(prefix_len.min(32));
    Ipv4Addr::from(u32::MAX.checked_shl(32 - p).unwrap_or(0))
}

fn node_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => NODE_PREFIX_V4,
        IpAddr::V6(_) => NODE_PREFIX_V6,
    }
}

/// Sort key giving a total, family-first order on subnets.
fn subnet_key(subnet: IpAddr, prefix: u8) -> (u8, u128, u8) {
    match subnet {
        IpAddr::V4(a) => (4, u128::from(u32::from(a)), prefix),
        IpAddr::V6(a) => (6, u128::from(a), prefix),
    }
}

fn ip_sort_key(addr: IpAddr) -> (u8, u128) {
    let (f, v, _) = subnet_key(addr, 0);
    (f, v)
}

fn find_network(networks: &[Network], addr: IpAddr) -> Option<&Network> {
    networks.iter().find(|n| n.contains(addr))
}

struct Types;

impl Types {
    /// (name, class, subclass, characteristics). Characteristics are our
    /// choice where Windows' values are unverified: only the witness/disk
    /// types claim QUORUM.
    const TABLE: [(&'static str, u32, u32, u32); 14] = [
        (type_names::IP_ADDRESS, resource_class::NETWORK, resource_class::SUBCLASS_SHARED_OR_IP, 0),
        (type_names::NETWORK_NAME, resource_class::NETWORK, 0, 0),
        (type_names::FILE_SERVER, resource_class::USER, 0, 0),
        (type_names::FILE_SHARE, resource_class::USER, 0, 0),
        (
            "Physical Disk",
            resource_class::STORAGE,
            resource_class::SUBCLASS_SHARED_OR_IP,
            characteristics::QUORUM | characteristics::DELETE_REQUIRES_ALL_NODES,
        ),
        ("Storage Pool", resource_class::STORAGE, 0, 0),
        ("Generic Service", resource_class::USER, 0, 0),
        ("Generic Application", resource_class::USER, 0, 0),
        ("Generic Script", resource_class::USER, 0, 0),
        (type_names::IPV6_ADDRESS, resource_class::NETWORK, resource_class::SUBCLASS_SHARED_OR_IP, 0),
        ("File Share Witness", resource_class::USER, 0, characteristics::QUORUM),
        ("Distributed Network Name", resource_class::NETWORK, 0, 0),
        ("Scale Out File Server", resource_class::USER, 0, 0),
        ("Cloud Witness", resource_class::USER, 0, characteristics::QUORUM),
    ];
}

/// The resource types every cluster offers (all served by `clusres.dll`).
pub fn resource_types(possible_nodes: &[u32]) -> Vec<ResourceType> {
    Types::TABLE
        .iter()
        .map(|&(name, class, subclass, chars)| ResourceType {
            name: name.into(),
            display_name: name.into(),
            dll_name: "clusres.dll".into(),
            possible_nodes: possible_nodes.to_vec(),
            resource_class: class,
            resource_subclass: subclass,
            characteristics: chars,
        })
        .collect()
}

/// Group state from its resources: any Failed → Failed; any pending or
/// initializing → Pending; all Online/Inherited → Online; all Offline →
/// Offline; all Unknown → Unknown; else PartialOnline. `None` for no resources.
pub fn aggregate_group_state(states: &[ResourceState]) -> Option<GroupState> {
    use ResourceState as R;
    if states.is_empty() {
        return None;
    }
    let all = |f: &dyn Fn(R) -> bool| states.iter().all(|&s| f(s));
    let any = |f: &dyn Fn(R) -> bool| states.iter().any(|&s| f(s));
    Some(if any(&|s| s == R::Failed) {
        GroupState::Failed
    } else if any(&|s| matches!(s, R::Pending | R::OnlinePending | R::OfflinePending | R::Initializing)) {
        GroupState::Pending
    } else if all(&|s| matches!(s, R::Online | R::Inherited)) {
        GroupState::Online
    } else if all(&|s| s == R::Offline) {
        GroupState::Offline
    } else if all(&|s| s == R::Unknown) {
        GroupState::Unknown
    } else {
        GroupState::PartialOnline
    })
}

/// Private properties of an address resource.
fn ip_props(addr: IpAddr, prefix_len: u8, network: &str) -> Vec<(String, PropValue)> {
    match addr {
        IpAddr::V4(_) => vec![
            ("Network".into(), PropValue::Sz(network.into())),
            ("Address".into(), PropValue::Sz(addr.to_string())),
            ("SubnetMask".into(), PropValue::Sz(ipv4_mask(prefix_len).to_string())),
            ("EnableDhcp".into(), PropValue::Dword(0)),
        ],
        IpAddr::V6(_) => vec![
            ("Network".into(), PropValue::Sz(network.into())),
            ("Address".into(), PropValue::Sz(addr.to_string())),
            ("PrefixLength".into(), PropValue::Dword(u32::from(prefix_len))),
        ],
    }
}

/// The private properties of a Network Name resource answering to `name`: Name and DnsName.
fn network_name_props(name: &str) -> Vec<(String, PropValue)> {
    vec![("Name".into(), PropValue::Sz(name.into())), ("DnsName".into(), PropValue::Sz(name.into()))]
}

fn ip_type(addr: IpAddr) -> &'static str {
    match addr {
        IpAddr::V4(_) => type_names::IP_ADDRESS,
        IpAddr::V6(_) => type_names::IPV6_ADDRESS,
    }
}

/// Builds the Windows model. Decisions:
///
/// * **Nodes**: DELETED nodes are left out; the rest become `CTDB_NODE_<pnn>`
///   with id `pnn + 1` and the state from [`node_state`].
/// * **Networks**: one per distinct public-IP subnet (role ClientAccess),
///   sorted by address, then one per distinct node-address subnet (assumed
///   /24 or /64) not already listed (role InternalUse: CTDB's private
///   traffic); a public subnet that also holds node addresses is
///   InternalAndClient. Named "Cluster Network N" in that order.
/// * **Network interfaces**: one per (node, CTDB interface); its network is
///   the subnet of the first public IP (by address) that may use the interface,
///   else the node-address network; its address is the node's address.
///   State: node Unknown → Unknown, node Down → Unavailable, link down →
///   Failed, else Up.
/// * **Network state**: from its interfaces on nodes that are not Down/Unknown:
///   all Up → Up, some → Partitioned, none → Down; with no interfaces at all,
///   a node-address network follows node connectivity the same way and any
///   other network is Unavailable.
/// * **Cluster Group** (type 1, CORE): "Cluster Name" (Network Name, no
///   dependencies, Online while any node is Up) and "Cluster IP Address" (the
///   lowest public IP, else the leader's node address; depends on Cluster
///   Name). Owner: the node hosting that IP, else the leader.
/// * **Per public IP** (sorted by address): group `Public IP <addr>` of type
///   Unknown (9999, a generic role) with resource `IP Address <addr>` (type
///   "IP Address", or "IPv6 Address" for v6) depending on "Cluster Name" so
///   every resource has a Network Name in its dependency chain. Owner = the
///   hosting node; Online if hosted, Offline if unassigned. Possible owners:
///   nodes having one of the IP's interfaces (all nodes if none do).
/// * **File Server** role (type 100): "File Server" resource (depends on
///   Cluster Name) and one `File Share <share>` (type "File Share", depends on
///   File Server) per Samba share; owner = the leader; Online while any node
///   is Up.
/// * **Created** groups (type 9999, owner = chosen or leader) and resources
///   (owner = their group's; Offline until brought online) come from the
///   overlay; a resource whose group is gone is not shown.
/// * **Overlay**: names (groups, resources, networks), descriptions and private
///   property overrides apply to any object; created groups keep their preferred
///   owners and created resources their possible owners (nodes that no longer
///   exist are dropped); resource state overrides apply on top of the derived state
///   (an Online override never raises a derived resource CTDB reports
///   offline). Group state is [`aggregate_group_state`] of its resources; an
///   empty group uses its override, else Offline.
/// * **Ids**: GUIDs from [`object_guid`] over the instance id and a natural
///   key, so they survive renames, restarts and moves.
pub fn build(raw: &RawCluster, overlay: &Overlay) -> ClusterState {
    let instance_id = cluster_instance_id(&raw.cluster_name);
    let guid = |kind: &str, key: &str| object_guid(&instance_id, kind, key);
    let describe = |id: &str| overlay.descriptions.get(id).cloned().unwrap_or_default();

    // ---- nodes ----
    let mut raw_nodes: Vec<_> = raw.nodes.iter().filter(|n| !n.flags.contains(CtdbNodeFlags::DELETED)).collect();
    raw_nodes.sort_by_key(|n| n.pnn);
    raw_nodes.dedup_by_key(|n| n.pnn);
    let nodes: Vec<Node> = raw_nodes
        .iter()
        .map(|n| {
            let id = node_id(n.pnn);
            let host = published_host_name(raw, n.pnn);
            Node {
                pnn: n.pnn,
                name: match (raw.node_naming, host) {
                    (NodeNaming::Hostname, Some(h)) => h.host_name.clone(),
                    _ => node_name(n.pnn),
                },
                address: n.address,
                state: node_state(n.flags, raw.recovery_mode_active),
                flags: n.flags,
                instance_id: node_instance_id(n.pnn.saturating_add(1)),
                description: describe(&id),
                id,
                fqdn: host.map(|h| h.fqdn.clone()),
                drain_status: drain_status(raw, n.pnn, n.flags),
                drain_target: raw.drains.iter().find(|d| d.pnn == n.pnn).and_then(|d| d.target),
            }
        })
        .collect();
    let all_pnns: Vec<u32> = nodes.iter().map(|n| n.pnn).collect();
    let node_state_of = |pnn: u32| nodes.iter().find(|n| n.pnn == pnn).map(|n| n.state);
    let any_up = nodes.iter().any(|n| n.state == NodeState::Up);
    let leader = raw.leader.filter(|l| all_pnns.contains(l));

    // ---- public IPs, sorted by address ----
    let mut ips: Vec<&PublicIp> = raw.public_ips.iter().collect();
    ips.sort_by_key(|p| ip_sort_key(p.addr));
    ips.dedup_by_key(|p| p.addr);

    // ---- networks ----
    let mut public_nets: BTreeSet<(u8, u128, u8)> = BTreeSet::new();
    let mut public_list: Vec<(IpAddr, u8)> = Vec::new();
    for p in &ips {
        if let Some(net) = network_address(p.addr, p.prefix_len) {
            if public_nets.insert(subnet_key(net, p.prefix_len)) {
                public_list.push((net, p.prefix_len));
            }
        }
    }
    public_list.sort_by_key(|&(n, p)| subnet_key(n, p));
    let mut node_list: Vec<(IpAddr, u8)> = Vec::new();
    for n in &nodes {
        let p = node_prefix(n.address);
        if let Some(net) = network_address(n.address, p) {
            if !node_list.contains(&(net, p)) {
                node_list.push((net, p));
            }
        }
    }
    node_list.sort_by_key(|&(n, p)| subnet_key(n, p));
    let mut networks: Vec<Network> = Vec::new();
    let push_net = |networks: &mut Vec<Network>, subnet: IpAddr, prefix: u8, role: NetworkRole| {
        let id = guid("network", &format!("{subnet}/{prefix}"));
        networks.push(Network {
            name: format!("Cluster Network {}", networks.len() + 1),
            description: describe(&id),
            id,
            subnet,
            prefix_len: prefix,
            address: subnet.to_string(),
            address_mask: match subnet {
                IpAddr::V4(_) => ipv4_mask(prefix).to_string(),
                IpAddr::V6(_) => prefix.to_string(),
            },
            role,
            state: NetworkState::Unavailable,
        });
    };
    for &(subnet, prefix) in &public_list {
        let role = if nodes.iter().any(|n| network_address(n.address, prefix) == Some(subnet)) {
            NetworkRole::InternalAndClient
        } else {
            NetworkRole::ClientAccess
        };
        push_net(&mut networks, subnet, prefix, role);
    }
    for &(subnet, prefix) in &node_list {
        if !networks.iter().any(|n| n.contains(subnet)) {
            push_net(&mut networks, subnet, prefix, NetworkRole::InternalUse);
        }
    }
    // Renamed networks (ApiSetNetworkName) keep their id; a name already taken (the
    // default name of another network) is left as derived.
    for i in 0..networks.len() {
        if let Some(n) = overlay.names.get(&networks[i].id) {
            if !networks.iter().enumerate().any(|(j, o)| j != i && names_equal(&o.name, n)) {
                networks[i].name = n.clone();
            }
        }
    }

    // ---- network interfaces ----
    let mut raw_ifaces: Vec<_> = raw.interfaces.iter().filter(|(pnn, _)| all_pnns.contains(pnn)).collect();
    raw_ifaces.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
    raw_ifaces.dedup_by(|a, b| a.0 == b.0 && a.1.name == b.1.name);
    let mut net_interfaces: Vec<NetInterface> = Vec::new();
    for (pnn, iface) in raw_ifaces {
        let Some(node) = nodes.iter().find(|n| n.pnn == *pnn) else {
            continue;
        };
        let net = ips
            .iter()
            .find(|p| p.interfaces.iter().any(|i| i == &iface.name))
            .and_then(|p| find_network(&networks, p.addr))
            .or_else(|| find_network(&networks, node.address));
        let Some(net) = net else { continue };
        let state = match node.state {
            NodeState::Unknown => NetInterfaceState::Unknown,
            NodeState::Down => NetInterfaceState::Unavailable,
            _ if !iface.link_up => NetInterfaceState::Failed,
            _ => NetInterfaceState::Up,
        };
        let id = guid("netinterface", &format!("{pnn}:{}", iface.name));
        net_interfaces.push(NetInterface {
            name: format!("{} - {}", node.name, iface.name),
            description: describe(&id),
            id,
            node_pnn: *pnn,
            network_id: net.id.clone(),
            adapter_name: iface.name.clone(),
            address: node.address,
            state,
        });
    }
    for net in &mut networks {
        let on_net: Vec<_> = net_interfaces.iter().filter(|i| i.network_id == net.id).collect();
        let counted: Vec<bool> = if on_net.is_empty() {
            nodes
                .iter()
                .filter(|n| network_address(n.address, net.prefix_len) == Some(net.subnet))
                .filter(|n| n.state != NodeState::Unknown)
                .map(|n| !n.flags.contains(CtdbNodeFlags::DISCONNECTED))
                .collect()
        } else {
            on_net
                .iter()
                .filter(|i| !matches!(i.state, NetInterfaceState::Unavailable | NetInterfaceState::Unknown))
                .map(|i| i.state == NetInterfaceState::Up)
                .collect()
        };
        let no_members =
            on_net.is_empty() && !nodes.iter().any(|n| network_address(n.address, net.prefix_len) == Some(net.subnet));
        net.state = if no_members {
            NetworkState::Unavailable
        } else if !counted.is_empty() && counted.iter().all(|&u| u) {
            NetworkState::Up
        } else if counted.iter().any(|&u| u) {
            NetworkState::Partitioned
        } else {
            NetworkState::Down
        };
    }
    let network_name_for = |addr: IpAddr| find_network(&networks, addr).map(|n| n.name.clone()).unwrap_or_default();

    // ---- groups and resources ----
    let mut groups: Vec<Group> = Vec::new();
    let mut resources: Vec<Resource> = Vec::new();
    let online_if = |b: bool| {
        if b {
            ResourceState::Online
        } else {
            ResourceState::Offline
        }
    };
    // interface names by node, once (not once per address: 64 nodes x 1,000 addresses)
    let mut ifaces_of: HashMap<u32, Vec<&str>> = HashMap::new();
    for (q, i) in &raw.interfaces {
        ifaces_of.entry(*q).or_default().push(i.name.as_str());
    }
    // and the owners once per distinct interface list (usually one list for every address),
    // not once per address: the string comparisons were a fifth of an event's cost at 64 x 1,000
    let mut owners_by_ifaces: HashMap<Vec<String>, Vec<u32>> = HashMap::new();
    let mut ip_possible_owners = |p: &PublicIp| -> Vec<u32> {
        if let Some(v) = owners_by_ifaces.get(p.interfaces.as_slice()) {
            return v.clone();
        }
        let mut v: Vec<u32> = all_pnns
            .iter()
            .copied()
            .filter(|pnn| {
                ifaces_of.get(pnn).is_some_and(|names| names.iter().any(|n| p.interfaces.iter().any(|i| i == n)))
            })
            .collect();
        if v.is_empty() {
            v = all_pnns.clone();
        }
        owners_by_ifaces.insert(p.interfaces.clone(), v.clone());
        v
    };

    // Cluster Group
    let cluster_group_id = guid("group", "cluster");
    let cluster_name_id = guid("resource", "cluster-name");
    let cluster_ip_id = guid("resource", "cluster-ip");
    let cluster_ip = match ips.first() {
        Some(p) => Some((p.addr, p.prefix_len, p.pnn, online_if(p.pnn.is_some()), ip_possible_owners(p))),
        None => {
            leader.or_else(|| all_pnns.first().copied()).and_then(|pnn| nodes.iter().find(|n| n.pnn == pnn)).map(|n| {
                let usable = Some(n.pnn) == leader && !matches!(n.state, NodeState::Down | NodeState::Unknown);
                (n.address, node_prefix(n.address), leader, online_if(usable), all_pnns.clone())
            })
        }
    };
    let cluster_owner = cluster_ip.as_ref().and_then(|c| c.2).or(leader);
    resources.push(Resource {
        name: names::CLUSTER_NAME.into(),
        id: cluster_name_id.clone(),
        kind: ResourceKind::ClusterName,
        type_name: type_names::NETWORK_NAME.into(),
        group_id: cluster_group_id.clone(),
        owner: cluster_owner,
        state: online_if(any_up),
        dependencies: Vec::new(),
        possible_owners: all_pnns.clone(),
        private_props: network_name_props(&raw.cluster_name),
        flags: clus_flags::CORE,
        description: String::new(),
    });
    let mut cluster_group_resources = vec![cluster_name_id.clone()];
    if let Some((addr, prefix, _, state, possible)) = cluster_ip {
        resources.push(Resource {
            name: names::CLUSTER_IP_ADDRESS.into(),
            id: cluster_ip_id.clone(),
            kind: ResourceKind::ClusterIp,
            type_name: ip_type(addr).into(),
            group_id: cluster_group_id.clone(),
            owner: cluster_owner,
            state,
            dependencies: vec![cluster_name_id.clone()],
            possible_owners: possible,
            private_props: ip_props(addr, prefix, &network_name_for(addr)),
            flags: clus_flags::CORE,
            description: String::new(),
        });
        cluster_group_resources.push(cluster_ip_id);
    }
    groups.push(Group {
        name: names::CLUSTER_GROUP.into(),
        id: cluster_group_id,
        kind: GroupKind::Cluster,
        owner: cluster_owner,
        state: GroupState::Unknown,
        group_type: group_type::CLUSTER,
        flags: clus_flags::CORE,
        preferred_owners: all_pnns.clone(),
        resource_ids: cluster_group_resources,
        description: String::new(),
    });

    // One group per public IP
    for p in &ips {
        let key = p.addr.to_string();
        let gid = guid("group", &format!("ip:{key}"));
        let rid = guid("resource", &format!("ip:{key}"));
        let possible = ip_possible_owners(p);
        resources.push(Resource {
            name: format!("IP Address {key}"),
            id: rid.clone(),
            kind: ResourceKind::PublicIp(p.addr),
            type_name: ip_type(p.addr).into(),
            group_id: gid.clone(),
            owner: p.pnn,
            state: online_if(p.pnn.is_some()),
            dependencies: vec![cluster_name_id.clone()],
            possible_owners: possible.clone(),
            private_props: ip_props(p.addr, p.prefix_len, &network_name_for(p.addr)),
            flags: 0,
            description: String::new(),
        });
        groups.push(Group {
            name: format!("Public IP {key}"),
            id: gid,
            kind: GroupKind::PublicIp(p.addr),
            owner: p.pnn,
            state: GroupState::Unknown,
            group_type: group_type::UNKNOWN,
            flags: 0,
            preferred_owners: possible,
            resource_ids: vec![rid],
            description: String::new(),
        });
    }

    // File Server role: its network name (the SMB server's name), the File Server, the shares
    let fs_gid = guid("group", "file-server");
    let fs_rid = guid("resource", "file-server");
    let fs_name_id = guid("resource", "file-server-name");
    resources.push(Resource {
        name: raw.cluster_name.clone(),
        id: fs_name_id.clone(),
        kind: ResourceKind::FileServerName,
        type_name: type_names::NETWORK_NAME.into(),
        group_id: fs_gid.clone(),
        owner: leader,
        state: online_if(any_up),
        dependencies: Vec::new(),
        possible_owners: all_pnns.clone(),
        private_props: network_name_props(&raw.cluster_name),
        flags: 0,
        description: String::new(),
    });
    let mut fs_resources = vec![fs_name_id.clone(), fs_rid.clone()];
    resources.push(Resource {
        name: names::FILE_SERVER_RESOURCE.into(),
        id: fs_rid.clone(),
        kind: ResourceKind::FileServer,
        type_name: type_names::FILE_SERVER.into(),
        group_id: fs_gid.clone(),
        owner: leader,
        state: online_if(any_up),
        dependencies: vec![fs_name_id.clone()],
        possible_owners: all_pnns.clone(),
        private_props: Vec::new(),
        flags: 0,
        description: String::new(),
    });
    let mut seen_shares: Vec<String> = Vec::new();
    for share in &raw.shares {
        let folded = fold_case(&share.name);
        if seen_shares.contains(&folded) {
            continue;
        }
        let rid = guid("resource", &format!("share:{folded}"));
        seen_shares.push(folded);
        resources.push(Resource {
            name: format!("File Share {}", share.name),
            id: rid.clone(),
            kind: ResourceKind::Share(share.name.clone()),
            type_name: type_names::FILE_SHARE.into(),
            group_id: fs_gid.clone(),
            owner: leader,
            state: online_if(any_up),
            dependencies: vec![fs_rid.clone()],
            possible_owners: all_pnns.clone(),
            private_props: vec![
                ("ShareName".into(), PropValue::Sz(share.name.clone())),
                ("ServerName".into(), PropValue::Sz(raw.cluster_name.clone())),
                ("Path".into(), PropValue::Sz(share.path.clone())),
                ("Remark".into(), PropValue::Sz(share.comment.clone())),
                // Samba's `max connections` is per node and 0 means unlimited: the
                // File Share resource's "no limit" value
                ("MaxUsers".into(), PropValue::Dword(u32::MAX)),
            ],
            flags: 0,
            description: String::new(),
        });
        fs_resources.push(rid);
    }
    groups.push(Group {
        name: names::FILE_SERVER_GROUP.into(),
        id: fs_gid,
        kind: GroupKind::FileServer,
        owner: leader,
        state: GroupState::Unknown,
        group_type: group_type::FILE_SERVER,
        flags: 0,
        preferred_owners: all_pnns.clone(),
        resource_ids: fs_resources,
        description: String::new(),
    });

    // Created groups and resources
    for cg in &overlay.groups {
        let owner = cg.owner.filter(|o| all_pnns.contains(o)).or(leader);
        groups.push(Group {
            name: cg.name.clone(),
            id: cg.id.clone(),
            kind: GroupKind::Created,
            owner,
            state: GroupState::Unknown,
            group_type: group_type::UNKNOWN,
            flags: 0,
            preferred_owners: cg
                .preferred_owners
                .as_ref()
                .map(|p| p.iter().copied().filter(|o| all_pnns.contains(o)).collect())
                .unwrap_or_else(|| all_pnns.clone()),
            resource_ids: Vec::new(),
            description: String::new(),
        });
    }
    for cr in &overlay.resources {
        let Some(g) = groups.iter_mut().find(|g| g.id == cr.group_id) else {
            continue;
        };
        g.resource_ids.push(cr.id.clone());
        let private_props = if names_equal(&cr.type_name, type_names::NETWORK_NAME) {
            vec![("Name".into(), PropValue::Sz(cr.name.clone()))]
        } else {
            Vec::new()
        };
        resources.push(Resource {
            name: cr.name.clone(),
            id: cr.id.clone(),
            kind: ResourceKind::Created,
            type_name: cr.type_name.clone(),
            group_id: g.id.clone(),
            owner: g.owner,
            state: ResourceState::Offline,
            dependencies: cr.dependencies.clone(),
            possible_owners: cr
                .possible_owners
                .as_ref()
                .map(|p| p.iter().copied().filter(|o| all_pnns.contains(o)).collect())
                .unwrap_or_else(|| all_pnns.clone()),
            private_props,
            flags: 0,
            description: String::new(),
        });
    }
    let known_ids: HashSet<String> = resources.iter().map(|r| r.id.clone()).collect();

    // Overlay on resources
    for r in &mut resources {
        r.dependencies.retain(|d| known_ids.contains(d));
        if let Some(n) = overlay.names.get(&r.id) {
            r.name = n.clone();
        }
        r.description = describe(&r.id);
        if let Some(props) = overlay.private_props.get(&r.id) {
            for e in props {
                match r.private_props.iter_mut().find(|(n, _)| names_equal(n, &e.name)) {
                    Some(slot) => slot.1 = e.value.clone(),
                    None => r.private_props.push((e.name.clone(), e.value.clone())),
                }
            }
        }
        match overlay.resource_states.get(&r.id) {
            Some(ResourceState::Online) if !r.is_created() => {}
            Some(&s) => r.state = s,
            None => {}
        }
    }

    // Overlay on groups, owners, then aggregate states (resources looked up by id through an
    // index: the first of equal ids, as a search would find)
    let mut by_id: HashMap<String, usize> = HashMap::with_capacity(resources.len());
    for (i, r) in resources.iter().enumerate() {
        by_id.entry(r.id.clone()).or_insert(i);
    }
    for g in &mut groups {
        // An owner that is not a (non-deleted) node becomes None.
        g.owner = g.owner.filter(|&o| node_state_of(o).is_some());
        for rid in &g.resource_ids {
            if let Some(&i) = by_id.get(rid) {
                resources[i].owner = g.owner;
            }
        }
        if let Some(n) = overlay.names.get(&g.id) {
            g.name = n.clone();
        }
        g.description = describe(&g.id);
        let states: Vec<ResourceState> =
            g.resource_ids.iter().filter_map(|id| by_id.get(id)).map(|&i| resources[i].state).collect();
        g.state = aggregate_group_state(&states)
            .unwrap_or_else(|| overlay.group_states.get(&g.id).copied().unwrap_or(GroupState::Offline));
    }

    ClusterState {
        cluster: ClusterInfo {
            name: raw.cluster_name.clone(),
            instance_id: instance_id.clone(),
            this_pnn: raw.this_pnn,
            leader,
            generation: raw.generation,
            recovery_mode_active: raw.recovery_mode_active,
            windows_version: raw.windows_version,
        },
        resource_types: resource_types(&all_pnns),
        nodes,
        groups,
        resources,
        networks,
        net_interfaces,
        public_ips: ips.into_iter().cloned().collect(),
        shares: raw.shares.iter().map(|s| s.name.clone()).collect(),
        admin_props: overlay
            .admin_props
            .iter()
            .map(|(k, v)| {
                let list = v.iter().map(|e| (e.name.clone(), e.value.clone())).collect();
                (k.clone(), list)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
