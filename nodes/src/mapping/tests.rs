//! Mapping tests from hand-written CTDB inputs. Addresses are from the
//! documentation ranges; nothing here touches the network.

use std::net::IpAddr;

use super::*;
use crate::conformance::check_invariants;
use crate::events::{diff, ClusterEvent};
use crate::overlay::{Overlay, ResourceRequest};
use crate::raw::{CtdbInterface, CtdbNodeInfo, Share};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn node(pnn: u32, flags: CtdbNodeFlags) -> CtdbNodeInfo {
    CtdbNodeInfo { pnn, address: ip(&format!("203.0.113.{}", pnn + 1)), flags }
}

fn iface(name: &str, up: bool) -> CtdbInterface {
    CtdbInterface { name: name.into(), link_up: up, references: 0 }
}

fn pip(addr: &str, prefix: u8, pnn: Option<u32>) -> PublicIp {
    PublicIp { addr: ip(addr), prefix_len: prefix, pnn, interfaces: vec!["eth1".into()] }
}

/// Three nodes, two public subnets, shares "data" and "home".
fn raw3() -> RawCluster {
    RawCluster {
        cluster_name: "SAMBA-CL".into(),
        this_pnn: 1,
        leader: Some(0),
        generation: 5,
        recovery_mode_active: false,
        nodes: vec![node(0, CtdbNodeFlags::OK), node(1, CtdbNodeFlags::OK), node(2, CtdbNodeFlags::OK)],
        public_ips: vec![
            pip("198.51.100.10", 24, None),
            pip("192.0.2.11", 24, Some(1)),
            pip("192.0.2.10", 24, Some(0)),
        ],
        interfaces: vec![(0, iface("eth1", true)), (1, iface("eth1", true)), (2, iface("eth1", true))],
        shares: vec![Share::named("data"), Share::named("home")],
        ..RawCluster::default()
    }
}

fn build0(raw: &RawCluster) -> ClusterState {
    let s = build(raw, &Overlay::default());
    check_invariants(&s);
    s
}

#[test]
fn flags_to_node_state_table() {
    use CtdbNodeFlags as F;
    let table: &[(CtdbNodeFlags, bool, NodeState)] = &[
        (F::OK, false, NodeState::Up),
        (F::OK, true, NodeState::Up),
        (F::DISCONNECTED, false, NodeState::Down),
        (F::BANNED, false, NodeState::Down),
        (F::STOPPED, false, NodeState::Down),
        (F::STOPPED | F::PERMANENTLY_DISABLED, false, NodeState::Down),
        (F::DISCONNECTED | F::UNHEALTHY, true, NodeState::Down),
        (F::PERMANENTLY_DISABLED, false, NodeState::Paused),
        (F::PERMANENTLY_DISABLED, true, NodeState::Paused),
        (F::PERMANENTLY_DISABLED | F::UNHEALTHY, true, NodeState::Paused),
        (F::UNHEALTHY, false, NodeState::Paused),
        (F::UNHEALTHY, true, NodeState::Joining),
        (F::UNKNOWN, false, NodeState::Unknown),
        (F::UNKNOWN | F::DISCONNECTED, false, NodeState::Unknown),
    ];
    for &(flags, recovery, want) in table {
        assert_eq!(node_state(flags, recovery), want, "{flags:?} recovery={recovery}");
    }
}

#[test]
fn nodes_are_named_and_numbered_from_one() {
    let mut raw = raw3();
    raw.nodes[2].flags = CtdbNodeFlags::DELETED;
    raw.nodes[1].flags = CtdbNodeFlags::BANNED;
    let s = build0(&raw);
    assert_eq!(s.nodes.len(), 2, "deleted node left out");
    let n1 = s.node_by_pnn(1).unwrap();
    assert_eq!((n1.name.as_str(), n1.id.as_str()), ("CTDB_NODE_1", "2"));
    assert_eq!(n1.state, NodeState::Down);
    assert_eq!(n1.flags, CtdbNodeFlags::BANNED, "raw flags kept");
    assert_eq!(n1.instance_id, "00000000-0000-0000-0000-000000000002");
    assert_eq!(s.node_by_id("1").unwrap().pnn, 0);
    assert_eq!(pnn_from_node_id("1"), Some(0));
    assert_eq!(pnn_from_node_id("0"), None);
    assert_eq!(node_id(u32::MAX), "4294967296");
}

#[test]
fn one_group_and_ip_resource_per_public_ip() {
    let s = build0(&raw3());
    let cn = s.cluster_name_resource().unwrap().id.clone();
    for (addr, host) in [("192.0.2.10", Some(0)), ("192.0.2.11", Some(1)), ("198.51.100.10", None)] {
        let g = s.group_for_ip(ip(addr)).unwrap();
        assert_eq!(g.name, format!("Public IP {addr}"));
        assert_eq!(g.group_type, group_type::UNKNOWN);
        assert_eq!(g.owner, host);
        assert_eq!(g.resource_ids.len(), 1);
        let r = s.resource_by_id(&g.resource_ids[0]).unwrap();
        assert_eq!(r.name, format!("IP Address {addr}"));
        assert_eq!(r.type_name, "IP Address");
        assert_eq!(r.owner, host);
        let want = if host.is_some() { ResourceState::Online } else { ResourceState::Offline };
        assert_eq!(r.state, want);
        assert_eq!(g.state, if host.is_some() { GroupState::Online } else { GroupState::Offline });
        assert_eq!(r.dependencies, vec![cn.clone()], "IP depends on the cluster Network Name");
        assert_eq!(r.private_prop("address"), Some(&PropValue::Sz(addr.into())));
        assert_eq!(r.private_prop("SubnetMask"), Some(&PropValue::Sz("255.255.255.0".into())));
        assert_eq!(r.private_prop("EnableDhcp"), Some(&PropValue::Dword(0)));
        assert_eq!(s.resource_network_name(&r.id).as_deref(), Some("SAMBA-CL"));
    }
    let net = |a: &str| {
        s.group_for_ip(ip(a))
            .and_then(|g| s.resource_by_id(&g.resource_ids[0]))
            .unwrap()
            .private_prop("Network")
            .cloned()
    };
    assert_eq!(net("192.0.2.10"), Some(PropValue::Sz("Cluster Network 1".into())));
    assert_eq!(net("198.51.100.10"), Some(PropValue::Sz("Cluster Network 2".into())));
}

#[test]
fn cluster_group() {
    let s = build0(&raw3());
    let g = s.find_group_by_name("cluster group").unwrap();
    assert_eq!(g.group_type, group_type::CLUSTER);
    assert_eq!(g.flags, clus_flags::CORE);
    assert_eq!(g.owner, Some(0), "owner = host of the lowest public IP");
    assert_eq!(g.state, GroupState::Online);
    let names: Vec<&str> = s.resources_in_group(&g.id).map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Cluster Name", "Cluster IP Address"]);
    let cn = s.find_resource_by_name("CLUSTER NAME").unwrap();
    assert_eq!(cn.type_name, "Network Name");
    assert!(cn.dependencies.is_empty());
    assert_eq!(cn.private_prop("Name"), Some(&PropValue::Sz("SAMBA-CL".into())));
    assert_eq!(cn.flags, clus_flags::CORE);
    let cip = s.find_resource_by_name("Cluster IP Address").unwrap();
    assert_eq!(cip.private_prop("Address"), Some(&PropValue::Sz("192.0.2.10".into())));
    assert_eq!(cip.dependencies, vec![cn.id.clone()]);
    assert_eq!(s.resource_network_name(&cip.id).as_deref(), Some("SAMBA-CL"));
}

#[test]
fn cluster_group_without_public_ips_uses_the_leader() {
    let mut raw = raw3();
    raw.public_ips.clear();
    raw.leader = Some(2);
    let s = build0(&raw);
    let g = s.cluster_group().unwrap();
    assert_eq!(g.owner, Some(2));
    let cip = s.find_resource_by_name("Cluster IP Address").unwrap();
    assert_eq!(cip.private_prop("Address"), Some(&PropValue::Sz("203.0.113.3".into())));
    assert_eq!(cip.state, ResourceState::Online);
    assert_eq!(cip.private_prop("Network"), Some(&PropValue::Sz("Cluster Network 1".into())));
    assert_eq!(s.groups.iter().filter(|g| matches!(g.kind, GroupKind::PublicIp(_))).count(), 0);
}

#[test]
fn file_server_role() {
    let s = build0(&raw3());
    let g = s.find_group_by_name("File Server").unwrap();
    assert_eq!(g.group_type, group_type::FILE_SERVER);
    assert_eq!(g.owner, Some(0));
    assert_eq!(g.state, GroupState::Online);
    let rs: Vec<_> = s.resources_in_group(&g.id).collect();
    assert_eq!(rs.len(), 4);
    // the role's client access point: a Network Name named like the SMB server
    assert_eq!((rs[0].name.as_str(), rs[0].type_name.as_str()), ("SAMBA-CL", "Network Name"));
    assert_eq!(rs[0].private_prop("Name"), Some(&PropValue::Sz("SAMBA-CL".into())));
    assert_eq!(rs[1].type_name, "File Server");
    assert_eq!(rs[1].dependencies, vec![rs[0].id.clone()]);
    assert_eq!(rs[2].name, "File Share data");
    assert_eq!(rs[2].type_name, "File Share");
    assert_eq!(rs[2].dependencies, vec![rs[1].id.clone()]);
    assert_eq!(rs[3].private_prop("ShareName"), Some(&PropValue::Sz("home".into())));
    assert_eq!(s.resource_network_name(&rs[3].id).as_deref(), Some("SAMBA-CL"));

    let mut raw = raw3();
    for n in &mut raw.nodes {
        n.flags = CtdbNodeFlags::DISCONNECTED;
    }
    raw.leader = None;
    let s = build0(&raw);
    let g = s.find_group_by_name("File Server").unwrap();
    assert_eq!(g.state, GroupState::Offline);
    assert_eq!(g.owner, None);
}

#[test]
fn networks_from_subnets() {
    let s = build0(&raw3());
    let summary: Vec<(String, String, String, NetworkRole)> =
        s.networks.iter().map(|n| (n.name.clone(), n.address.clone(), n.address_mask.clone(), n.role)).collect();
    assert_eq!(
        summary,
        [
            ("Cluster Network 1".into(), "192.0.2.0".into(), "255.255.255.0".into(), NetworkRole::ClientAccess),
            ("Cluster Network 2".into(), "198.51.100.0".into(), "255.255.255.0".into(), NetworkRole::ClientAccess),
            ("Cluster Network 3".into(), "203.0.113.0".into(), "255.255.255.0".into(), NetworkRole::InternalUse),
        ]
    );
    assert_eq!(s.find_network_by_name("cluster network 1").unwrap().state, NetworkState::Up);
    // No interface carries the 198.51.100.0/24 IP first, so network 2 has none.
    assert_eq!(s.networks[1].state, NetworkState::Unavailable);
    // The node network has no interfaces: it follows node connectivity.
    assert_eq!(s.networks[2].state, NetworkState::Up);

    let mut raw = raw3();
    raw.nodes[2].flags = CtdbNodeFlags::DISCONNECTED;
    let s = build0(&raw);
    assert_eq!(s.networks[2].state, NetworkState::Partitioned);
}

#[test]
fn node_subnet_shared_with_public_ips_is_internal_and_client() {
    let mut raw = raw3();
    raw.public_ips = vec![pip("203.0.113.100", 24, Some(0))];
    let s = build0(&raw);
    assert_eq!(s.networks.len(), 1);
    assert_eq!(s.networks[0].role, NetworkRole::InternalAndClient);
}

#[test]
fn network_interfaces() {
    let mut raw = raw3();
    raw.interfaces.push((2, iface("eth2", false)));
    raw.public_ips.push(PublicIp {
        addr: ip("198.51.100.20"),
        prefix_len: 24,
        pnn: None,
        interfaces: vec!["eth2".into()],
    });
    let s = build0(&raw);
    assert_eq!(s.net_interfaces.len(), 4);
    let i = s.find_netinterface_by_name("ctdb_node_0 - ETH1").unwrap();
    assert_eq!(i.node_pnn, 0);
    assert_eq!(i.adapter_name, "eth1");
    assert_eq!(i.address, ip("203.0.113.1"));
    assert_eq!(i.state, NetInterfaceState::Up);
    assert_eq!(s.network_by_id(&i.network_id).unwrap().name, "Cluster Network 1");
    let e2 = s.find_netinterface_by_name("CTDB_NODE_2 - eth2").unwrap();
    assert_eq!(e2.state, NetInterfaceState::Failed);
    assert_eq!(s.network_by_id(&e2.network_id).unwrap().name, "Cluster Network 2");
    assert_eq!(s.network_by_id(&e2.network_id).unwrap().state, NetworkState::Down);
    assert_eq!(s.find_netinterface("CTDB_NODE_2", "Cluster Network 2").unwrap().id, e2.id);
    assert_eq!(s.netinterfaces_of_node(2).count(), 2);

    raw.nodes[1].flags = CtdbNodeFlags::DISCONNECTED;
    let s = build0(&raw);
    let i1 = s.find_netinterface_by_name("CTDB_NODE_1 - eth1").unwrap();
    assert_eq!(i1.state, NetInterfaceState::Unavailable);
    assert_eq!(s.find_network_by_name("Cluster Network 1").unwrap().state, NetworkState::Up, "down nodes not counted");
    raw.interfaces[0].1.link_up = false;
    let s = build0(&raw);
    assert_eq!(s.find_network_by_name("Cluster Network 1").unwrap().state, NetworkState::Partitioned);
    raw.nodes[0].flags = CtdbNodeFlags::UNKNOWN;
    let s = build0(&raw);
    assert_eq!(s.find_netinterface_by_name("CTDB_NODE_0 - eth1").unwrap().state, NetInterfaceState::Unknown);
}

#[test]
fn ids_are_deterministic() {
    let a = build0(&raw3());
    let b = build0(&raw3());
    assert_eq!(a, b);
    // Input order, IP placement and renames do not change ids.
    let mut raw = raw3();
    raw.public_ips.reverse();
    raw.public_ips[0].pnn = Some(2);
    raw.nodes.reverse();
    let mut ov = Overlay::default();
    ov.names.insert(a.cluster_group().unwrap().id.clone(), "Renamed".into());
    let c = build(&raw, &ov);
    let ids = |s: &ClusterState| {
        let mut v: Vec<String> = s
            .groups
            .iter()
            .map(|g| g.id.clone())
            .chain(s.resources.iter().map(|r| r.id.clone()))
            .chain(s.networks.iter().map(|n| n.id.clone()))
            .chain(s.net_interfaces.iter().map(|n| n.id.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&a), ids(&c));
    assert_eq!(c.find_group_by_name("renamed").unwrap().id, a.cluster_group().unwrap().id);
    // Another cluster gets other ids; the instance id follows the name case-insensitively.
    let mut other = raw3();
    other.cluster_name = "OTHER".into();
    let d = build0(&other);
    assert_ne!(a.cluster.instance_id, d.cluster.instance_id);
    assert_ne!(a.cluster_group().unwrap().id, d.cluster_group().unwrap().id);
    let mut lower = raw3();
    lower.cluster_name = "samba-cl".into();
    assert_eq!(build0(&lower).cluster.instance_id, a.cluster.instance_id);
}

#[test]
fn lookups_are_case_insensitive() {
    let s = build0(&raw3());
    assert!(s.find_node_by_name("ctdb_node_2").is_some());
    assert!(s.find_group_by_name("PUBLIC IP 192.0.2.10").is_some());
    assert!(s.find_resource_by_name("ip address 192.0.2.11").is_some());
    assert!(s.find_network_by_name("CLUSTER NETWORK 3").is_some());
    assert!(s.find_netinterface_by_name("CTDB_node_1 - ETH1").is_some());
    assert_eq!(s.find_resource_type("physical disk").unwrap().name, "Physical Disk");
    assert!(s.find_resource_type("INVALID_TYPE_XXXX").is_none());
    let g = s.cluster_group().unwrap();
    assert!(s.group_by_id(&g.id.to_uppercase()).is_some());
    assert!(s.find_node_by_name("CTDB_NODE_9").is_none());
}

#[test]
fn resource_types_table() {
    let s = build0(&raw3());
    let t = |n: &str| s.find_resource_type(n).unwrap();
    assert_eq!(t("IP Address").resource_class, resource_class::NETWORK);
    assert_eq!(t("Network Name").resource_class, resource_class::NETWORK);
    assert_eq!(t("Physical Disk").resource_class, resource_class::STORAGE);
    assert_eq!(t("Storage Pool").resource_class, resource_class::STORAGE);
    assert_eq!(t("Generic Service").resource_class, resource_class::USER);
    assert_eq!(t("Generic Service").dll_name, "clusres.dll");
    assert_eq!(t("File Server").possible_nodes, vec![0, 1, 2]);
}

#[test]
fn ipv6_public_ip() {
    let mut raw = raw3();
    raw.public_ips = vec![pip("2001:db8::10", 64, Some(2))];
    let s = build0(&raw);
    let r = s.find_resource_by_name("IP Address 2001:db8::10").unwrap();
    assert_eq!(r.type_name, "IPv6 Address");
    assert_eq!(r.private_prop("PrefixLength"), Some(&PropValue::Dword(64)));
    let n = s.find_network_by_name("Cluster Network 1").unwrap();
    assert_eq!((n.address.as_str(), n.address_mask.as_str()), ("2001:db8::", "64"));
}

#[test]
fn joining_during_recovery() {
    let mut raw = raw3();
    raw.recovery_mode_active = true;
    raw.nodes[2].flags = CtdbNodeFlags::UNHEALTHY;
    let s = build0(&raw);
    assert_eq!(s.node_by_pnn(2).unwrap().state, NodeState::Joining);
    assert!(s.cluster.recovery_mode_active);
}

#[test]
fn overlay_applies() {
    let raw = raw3();
    let base = build0(&raw);
    let mut ov = Overlay::default();
    let cg = base.cluster_group().unwrap().id.clone();
    let id = ov.create_resource(&base, &cg, "wurst", "GENERIC SERVICE").unwrap();
    let s = build(&raw, &ov);
    check_invariants(&s);
    let r = s.resource_by_id(&id).unwrap();
    assert_eq!((r.type_name.as_str(), r.state, r.owner), ("Generic Service", ResourceState::Offline, Some(0)));
    assert_eq!(s.cluster_group().unwrap().state, GroupState::PartialOnline);
    assert_eq!(
        ov.create_resource(&s, &cg, "WURST", "Generic Service"),
        Err(crate::BackendError::ObjectAlreadyExists("WURST".into()))
    );

    ov.set_description(&s, "2", "second node").unwrap();
    let unassigned = s.group_for_ip(ip("198.51.100.10")).unwrap().resource_ids[0].clone();
    ov.set_resource_state(&s, &unassigned, ResourceRequest::Online).unwrap();
    ov.set_private_props(
        &s,
        &unassigned,
        &[("SubnetMask".into(), PropValue::Sz("255.255.0.0".into())), ("Extra".into(), PropValue::ULargeInteger(7))],
    )
    .unwrap();
    ov.set_resource_state(&s, &id, ResourceRequest::Online).unwrap();
    let s = build(&raw, &ov);
    assert_eq!(s.node_by_id("2").unwrap().description, "second node");
    let r = s.resource_by_id(&unassigned).unwrap();
    assert_eq!(r.state, ResourceState::Offline, "Online never raises an unassigned IP");
    assert_eq!(r.private_prop("subnetmask"), Some(&PropValue::Sz("255.255.0.0".into())));
    assert_eq!(r.private_props.last().unwrap().0, "Extra");
    assert_eq!(s.cluster_group().unwrap().state, GroupState::Online);

    ov.set_resource_state(&s, &s.cluster_name_resource().unwrap().id.clone(), ResourceRequest::Fail).unwrap();
    let s2 = build(&raw, &ov);
    assert_eq!(s2.cluster_group().unwrap().state, GroupState::Failed);
    let ev = diff(&s, &s2);
    assert!(ev.iter().any(|e| matches!(e, ClusterEvent::ResourceStateChanged { new: ResourceState::Failed, .. })));
    assert!(ev.iter().any(|e| matches!(e, ClusterEvent::GroupStateChanged { new: GroupState::Failed, .. })));
}

#[test]
fn diff_reports_node_and_ip_changes() {
    let raw = raw3();
    let a = build0(&raw);
    let mut raw2 = raw.clone();
    raw2.nodes[1].flags = CtdbNodeFlags::PERMANENTLY_DISABLED;
    raw2.public_ips[1].pnn = Some(2);
    raw2.generation = 6;
    let b = build0(&raw2);
    let ev = diff(&a, &b);
    assert_eq!(ev[0], ClusterEvent::Recovery { generation: 6 });
    assert!(ev.contains(&ClusterEvent::NodeStateChanged { pnn: 1, old: NodeState::Up, new: NodeState::Paused }));
    assert!(ev.contains(&ClusterEvent::IpMoved { addr: ip("192.0.2.11"), from: Some(1), to: Some(2) }));
    let gid = b.group_for_ip(ip("192.0.2.11")).unwrap().id.clone();
    assert!(ev.contains(&ClusterEvent::GroupOwnerChanged { group_id: gid, old: Some(1), new: Some(2) }));
    assert!(diff(&b, &b).is_empty());
}

#[test]
fn overlay_toml_round_trip() {
    let base = build0(&raw3());
    let mut ov = Overlay::default();
    let g = ov.create_group(&base, "My Role").unwrap();
    let s = build(&raw3(), &ov);
    let r = ov.create_resource(&s, &g, "svc", "Generic Service").unwrap();
    let s = build(&raw3(), &ov);
    ov.set_private_props(
        &s,
        &r,
        &[
            ("Big".into(), PropValue::ULargeInteger(u64::MAX)),
            ("Bin".into(), PropValue::Binary(vec![0, 1, 255])),
            ("Multi".into(), PropValue::MultiSz(vec!["a".into(), "b".into()])),
            ("Word".into(), PropValue::Dword(u32::MAX)),
        ],
    )
    .unwrap();
    ov.rename_group(&s, &s.cluster_group().unwrap().id.clone(), "Core").unwrap();
    ov.set_resource_state(&s, &r, ResourceRequest::Fail).unwrap();
    let text = ov.to_toml().unwrap();
    assert_eq!(Overlay::from_toml(&text).unwrap(), ov, "{text}");
    assert!(Overlay::from_toml("groups = 3").is_err());
    assert_eq!(Overlay::from_toml("").unwrap(), Overlay::default());
}

#[test]
fn address_helpers() {
    assert_eq!(network_address(ip("192.0.2.77"), 24), Some(ip("192.0.2.0")));
    assert_eq!(network_address(ip("192.0.2.77"), 0), Some(ip("0.0.0.0")));
    assert_eq!(network_address(ip("192.0.2.77"), 32), Some(ip("192.0.2.77")));
    assert_eq!(network_address(ip("192.0.2.77"), 33), None);
    assert_eq!(network_address(ip("2001:db8::1"), 64), Some(ip("2001:db8::")));
    assert_eq!(ipv4_mask(20).to_string(), "255.255.240.0");
    assert_eq!(ipv4_mask(0).to_string(), "0.0.0.0");
}

#[test]
fn node_names_follow_the_naming_and_published_host_names() {
    use crate::presentation::{NodeHostName, NodeNaming};
    let h = |pnn: u32, n: &str| NodeHostName { pnn, host_name: n.into(), fqdn: format!("{n}.example.com") };
    let mut raw = raw3();
    raw.host_names = vec![h(0, "fs1"), h(1, "fs2")];
    // ctdb naming: published names only add the FQDN
    let s = build0(&raw);
    assert_eq!(s.nodes[0].name, "CTDB_NODE_0");
    assert_eq!(s.nodes[0].fqdn.as_deref(), Some("fs1.example.com"));
    assert_eq!(s.find_node_by_name("FS1.example.com").map(|n| n.pnn), Some(0));
    raw.node_naming = NodeNaming::Hostname;
    let s = build0(&raw);
    let names: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    // node 2 published nothing (yet): it keeps Samba's name
    assert_eq!(names, ["fs1", "fs2", "CTDB_NODE_2"]);
    assert_eq!(s.find_node_by_name("FS2").map(|n| n.pnn), Some(1));
    assert!(s.net_interfaces.iter().any(|i| i.name == "fs1 - eth1"));
    // two nodes claiming one name both keep CTDB_NODE_<pnn>
    raw.host_names.push(h(2, "FS1"));
    let s = build0(&raw);
    let names: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["CTDB_NODE_0", "fs2", "CTDB_NODE_2"]);
}

#[test]
fn drain_status_from_flags_hosting_and_recorded_drains() {
    use crate::presentation::{Drain, DrainStatus};
    let mut raw = raw3();
    assert!(build0(&raw).nodes.iter().all(|n| n.drain_status == DrainStatus::NotInitiated && n.drain_target.is_none()));
    // disabled, still hosting 192.0.2.10: in progress; then hosting nothing: completed
    raw.nodes[0].flags = CtdbNodeFlags::PERMANENTLY_DISABLED;
    assert_eq!(build0(&raw).nodes[0].drain_status, DrainStatus::InProgress);
    raw.public_ips[2].pnn = Some(2);
    assert_eq!(build0(&raw).nodes[0].drain_status, DrainStatus::Completed);
    // a recorded drain reports its own progress, and its target
    raw.drains = vec![Drain { pnn: 1, target: Some(2), status: DrainStatus::InProgress }];
    let s = build0(&raw);
    assert_eq!((s.nodes[1].drain_status, s.nodes[1].drain_target), (DrainStatus::InProgress, Some(2)));
    raw.drains[0].status = DrainStatus::Failed;
    assert_eq!(build0(&raw).nodes[1].drain_status, DrainStatus::Failed);
    // completed, but the node is no longer disabled (enabled outside clusapi): no drain
    raw.drains[0].status = DrainStatus::Completed;
    assert_eq!(build0(&raw).nodes[1].drain_status, DrainStatus::NotInitiated);
}
