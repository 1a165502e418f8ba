//! Notification ports over a simulated cluster: registrations and their validation, the
//! indications of backend and registry changes, blocking waits, unblock and close, state
//! sequences, lost indications, and that nothing outlives a port.

use std::sync::Arc;
use std::time::Duration;

use idl::clusapi::*;
use idl::{Bool32, ContextHandle, WString};
use nodes::{ClusterBackend, GroupState, NodeState, SimulatedCluster};
use registry_model::RegValue;

use super::*;
use crate::services::clusapi::registry::tests::{admin, create, ctx, reader, root, set, sim, svc_over};
use crate::services::clusapi::{cluster, group, node};

const WAIT: Duration = Duration::from_secs(5);
const BRIEF: Duration = Duration::from_millis(50);

fn open_cluster(s: &ClusapiService, c: &CallCtx) -> ContextHandle {
    let r = cluster::api_open_cluster(s, c, ApiOpenClusterRequest {});
    assert_eq!(r.status.0, 0);
    r.cluster
}

fn open_node(s: &ClusapiService, c: &CallCtx, name: &str) -> ContextHandle {
    let r = node::api_open_node(s, c, ApiOpenNodeRequest { node_name: WString::new(name) });
    assert_eq!(r.status.0, 0, "open node {name}");
    r.node
}

fn open_group(s: &ClusapiService, c: &CallCtx, name: &str) -> ContextHandle {
    let r = group::api_open_group(s, c, ApiOpenGroupRequest { group_name: WString::new(name) });
    assert_eq!(r.status.0, 0, "open group {name}");
    r.group
}

fn v1_port(s: &ClusapiService, c: &CallCtx) -> ContextHandle {
    let r = api_create_notify(s, c, ApiCreateNotifyRequest {});
    assert_eq!(r.status.0, 0);
    assert_ne!(r.notify, ContextHandle::NULL);
    r.notify
}

fn v2_port(s: &ClusapiService, c: &CallCtx) -> ContextHandle {
    let r = api_create_notify_v2(s, c, ApiCreateNotifyV2Request {});
    assert_eq!(r.rpc_error.0, 0);
    assert_ne!(r.notify, ContextHandle::NULL);
    r.notify
}

#[allow(clippy::too_many_arguments)]
fn add_v2(
    s: &ClusapiService,
    c: &CallCtx,
    port: ContextHandle,
    object: ContextHandle,
    ty: u32,
    flags: i64,
    key: u32,
    targeted: bool,
) -> u32 {
    let req = ApiAddNotifyV2Request {
        notify: port,
        object,
        filter: NotifyFilterAndTypeRpc { dw_object_type: ty, filter_flags: flags },
        notify_key: key,
        version: CLUSTER_NOTIFICATIONS_V2,
        is_targeted_at_object: Bool32(targeted),
    };
    api_add_notify_v2(s, c, req).result.0
}

async fn get_v2(s: &ClusapiService, c: &CallCtx, port: ContextHandle) -> ApiGetNotifyV2Response {
    tokio::time::timeout(WAIT, api_get_notify_v2(s, c, ApiGetNotifyV2Request { notify: port }))
        .await
        .expect("ApiGetNotifyV2 did not complete")
}

async fn get_v1(s: &ClusapiService, c: &CallCtx, port: ContextHandle) -> ApiGetNotifyResponse {
    tokio::time::timeout(WAIT, api_get_notify(s, c, ApiGetNotifyRequest { notify: port }))
        .await
        .expect("ApiGetNotify did not complete")
}

async fn get_async(s: &ClusapiService, c: &CallCtx, port: ContextHandle) -> ApiGetNotifyAsyncResponse {
    tokio::time::timeout(WAIT, api_get_notify_async(s, c, ApiGetNotifyAsyncRequest { notify: port }))
        .await
        .expect("ApiGetNotifyAsync did not complete")
}

fn items(r: ApiGetNotifyV2Response) -> Vec<NotificationRpc> {
    assert_eq!(r.result.0, 0);
    let v = r.notifications.map(|a| a.0).expect("notifications");
    assert_eq!(r.num_notifications as usize, v.len());
    v
}

fn text(s: &Option<WString>) -> &str {
    s.as_ref().map_or("<null>", |w| w.as_str())
}

/// Lets the ports' event tasks run.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

fn port_arc(c: &CallCtx, h: &ContextHandle) -> Arc<NotifyPort> {
    notify_port(c, h).expect("port")
}

/// A fresh simulated cluster, a service over it and an admin caller.
fn sim_admin() -> (Arc<SimulatedCluster>, ClusapiService, CallCtx) {
    let b = sim();
    let s = svc_over(&b);
    (b, s, admin())
}

/// A service over a fresh simulated cluster, an admin caller, a version 2 port and a cluster
/// handle.
fn v2_setup() -> (Arc<SimulatedCluster>, ClusapiService, CallCtx, ContextHandle, ContextHandle) {
    let (b, s, c) = sim_admin();
    let port = v2_port(&s, &c);
    let cl = open_cluster(&s, &c);
    (b, s, c, port, cl)
}

/// ApiAddNotifyCluster of `filter` on the version 1 port `port`; the result.
fn add_v1_cluster(
    s: &ClusapiService,
    c: &CallCtx,
    port: ContextHandle,
    cl: ContextHandle,
    filter: u32,
    key: u32,
) -> u32 {
    let req = ApiAddNotifyClusterRequest { notify: port, cluster: cl, filter, notify_key: key };
    api_add_notify_cluster(s, c, req).result.0
}

/// `call` started and checked to block: it has not completed after [`BRIEF`].
async fn blocked<F: std::future::Future>(call: F) -> std::pin::Pin<Box<F>> {
    let mut fut = Box::pin(call);
    assert!(tokio::time::timeout(BRIEF, &mut fut).await.is_err(), "completed without an indication");
    fut
}

// ---------------------------------------------------------------------------------------------
// version 2
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn v2_node_state_indication_carries_id_name_and_state() {
    let (b, s, c) = sim_admin();
    let port = v2_port(&s, &c);
    let n1 = open_node(&s, &c, "CTDB_NODE_1");
    assert_eq!(add_v2(&s, &c, port, n1, object_type::NODE, v2::NODE_STATE, 7, true), 0);

    b.pause_node(1).await.unwrap();
    let v = items(get_v2(&s, &c, port).await);
    assert_eq!(v.len(), 1, "{v:?}");
    let n = &v[0];
    assert_eq!(n.dw_notify_key, 7);
    let d = &n.notification_data;
    assert_eq!(d.filter_and_type, NotifyFilterAndTypeRpc { dw_object_type: 7, filter_flags: 0x10 });
    assert_eq!(text(&d.object_id), "2");
    assert_eq!(text(&d.name), "CTDB_NODE_1");
    assert_eq!(text(&d.parent_id), "");
    assert_eq!(text(&d.type_name), "");
    assert_eq!(d.buffer.as_ref().unwrap().0, NodeState::Paused.as_u32().to_le_bytes());
    assert_eq!(d.dw_buffer_size, 4);

    // another node's change is not for this registration
    b.pause_node(2).await.unwrap();
    b.resume_node(1).await.unwrap();
    let v = items(get_v2(&s, &c, port).await);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].notification_data.buffer.as_ref().unwrap().0, [0, 0, 0, 0]);
}

#[tokio::test]
async fn blocked_get_notify_v2_completes_when_an_event_arrives() {
    let (b, s, c, port, cl) = v2_setup();
    assert_eq!(add_v2(&s, &c, port, cl, object_type::NODE, v2::NODE_STATE, 1, false), 0);

    let mut fut = blocked(api_get_notify_v2(&s, &c, ApiGetNotifyV2Request { notify: port })).await;
    // other calls of the association run meanwhile
    assert_eq!(add_v2(&s, &c, port, cl, object_type::GROUP, v2::GROUP_STATE, 2, false), 0);
    b.pause_node(2).await.unwrap();
    let r = tokio::time::timeout(WAIT, &mut fut).await.expect("still blocked after the event");
    let v = items(r);
    assert!(v.iter().any(|n| n.dw_notify_key == 1 && text(&n.notification_data.name) == "CTDB_NODE_2"), "{v:?}");
}

#[tokio::test]
async fn unblock_completes_waiters_then_the_port_is_closed() {
    let (b, s, c, port, cl) = v2_setup();
    assert_eq!(add_v2(&s, &c, port, cl, object_type::NODE, v2::NODE_STATE, 1, false), 0);

    let mut fut = blocked(api_get_notify_v2(&s, &c, ApiGetNotifyV2Request { notify: port })).await;
    let u = api_unblock_get_notify_call(&s, &c, ApiUnblockGetNotifyCallRequest { notify: port });
    assert_eq!(u.result.0, 0);
    let r = tokio::time::timeout(WAIT, &mut fut).await.expect("unblock did not complete the call");
    assert_eq!(r.result.0, win::ERROR_INVALID_FUNCTION);
    assert_eq!(r.num_notifications, 0);
    assert!(r.notifications.is_none());

    // run down: later calls answer "port closed", nothing is queued any more
    b.pause_node(1).await.unwrap();
    settle().await;
    assert_eq!(get_v2(&s, &c, port).await.result.0, win::ERROR_NO_MORE_ITEMS);
    assert_eq!(add_v2(&s, &c, port, cl, object_type::NODE, v2::NODE_STATE, 1, false), win::ERROR_INVALID_HANDLE);

    let r = api_close_notify(&s, &c, ApiCloseNotifyRequest { notify: port });
    assert_eq!((r.result.0, r.notify), (0, ContextHandle::NULL));
    assert_eq!(get_v2(&s, &c, port).await.result.0, win::ERROR_INVALID_HANDLE);
    let r = api_close_notify(&s, &c, ApiCloseNotifyRequest { notify: port });
    assert_eq!((r.result.0, r.notify), (win::ERROR_INVALID_HANDLE, port));
    assert_eq!(
        api_unblock_get_notify_call(&s, &c, ApiUnblockGetNotifyCallRequest { notify: port }).result.0,
        win::ERROR_INVALID_HANDLE
    );
}

#[tokio::test]
async fn close_completes_waiters_and_zeroes_the_handle() {
    let (_, s, c) = sim_admin();
    let port = v1_port(&s, &c);
    let cl = open_cluster(&s, &c);
    assert_eq!(add_v1_cluster(&s, &c, port, cl, change::NODE_STATE, 1), 0);
    let mut fut = blocked(api_get_notify(&s, &c, ApiGetNotifyRequest { notify: port })).await;
    let r = api_close_notify(&s, &c, ApiCloseNotifyRequest { notify: port });
    assert_eq!((r.result.0, r.notify), (0, ContextHandle::NULL));
    let r = tokio::time::timeout(WAIT, &mut fut).await.expect("close did not complete the call");
    assert_eq!(r.result.0, win::ERROR_INVALID_FUNCTION);
    assert!(r.name.is_none());
    assert_eq!(get_v1(&s, &c, port).await.result.0, win::ERROR_INVALID_HANDLE);
}

#[tokio::test]
async fn add_notify_v2_validates_filter_version_and_handles() {
    let (_b, s, c, port, cl) = v2_setup();
    let n1 = open_node(&s, &c, "CTDB_NODE_1");
    let g = open_group(&s, &c, "Cluster Group");
    let bad = win::ERROR_INVALID_PARAMETER;
    let inval = win::ERROR_INVALID_HANDLE;
    let cases: [(u32, i64, ContextHandle, u32); 17] = [
        (object_type::NODE, 0, n1, bad),                                              // no flag
        (object_type::NODE, 0x100, n1, bad),                                          // undefined flag
        (object_type::NODE, v2::NODE_HANDLE_CLOSE, n1, bad),                          // client only
        (object_type::CLUSTER, v2::CLUSTER_RECONNECT, cl, bad),                       // client only
        (object_type::CLUSTER, v2::CLUSTER_STATE | v2::CLUSTER_GROUP_ADDED, cl, bad), // client only
        (object_type::GROUP, v2::GROUP_HANDLE_CLOSE, g, bad),                         // client only
        (object_type::REGISTRY, v2::REGISTRY_HANDLE_CLOSE, cl, bad),                  // client only
        (99, 1, cl, bad),                                                             // unknown object type
        (object_type::GROUPSET, v2::GROUPSET_HANDLE_CLOSE, cl, bad),                  // client only
        (object_type::GROUPSET, 0x200, cl, bad),                                      // undefined flag
        (object_type::GROUPSET, v2::GROUPSET_GROUP_ADDED, g, inval),                  // not a group set handle
        (object_type::GROUPSET, 0xFF, cl, 0),                                         // every group set (none)
        (object_type::NODE, v2::NODE_STATE, g, inval),                                // a group handle for nodes
        (object_type::CLUSTER, v2::CLUSTER_GROUP_ADDED, n1, inval),                   // cluster types need hCluster
        (object_type::NODE, v2::NODE_STATE | v2::NODE_GROUP_LOST, n1, 0),
        (object_type::GROUP, v2::GROUP_STATE, cl, 0), // every group
        (object_type::CLUSTER, v2::CLUSTER_GROUP_ADDED | v2::CLUSTER_LOST_NOTIFICATIONS, cl, 0),
    ];
    for (ty, flags, h, want) in cases {
        assert_eq!(add_v2(&s, &c, port, h, ty, flags, 1, true), want, "type {ty} flags {flags:#x}");
    }
    // dwVersion other than CLUSTER_NOTIFICATIONS_V2
    let mut req = ApiAddNotifyV2Request {
        notify: port,
        object: n1,
        filter: NotifyFilterAndTypeRpc { dw_object_type: object_type::NODE, filter_flags: v2::NODE_STATE },
        notify_key: 1,
        version: 1,
        is_targeted_at_object: Bool32(true),
    };
    assert_eq!(api_add_notify_v2(&s, &c, req.clone()).result.0, bad);
    // a version 1 port, an unknown port
    req.version = CLUSTER_NOTIFICATIONS_V2;
    req.notify = v1_port(&s, &c);
    assert_eq!(api_add_notify_v2(&s, &c, req.clone()).result.0, inval);
    req.notify = ContextHandle::NULL;
    assert_eq!(api_add_notify_v2(&s, &c, req).result.0, inval);

    // Windows Server 2012 R2 has no group sets: their object type is unknown there
    let mut config = nodes::SimConfig::with_nodes(3);
    config.windows_version = nodes::WindowsVersion::Ws2012R2;
    let old = svc_over(&Arc::new(SimulatedCluster::new(config).unwrap()));
    let (port12, cl12) = (v2_port(&old, &c), open_cluster(&old, &c));
    assert_eq!(add_v2(&old, &c, port12, cl12, object_type::GROUPSET, v2::GROUPSET_GROUP_ADDED, 1, true), bad);
    assert_eq!(add_v2(&old, &c, port12, cl12, object_type::NODE, v2::NODE_STATE, 1, false), 0);

    // resource types: by name
    let rt = |name: &str, filter: i64, version: u32| {
        let req = ApiAddNotifyResourceTypeV2Request {
            notify: port,
            filter,
            notify_key: 3,
            res_type_name: WString::new(name),
            version,
        };
        api_add_notify_resource_type_v2(&s, &c, req).result.0
    };
    assert_eq!(rt("IP Address", v2::RESOURCE_TYPE_COMMON_PROPERTY, 2), 0);
    assert_eq!(rt("No Such Type", v2::RESOURCE_TYPE_COMMON_PROPERTY, 2), win::ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND);
    assert_eq!(rt("IP Address", 0x20, 2), bad);
    assert_eq!(rt("IP Address", v2::RESOURCE_TYPE_DELETED, 1), bad);
    assert_eq!(port_arc(&c, &port).registrations(), 5);
}

#[tokio::test]
async fn v2_group_move_reports_owner_and_node_gains_and_losses() {
    let (b, s, c, port, cl) = v2_setup();
    let g = open_group(&s, &c, "Public IP 127.0.100.2");
    let gid = b.snapshot().find_group_by_name("Public IP 127.0.100.2").unwrap().id.clone();
    let n2 = open_node(&s, &c, "CTDB_NODE_2");
    assert_eq!(add_v2(&s, &c, port, g, object_type::GROUP, v2::GROUP_OWNER_NODE | v2::GROUP_STATE, 5, true), 0);
    assert_eq!(add_v2(&s, &c, port, n2, object_type::NODE, v2::NODE_GROUP_GAINED, 6, true), 0);
    assert_eq!(add_v2(&s, &c, port, cl, object_type::NODE, v2::NODE_GROUP_LOST, 8, false), 0);

    assert_eq!(b.move_group(&gid, Some(2)).await.unwrap(), 2);
    let v = items(get_v2(&s, &c, port).await);
    let owner = v.iter().find(|n| n.dw_notify_key == 5).expect("owner indication");
    let d = &owner.notification_data;
    assert_eq!(d.filter_and_type, NotifyFilterAndTypeRpc { dw_object_type: 2, filter_flags: v2::GROUP_OWNER_NODE });
    assert_eq!(text(&d.object_id), gid);
    assert_eq!(text(&d.name), "Public IP 127.0.100.2");
    assert_eq!(text(&d.parent_id), "3");
    assert_eq!(d.buffer.as_ref().unwrap().0, utf16z_encode("3"));
    let gained = v.iter().find(|n| n.dw_notify_key == 6).expect("gained");
    assert_eq!(text(&gained.notification_data.object_id), "3");
    assert_eq!(gained.notification_data.buffer.as_ref().unwrap().0, utf16z_encode(&gid));
    let lost = v.iter().find(|n| n.dw_notify_key == 8).expect("lost");
    assert_eq!(text(&lost.notification_data.object_id), "2");
    assert_eq!(text(&lost.notification_data.name), "CTDB_NODE_1");
}

#[test]
fn v2_mapping_of_added_objects_and_properties() {
    let b = sim();
    let snap = b.snapshot();
    let g = snap.find_group_by_name("File Server").unwrap();
    let v = v2_notices(&ClusterEvent::GroupAdded { group_id: g.id.clone(), name: g.name.clone() }, &snap);
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].object_type, v[0].filter), (object_type::CLUSTER, v2::CLUSTER_GROUP_ADDED));
    assert_eq!(v[0].object_id, g.id);
    assert_eq!(v[0].parent_id, owner_id(&snap, g.owner));
    assert_eq!(v[0].buffer, g.group_type.to_le_bytes());

    let r = snap.resources.iter().find(|r| r.type_name == "IP Address").unwrap();
    let v = v2_notices(
        &ClusterEvent::ResourceStateChanged {
            resource_id: r.id.clone(),
            old: nodes::ResourceState::Online,
            new: nodes::ResourceState::Offline,
        },
        &snap,
    );
    assert_eq!(v[0].parent_id, r.group_id);
    assert_eq!(v[0].type_name, "IP Address");
    assert_eq!(v[0].buffer, 3u32.to_le_bytes());

    let v = v2_notices(&ClusterEvent::ResourcePropertiesChanged { resource_id: r.id.clone() }, &snap);
    let flags: Vec<i64> = v.iter().map(|n| n.filter).collect();
    assert_eq!(flags, [v2::RESOURCE_COMMON_PROPERTY, v2::RESOURCE_PRIVATE_PROPERTY]);
    let common = PropertyList::decode(&v[0].buffer).unwrap();
    assert!(common.get("Description").is_some());
    let private = PropertyList::decode(&v[1].buffer).unwrap();
    assert!(private.get("Address").is_some(), "{private:?}");

    let v = v2_notices(
        &ClusterEvent::GroupRenamed { group_id: g.id.clone(), old_name: "x".into(), new_name: g.name.clone() },
        &snap,
    );
    assert_eq!(PropertyList::decode(&v[0].buffer).unwrap().0.len(), 1);
    assert!(v2_notices(&ClusterEvent::BackendUnavailable, &snap).is_empty());
    assert!(v1_notices(&ClusterEvent::Recovery { generation: 3 }, &snap).is_empty());
}

// ---------------------------------------------------------------------------------------------
// version 1
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn readd_with_a_stale_sequence_queues_the_state_at_once() {
    let (b, s, c) = sim_admin();
    let port = v1_port(&s, &c);
    let n2 = open_node(&s, &c, "CTDB_NODE_2");
    let r = api_add_notify_node(
        &s,
        &c,
        ApiAddNotifyNodeRequest { notify: port, node: n2, filter: change::NODE_STATE, notify_key: 3 },
    );
    assert_eq!((r.result.0, r.state_sequence), (0, NodeState::Up.as_u32()));

    let readd = |sequence: u32, key: u32| {
        let req = ApiReAddNotifyNodeRequest {
            notify: port,
            node: n2,
            filter: change::NODE_STATE,
            notify_key: key,
            state_sequence: sequence,
        };
        api_re_add_notify_node(&s, &c, req).result.0
    };
    assert_eq!(readd(NodeState::Up.as_u32(), 4), 0);
    assert_eq!(port_arc(&c, &port).pending(), 0, "same sequence: nothing queued");
    assert_eq!(readd(NodeState::Paused.as_u32(), 5), 0);
    let g = get_v1(&s, &c, port).await;
    assert_eq!(g.result.0, 0);
    assert_eq!((g.notify_key, g.filter, g.state_sequence), (5, change::NODE_STATE, NodeState::Up.as_u32()));
    assert_eq!(text(&g.name), "CTDB_NODE_2");

    // groups: the sequence covers state and owner
    let gname = "Public IP 127.0.100.3";
    let grp = open_group(&s, &c, gname);
    let r = api_add_notify_group(
        &s,
        &c,
        ApiAddNotifyGroupRequest { notify: port, group: grp, filter: change::GROUP_STATE, notify_key: 6 },
    );
    assert_eq!(r.result.0, 0);
    assert_eq!(r.state_sequence, owned_sequence(GroupState::Online.as_u32(), Some(2)));
    let old = r.state_sequence;
    let gid = b.snapshot().find_group_by_name(gname).unwrap().id.clone();
    b.move_group(&gid, Some(0)).await.unwrap();
    let g = get_v1(&s, &c, port).await;
    assert_eq!((g.notify_key, g.filter), (6, change::GROUP_STATE));
    assert_eq!(g.state_sequence, owned_sequence(GroupState::Online.as_u32(), Some(0)));
    assert_ne!(g.state_sequence, old);
    let r = api_re_add_notify_group(
        &s,
        &c,
        ApiReAddNotifyGroupRequest {
            notify: port,
            group: grp,
            filter: change::GROUP_STATE,
            notify_key: 7,
            state_sequence: old,
        },
    );
    assert_eq!(r.result.0, 0);
    let g = get_v1(&s, &c, port).await;
    assert_eq!((g.notify_key, g.filter, text(&g.name)), (7, change::GROUP_STATE, gname));

    // bad handles
    let r = api_re_add_notify_node(
        &s,
        &c,
        ApiReAddNotifyNodeRequest { notify: port, node: grp, filter: 1, notify_key: 1, state_sequence: 0 },
    );
    assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);
    let v2p = v2_port(&s, &c);
    let r = api_add_notify_node(&s, &c, ApiAddNotifyNodeRequest { notify: v2p, node: n2, filter: 1, notify_key: 1 });
    assert_eq!(r.result.0, win::ERROR_INVALID_HANDLE);
    assert_eq!(get_v1(&s, &c, v2p).await.result.0, win::ERROR_INVALID_HANDLE);
    assert_eq!(get_v2(&s, &c, port).await.result.0, win::ERROR_INVALID_HANDLE);
}

#[tokio::test]
async fn v1_cluster_registration_sees_every_object_and_async_batches() {
    let b = sim();
    let (s, c) = (svc_over(&b), reader());
    let port = v1_port(&s, &c);
    let cl = open_cluster(&s, &c);
    let filter = change::NODE_STATE | change::GROUP_STATE | change::HANDLE_CLOSE;
    assert_eq!(add_v1_cluster(&s, &c, port, cl, filter, 9), 0);
    b.pause_node(1).await.unwrap();
    let r = get_async(&s, &c, port).await;
    assert_eq!(r.result.0, 0);
    let v = r.notifications.map(|a| a.0).unwrap();
    assert_eq!(r.num_notifications as usize, v.len());
    assert!(v.iter().all(|n| n.dw_notify_key == 9 && n.dw_filter & filter != 0 && n.dw_filter != change::HANDLE_CLOSE));
    let has = |f: u32, name: &str| v.iter().any(|n| n.dw_filter == f && text(&n.name) == name);
    assert!(has(change::NODE_STATE, "CTDB_NODE_1"), "{v:?}");
    assert!(has(change::GROUP_STATE, "Public IP 127.0.100.2"), "{v:?}");
}

#[tokio::test]
async fn registry_changes_reach_key_watches() {
    let (_, s, c) = sim_admin();
    let rk = root(&s, &c).await;
    let app = create(&s, &c, &rk, "App").await.key;

    // version 1: ApiAddNotifyKey on App, without its subtree
    let p1 = v1_port(&s, &c);
    let req = ApiAddNotifyKeyRequest {
        notify: p1,
        key: app,
        notify_key: 11,
        filter: change::REGISTRY_VALUE | change::REGISTRY_NAME,
        watch_sub_tree: Bool32(false),
    };
    assert_eq!(api_add_notify_key(&s, &c, req).result.0, 0);
    // version 2: the whole registry from the root (cluster handle), subtree
    let p2 = v2_port(&s, &c);
    let cl = open_cluster(&s, &c);
    let flags = v2::REGISTRY_VALUE | v2::REGISTRY_SUBTREE | v2::REGISTRY_ATTRIBUTES;
    assert_eq!(add_v2(&s, &c, p2, cl, object_type::REGISTRY, flags, 12, true), 0);

    assert_eq!(set(&s, &c, &app, "v", &RegValue::dword(1)).await, 0);
    let deep = create(&s, &c, &app, "Sub\\Deeper").await.key;
    assert_eq!(set(&s, &c, &deep, "w", &RegValue::dword(2)).await, 0);

    let r = get_async(&s, &c, p1).await;
    let v: Vec<(u32, u32, String)> = r
        .notifications
        .map(|a| a.0)
        .unwrap()
        .into_iter()
        .map(|n| (n.dw_notify_key, n.dw_filter, text(&n.name).to_owned()))
        .collect();
    // the value of App itself and the new direct subkey; the deeper key and value are not seen
    assert_eq!(v, [(11, change::REGISTRY_VALUE, String::new()), (11, change::REGISTRY_NAME, "Sub".to_owned())]);

    let v = items(get_v2(&s, &c, p2).await);
    let got: Vec<(i64, &str)> =
        v.iter().map(|n| (n.notification_data.filter_and_type.filter_flags, text(&n.notification_data.name))).collect();
    assert_eq!(got, [(v2::REGISTRY_VALUE, "App"), (v2::REGISTRY_VALUE, "App\\Sub\\Deeper")]);
    assert!(v.iter().all(|n| n.notification_data.filter_and_type.dw_object_type == object_type::REGISTRY));
}

// ---------------------------------------------------------------------------------------------
// lost indications, access, lifetime
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_full_queue_ends_with_reconnect_or_lost_notifications() {
    let (_, s, c) = sim_admin();
    let cl = open_cluster(&s, &c);
    let notice = |filter: i64| Notice::about(object_type::NODE, filter, "1".into());

    let p1 = v1_port(&s, &c);
    assert_eq!(add_v1_cluster(&s, &c, p1, cl, change::NODE_STATE, 4), 0);
    let port = port_arc(&c, &p1);
    port.deliver(&vec![notice(change::NODE_STATE.into()); MAX_QUEUED + 10]);
    assert_eq!(port.pending(), MAX_QUEUED);
    let r = get_async(&s, &c, p1).await;
    assert_eq!(r.num_notifications as usize, MAX_QUEUED);
    let r = get_async(&s, &c, p1).await;
    let v = r.notifications.map(|a| a.0).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].dw_notify_key, v[0].dw_filter), (4, change::CLUSTER_RECONNECT));

    // the event task falling behind the backend counts as a loss too
    port.lose();
    let g = get_v1(&s, &c, p1).await;
    assert_eq!(g.filter, change::CLUSTER_RECONNECT);

    let p2 = v2_port(&s, &c);
    assert_eq!(add_v2(&s, &c, p2, cl, object_type::NODE, v2::NODE_STATE, 1, false), 0);
    assert_eq!(add_v2(&s, &c, p2, cl, object_type::CLUSTER, v2::CLUSTER_LOST_NOTIFICATIONS, 2, true), 0);
    let port = port_arc(&c, &p2);
    port.deliver(&vec![notice(v2::NODE_STATE); MAX_QUEUED + 1]);
    assert_eq!(items(get_v2(&s, &c, p2).await).len(), MAX_QUEUED);
    let v = items(get_v2(&s, &c, p2).await);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].dw_notify_key, 2);
    assert_eq!(
        v[0].notification_data.filter_and_type,
        NotifyFilterAndTypeRpc { dw_object_type: object_type::CLUSTER, filter_flags: v2::CLUSTER_LOST_NOTIFICATIONS }
    );
}

#[tokio::test]
async fn creating_a_port_needs_an_account() {
    let b = sim();
    let s = svc_over(&b);
    let anon = ctx(None);
    assert_eq!(api_create_notify(&s, &anon, ApiCreateNotifyRequest {}).status.0, win::ERROR_ACCESS_DENIED);
    let r = api_create_notify_v2(&s, &anon, ApiCreateNotifyV2Request {});
    assert_eq!((r.rpc_error.0, r.notify), (win::ERROR_ACCESS_DENIED, ContextHandle::NULL));
}

#[tokio::test]
async fn nothing_is_queued_before_the_first_registration() {
    let (b, s, c) = sim_admin();
    let port = v2_port(&s, &c);
    b.pause_node(1).await.unwrap();
    settle().await;
    assert_eq!(port_arc(&c, &port).pending(), 0);
}

#[tokio::test]
async fn a_closed_port_stops_receiving_and_its_task_ends() {
    let (b, s, c, h, cl) = v2_setup();
    assert_eq!(add_v2(&s, &c, h, cl, object_type::NODE, v2::NODE_STATE, 1, false), 0);
    let rk = root(&s, &c).await;
    assert_eq!(add_v2(&s, &c, h, rk, object_type::REGISTRY, v2::REGISTRY_VALUE, 2, true), 0);
    // an in-flight call would hold the port like this
    let port = port_arc(&c, &h);
    let task = port.task_token();
    assert!(task.upgrade().is_some(), "the port has an event task");

    assert_eq!(api_close_notify(&s, &c, ApiCloseNotifyRequest { notify: h }).result.0, 0);
    settle().await;
    assert!(task.upgrade().is_none(), "the event task outlived the close");
    b.pause_node(1).await.unwrap();
    assert_eq!(set(&s, &c, &rk, "x", &RegValue::dword(1)).await, 0);
    settle().await;
    assert_eq!(port.pending(), 0, "a closed port received indications");
    assert!(port.is_closed());

    // once the last reference goes, the registry forgets the port
    let weak = Arc::downgrade(&port);
    drop(port);
    assert!(weak.upgrade().is_none());
}

#[tokio::test]
async fn ports_end_with_their_association_group() {
    let b: Arc<SimulatedCluster> = sim();
    let s = svc_over(&b);
    let (task, weak) = {
        let c = admin();
        let h = v1_port(&s, &c);
        let cl = open_cluster(&s, &c);
        assert_eq!(add_v1_cluster(&s, &c, h, cl, change::NODE_STATE, 1), 0);
        let port = port_arc(&c, &h);
        (port.task_token(), Arc::downgrade(&port))
        // the association group (and every handle in it) goes with `c`
    };
    assert!(weak.upgrade().is_none(), "the port outlived its association group");
    b.pause_node(1).await.unwrap();
    settle().await;
    assert!(task.upgrade().is_none(), "the event task outlived the association group");
}

#[test]
fn watches_see_their_key_direct_subkeys_or_subtree() {
    use RegChange::*;
    assert_eq!(watch_sees("A", false, Value, "A"), Some(String::new()));
    assert_eq!(watch_sees("A", false, Value, "A\\B"), None);
    assert_eq!(watch_sees("A", true, Value, "a\\B"), Some("B".into()));
    assert_eq!(watch_sees("A", false, Created, "A\\B"), Some("B".into()));
    assert_eq!(watch_sees("A", false, Created, "A\\B\\C"), Some("B".into()));
    assert_eq!(watch_sees("A", false, Deleted, "A\\B\\C"), None);
    assert_eq!(watch_sees("A\\B", false, Deleted, "A"), Some(String::new()));
    assert_eq!(watch_sees("A\\B", false, Created, "A"), None);
    assert_eq!(watch_sees("", true, Attributes, "X\\Y"), Some("X\\Y".into()));
    assert_eq!(watch_sees("A", true, Value, "AB"), None);
}

#[test]
fn sequences_of_owned_objects_change_with_the_owner() {
    assert_eq!(owned_sequence(0, None), 0);
    assert_eq!(owned_sequence(2, Some(0)), 0x1_0002);
    assert_ne!(owned_sequence(0, Some(1)), owned_sequence(0, Some(2)));
    assert_eq!(owned_sequence(u32::MAX, None), 0xFFFF);
}

/// ApiAddNotifyV2 takes a handle of every object type it names (node, group, resource,
/// network, network interface, registry key; the cluster handle for cluster-wide types and
/// "every object of the type"), and refuses a handle of another type.
#[tokio::test]
async fn add_notify_v2_on_handles_of_every_object_type() {
    use crate::services::clusapi::{netinterface, network, resource};
    let (b, s, c, port, cl) = v2_setup();
    let snap = b.snapshot();
    let res =
        resource::api_open_resource(&s, &c, ApiOpenResourceRequest { resource_name: WString::new("Cluster Name") });
    let net =
        network::api_open_network(&s, &c, ApiOpenNetworkRequest { network_name: WString::new("Cluster Network 1") });
    let nif = netinterface::api_open_net_interface(
        &s,
        &c,
        ApiOpenNetInterfaceRequest { net_interface_name: WString::new(snap.net_interfaces[0].name.clone()) },
    );
    let key = root(&s, &c).await;
    let node = open_node(&s, &c, "CTDB_NODE_2");
    let group = open_group(&s, &c, "Cluster Group");
    let ok: [(u32, i64, ContextHandle); 10] = [
        (object_type::NODE, v2::NODE_STATE, node),
        (object_type::GROUP, v2::GROUP_OWNER_NODE, group),
        (object_type::RESOURCE, v2::RESOURCE_STATE, res.resource),
        (object_type::NETWORK, v2::NETWORK_STATE, net.network),
        (object_type::NETWORK_INTERFACE, v2::NETINTERFACE_STATE, nif.net_interface),
        (object_type::REGISTRY, v2::REGISTRY_VALUE, key),
        (object_type::CLUSTER, v2::CLUSTER_NODE_ADDED, cl),
        (object_type::RESOURCE_TYPE, v2::RESOURCE_TYPE_COMMON_PROPERTY, cl),
        (object_type::QUORUM, v2::QUORUM_STATE, cl),
        (object_type::GROUPSET, v2::GROUPSET_STATE, cl),
    ];
    for (ty, flags, h) in ok {
        assert_ne!(h, ContextHandle::NULL, "type {ty}");
        assert_eq!(add_v2(&s, &c, port, h, ty, flags, 7, true), 0, "type {ty}");
    }
    // a handle of another object type
    for (ty, flags, h) in [
        (object_type::RESOURCE, v2::RESOURCE_STATE, net.network),
        (object_type::NETWORK, v2::NETWORK_STATE, res.resource),
        (object_type::NETWORK_INTERFACE, v2::NETINTERFACE_STATE, node),
        (object_type::QUORUM, v2::QUORUM_STATE, group),
    ] {
        assert_eq!(add_v2(&s, &c, port, h, ty, flags, 7, true), win::ERROR_INVALID_HANDLE, "type {ty}");
    }
    // and the registrations report: pausing node 2 queues its state change
    let r = node::api_pause_node(&s, &c, ApiPauseNodeRequest { node }).await;
    assert_eq!(r.result.0, 0);
    let got = items(get_v2(&s, &c, port).await);
    assert!(
        got.iter().any(|n| n.notification_data.filter_and_type.dw_object_type == object_type::NODE
            && text(&n.notification_data.object_id) == "3"),
        "{got:?}"
    );
}
