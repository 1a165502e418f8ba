//! Backend conformance checks: generic async functions every
//! [`ClusterBackend`] must pass (the simulated one in this crate's tests, the
//! ctdb one later). They assert (panic) on failure, wait for effects by
//! polling snapshots and events with a timeout (so asynchronous backends
//! pass too), and undo what they change where they can.
//!
//! Available under `cfg(test)` and with the `test-util` feature.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use crate::backend::{poll_until, BackendError, ClusterBackend};
use crate::events::ClusterEvent;
use crate::ids::fold_case;
use crate::model::{names, type_names, ClusterState, GroupKind, GroupState, NodeState, ResourceKind, ResourceState};

/// How long checks wait for an effect to show.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Polls snapshots until `pred` holds; panics after `timeout`.
pub async fn wait_for<B: ClusterBackend + ?Sized>(
    b: &B,
    what: &str,
    timeout: Duration,
    pred: impl Fn(&ClusterState) -> bool,
) -> Arc<ClusterState> {
    let snapshot = || std::future::ready(Ok::<_, Infallible>(b.snapshot()));
    match poll_until(timeout, Duration::from_millis(20), snapshot, |s| pred(s)).await {
        Ok(Some(s)) => s,
        _ => panic!("timed out waiting for {what}"),
    }
}

/// Receives events until one matches `pred`; panics after `timeout`.
pub async fn expect_event(
    rx: &mut broadcast::Receiver<ClusterEvent>,
    what: &str,
    timeout: Duration,
    pred: impl Fn(&ClusterEvent) -> bool,
) -> ClusterEvent {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(e)) if pred(&e) => return e,
            Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) => panic!("event channel closed while waiting for {what}"),
            Err(_) => panic!("timed out waiting for event: {what}"),
        }
    }
}

/// Waits for `NodeStateChanged` of node `pnn` to `state`.
pub async fn expect_node_state(
    rx: &mut broadcast::Receiver<ClusterEvent>,
    pnn: u32,
    state: NodeState,
    timeout: Duration,
) {
    let what = format!("NodeStateChanged of node {pnn} to {state:?}");
    expect_event(
        rx,
        &what,
        timeout,
        |e| matches!(e, ClusterEvent::NodeStateChanged { pnn: p, new, .. } if *p == pnn && *new == state),
    )
    .await;
}

/// `expect_event` (with [`TIMEOUT`]) of the event `$variant` whose `$field` is `$id`, e.g.
/// `expect_event_for!(&mut rx, ResourceAdded { resource_id: id })`.
macro_rules! expect_event_for {
    ($rx:expr, $variant:ident { $field:ident: $id:expr }) => {
        expect_event($rx, stringify!($variant), TIMEOUT, |e| {
            matches!(e, ClusterEvent::$variant { $field, .. } if *$field == $id)
        })
        .await
    };
}

/// Structural invariants every snapshot must satisfy.
pub fn check_invariants(s: &ClusterState) {
    fn unique<'a>(kind: &str, it: impl Iterator<Item = &'a str>) {
        let mut seen = HashSet::new();
        for n in it {
            assert!(seen.insert(fold_case(n)), "duplicate {kind} {n:?}");
        }
    }
    unique("node name", s.nodes.iter().map(|n| n.name.as_str()));
    unique("group name", s.groups.iter().map(|g| g.name.as_str()));
    unique("resource name", s.resources.iter().map(|r| r.name.as_str()));
    unique("network name", s.networks.iter().map(|n| n.name.as_str()));
    unique("netinterface name", s.net_interfaces.iter().map(|n| n.name.as_str()));
    unique("resource type", s.resource_types.iter().map(|t| t.name.as_str()));
    unique(
        "object id",
        s.nodes
            .iter()
            .map(|n| n.id.as_str())
            .chain(s.groups.iter().map(|g| g.id.as_str()))
            .chain(s.resources.iter().map(|r| r.id.as_str()))
            .chain(s.networks.iter().map(|n| n.id.as_str()))
            .chain(s.net_interfaces.iter().map(|n| n.id.as_str()))
            .chain(std::iter::once(s.cluster.instance_id.as_str())),
    );

    for n in &s.nodes {
        assert_eq!(n.id, (n.pnn + 1).to_string(), "node id of pnn {}", n.pnn);
        // Samba's name, or (host-name naming) the host name the node published with its FQDN
        assert!(n.name == format!("CTDB_NODE_{}", n.pnn) || n.fqdn.is_some(), "node name {:?}", n.name);
    }
    for t in [
        "IP Address",
        "Network Name",
        "File Server",
        "Physical Disk",
        "Storage Pool",
        "Generic Service",
        "Generic Application",
        "Generic Script",
        "IPv6 Address",
        "File Share Witness",
        "Distributed Network Name",
        "Scale Out File Server",
    ] {
        assert!(s.find_resource_type(t).is_some(), "resource type {t:?} missing");
    }

    let cg = s.find_group_by_name(names::CLUSTER_GROUP).expect("Cluster Group");
    assert_eq!(cg.kind, GroupKind::Cluster);
    assert_eq!(cg.flags & 1, 1, "Cluster Group is core");
    let cn = s.cluster_name_resource().expect("Cluster Name resource");
    assert_eq!(cn.type_name, type_names::NETWORK_NAME);
    assert_eq!(cn.group_id, cg.id);

    for g in &s.groups {
        for rid in &g.resource_ids {
            let r = s.resource_by_id(rid).unwrap_or_else(|| panic!("group {:?} lists unknown {rid}", g.name));
            assert_eq!(r.group_id, g.id, "resource {:?} group back-reference", r.name);
        }
        if let Some(o) = g.owner {
            assert!(s.node_by_pnn(o).is_some(), "group {:?} owned by unknown node {o}", g.name);
        }
    }
    for r in &s.resources {
        let g = s.group_by_id(&r.group_id).unwrap_or_else(|| panic!("resource {:?} has no group", r.name));
        assert!(g.resource_ids.contains(&r.id), "group {:?} does not list {:?}", g.name, r.name);
        assert_eq!(r.owner, g.owner, "resource {:?} owner follows its group", r.name);
        assert!(s.find_resource_type(&r.type_name).is_some(), "resource {:?} has unknown type", r.name);
        for d in &r.dependencies {
            assert!(s.resource_by_id(d).is_some(), "resource {:?} depends on unknown {d}", r.name);
        }
        assert!(
            s.network_name_resource(&r.id).is_some(),
            "resource {:?} has no Network Name in its dependency chain",
            r.name
        );
    }
    for (i, n) in s.networks.iter().enumerate() {
        // "Cluster Network N" unless renamed through ApiSetNetworkName; names stay unique.
        assert!(
            !s.networks[..i].iter().any(|o| crate::ids::names_equal(&o.name, &n.name)),
            "network name {:?} is not unique",
            n.name
        );
    }
    for i in &s.net_interfaces {
        let node = s.node_by_pnn(i.node_pnn).expect("netinterface node");
        assert!(s.network_by_id(&i.network_id).is_some(), "netinterface {:?} network", i.name);
        assert_eq!(i.name, format!("{} - {}", node.name, i.adapter_name));
    }
    for p in &s.public_ips {
        let g = s.group_for_ip(p.addr).unwrap_or_else(|| panic!("no group for {}", p.addr));
        let host = p.pnn.filter(|&h| s.node_by_pnn(h).is_some());
        assert_eq!(g.owner, host, "group of {} owned by its host", p.addr);
    }
}

/// Pause `pnn` (Up, with another Up node): Paused, its IPs leave, events;
/// pausing again succeeds; resume: Up; resuming again: `NodeNotPaused`.
pub async fn check_pause_resume<B: ClusterBackend + ?Sized>(b: &B, pnn: u32) {
    let s = b.snapshot();
    assert_eq!(s.node_by_pnn(pnn).map(|n| n.state), Some(NodeState::Up), "node {pnn} must start Up");
    assert!(s.nodes.iter().any(|n| n.pnn != pnn && n.state == NodeState::Up), "another node must be Up");
    let mut rx = b.subscribe();

    b.pause_node(pnn).await.expect("pause");
    let s = wait_for(b, "node paused, IPs moved away", TIMEOUT, |s| {
        s.node_by_pnn(pnn).map(|n| n.state) == Some(NodeState::Paused) && s.ips_hosted_by(pnn).next().is_none()
    })
    .await;
    assert!(s.groups_owned_by(pnn).all(|g| !matches!(g.kind, GroupKind::PublicIp(_))));
    check_invariants(&s);
    expect_node_state(&mut rx, pnn, NodeState::Paused, TIMEOUT).await;

    b.pause_node(pnn).await.expect("pausing a paused node succeeds");

    b.resume_node(pnn).await.expect("resume");
    wait_for(b, "node up", TIMEOUT, |s| s.node_by_pnn(pnn).map(|n| n.state) == Some(NodeState::Up)).await;
    expect_node_state(&mut rx, pnn, NodeState::Up, TIMEOUT).await;

    let err = b.resume_node(pnn).await.expect_err("resume of an Up node");
    assert_eq!(err, BackendError::NodeNotPaused(pnn));
    assert_eq!(err.win32_code(), 5058);
}

/// Operations on `bogus_pnn` (not a node) fail with `NodeNotFound`.
pub async fn check_unknown_node<B: ClusterBackend + ?Sized>(b: &B, bogus_pnn: u32) {
    assert!(b.snapshot().node_by_pnn(bogus_pnn).is_none());
    let nf = Err(BackendError::NodeNotFound(bogus_pnn));
    assert_eq!(b.pause_node(bogus_pnn).await, nf);
    assert_eq!(b.resume_node(bogus_pnn).await, nf);
    assert_eq!(b.stop_node(bogus_pnn).await, nf);
    assert_eq!(b.continue_node(bogus_pnn).await, nf);
    if let Some(p) = b.snapshot().public_ips.first() {
        assert_eq!(b.move_ip(p.addr, bogus_pnn).await, nf);
    }
}

/// Moves a hosted public IP to another Up node and back.
pub async fn check_move_ip<B: ClusterBackend + ?Sized>(b: &B) {
    let s = b.snapshot();
    let (addr, from) = s.public_ips.iter().find_map(|p| p.pnn.map(|h| (p.addr, h))).expect("a hosted public IP");
    let to = s.nodes.iter().find(|n| n.pnn != from && n.state == NodeState::Up).expect("another Up node").pnn;
    let mut rx = b.subscribe();
    b.move_ip(addr, to).await.expect("move_ip");
    let s = wait_for(b, "IP moved", TIMEOUT, |s| s.ip_host(addr) == Some(Some(to))).await;
    assert_eq!(s.group_for_ip(addr).and_then(|g| g.owner), Some(to));
    // the address arrives on `to` straight from `from`, or after a spell on no node (the ctdb
    // backend shows a moving address nowhere until its new node has taken it)
    expect_event(&mut rx, "IpMoved to the new node", TIMEOUT, |e| {
        matches!(e, ClusterEvent::IpMoved { addr: a, from: f, to: Some(t) }
            if *a == addr && *t == to && (*f == Some(from) || f.is_none()))
    })
    .await;
    b.move_ip(addr, to).await.expect("moving to the current host is a no-op");
    b.move_ip(addr, from).await.expect("move back");
    wait_for(b, "IP moved back", TIMEOUT, |s| s.ip_host(addr) == Some(Some(from))).await;
    let bogus: std::net::IpAddr = "192.0.2.254".parse().expect("literal");
    assert!(matches!(b.move_ip(bogus, to).await, Err(BackendError::ResourceNotFound(_))));
}

/// `move_group` of a per-IP group with and without a target.
pub async fn check_move_group<B: ClusterBackend + ?Sized>(b: &B) {
    let s = b.snapshot();
    let g = s
        .groups
        .iter()
        .find(|g| matches!(g.kind, GroupKind::PublicIp(_)) && g.owner.is_some())
        .expect("a hosted per-IP group");
    let (gid, from) = (g.id.clone(), g.owner.expect("owner"));
    let to = b.move_group(&gid, None).await.expect("move_group to best node");
    assert_ne!(to, from);
    wait_for(b, "group moved", TIMEOUT, |s| s.group_by_id(&gid).and_then(|g| g.owner) == Some(to)).await;
    assert_eq!(b.move_group(&gid, Some(from)).await, Ok(from));
    wait_for(b, "group moved back", TIMEOUT, |s| s.group_by_id(&gid).and_then(|g| g.owner) == Some(from)).await;
    assert!(matches!(b.move_group("no-such-group", None).await, Err(BackendError::GroupNotFound(_))));
}

/// Create / duplicate / rename / online / offline / fail / delete of a resource.
pub async fn check_resource_lifecycle<B: ClusterBackend + ?Sized>(b: &B) {
    const NAME: &str = "conformance-resource";
    const NAME2: &str = "conformance-resource-2";
    let s = b.snapshot();
    let cg = s.cluster_group().expect("cluster group").id.clone();
    let mut rx = b.subscribe();

    let id = b.create_resource(&cg, NAME, "generic service").await.expect("create");
    let s = wait_for(b, "resource created", TIMEOUT, |s| s.resource_by_id(&id).is_some()).await;
    let r = s.resource_by_id(&id).expect("created");
    assert_eq!(r.type_name, "Generic Service", "type name stored canonically");
    assert_eq!(r.group_id, cg);
    assert_eq!(r.state, ResourceState::Offline, "new resources start Offline");
    assert_eq!(s.resource_network_name(&id).as_deref(), Some(s.cluster.name.as_str()));
    check_invariants(&s);
    expect_event_for!(&mut rx, ResourceAdded { resource_id: id });

    assert!(matches!(
        b.create_resource(&cg, &NAME.to_uppercase(), "Generic Service").await,
        Err(BackendError::ObjectAlreadyExists(_))
    ));
    assert!(matches!(
        b.create_resource(&cg, "conformance-other", "INVALID_TYPE_XXXX").await,
        Err(BackendError::ResourceTypeNotFound(_))
    ));
    assert!(matches!(
        b.create_resource("no-such-group", "conformance-other", "Generic Service").await,
        Err(BackendError::GroupNotFound(_))
    ));

    b.rename_resource(&id, NAME).await.expect("rename to the same name");
    assert!(matches!(b.rename_resource(&id, names::CLUSTER_NAME).await, Err(BackendError::ObjectAlreadyExists(_))));
    b.rename_resource(&id, NAME2).await.expect("rename");
    let s = wait_for(b, "renamed", TIMEOUT, |s| {
        s.find_resource_by_name(&NAME2.to_uppercase()).map(|r| r.id.as_str()) == Some(id.as_str())
    })
    .await;
    assert!(s.find_resource_by_name(NAME).is_none());
    expect_event_for!(&mut rx, ResourceRenamed { resource_id: id });

    for (op, want) in [
        ("online", ResourceState::Online),
        ("offline", ResourceState::Offline),
        ("fail", ResourceState::Failed),
        ("online", ResourceState::Online),
    ] {
        let r = match op {
            "online" => b.set_resource_online(&id).await,
            "offline" => b.set_resource_offline(&id).await,
            _ => b.fail_resource(&id).await,
        };
        r.unwrap_or_else(|e| panic!("{op}: {e}"));
        wait_for(b, op, TIMEOUT, |s| s.resource_by_id(&id).map(|r| r.state) == Some(want)).await;
        expect_event(&mut rx, "ResourceStateChanged", TIMEOUT, |e| {
            matches!(e, ClusterEvent::ResourceStateChanged { resource_id, new, .. } if *resource_id == id && *new == want)
        })
        .await;
    }

    b.delete_resource(&id).await.expect("delete");
    wait_for(b, "deleted", TIMEOUT, |s| s.resource_by_id(&id).is_none()).await;
    expect_event_for!(&mut rx, ResourceDeleted { resource_id: id });
    assert!(matches!(b.delete_resource(&id).await, Err(BackendError::ResourceNotFound(_))));
}

/// Derived objects cannot be deleted; core resources keep working through
/// online/offline/fail.
pub async fn check_core_objects_protected<B: ClusterBackend + ?Sized>(b: &B) {
    let s = b.snapshot();
    let cn = s.cluster_name_resource().expect("Cluster Name").id.clone();
    let cg = s.cluster_group().expect("Cluster Group").id.clone();
    let err = b.delete_resource(&cn).await.expect_err("delete Cluster Name");
    assert_eq!(err.win32_code(), 5026);
    assert!(matches!(b.delete_group(&cg).await, Err(BackendError::CoreResource(_))));
    if let Some(r) = s.resources.iter().find(|r| matches!(r.kind, ResourceKind::PublicIp(_))) {
        assert!(matches!(b.delete_resource(&r.id).await, Err(BackendError::CoreResource(_))));
        let gid = r.group_id.clone();
        assert!(matches!(b.delete_group(&gid).await, Err(BackendError::CoreResource(_))));
    }
    // FailResource / OnlineResource on the cluster name (smbtorture does both).
    b.fail_resource(&cn).await.expect("fail Cluster Name");
    wait_for(b, "Cluster Name failed", TIMEOUT, |s| {
        s.resource_by_id(&cn).map(|r| r.state) == Some(ResourceState::Failed)
    })
    .await;
    b.set_resource_online(&cn).await.expect("online Cluster Name");
    wait_for(b, "Cluster Name online", TIMEOUT, |s| {
        s.resource_by_id(&cn).map(|r| r.state) == Some(ResourceState::Online)
    })
    .await;
    // Group offline / online of the Cluster Group.
    b.set_group_offline(&cg).await.expect("offline Cluster Group");
    wait_for(b, "Cluster Group offline", TIMEOUT, |s| s.group_by_id(&cg).map(|g| g.state) == Some(GroupState::Offline))
        .await;
    b.set_group_online(&cg).await.expect("online Cluster Group");
    wait_for(b, "Cluster Group online", TIMEOUT, |s| s.group_by_id(&cg).map(|g| g.state) == Some(GroupState::Online))
        .await;
}

/// Create / duplicate / non-empty delete / online / offline / rename / delete of a group.
pub async fn check_group_lifecycle<B: ClusterBackend + ?Sized>(b: &B) {
    const NAME: &str = "conformance-group";
    let mut rx = b.subscribe();
    let gid = b.create_group(NAME).await.expect("create group");
    let s = wait_for(b, "group created", TIMEOUT, |s| s.group_by_id(&gid).is_some()).await;
    assert_eq!(s.find_group_by_name(&NAME.to_uppercase()).map(|g| g.id.as_str()), Some(gid.as_str()));
    expect_event_for!(&mut rx, GroupAdded { group_id: gid });
    assert!(matches!(b.create_group(NAME).await, Err(BackendError::ObjectAlreadyExists(_))));
    assert!(matches!(b.create_group(names::CLUSTER_GROUP).await, Err(BackendError::ObjectAlreadyExists(_))));

    let rid = b
        .create_resource(&gid, "conformance-group-res", "Generic Application")
        .await
        .expect("create resource in group");
    assert!(matches!(b.delete_group(&gid).await, Err(BackendError::GroupNotEmpty(_))));
    b.set_group_online(&gid).await.expect("online group");
    wait_for(b, "group online", TIMEOUT, |s| {
        s.group_by_id(&gid).map(|g| g.state) == Some(GroupState::Online)
            && s.resource_by_id(&rid).map(|r| r.state) == Some(ResourceState::Online)
    })
    .await;
    b.set_group_offline(&gid).await.expect("offline group");
    wait_for(b, "group offline", TIMEOUT, |s| s.group_by_id(&gid).map(|g| g.state) == Some(GroupState::Offline)).await;
    b.delete_resource(&rid).await.expect("delete resource");

    b.rename_group(&gid, "conformance-group-2").await.expect("rename group");
    assert!(matches!(b.rename_group(&gid, names::CLUSTER_GROUP).await, Err(BackendError::ObjectAlreadyExists(_))));
    wait_for(b, "group renamed", TIMEOUT, |s| s.find_group_by_name("Conformance-Group-2").is_some()).await;

    let s = b.snapshot();
    if let Some(other) =
        s.nodes.iter().find(|n| n.state == NodeState::Up && Some(n.pnn) != s.group_by_id(&gid).and_then(|g| g.owner))
    {
        let to = other.pnn;
        assert_eq!(b.move_group(&gid, Some(to)).await, Ok(to));
        wait_for(b, "created group moved", TIMEOUT, |s| s.group_by_id(&gid).and_then(|g| g.owner) == Some(to)).await;
    }

    b.delete_group(&gid).await.expect("delete group");
    wait_for(b, "group deleted", TIMEOUT, |s| s.group_by_id(&gid).is_none()).await;
    assert!(matches!(b.delete_group(&gid).await, Err(BackendError::GroupNotFound(_))));
}

/// Runs every check. Needs at least two Up nodes and one hosted public IP;
/// pauses the first Up node other than the local one.
pub async fn run_all<B: ClusterBackend + ?Sized>(b: &B) {
    let s = b.snapshot();
    check_invariants(&s);
    let victim = s
        .nodes
        .iter()
        .find(|n| n.state == NodeState::Up && n.pnn != s.cluster.this_pnn)
        .or_else(|| s.nodes.iter().find(|n| n.state == NodeState::Up))
        .expect("an Up node")
        .pnn;
    let bogus = s.nodes.iter().map(|n| n.pnn).max().unwrap_or(0) + 100;
    check_pause_resume(b, victim).await;
    check_unknown_node(b, bogus).await;
    check_move_ip(b).await;
    check_move_group(b).await;
    check_resource_lifecycle(b).await;
    check_group_lifecycle(b).await;
    check_core_objects_protected(b).await;
    check_invariants(&b.snapshot());
}
