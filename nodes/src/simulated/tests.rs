//! Simulated backend tests, including the generic conformance suite.

use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;

use super::*;
use crate::conformance::{self, check_invariants};
use crate::model::{GroupKind, PropValue};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sim() -> SimulatedCluster {
    SimulatedCluster::new(SimConfig::default()).unwrap()
}

fn temp_state_file(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nodes-sim-{}-{tag}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir.join("overlay.toml")
}

fn drain(rx: &mut broadcast::Receiver<ClusterEvent>) -> Vec<ClusterEvent> {
    let mut v = Vec::new();
    while let Ok(e) = rx.try_recv() {
        v.push(e);
    }
    v
}

#[test]
fn initial_layout() {
    let b = sim();
    let s = b.snapshot();
    check_invariants(&s);
    assert_eq!(s.nodes.len(), 3);
    assert!(s.nodes.iter().all(|n| n.state == NodeState::Up));
    assert_eq!(s.node_by_pnn(2).unwrap().address, ip("127.0.0.3"));
    assert_eq!(s.cluster.leader, Some(0));
    for (i, host) in [(1, 0), (2, 1), (3, 2)] {
        assert_eq!(s.ip_host(ip(&format!("127.0.100.{i}"))), Some(Some(host)));
    }
    assert!(s.find_netinterface_by_name("CTDB_NODE_0 - lo").is_some());
    assert_eq!(s.find_network_by_name("Cluster Network 1").unwrap().address, "127.0.100.0");
    assert_eq!(s.find_network_by_name("Cluster Network 2").unwrap().role, NetworkRole::InternalUse);
    assert!(s.find_resource_by_name("File Share share").is_some());
    assert!(b.raw().interfaces.iter().all(|(_, i)| i.references == 1));
    assert!(b.available());
}

use crate::model::{NetworkRole, ResourceState};

#[test]
fn config_validation() {
    assert!(SimulatedCluster::new(SimConfig::with_nodes(0)).is_err());
    assert!(SimulatedCluster::new(SimConfig::with_nodes(255)).is_err());
    let c = SimConfig { this_pnn: 3, ..SimConfig::default() };
    assert_eq!(SimulatedCluster::new(c).unwrap_err(), BackendError::NodeNotFound(3));
    let c5 = SimConfig::with_nodes(5);
    assert_eq!(c5.public_ips.len(), 5);
    let b = SimulatedCluster::new(c5).unwrap();
    assert_eq!(b.snapshot().nodes.len(), 5);
}

#[tokio::test]
async fn conformance_suite() {
    let b = sim();
    conformance::run_all(&b).await;
    // Also through a trait object.
    let d: &dyn ClusterBackend = &b;
    conformance::check_pause_resume(d, 2).await;
}

#[tokio::test]
async fn pause_moves_ips_to_least_loaded_and_resume_rebalances() {
    let b = sim();
    let mut rx = b.subscribe();
    b.pause_node(1).await.unwrap();
    let s = b.snapshot();
    assert_eq!(s.node_by_pnn(1).unwrap().state, NodeState::Paused);
    assert_eq!(s.ips_hosted_by(1).count(), 0);
    // 127.0.100.2 went to the least loaded node; ties go to the lowest pnn.
    assert_eq!(s.ip_host(ip("127.0.100.2")), Some(Some(0)));
    assert_eq!(s.cluster.generation, 1, "disable is not a recovery");
    let ev = drain(&mut rx);
    assert!(ev.contains(&ClusterEvent::NodeStateChanged { pnn: 1, old: NodeState::Up, new: NodeState::Paused }));
    assert!(ev.contains(&ClusterEvent::IpMoved { addr: ip("127.0.100.2"), from: Some(1), to: Some(0) }));
    assert!(!ev.iter().any(|e| matches!(e, ClusterEvent::Recovery { .. })));

    b.resume_node(1).await.unwrap();
    let s = b.snapshot();
    assert_eq!(s.node_by_pnn(1).unwrap().state, NodeState::Up);
    assert_eq!(s.ips_hosted_by(1).count(), 1, "rebalanced onto the returning node");
    assert_eq!(b.resume_node(1).await, Err(BackendError::NodeNotPaused(1)));
    assert_eq!(b.pause_node(7).await, Err(BackendError::NodeNotFound(7)));
    assert_eq!(b.resume_node(7).await, Err(BackendError::NodeNotFound(7)));
}

#[tokio::test]
async fn pause_every_node_leaves_ips_unassigned() {
    let b = sim();
    for pnn in 0..3 {
        b.pause_node(pnn).await.unwrap();
    }
    let s = b.snapshot();
    assert!(s.public_ips.iter().all(|p| p.pnn.is_none()));
    assert!(s
        .groups
        .iter()
        .filter(|g| matches!(g.kind, GroupKind::PublicIp(_)))
        .all(|g| g.state == crate::GroupState::Offline));
    check_invariants(&s);
    assert_eq!(
        b.move_group(&s.group_for_ip(ip("127.0.100.1")).unwrap().id, None).await,
        Err(BackendError::NoOtherNodeUp)
    );
    b.resume_node(2).await.unwrap();
    let s = b.snapshot();
    assert_eq!(s.ips_hosted_by(2).count(), 3);
}

#[tokio::test]
async fn kill_and_revive() {
    let b = sim();
    let mut rx = b.subscribe();
    b.kill_node(0).unwrap();
    let s = b.snapshot();
    assert_eq!(s.node_by_pnn(0).unwrap().state, NodeState::Down);
    assert_eq!(s.cluster.leader, Some(1), "leader = first active node");
    assert_eq!(s.cluster.generation, 2);
    assert_eq!(s.ips_hosted_by(0).count(), 0);
    assert_eq!(s.find_netinterface_by_name("CTDB_NODE_0 - lo").unwrap().state, crate::NetInterfaceState::Unavailable);
    let ev = drain(&mut rx);
    assert_eq!(ev[0], ClusterEvent::Recovery { generation: 2 });
    assert!(ev.contains(&ClusterEvent::NodeStateChanged { pnn: 0, old: NodeState::Up, new: NodeState::Down }));

    assert_eq!(b.pause_node(0).await, Err(BackendError::NodeDown(0)));
    assert_eq!(b.move_ip(ip("127.0.100.2"), 0).await, Err(BackendError::NodeDown(0)));

    b.revive_node(0).unwrap();
    let s = b.snapshot();
    assert_eq!(s.node_by_pnn(0).unwrap().state, NodeState::Up);
    assert_eq!(s.cluster.leader, Some(0));
    assert_eq!(s.ips_hosted_by(0).count(), 1);
    check_invariants(&s);
}

#[tokio::test]
async fn external_flag_changes_publish_events() {
    let b = sim();
    let mut rx = b.subscribe();
    b.set_node_flags(2, CtdbNodeFlags::PERMANENTLY_DISABLED).unwrap();
    let ev = drain(&mut rx);
    assert!(ev.contains(&ClusterEvent::NodeStateChanged { pnn: 2, old: NodeState::Up, new: NodeState::Paused }));
    assert!(ev.iter().any(|e| matches!(e, ClusterEvent::IpMoved { from: Some(2), .. })));
    // A node disabled elsewhere can be resumed through clusapi.
    b.resume_node(2).await.unwrap();
    b.set_node_flags(2, CtdbNodeFlags::UNHEALTHY).unwrap();
    assert_eq!(b.snapshot().node_by_pnn(2).unwrap().state, NodeState::Paused);
    assert_eq!(b.resume_node(2).await, Err(BackendError::NodeNotPaused(2)), "unhealthy is not an admin pause");
    b.set_node_flags(2, CtdbNodeFlags::UNKNOWN).unwrap();
    assert_eq!(b.snapshot().node_by_pnn(2).unwrap().state, NodeState::Unknown);
    assert_eq!(b.set_node_flags(9, CtdbNodeFlags::OK), Err(BackendError::NodeNotFound(9)));
}

#[tokio::test]
async fn stop_and_continue() {
    let b = sim();
    b.stop_node(1).await.unwrap();
    let s = b.snapshot();
    assert_eq!(s.node_by_pnn(1).unwrap().state, NodeState::Down);
    assert_eq!(s.ips_hosted_by(1).count(), 0);
    b.stop_node(1).await.unwrap();
    assert_eq!(b.resume_node(1).await, Err(BackendError::NodeNotPaused(1)));
    b.continue_node(1).await.unwrap();
    assert_eq!(b.snapshot().node_by_pnn(1).unwrap().state, NodeState::Up);
    b.continue_node(1).await.unwrap();
}

#[tokio::test]
async fn move_ip_rules() {
    let b = sim();
    let a = ip("127.0.100.1");
    b.move_ip(a, 2).await.unwrap();
    assert_eq!(b.snapshot().ip_host(a), Some(Some(2)));
    assert_eq!(b.raw().interfaces.iter().find(|(p, _)| *p == 2).unwrap().1.references, 2);
    b.pause_node(1).await.unwrap();
    assert_eq!(b.move_ip(a, 1).await, Err(BackendError::NodePaused(1)));
    assert_eq!(b.move_ip(ip("127.0.100.99"), 0).await.unwrap_err().win32_code(), 5007);
    b.set_interface_link(0, "lo", false).unwrap();
    assert!(matches!(b.move_ip(a, 0).await, Err(BackendError::InvalidState(_))));
    assert_eq!(b.snapshot().ips_hosted_by(0).count(), 0, "IPs leave a link-down interface");
    assert_eq!(
        b.snapshot().find_netinterface_by_name("CTDB_NODE_0 - lo").unwrap().state,
        crate::NetInterfaceState::Failed
    );
    assert_eq!(b.snapshot().find_network_by_name("Cluster Network 1").unwrap().state, crate::NetworkState::Partitioned);
}

#[tokio::test]
async fn move_groups() {
    let b = sim();
    let s = b.snapshot();
    let cg = s.cluster_group().unwrap().id.clone();
    assert_eq!(s.cluster_group().unwrap().owner, Some(0));
    let to = b.move_group(&cg, None).await.unwrap();
    let s = b.snapshot();
    assert_eq!(s.cluster_group().unwrap().owner, Some(to));
    assert_eq!(s.ip_host(ip("127.0.100.1")), Some(Some(to)), "the cluster group follows its IP");
    let fs = s.find_group_by_name("File Server").unwrap().id.clone();
    assert!(matches!(b.move_group(&fs, Some(1)).await, Err(BackendError::Unsupported(_))));
    let g = b.create_group("role").await.unwrap();
    b.pause_node(2).await.unwrap();
    assert_eq!(b.move_group(&g, Some(2)).await, Err(BackendError::NodePaused(2)));
    assert_eq!(b.move_group(&g, None).await, Ok(1));
}

#[tokio::test]
async fn resource_create_delete_rename() {
    let b = sim();
    let cg = b.snapshot().cluster_group().unwrap().id.clone();
    let mut rx = b.subscribe();
    let id = b.create_resource(&cg, "wurst", "Generic Service").await.unwrap();
    let ev = drain(&mut rx);
    assert!(ev.iter().any(
        |e| matches!(e, ClusterEvent::ResourceAdded { resource_id, name, .. } if *resource_id == id && name == "wurst")
    ));
    assert!(ev
        .iter()
        .any(|e| matches!(e, ClusterEvent::GroupStateChanged { new: crate::GroupState::PartialOnline, .. })));
    b.rename_resource(&id, "wurst").await.unwrap();
    b.rename_resource(&id, "WURST").await.unwrap();
    assert_eq!(b.snapshot().resource_by_id(&id).unwrap().name, "WURST");
    let ip_res = b.snapshot().find_resource_by_name("IP Address 127.0.100.2").unwrap().id.clone();
    b.rename_resource(&ip_res, "Public address two").await.unwrap();
    assert_eq!(b.snapshot().resource_by_id(&ip_res).unwrap().name, "Public address two");
    assert!(matches!(b.delete_resource(&ip_res).await, Err(BackendError::CoreResource(_))));
    b.set_description(&id, "a test").await.unwrap();
    b.set_private_properties(&id, vec![("ServiceName".into(), PropValue::Sz("smbd".into()))]).await.unwrap();
    let s = b.snapshot();
    let r = s.resource_by_id(&id).unwrap();
    assert_eq!(r.description, "a test");
    assert_eq!(r.private_prop("servicename"), Some(&PropValue::Sz("smbd".into())));
    assert!(matches!(b.set_description("nope", "x").await, Err(BackendError::ResourceNotFound(_))));
    b.delete_resource(&id).await.unwrap();
    assert!(b.snapshot().resource_by_id(&id).is_none());
    assert!(b.overlay().descriptions.is_empty(), "overrides of deleted objects are dropped");
    assert!(matches!(b.create_resource(&cg, "", "Generic Service").await, Err(BackendError::InvalidParameter(_))));
}

#[tokio::test]
async fn unavailable_backend() {
    let b = sim();
    let mut rx = b.subscribe();
    b.set_available(false);
    b.set_available(false);
    assert!(!b.available());
    let err = b.pause_node(1).await.unwrap_err();
    assert_eq!(err.win32_code(), 5072);
    b.set_available(true);
    assert_eq!(drain(&mut rx), [ClusterEvent::BackendUnavailable, ClusterEvent::BackendAvailable]);
    b.pause_node(1).await.unwrap();
}

#[tokio::test]
async fn persistence_round_trip() {
    let path = temp_state_file("roundtrip");
    let config = SimConfig { state_file: Some(path.clone()), ..SimConfig::default() };
    let (rid, gid, cn) = {
        let b = SimulatedCluster::new(config.clone()).unwrap();
        let gid = b.create_group("Saved Role").await.unwrap();
        let rid = b.create_resource(&gid, "saved", "Generic Script").await.unwrap();
        b.set_resource_online(&rid).await.unwrap();
        let cn = b.snapshot().cluster_name_resource().unwrap().id.clone();
        b.rename_resource(&cn, "Renamed Cluster Name").await.unwrap();
        b.set_private_properties(&rid, vec![("Big".into(), PropValue::ULargeInteger(u64::MAX))]).await.unwrap();
        (rid, gid, cn)
    };
    assert!(path.exists());
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    assert!(!PathBuf::from(tmp).exists(), "temp file renamed away");

    let b = SimulatedCluster::new(config.clone()).unwrap();
    let s = b.snapshot();
    check_invariants(&s);
    let r = s.resource_by_id(&rid).unwrap();
    assert_eq!((r.name.as_str(), r.state, r.group_id.as_str()), ("saved", ResourceState::Online, gid.as_str()));
    assert_eq!(r.private_prop("Big"), Some(&PropValue::ULargeInteger(u64::MAX)));
    assert_eq!(s.resource_by_id(&cn).unwrap().name, "Renamed Cluster Name");
    assert_eq!(s.find_group_by_name("saved role").unwrap().id, gid);

    // New objects after a restart get fresh ids.
    let rid2 = b.create_resource(&gid, "second", "Generic Script").await.unwrap();
    assert_ne!(rid2, rid);
    b.delete_resource(&rid).await.unwrap();
    b.delete_resource(&rid2).await.unwrap();
    b.delete_group(&gid).await.unwrap();
    let b = SimulatedCluster::new(config).unwrap();
    assert!(b.snapshot().group_by_id(&gid).is_none());
    let _ = fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn corrupt_state_file_is_an_error() {
    let path = temp_state_file("corrupt");
    fs::write(&path, "this is [not toml").unwrap();
    let config = SimConfig { state_file: Some(path.clone()), ..SimConfig::default() };
    assert!(matches!(SimulatedCluster::new(config), Err(BackendError::Storage(_))));
    let _ = fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn failed_persist_changes_nothing() {
    let path = std::env::temp_dir().join(format!("nodes-sim-{}-missing-dir", std::process::id())).join("x.toml");
    let config = SimConfig { state_file: Some(path), ..SimConfig::default() };
    let b = SimulatedCluster::new(config).unwrap();
    let before = b.snapshot();
    assert!(matches!(b.create_group("g").await, Err(BackendError::Storage(_))));
    assert_eq!(*b.snapshot(), *before);
    assert_eq!(b.overlay(), Overlay::default());
}

#[tokio::test]
async fn structure_edits_of_created_objects_persist() {
    let path = temp_state_file("structure");
    let config = SimConfig { state_file: Some(path.clone()), ..SimConfig::default() };
    let b = SimulatedCluster::new(config.clone()).unwrap();
    let s = b.snapshot();
    let cluster_name = s.cluster_name_resource().unwrap().id.clone();
    let public_ip = s.find_resource_by_name("IP Address 127.0.100.1").unwrap().id.clone();
    let net = s.find_network_by_name("Cluster Network 1").unwrap().id.clone();

    let g1 = b.create_group("g1").await.unwrap();
    let g2 = b.create_group("g2").await.unwrap();
    let a = b.create_resource(&g1, "a", "Generic Service").await.unwrap();
    let c = b.create_resource(&g1, "c", "Generic Service").await.unwrap();
    let lone = b.create_resource(&g1, "lone", "Generic Service").await.unwrap();

    // dependencies: a -> c (plus Cluster Name); cycles and self-dependencies are refused
    b.set_resource_dependencies(&a, vec![cluster_name.clone(), c.clone()]).await.unwrap();
    assert!(matches!(b.set_resource_dependencies(&c, vec![a.clone()]).await, Err(BackendError::InvalidParameter(_))));
    assert!(matches!(b.set_resource_dependencies(&a, vec![a.clone()]).await, Err(BackendError::InvalidParameter(_))));
    assert!(matches!(
        b.set_resource_dependencies(&a, vec!["nope".into()]).await,
        Err(BackendError::ResourceNotFound(_))
    ));
    assert!(matches!(b.set_resource_dependencies(&public_ip, vec![]).await, Err(BackendError::Unsupported(_))));
    assert!(matches!(b.set_resource_dependencies(&c, vec![]).await, Err(BackendError::InvalidState(_))));

    // possible and preferred owners
    b.set_resource_possible_owners(&a, vec![2, 0, 2]).await.unwrap();
    assert_eq!(b.set_resource_possible_owners(&a, vec![9]).await, Err(BackendError::NodeNotFound(9)));
    assert!(matches!(b.set_resource_possible_owners(&public_ip, vec![0]).await, Err(BackendError::Unsupported(_))));
    b.set_group_preferred_owners(&g1, vec![1]).await.unwrap();
    let cluster_group = s.cluster_group().unwrap().id.clone();
    assert!(matches!(b.set_group_preferred_owners(&cluster_group, vec![1]).await, Err(BackendError::Unsupported(_))));

    // moving "a" takes "c" (same group, connected) along, not "lone"
    b.change_resource_group(&a, &g2).await.unwrap();
    let s = b.snapshot();
    assert_eq!(s.resource_by_id(&a).unwrap().group_id, g2);
    assert_eq!(s.resource_by_id(&c).unwrap().group_id, g2);
    assert_eq!(s.resource_by_id(&lone).unwrap().group_id, g1);
    // a tree holding a derived resource cannot move
    let wurst = b.create_resource(&cluster_group, "wurst", "Generic Service").await.unwrap();
    assert!(matches!(b.change_resource_group(&wurst, &g1).await, Err(BackendError::CoreResource(_))));

    // network rename; a duplicate name is refused
    b.rename_network(&net, "Public").await.unwrap();
    assert!(matches!(b.rename_network(&net, "Cluster Network 2").await, Err(BackendError::ObjectAlreadyExists(_))));

    // all of it survives a restart
    let b = SimulatedCluster::new(config).unwrap();
    let s = b.snapshot();
    check_invariants(&s);
    let ra = s.resource_by_id(&a).unwrap();
    assert_eq!(ra.dependencies, vec![cluster_name, c.clone()]);
    assert_eq!(ra.possible_owners, vec![2, 0]);
    assert_eq!(ra.group_id, g2);
    assert_eq!(s.group_by_id(&g1).unwrap().preferred_owners, vec![1]);
    assert_eq!(s.group_by_id(&g2).unwrap().preferred_owners, vec![0, 1, 2]);
    assert_eq!(s.network_by_id(&net).unwrap().name, "Public");
    assert!(s.find_network_by_name("Cluster Network 1").is_none());
    // address resources name their network by its new name
    let ip = s.find_resource_by_name("IP Address 127.0.100.1").unwrap();
    assert_eq!(ip.private_prop("Network"), Some(&PropValue::Sz("Public".into())));
    let _ = fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn admin_property_store_persists_and_is_forgotten_with_its_object() {
    let path = temp_state_file("admin-props");
    let cfg = SimConfig { state_file: Some(path.clone()), ..SimConfig::default() };
    let b = SimulatedCluster::new(cfg.clone()).unwrap();
    let gid = b.create_group("g1").await.unwrap();
    b.set_admin_properties(&gid, vec![("Priority".into(), Some(PropValue::Dword(3000)))]).await.unwrap();
    b.set_admin_properties(&format!("{gid}\\Parameters"), vec![("X".into(), Some(PropValue::Sz("y".into())))])
        .await
        .unwrap();
    b.set_admin_properties("1", vec![("NodeWeight".into(), Some(PropValue::Dword(0)))]).await.unwrap();
    assert_eq!(b.snapshot().admin_prop(&gid, "PRIORITY"), Some(&PropValue::Dword(3000)));
    assert!(b.set_admin_properties("", vec![]).await.is_err());

    // a restart reads the store back
    drop(b);
    let b = SimulatedCluster::new(cfg.clone()).unwrap();
    let s = b.snapshot();
    assert_eq!(s.admin_prop(&gid, "Priority"), Some(&PropValue::Dword(3000)));
    assert_eq!(s.admin_prop("1", "NodeWeight"), Some(&PropValue::Dword(0)));
    assert_eq!(s.admin_props_of(&format!("{gid}\\Parameters")).len(), 1);

    // None removes a value; an emptied key disappears
    b.set_admin_properties("1", vec![("nodeweight".into(), None)]).await.unwrap();
    assert!(!b.snapshot().admin_props.contains_key("1"));

    // deleting the group forgets its keys
    b.delete_group(&gid).await.unwrap();
    let s = b.snapshot();
    assert!(s.admin_props_of(&gid).is_empty());
    assert!(s.admin_props_of(&format!("{gid}\\Parameters")).is_empty());
    let _ = fs::remove_dir_all(path.parent().unwrap());
}
