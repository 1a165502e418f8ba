//! Cluster object notification ports ([MS-CMRP] 3.1.1.8): version 1 ports (ApiCreateNotify,
//! the ApiAddNotify*/ApiReAddNotify* registrations, ApiGetNotify, ApiGetNotifyAsync) and
//! version 2 ports (ApiCreateNotifyV2, ApiAddNotifyV2, ApiAddNotifyResourceTypeV2,
//! ApiGetNotifyV2), both run down by ApiUnblockGetNotifyCall and freed by ApiCloseNotify
//! (opnums 55-65, 90, 91, 99, 100, 107, 137-139, 147, 155).
//!
//! A port ([`NotifyPort`]) is a context handle of the association group. It holds the
//! registered filters and a queue of at most [`MAX_QUEUED`] indications. Its events come from
//! two sources:
//!
//! * the cluster backend: every port has its own task reading
//!   [`ClusterBackend::subscribe`]. The task holds the port only weakly and also ends when the
//!   port is closed (or dropped with its association group): nothing outlives the handle.
//!   Each [`ClusterEvent`] becomes indications ([`v1_notices`], [`v2_notices`], mapping table
//!   below) that are queued once per registration that sees them;
//! * the cluster registry: a port with a registry filter is registered with the registry's
//!   change publisher ([`registry::RegistryState::add_sink`], the mechanism that feeds batch
//!   ports), again weakly. A committed create/delete of a key is a REGISTRY_NAME change, a
//!   value write or delete REGISTRY_VALUE, a descriptor change REGISTRY_ATTRIBUTES; the name
//!   reported is the changed key relative to the watched key. Without the subtree flag a watch
//!   sees its key's values and descriptor, and the creation or deletion of its direct subkeys.
//!
//! | Backend event | Version 1 (CLUSTER_CHANGE) | Version 2 (object type: flag) |
//! |---|---|---|
//! | NodeAdded | NODE_ADDED | CLUSTER: NODE_ADDED (buffer: node state) |
//! | NodeDeleted | NODE_DELETED | NODE: DELETED |
//! | NodeStateChanged | NODE_STATE | NODE: STATE (buffer: node state) |
//! | NodePropertiesChanged | NODE_PROPERTY | NODE: COMMON_PROPERTY (buffer: Description) |
//! | GroupAdded | GROUP_ADDED | CLUSTER: GROUP_ADDED (buffer: group type) |
//! | GroupDeleted | GROUP_DELETED | GROUP: DELETED |
//! | GroupStateChanged | GROUP_STATE | GROUP: STATE (buffer: group state) |
//! | GroupOwnerChanged | GROUP_STATE, and RESOURCE_STATE of its resources | GROUP: OWNER_NODE (buffer: new owner id); NODE: GROUP_LOST / GROUP_GAINED (buffer: group id) |
//! | GroupRenamed | GROUP_PROPERTY (new name) | GROUP: COMMON_PROPERTY (buffer: Name) |
//! | GroupPropertiesChanged | GROUP_PROPERTY | GROUP: COMMON_PROPERTY (buffer: Description) |
//! | ResourceAdded | RESOURCE_ADDED | GROUP: RESOURCE_ADDED (buffer: resource id) |
//! | ResourceDeleted | RESOURCE_DELETED | RESOURCE: DELETED (buffer: old group id) |
//! | ResourceStateChanged | RESOURCE_STATE | RESOURCE: STATE (buffer: resource state) |
//! | ResourceRenamed | RESOURCE_PROPERTY (new name) | RESOURCE: COMMON_PROPERTY (buffer: Name) |
//! | ResourcePropertiesChanged | RESOURCE_PROPERTY | RESOURCE: COMMON_PROPERTY (Description) and PRIVATE_PROPERTY (all private properties) |
//! | NetworkStateChanged | NETWORK_STATE | NETWORK: STATE (buffer: network state) |
//! | NetInterfaceStateChanged | NETINTERFACE_STATE | NETWORK_INTERFACE: STATE (buffer: interface state) |
//! | IpMoved, Recovery, BackendUnavailable, BackendAvailable | — | — |
//!
//! IP moves show as the group owner and resource state changes they cause; the backend's
//! availability is the client's CLUSTER_STATE business (client-only in both versions), and
//! node states follow it anyway (Unknown while ctdbd is away). Version 2 indications carry
//! ObjectId / ParentId / Name / Type as [MS-CMRP] 3.1.4.2.138 lists them: groups have the owner
//! node id as parent, resources their group id and type name, interfaces their node id,
//! nodes and networks no parent. Property buffers are PROPERTY_LISTs of the changed values.
//!
//! Version 1 state sequences ([MS-CMRP] 3.1.1.8) are derived from the model, so every node's
//! clusapid and every restart agree on them: a node's, network's or interface's sequence is
//! its state (as Windows does for these), a group's or resource's is its state in the low 16
//! bits and its owner (pnn + 1, 0 for none) above, so a move is a new sequence too.
//!
//! When indications cannot be queued (the queue is full, or the port's task fell behind the
//! backend's event stream) they are dropped and the port queues one CLUSTER_RECONNECT
//! (version 1, "SHOULD" of 3.1.4.2.66) or CLUSTER_LOST_NOTIFICATIONS_V2 (version 2, for a
//! client that registered it on the cluster) as soon as there is room again.
//!
//! Ports change state like this: open → run down (ApiUnblockGetNotifyCall or ApiCloseNotify:
//! registrations and queued indications are dropped, waiting ApiGetNotify* calls complete
//! with ERROR_INVALID_FUNCTION, later ones answer ERROR_NO_MORE_ITEMS) → freed (ApiCloseNotify:
//! the handle is gone, ERROR_INVALID_HANDLE). This follows the two-step close Windows'
//! clussvc implements (unblock, then free the handle).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use idl::clusapi::*;
use idl::{ConfBytes, ContextHandle, WError, WString};
use nodes::{ClusterBackend, ClusterEvent, ClusterState, Group, NetInterface, Node, Resource};
use registry_model::proplist::{utf16z_encode, PropertyList};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, oneshot, Notify};

use super::access::Granted;
use super::objclass::{
    self, handle, Cluster, GroupSets, Groups, NetInterfaces, Networks, Nodes, ObjectClass, Resources, StatusReply,
};
use super::properties::Obj;
use super::registry::{self, relative, Change, ChangeSink};
use super::{status, win, ClusapiService};
use crate::services::CallCtx;

/// The CLUSTER_CHANGE values and object types live with the wire codecs.
pub use idl::cluschange::{change, object_type, v2};

/// `dwVersion` of ApiAddNotifyV2 and ApiAddNotifyResourceTypeV2: CLUSTER_NOTIFICATIONS_V2.
pub const CLUSTER_NOTIFICATIONS_V2: u32 = 2;
/// Undelivered indications a port keeps; beyond, they are dropped and the client is told so.
pub const MAX_QUEUED: usize = 4096;
/// Registrations a port takes (ERROR_NOT_ENOUGH_MEMORY beyond).
pub const MAX_REGISTRATIONS: usize = 16_384;

/// The flags `object_type` defines, and among them the client-only ones ([MS-CMRP] 2.2.2.12-
/// 2.2.2.21: RECONNECT, STATE and the HANDLE_CLOSE flags are "(Client only)", and 3.1.4.2.138
/// says the server MUST NOT return them). `None` for an object type clusapid does not serve.
pub fn v2_filter_rules(ty: u32) -> Option<(i64, i64)> {
    use object_type as t;
    Some(match ty {
        t::CLUSTER => (0x1FFF, v2::CLUSTER_RECONNECT | v2::CLUSTER_STATE | v2::CLUSTER_HANDLE_CLOSE),
        t::GROUP => (0x3FF, v2::GROUP_HANDLE_CLOSE),
        t::RESOURCE => (0x3FF, v2::RESOURCE_HANDLE_CLOSE),
        t::RESOURCE_TYPE => (0x1F, 0),
        t::NETWORK_INTERFACE => (0x1F, v2::NETINTERFACE_HANDLE_CLOSE),
        t::NETWORK => (0x1F, v2::NETWORK_HANDLE_CLOSE),
        t::NODE => (0xFF, v2::NODE_HANDLE_CLOSE),
        t::REGISTRY => (0x1F, v2::REGISTRY_HANDLE_CLOSE),
        t::QUORUM => (v2::QUORUM_STATE, 0),
        t::SHARED_VOLUME => (0x7, 0),
        t::GROUPSET => (0x1FF, v2::GROUPSET_HANDLE_CLOSE),
        _ => return None,
    })
}

/// Checks a version 2 filter ([MS-CMRP] 3.1.4.2.137: ERROR_INVALID_PARAMETER when "the filter
/// parameter contains invalid flags" or "specifies an invalid object type"): at least one
/// flag, all of them defined for the object type, none of the client-only ones.
pub fn check_v2_filter(object_type: u32, flags: i64) -> Result<(), u32> {
    let (valid, client_only) = v2_filter_rules(object_type).ok_or(win::ERROR_INVALID_PARAMETER)?;
    if flags == 0 || flags & !valid != 0 || flags & client_only != 0 {
        return Err(win::ERROR_INVALID_PARAMETER);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Indications
// ---------------------------------------------------------------------------------------------

/// One indication before it is matched against a port's registrations: a version 1
/// CLUSTER_CHANGE bit or a version 2 flag, the object it is about and what is reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notice {
    /// CLUSTER_OBJECT_TYPE of the object (also what version 1 object registrations match).
    pub object_type: u32,
    /// The one CLUSTER_CHANGE bit (version 1) or CLUSTER_CHANGE_*_V2 flag (version 2).
    pub filter: i64,
    /// The object's id: what a registration on one object compares, and ObjectId.
    pub object_id: String,
    pub parent_id: String,
    /// The object's name: ApiGetNotify's `Name`, and Name. For registry indications, the
    /// changed key relative to the watched key.
    pub name: String,
    /// The resource type name of resource indications.
    pub type_name: String,
    /// The version 2 payload.
    pub buffer: Vec<u8>,
    /// The version 1 state sequence of *_STATE indications, else 0.
    pub state_sequence: u32,
}

impl Notice {
    /// An indication of `filter` about the object `id` of CLUSTER_OBJECT_TYPE `object_type`,
    /// without parent, name or payload (the `*_notice` functions add them).
    fn about(object_type: u32, filter: i64, id: String) -> Self {
        Notice { object_type, filter, object_id: id, ..Notice::default() }
    }
}

/// A version 1 state sequence of an object with an owner: the state in the low 16 bits, the
/// owner (pnn + 1, 0 for none) above (see the module documentation).
pub fn owned_sequence(state: u32, owner: Option<u32>) -> u32 {
    (owner.map_or(0, |p| p.wrapping_add(1)) << 16) | (state & 0xFFFF)
}

fn node_sequence(n: &Node) -> u32 {
    n.state.as_u32()
}

fn group_sequence(g: &Group) -> u32 {
    owned_sequence(g.state.as_u32(), g.owner)
}

fn resource_sequence(r: &Resource) -> u32 {
    owned_sequence(r.state.as_u32(), r.owner)
}

fn dword(v: u32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

/// A node's id (decimal pnn + 1) even when the node is no longer in the model.
fn node_id(snap: &ClusterState, pnn: u32) -> String {
    snap.node_by_pnn(pnn).map_or_else(|| pnn.wrapping_add(1).to_string(), |n| n.id.clone())
}

fn node_name(snap: &ClusterState, pnn: u32) -> String {
    snap.node_by_pnn(pnn).map_or_else(|| format!("CTDB_NODE_{pnn}"), |n| n.name.clone())
}

fn owner_id(snap: &ClusterState, owner: Option<u32>) -> String {
    owner.map(|p| node_id(snap, p)).unwrap_or_default()
}

/// The named common properties of `obj` (current values) as a PROPERTY_LIST.
fn common_props(obj: Obj<'_>, snap: &ClusterState, names: &[&str]) -> Vec<u8> {
    let mut l = PropertyList::new();
    for (n, v) in obj.values(snap) {
        if names.iter().any(|x| x.eq_ignore_ascii_case(n)) {
            l.push(n, v);
        }
    }
    l.encode()
}

/// A renamed object's Name property (from the model, or the event when the object is gone).
fn name_prop(obj: Option<Obj<'_>>, snap: &ClusterState, new_name: &str) -> Vec<u8> {
    match obj {
        Some(o) => common_props(o, snap, &["Name"]),
        None => PropertyList(vec![registry_model::proplist::Property::new(
            "Name",
            registry_model::proplist::PropValue::Sz(new_name.to_owned()),
        )])
        .encode(),
    }
}

fn node_notice(snap: &ClusterState, pnn: u32, filter: i64) -> Notice {
    Notice { name: node_name(snap, pnn), ..Notice::about(object_type::NODE, filter, node_id(snap, pnn)) }
}

fn group_notice(snap: &ClusterState, id: &str, name: &str, filter: i64) -> Notice {
    let g = snap.group_by_id(id);
    Notice {
        parent_id: g.map(|g| owner_id(snap, g.owner)).unwrap_or_default(),
        name: g.map_or(name, |g| g.name.as_str()).to_owned(),
        ..Notice::about(object_type::GROUP, filter, id.to_owned())
    }
}

fn resource_notice(snap: &ClusterState, id: &str, name: &str, group_id: &str, filter: i64) -> Notice {
    let r = snap.resource_by_id(id);
    Notice {
        parent_id: r.map_or(group_id, |r| r.group_id.as_str()).to_owned(),
        name: r.map_or(name, |r| r.name.as_str()).to_owned(),
        type_name: r.map(|r| r.type_name.clone()).unwrap_or_default(),
        ..Notice::about(object_type::RESOURCE, filter, id.to_owned())
    }
}

fn network_notice(snap: &ClusterState, id: &str, filter: i64) -> Notice {
    Notice {
        name: snap.network_by_id(id).map(|n| n.name.clone()).unwrap_or_default(),
        ..Notice::about(object_type::NETWORK, filter, id.to_owned())
    }
}

fn netinterface_notice(snap: &ClusterState, id: &str, filter: i64) -> Notice {
    let i = snap.netinterface_by_id(id);
    Notice {
        parent_id: i.map(|i| node_id(snap, i.node_pnn)).unwrap_or_default(),
        name: i.map(|i| i.name.clone()).unwrap_or_default(),
        ..Notice::about(object_type::NETWORK_INTERFACE, filter, id.to_owned())
    }
}

/// The version 1 state indication of a node (ApiReAddNotifyNode).
fn node_state_v1(snap: &ClusterState, n: &Node) -> Notice {
    Notice { state_sequence: node_sequence(n), ..node_notice(snap, n.pnn, change::NODE_STATE.into()) }
}

fn group_state_v1(snap: &ClusterState, g: &Group) -> Notice {
    Notice { state_sequence: group_sequence(g), ..group_notice(snap, &g.id, &g.name, change::GROUP_STATE.into()) }
}

fn resource_state_v1(snap: &ClusterState, r: &Resource) -> Notice {
    Notice {
        state_sequence: resource_sequence(r),
        ..resource_notice(snap, &r.id, &r.name, &r.group_id, change::RESOURCE_STATE.into())
    }
}

fn network_state_v1(snap: &ClusterState, n: &nodes::Network) -> Notice {
    Notice { state_sequence: n.state.as_u32(), ..network_notice(snap, &n.id, change::NETWORK_STATE.into()) }
}

fn netinterface_state_v1(snap: &ClusterState, i: &NetInterface) -> Notice {
    Notice { state_sequence: i.state.as_u32(), ..netinterface_notice(snap, &i.id, change::NETINTERFACE_STATE.into()) }
}

/// The version 1 indications of a backend event (see the mapping table of the module).
/// Names and sequences come from `snap`, the model at the time the event is handled.
pub fn v1_notices(ev: &ClusterEvent, snap: &ClusterState) -> Vec<Notice> {
    use change as c;
    use ClusterEvent as E;
    let bit = |b: u32| i64::from(b);
    match ev {
        E::NodeAdded { pnn } => vec![node_notice(snap, *pnn, bit(c::NODE_ADDED))],
        E::NodeDeleted { pnn } => vec![node_notice(snap, *pnn, bit(c::NODE_DELETED))],
        E::NodeStateChanged { pnn, new, .. } => {
            vec![Notice { state_sequence: new.as_u32(), ..node_notice(snap, *pnn, bit(c::NODE_STATE)) }]
        }
        E::NodePropertiesChanged { pnn } => vec![node_notice(snap, *pnn, bit(c::NODE_PROPERTY))],
        E::GroupAdded { group_id, name } => vec![group_notice(snap, group_id, name, bit(c::GROUP_ADDED))],
        E::GroupDeleted { group_id, name } => vec![group_notice(snap, group_id, name, bit(c::GROUP_DELETED))],
        E::GroupStateChanged { group_id, .. } => {
            snap.group_by_id(group_id).map(|g| group_state_v1(snap, g)).into_iter().collect()
        }
        E::GroupOwnerChanged { group_id, .. } => {
            // the owner is part of what ApiGetGroupState / ApiGetResourceState report
            let mut v: Vec<Notice> = snap.group_by_id(group_id).map(|g| group_state_v1(snap, g)).into_iter().collect();
            v.extend(snap.resources.iter().filter(|r| r.group_id == *group_id).map(|r| resource_state_v1(snap, r)));
            v
        }
        E::GroupRenamed { group_id, new_name, .. } => {
            vec![Notice { name: new_name.clone(), ..group_notice(snap, group_id, new_name, bit(c::GROUP_PROPERTY)) }]
        }
        E::GroupPropertiesChanged { group_id } => vec![group_notice(snap, group_id, "", bit(c::GROUP_PROPERTY))],
        E::ResourceAdded { resource_id, group_id, name } => {
            vec![resource_notice(snap, resource_id, name, group_id, bit(c::RESOURCE_ADDED))]
        }
        E::ResourceDeleted { resource_id, group_id, name } => {
            vec![resource_notice(snap, resource_id, name, group_id, bit(c::RESOURCE_DELETED))]
        }
        E::ResourceStateChanged { resource_id, .. } => {
            snap.resource_by_id(resource_id).map(|r| resource_state_v1(snap, r)).into_iter().collect()
        }
        E::ResourceRenamed { resource_id, new_name, .. } => vec![Notice {
            name: new_name.clone(),
            ..resource_notice(snap, resource_id, new_name, "", bit(c::RESOURCE_PROPERTY))
        }],
        E::ResourcePropertiesChanged { resource_id } => {
            vec![resource_notice(snap, resource_id, "", "", bit(c::RESOURCE_PROPERTY))]
        }
        E::NetworkStateChanged { network_id, .. } => {
            snap.network_by_id(network_id).map(|n| network_state_v1(snap, n)).into_iter().collect()
        }
        E::NetInterfaceStateChanged { netinterface_id, .. } => {
            snap.netinterface_by_id(netinterface_id).map(|i| netinterface_state_v1(snap, i)).into_iter().collect()
        }
        E::IpMoved { .. } | E::Recovery { .. } | E::BackendUnavailable | E::BackendAvailable => Vec::new(),
    }
}

/// The version 2 indications of a backend event (see the mapping table of the module), with
/// the fields [MS-CMRP] 3.1.4.2.138 describes. Names, parents and payloads come from `snap`,
/// state payloads from the event.
pub fn v2_notices(ev: &ClusterEvent, snap: &ClusterState) -> Vec<Notice> {
    use ClusterEvent as E;
    match ev {
        E::NodeAdded { pnn } => {
            let state = snap.node_by_pnn(*pnn).map_or(u32::MAX, |n| n.state.as_u32());
            vec![Notice {
                object_type: object_type::CLUSTER,
                buffer: dword(state),
                ..node_notice(snap, *pnn, v2::CLUSTER_NODE_ADDED)
            }]
        }
        E::NodeDeleted { pnn } => vec![node_notice(snap, *pnn, v2::NODE_DELETED)],
        E::NodeStateChanged { pnn, new, .. } => {
            vec![Notice { buffer: dword(new.as_u32()), ..node_notice(snap, *pnn, v2::NODE_STATE) }]
        }
        E::NodePropertiesChanged { pnn } => {
            let buffer = snap.node_by_pnn(*pnn).map(|n| common_props(Obj::Node(n), snap, &["Description"]));
            vec![Notice { buffer: buffer.unwrap_or_default(), ..node_notice(snap, *pnn, v2::NODE_COMMON_PROPERTY) }]
        }
        E::GroupAdded { group_id, name } => {
            let n = group_notice(snap, group_id, name, v2::CLUSTER_GROUP_ADDED);
            let group_type = snap.group_by_id(group_id).map_or(nodes::model::group_type::UNKNOWN, |g| g.group_type);
            vec![Notice { object_type: object_type::CLUSTER, buffer: dword(group_type), ..n }]
        }
        E::GroupDeleted { group_id, name } => vec![group_notice(snap, group_id, name, v2::GROUP_DELETED)],
        E::GroupStateChanged { group_id, new, .. } => {
            vec![Notice { buffer: dword(new.as_u32()), ..group_notice(snap, group_id, "", v2::GROUP_STATE) }]
        }
        E::GroupOwnerChanged { group_id, old, new } => {
            let g = group_notice(snap, group_id, "", v2::GROUP_OWNER_NODE);
            let owner = owner_id(snap, *new);
            let mut v = vec![Notice { parent_id: owner.clone(), buffer: utf16z_encode(&owner), ..g }];
            if let Some(p) = old {
                v.push(Notice { buffer: utf16z_encode(group_id), ..node_notice(snap, *p, v2::NODE_GROUP_LOST) });
            }
            if let Some(p) = new {
                v.push(Notice { buffer: utf16z_encode(group_id), ..node_notice(snap, *p, v2::NODE_GROUP_GAINED) });
            }
            v
        }
        E::GroupRenamed { group_id, new_name, .. } => {
            let buffer = name_prop(snap.group_by_id(group_id).map(Obj::Group), snap, new_name);
            let n = group_notice(snap, group_id, new_name, v2::GROUP_COMMON_PROPERTY);
            vec![Notice { name: new_name.clone(), buffer, ..n }]
        }
        E::GroupPropertiesChanged { group_id } => {
            let buffer = snap.group_by_id(group_id).map(|g| common_props(Obj::Group(g), snap, &["Description"]));
            vec![Notice {
                buffer: buffer.unwrap_or_default(),
                ..group_notice(snap, group_id, "", v2::GROUP_COMMON_PROPERTY)
            }]
        }
        E::ResourceAdded { resource_id, group_id, .. } => {
            vec![Notice {
                buffer: utf16z_encode(resource_id),
                ..group_notice(snap, group_id, "", v2::GROUP_RESOURCE_ADDED)
            }]
        }
        E::ResourceDeleted { resource_id, group_id, name } => vec![Notice {
            buffer: utf16z_encode(group_id),
            ..resource_notice(snap, resource_id, name, group_id, v2::RESOURCE_DELETED)
        }],
        E::ResourceStateChanged { resource_id, new, .. } => vec![Notice {
            buffer: dword(new.as_u32()),
            ..resource_notice(snap, resource_id, "", "", v2::RESOURCE_STATE)
        }],
        E::ResourceRenamed { resource_id, new_name, .. } => {
            let buffer = name_prop(snap.resource_by_id(resource_id).map(Obj::Resource), snap, new_name);
            let n = resource_notice(snap, resource_id, new_name, "", v2::RESOURCE_COMMON_PROPERTY);
            vec![Notice { name: new_name.clone(), buffer, ..n }]
        }
        E::ResourcePropertiesChanged { resource_id } => {
            // the event does not say which changed: the description or the private properties
            let Some(r) = snap.resource_by_id(resource_id) else { return Vec::new() };
            let common = common_props(Obj::Resource(r), snap, &["Description"]);
            let private = Obj::Resource(r).private(snap).encode();
            vec![
                Notice { buffer: common, ..resource_notice(snap, resource_id, "", "", v2::RESOURCE_COMMON_PROPERTY) },
                Notice { buffer: private, ..resource_notice(snap, resource_id, "", "", v2::RESOURCE_PRIVATE_PROPERTY) },
            ]
        }
        E::NetworkStateChanged { network_id, new, .. } => {
            vec![Notice { buffer: dword(new.as_u32()), ..network_notice(snap, network_id, v2::NETWORK_STATE) }]
        }
        E::NetInterfaceStateChanged { netinterface_id, new, .. } => vec![Notice {
            buffer: dword(new.as_u32()),
            ..netinterface_notice(snap, netinterface_id, v2::NETINTERFACE_STATE)
        }],
        E::IpMoved { .. } | E::Recovery { .. } | E::BackendUnavailable | E::BackendAvailable => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Registry changes
// ---------------------------------------------------------------------------------------------

/// What a committed registry change is to a key watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RegChange {
    /// A key was created (a subkey name appeared in its parent).
    Created,
    /// A key was deleted (with its subtree).
    Deleted,
    /// A value of the key was set or deleted.
    Value,
    /// The key's security descriptor changed.
    Attributes,
}

impl RegChange {
    fn of(ch: &Change) -> (RegChange, &str) {
        match ch {
            Change::CreateKey { key } => (RegChange::Created, key),
            Change::DeleteKey { key } => (RegChange::Deleted, key),
            Change::SetValue { key, .. } | Change::DeleteValue { key, .. } => (RegChange::Value, key),
            Change::SetSecurity { key } => (RegChange::Attributes, key),
        }
    }

    /// The CLUSTER_CHANGE bit (version 1) or CLUSTER_CHANGE_REGISTRY_*_V2 flag (version 2).
    fn filter(self, version: PortVersion) -> i64 {
        match (self, version) {
            (RegChange::Created | RegChange::Deleted, PortVersion::V1) => change::REGISTRY_NAME.into(),
            (RegChange::Value, PortVersion::V1) => change::REGISTRY_VALUE.into(),
            (RegChange::Attributes, PortVersion::V1) => change::REGISTRY_ATTRIBUTES.into(),
            (RegChange::Created | RegChange::Deleted, PortVersion::V2) => v2::REGISTRY_NAME,
            (RegChange::Value, PortVersion::V2) => v2::REGISTRY_VALUE,
            (RegChange::Attributes, PortVersion::V2) => v2::REGISTRY_ATTRIBUTES,
        }
    }
}

/// The name a watch of `watched` reports for a change of `kind` at `key`, or `None` when the
/// watch does not see it. Without `subtree` a watch sees its own key and the creation or
/// deletion of its direct subkeys; a deleted ancestor deletes the watched key itself (""). A
/// key created several levels down (ApiCreateKey creates missing intermediate keys, and the
/// change records only the last one) counts as the creation of the direct subkey on its path:
/// at worst a client re-reads a subkey list that did not change.
fn watch_sees(watched: &str, subtree: bool, kind: RegChange, key: &str) -> Option<String> {
    if let Some(rel) = relative(watched, key) {
        if subtree || rel.is_empty() {
            return Some(rel);
        }
        let mut parts = rel.split('\\');
        let first = parts.next().unwrap_or_default().to_owned();
        return match kind {
            RegChange::Created => Some(first),
            RegChange::Deleted if parts.next().is_none() => Some(first),
            _ => None,
        };
    }
    (kind == RegChange::Deleted && relative(key, watched).is_some()).then(String::new)
}

// ---------------------------------------------------------------------------------------------
// The port
// ---------------------------------------------------------------------------------------------

/// Which family of methods a port belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortVersion {
    /// ApiCreateNotify: ApiAddNotify*, ApiReAddNotify*, ApiGetNotify, ApiGetNotifyAsync.
    V1,
    /// ApiCreateNotifyV2: ApiAddNotifyV2, ApiAddNotifyResourceTypeV2, ApiGetNotifyV2.
    V2,
}

/// What a registration is about.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    /// Every object (version 1 ApiAddNotifyCluster, version 2 registrations not targeted at
    /// one object).
    All,
    /// One object, by id (a resource type by name).
    Object(String),
    /// A registry key (path from the root), with or without its subtree.
    Key { path: String, subtree: bool },
}

/// One registered filter.
#[derive(Clone, Debug)]
struct Registration {
    /// CLUSTER_OBJECT_TYPE the filter is for; 0 = any (version 1 ApiAddNotifyCluster).
    object_type: u32,
    /// CLUSTER_CHANGE bits (version 1) or CLUSTER_CHANGE_*_V2 flags (version 2).
    filter: i64,
    /// `dwNotifyKey`, returned with every indication the registration queues.
    key: u32,
    target: Target,
}

impl Registration {
    /// Whether the registration queues `n` (object indications; registry changes are matched
    /// by [`watch_sees`]).
    fn sees(&self, n: &Notice) -> bool {
        self.filter & n.filter != 0
            && (self.object_type == 0 || self.object_type == n.object_type)
            && match &self.target {
                Target::All => true,
                Target::Object(id) => *id == n.object_id,
                Target::Key { .. } => false,
            }
    }
}

/// A queued indication.
#[derive(Clone, Debug)]
struct Queued {
    key: u32,
    notice: Notice,
}

#[derive(Debug, Default)]
struct PortState {
    registrations: Vec<Registration>,
    queue: VecDeque<Queued>,
    /// Indications were dropped and the RECONNECT / LOST_NOTIFICATIONS indication is owed.
    lost: bool,
    /// Run down by ApiUnblockGetNotifyCall or ApiCloseNotify.
    closed: bool,
}

impl PortState {
    /// The indication that tells the client indications were lost: CLUSTER_RECONNECT with the
    /// key of a registration asking for it, else of the first one (version 1);
    /// CLUSTER_LOST_NOTIFICATIONS_V2 for a client that registered it on the cluster (version 2).
    fn lost_marker(&self, version: PortVersion) -> Option<Queued> {
        let regs = &self.registrations;
        let (key, object_type, filter) = match version {
            PortVersion::V1 => {
                let bit = i64::from(change::CLUSTER_RECONNECT);
                let r = regs.iter().find(|r| r.filter & bit != 0).or_else(|| regs.first())?;
                (r.key, object_type::CLUSTER, bit)
            }
            PortVersion::V2 => {
                let bit = v2::CLUSTER_LOST_NOTIFICATIONS;
                let r = regs.iter().find(|r| r.object_type == object_type::CLUSTER && r.filter & bit != 0)?;
                (r.key, object_type::CLUSTER, bit)
            }
        };
        Some(Queued { key, notice: Notice { object_type, filter, ..Notice::default() } })
    }

    /// Queues the owed loss indication once there is room for it.
    fn settle_lost(&mut self, version: PortVersion) {
        if self.lost && self.queue.len() < MAX_QUEUED {
            self.lost = false;
            if let Some(m) = self.lost_marker(version) {
                self.queue.push_back(m);
            }
        }
    }

    fn push(&mut self, version: PortVersion, q: Queued) {
        self.settle_lost(version);
        if self.queue.len() >= MAX_QUEUED {
            if !self.lost {
                tracing::warn!(limit = MAX_QUEUED, "Notification port full; indications dropped");
            }
            self.lost = true;
            return;
        }
        self.queue.push_back(q);
    }

    fn take_one(&mut self, version: PortVersion) -> Option<Queued> {
        let q = self.queue.pop_front();
        self.settle_lost(version);
        q
    }

    fn take_all(&mut self, version: PortVersion) -> Option<Vec<Queued>> {
        if self.queue.is_empty() {
            return None;
        }
        let v: Vec<Queued> = self.queue.drain(..).collect();
        self.settle_lost(version);
        Some(v)
    }
}

/// A cluster object notification port (HNOTIFY_RPC), version 1 or 2: its registrations, its
/// queue, and the link to its event task (see the module documentation).
#[derive(Debug)]
pub struct NotifyPort {
    version: PortVersion,
    state: Mutex<PortState>,
    /// Wakes waiting ApiGetNotify* calls (something queued, or the port was run down).
    wake: Notify,
    /// Dropping it ends the port's event task (at close, or with the port).
    stop: Mutex<Option<oneshot::Sender<()>>>,
    /// Alive exactly as long as the event task runs (tests look at it).
    task: Mutex<Weak<()>>,
    /// Whether the port is registered with the cluster registry's change publisher.
    watches_registry: AtomicBool,
}

impl NotifyPort {
    /// A new, empty port and the receiver its event task stops on.
    pub fn new(version: PortVersion) -> (NotifyPort, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let port = NotifyPort {
            version,
            state: Mutex::new(PortState::default()),
            wake: Notify::new(),
            stop: Mutex::new(Some(tx)),
            task: Mutex::new(Weak::new()),
            watches_registry: AtomicBool::new(false),
        };
        (port, rx)
    }

    /// Version 1 or 2.
    pub fn version(&self) -> PortVersion {
        self.version
    }

    fn lock(&self) -> MutexGuard<'_, PortState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the port was run down (ApiUnblockGetNotifyCall, ApiCloseNotify).
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Number of undelivered indications.
    pub fn pending(&self) -> usize {
        self.lock().queue.len()
    }

    /// Number of registrations.
    pub fn registrations(&self) -> usize {
        self.lock().registrations.len()
    }

    /// A token that is alive exactly as long as the port's event task runs.
    pub fn task_token(&self) -> Weak<()> {
        self.task.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Adds a registration and queues `immediate` for it (ApiReAddNotify*). A run-down port
    /// takes none (ERROR_INVALID_HANDLE).
    fn register(&self, reg: Registration, immediate: Option<Notice>) -> Result<(), u32> {
        let mut st = self.lock();
        if st.closed {
            return Err(win::ERROR_INVALID_HANDLE);
        }
        if st.registrations.len() >= MAX_REGISTRATIONS {
            return Err(win::ERROR_NOT_ENOUGH_MEMORY);
        }
        let key = reg.key;
        if reg.filter != 0 {
            st.registrations.push(reg);
        }
        if let Some(notice) = immediate {
            st.push(self.version, Queued { key, notice });
            drop(st);
            self.wake.notify_waiters();
        }
        Ok(())
    }

    /// Whether indications can be queued: open, with at least one registration ([MS-CMRP]
    /// 3.1.4.2.56, 3.1.4.2.136: "MUST NOT queue any event indications to the port until the
    /// first event filter has been registered").
    fn listening(&self) -> bool {
        let st = self.lock();
        !st.closed && !st.registrations.is_empty()
    }

    /// Queues `notices`, once per registration that sees each ("The server MUST queue a
    /// separate event indication to the port for every filter ... that corresponds to the
    /// internal event", [MS-CMRP] 3.1.4.2.58).
    fn deliver(&self, notices: &[Notice]) {
        if notices.is_empty() {
            return;
        }
        let st = self.lock();
        if st.closed {
            return;
        }
        let matched: Vec<Queued> = notices
            .iter()
            .flat_map(|n| {
                st.registrations.iter().filter(|r| r.sees(n)).map(|r| Queued { key: r.key, notice: n.clone() })
            })
            .collect();
        self.queue(st, matched);
    }

    /// Queues `matched` and wakes the waiting calls (none to wake for nothing queued).
    fn queue(&self, mut st: MutexGuard<'_, PortState>, matched: Vec<Queued>) {
        if matched.is_empty() {
            return;
        }
        for q in matched {
            st.push(self.version, q);
        }
        drop(st);
        self.wake.notify_waiters();
    }

    /// Handles one backend event.
    fn backend_event(&self, ev: &ClusterEvent, backend: &dyn ClusterBackend) {
        if !self.listening() {
            return;
        }
        let snap = backend.snapshot();
        let notices = match self.version {
            PortVersion::V1 => v1_notices(ev, &snap),
            PortVersion::V2 => v2_notices(ev, &snap),
        };
        self.deliver(&notices);
    }

    /// Indications were lost upstream (the event task fell behind the backend).
    fn lose(&self) {
        let mut st = self.lock();
        if st.closed || st.registrations.is_empty() {
            return;
        }
        st.lost = true;
        st.settle_lost(self.version);
        drop(st);
        self.wake.notify_waiters();
    }

    /// Queues the registry indications of committed `changes` for the key watches.
    fn registry_changes(&self, changes: &[Change]) {
        let st = self.lock();
        if st.closed {
            return;
        }
        let mut matched = Vec::new();
        for ch in changes {
            let (kind, key) = RegChange::of(ch);
            let filter = kind.filter(self.version);
            for r in &st.registrations {
                let Target::Key { path, subtree } = &r.target else { continue };
                if r.filter & filter == 0 {
                    continue;
                }
                if let Some(name) = watch_sees(path, *subtree, kind, key) {
                    let notice = Notice { object_type: object_type::REGISTRY, filter, name, ..Notice::default() };
                    matched.push(Queued { key: r.key, notice });
                }
            }
        }
        self.queue(st, matched);
    }

    /// Runs the port down: drops registrations and undelivered indications, ends the event
    /// task and completes waiting calls ([MS-CMRP] 3.1.4.2.57: "complete all outstanding
    /// ApiGetNotify ... calls, and flush any undelivered event indications").
    pub fn close(&self) {
        {
            let mut st = self.lock();
            st.closed = true;
            st.registrations.clear();
            st.queue.clear();
            st.lost = false;
        }
        drop(self.stop.lock().unwrap_or_else(PoisonError::into_inner).take());
        self.wake.notify_waiters();
    }

    /// Waits, without a time limit, until `take` yields something. A port already run down
    /// answers ERROR_NO_MORE_ITEMS ("The notification port ... has been closed"); one run down
    /// while waiting ERROR_INVALID_FUNCTION ("ApiUnblockGetNotifyCall ... or ApiCloseNotify
    /// ... has been called in another thread", [MS-CMRP] 3.1.4.2.138).
    async fn wait<T>(&self, mut take: impl FnMut(&mut PortState) -> Option<T>) -> Result<T, u32> {
        let mut waited = false;
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.lock();
                if st.closed {
                    return Err(if waited { win::ERROR_INVALID_FUNCTION } else { win::ERROR_NO_MORE_ITEMS });
                }
                if let Some(v) = take(&mut st) {
                    return Ok(v);
                }
            }
            waited = true;
            notified.await;
        }
    }
}

impl ChangeSink for NotifyPort {
    fn publish(&self, changes: &[Change]) {
        self.registry_changes(changes);
    }

    fn is_closed(&self) -> bool {
        NotifyPort::is_closed(self)
    }
}

/// Starts the port's event task: backend events are turned into indications until the port
/// is closed or dropped. Without a Tokio runtime (plain unit tests) the port only gets
/// registry indications.
fn start_task(port: &Arc<NotifyPort>, backend: Arc<dyn ClusterBackend>, stop: oneshot::Receiver<()>) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("No async runtime: the notification port gets no cluster events");
        return;
    };
    let events = backend.subscribe();
    let token = Arc::new(());
    *port.task.lock().unwrap_or_else(PoisonError::into_inner) = Arc::downgrade(&token);
    rt.spawn(run_port(Arc::downgrade(port), backend, events, stop, token));
}

/// The event task of one port. It holds the port weakly: the task never keeps a closed or
/// dropped port alive, and ends with it.
async fn run_port(
    port: Weak<NotifyPort>,
    backend: Arc<dyn ClusterBackend>,
    mut events: broadcast::Receiver<ClusterEvent>,
    mut stop: oneshot::Receiver<()>,
    _alive: Arc<()>,
) {
    loop {
        let r = tokio::select! {
            biased;
            _ = &mut stop => return,
            r = events.recv() => r,
        };
        let Some(p) = port.upgrade() else { return };
        match r {
            Ok(ev) => p.backend_event(&ev, &*backend),
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "Notification port fell behind the cluster events");
                p.lose();
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// Registers the port with the cluster registry's change publisher (once).
fn watch_registry(s: &ClusapiService, port: &Arc<NotifyPort>) {
    if !port.watches_registry.swap(true, Ordering::SeqCst) {
        let weak = Arc::downgrade(port);
        let sink: Weak<dyn ChangeSink> = weak;
        registry::state(s).add_sink(sink);
    }
}

// ---------------------------------------------------------------------------------------------
// Handles
// ---------------------------------------------------------------------------------------------

/// The notification port `h` of this association, either version.
pub fn notify_port(ctx: &CallCtx, h: &ContextHandle) -> Option<Arc<NotifyPort>> {
    ctx.group.get::<NotifyPort>(h)
}

/// The port `h`, which must be of `version`: a handle of the other version "does not represent
/// a valid HNOTIFY_RPC" for the method (ERROR_INVALID_HANDLE).
fn port_of(ctx: &CallCtx, h: &ContextHandle, version: PortVersion) -> Result<Arc<NotifyPort>, u32> {
    notify_port(ctx, h).filter(|p| p.version == version).ok_or(win::ERROR_INVALID_HANDLE)
}

/// The wait of the GetNotify methods: on the port of handle `h` ([`port_of`]) until `take`
/// takes something from it ([`NotifyPort::wait`]).
async fn wait_on<T>(
    ctx: &CallCtx,
    h: &ContextHandle,
    version: PortVersion,
    take: impl FnMut(&mut PortState) -> Option<T>,
) -> Result<T, u32> {
    port_of(ctx, h, version)?.wait(take).await
}

/// The version 2 port `h` ([`port_of`]) of a registration method whose `dwVersion` must be
/// CLUSTER_NOTIFICATIONS_V2 (ERROR_INVALID_PARAMETER otherwise), checked in that order.
fn v2_port(ctx: &CallCtx, h: &ContextHandle, version: u32) -> Result<Arc<NotifyPort>, u32> {
    let port = port_of(ctx, h, PortVersion::V2)?;
    if version != CLUSTER_NOTIFICATIONS_V2 {
        return Err(win::ERROR_INVALID_PARAMETER);
    }
    Ok(port)
}

fn create(s: &ClusapiService, ctx: &CallCtx, version: PortVersion) -> Result<ContextHandle, u32> {
    Granted::entitled(ctx.access).ok_or(win::ERROR_ACCESS_DENIED)?;
    let (port, stop) = NotifyPort::new(version);
    let h = ctx.group.insert(port).ok_or(win::ERROR_NOT_ENOUGH_MEMORY)?;
    if let Some(port) = notify_port(ctx, &h) {
        start_task(&port, s.backend.clone(), stop);
    }
    Ok(h)
}

// ---------------------------------------------------------------------------------------------
// Version 1 ports
// ---------------------------------------------------------------------------------------------

/// [MS-CMRP 3.1.4.2.56] ApiCreateNotify: a version 1 port. "The server MUST NOT queue any
/// event indications to the port until the first event filter has been registered."
pub fn api_create_notify(s: &ClusapiService, ctx: &CallCtx, _req: ApiCreateNotifyRequest) -> ApiCreateNotifyResponse {
    match create(s, ctx, PortVersion::V1) {
        Ok(notify) => ApiCreateNotifyResponse { status: WError(0), rpc_status: 0, notify },
        Err(e) => ApiCreateNotifyResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.57] ApiCloseNotify: either version. "The server MUST complete all
/// outstanding ApiGetNotify, ApiGetNotifyAsync, and ApiGetNotifyV2 calls, and flush any
/// undelivered event indications"; the handle comes back zeroed.
pub fn api_close_notify(_s: &ClusapiService, ctx: &CallCtx, req: ApiCloseNotifyRequest) -> ApiCloseNotifyResponse {
    match notify_port(ctx, &req.notify) {
        Some(p) if ctx.group.remove::<NotifyPort>(&req.notify) => {
            p.close();
            ApiCloseNotifyResponse { notify: ContextHandle::NULL, result: WError(0) }
        }
        _ => ApiCloseNotifyResponse { notify: req.notify, result: WError(win::ERROR_INVALID_HANDLE) },
    }
}

/// [MS-CMRP 3.1.4.2.58] ApiAddNotifyCluster: `dwFilter` for every object of the cluster. With
/// a CLUSTER_CHANGE_REGISTRY_* bit "the server MUST use the root key of the cluster registry
/// as the key for which state/configuration changes are monitored", with
/// CLUSTER_CHANGE_REGISTRY_SUBTREE its whole subtree.
pub fn api_add_notify_cluster(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiAddNotifyClusterRequest,
) -> ApiAddNotifyClusterResponse {
    let r = (|| -> Result<(), u32> {
        let port = port_of(ctx, &req.notify, PortVersion::V1)?;
        handle::<Cluster>(ctx, &req.cluster)?;
        let objects = req.filter & !change::REGISTRY;
        port.register(
            Registration { object_type: 0, filter: objects.into(), key: req.notify_key, target: Target::All },
            None,
        )?;
        if req.filter & change::REGISTRY_EVENTS != 0 {
            watch_registry(s, &port);
            let subtree = req.filter & change::REGISTRY_SUBTREE != 0;
            port.register(
                Registration {
                    object_type: object_type::REGISTRY,
                    filter: (req.filter & change::REGISTRY_EVENTS).into(),
                    key: req.notify_key,
                    target: Target::Key { path: String::new(), subtree },
                },
                None,
            )?;
        }
        Ok(())
    })();
    ApiAddNotifyClusterResponse { rpc_status: 0, result: status(r) }
}

/// A class whose objects take version 1 registrations: its CLUSTER_OBJECT_TYPE and its
/// *_STATE indication (what ApiReAddNotify* queues when the client's sequence is stale).
pub trait V1Notify: ObjectClass {
    const OBJECT_TYPE: u32;
    fn state_notice(snap: &ClusterState, o: &Self::Object) -> Notice;
}

macro_rules! v1_classes {
    ($($class:ident: $type:ident, $notice:ident;)*) => {$(
        impl V1Notify for $class {
            const OBJECT_TYPE: u32 = object_type::$type;
            fn state_notice(snap: &ClusterState, o: &Self::Object) -> Notice {
                $notice(snap, o)
            }
        }
    )*};
}

v1_classes! {
    Nodes: NODE, node_state_v1;
    Groups: GROUP, group_state_v1;
    Resources: RESOURCE, resource_state_v1;
    Networks: NETWORK, network_state_v1;
    NetInterfaces: NETWORK_INTERFACE, netinterface_state_v1;
}

/// A request of ApiAddNotify* / ApiReAddNotify* on one object ([`v1_registrations!`]).
pub trait AddNotifyRequest {
    type Class: V1Notify;
    type Reply;
    fn port(&self) -> &ContextHandle;
    fn object(&self) -> &ContextHandle;
    fn filter(&self) -> u32;
    fn key(&self) -> u32;
    /// `dwStateSequence` of the ReAdd form: the sequence the client last saw.
    fn reported(&self) -> Option<u32>;
}

/// The reply of ApiAddNotify*: the object's current state sequence.
pub trait SequenceReply {
    fn sequence(state_sequence: u32) -> Self;
    fn failed(e: u32) -> Self;
}

/// Registers `dwFilter` for the object of the request's handle (ERROR_INVALID_HANDLE for a bad
/// port or object handle, the class's not-found error when the object is gone); with
/// `reported` (ReAdd) different from the current state sequence, the object's *_STATE
/// indication is queued at once. Returns the current state sequence.
fn add_v1<R: AddNotifyRequest>(s: &ClusapiService, ctx: &CallCtx, req: &R) -> Result<u32, u32> {
    let port = port_of(ctx, req.port(), PortVersion::V1)?;
    let snap = s.backend.snapshot();
    let o = objclass::object::<R::Class>(&snap, &*handle::<R::Class>(ctx, req.object())?)?;
    let state = <R::Class>::state_notice(&snap, o);
    let sequence = state.state_sequence;
    let immediate = req.reported().filter(|&r| r != sequence).map(|_| state);
    let target = Target::Object(<R::Class>::id(o).to_owned());
    let registration =
        Registration { object_type: <R::Class>::OBJECT_TYPE, filter: req.filter().into(), key: req.key(), target };
    port.register(registration, immediate)?;
    Ok(sequence)
}

/// [MS-CMRP 3.1.4.2.59, .60, .61, .90, .99] ApiAddNotifyNode, ApiAddNotifyGroup,
/// ApiAddNotifyResource, ApiAddNotifyNetwork, ApiAddNotifyNetInterface: `dwFilter` for one
/// object; `dwStateSequence` is its current state sequence (for a node its CLUSTER_NODE_STATE).
pub fn add_notify<R: AddNotifyRequest>(s: &ClusapiService, ctx: &CallCtx, req: R) -> R::Reply
where
    R::Reply: SequenceReply,
{
    add_v1(s, ctx, &req).map_or_else(R::Reply::failed, R::Reply::sequence)
}

/// [MS-CMRP 3.1.4.2.63, .64, .65, .91, .100] ApiReAddNotifyNode, ApiReAddNotifyGroup,
/// ApiReAddNotifyResource, ApiReAddNotifyNetwork, ApiReAddNotifyNetInterface: as ApiAddNotify*;
/// "The server MUST queue a CLUSTER_CHANGE_NODE_STATE event indication to the port if the
/// dwStateSequence parameter is not equal to the internal state sequence of the node" (and
/// likewise for the other classes).
pub fn re_add_notify<R: AddNotifyRequest>(s: &ClusapiService, ctx: &CallCtx, req: R) -> R::Reply
where
    R::Reply: StatusReply,
{
    R::Reply::status(add_v1(s, ctx, &req).map(drop))
}

/// `ApiAddNotifyX, ApiReAddNotifyX (object handle field): Class;`
macro_rules! v1_registrations {
    ($($add:ident, $readd:ident ($h:ident): $class:ty;)*) => { idl::__paste! { $(
        v1_registrations!(@request [<$add Request>], [<$add Response>], $h, $class);
        v1_registrations!(@request [<$readd Request>], [<$readd Response>], $h, $class, state_sequence);
        impl SequenceReply for [<$add Response>] {
            fn sequence(state_sequence: u32) -> Self {
                Self { state_sequence, ..Self::error(win::ERROR_SUCCESS) }
            }
            fn failed(e: u32) -> Self {
                Self::error(e)
            }
        }
        impl StatusReply for [<$readd Response>] {
            fn status(r: Result<(), u32>) -> Self {
                Self::error(status(r).0)
            }
        }
    )* } };
    (@request $req:ident, $reply:ident, $h:ident, $class:ty $(, $sequence:ident)?) => {
        impl AddNotifyRequest for $req {
            type Class = $class;
            type Reply = $reply;
            fn port(&self) -> &ContextHandle {
                &self.notify
            }
            fn object(&self) -> &ContextHandle {
                &self.$h
            }
            fn filter(&self) -> u32 {
                self.filter
            }
            fn key(&self) -> u32 {
                self.notify_key
            }
            fn reported(&self) -> Option<u32> {
                v1_registrations!(@reported self $($sequence)?)
            }
        }
    };
    (@reported $self:ident) => { None };
    (@reported $self:ident $sequence:ident) => { Some($self.$sequence) };
}

v1_registrations! {
    ApiAddNotifyNode, ApiReAddNotifyNode (node): Nodes;
    ApiAddNotifyGroup, ApiReAddNotifyGroup (group): Groups;
    ApiAddNotifyResource, ApiReAddNotifyResource (resource): Resources;
    ApiAddNotifyNetwork, ApiReAddNotifyNetwork (network): Networks;
    ApiAddNotifyNetInterface, ApiReAddNotifyNetInterface (net_interface): NetInterfaces;
}

pub use {
    add_notify as api_add_notify_group, add_notify as api_add_notify_net_interface,
    add_notify as api_add_notify_network, add_notify as api_add_notify_node, add_notify as api_add_notify_resource,
    re_add_notify as api_re_add_notify_group, re_add_notify as api_re_add_notify_net_interface,
    re_add_notify as api_re_add_notify_network, re_add_notify as api_re_add_notify_node,
    re_add_notify as api_re_add_notify_resource,
};

/// [MS-CMRP 3.1.4.2.62] ApiAddNotifyKey: registry indications for the handle's key, its
/// whole subtree with `WatchSubTree` (or CLUSTER_CHANGE_REGISTRY_SUBTREE). Names are reported
/// relative to the key.
pub fn api_add_notify_key(s: &ClusapiService, ctx: &CallCtx, req: ApiAddNotifyKeyRequest) -> ApiAddNotifyKeyResponse {
    let r = (|| -> Result<(), u32> {
        let port = port_of(ctx, &req.notify, PortVersion::V1)?;
        let key = registry::key_handle(ctx, &req.key)?;
        watch_registry(s, &port);
        let subtree = req.watch_sub_tree.0 || req.filter & change::REGISTRY_SUBTREE != 0;
        port.register(
            Registration {
                object_type: object_type::REGISTRY,
                filter: (req.filter & change::REGISTRY_EVENTS).into(),
                key: req.notify_key,
                target: Target::Key { path: key.path.clone(), subtree },
            },
            None,
        )
    })();
    ApiAddNotifyKeyResponse { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.66] ApiGetNotify: the first queued indication of a version 1 port. "The
/// server MUST NOT complete this method until an indication has been queued to the port or
/// the port has been closed"; it never returns REGISTRY_SUBTREE, CLUSTER_STATE or
/// HANDLE_CLOSE, and returns CLUSTER_RECONNECT where indications were lost.
pub async fn api_get_notify(_s: &ClusapiService, ctx: &CallCtx, req: ApiGetNotifyRequest) -> ApiGetNotifyResponse {
    match wait_on(ctx, &req.notify, PortVersion::V1, |st| st.take_one(PortVersion::V1)).await {
        Ok(q) => ApiGetNotifyResponse {
            notify_key: q.key,
            filter: q.notice.filter as u32,
            state_sequence: q.notice.state_sequence,
            name: Some(WString::new(q.notice.name)),
            rpc_status: 0,
            result: WError(0),
        },
        Err(e) => ApiGetNotifyResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.143] ApiGetNotifyAsync: every queued indication of a version 1 port, as
/// NOTIFICATION_DATA_ASYNC_RPC; waits like ApiGetNotify.
pub async fn api_get_notify_async(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiGetNotifyAsyncRequest,
) -> ApiGetNotifyAsyncResponse {
    match wait_on(ctx, &req.notify, PortVersion::V1, |st| st.take_all(PortVersion::V1)).await {
        Ok(v) => {
            let items: Vec<NotificationDataAsyncRpc> = v
                .into_iter()
                .map(|q| NotificationDataAsyncRpc {
                    dw_notify_key: q.key,
                    dw_filter: q.notice.filter as u32,
                    name: Some(WString::new(q.notice.name)),
                })
                .collect();
            ApiGetNotifyAsyncResponse {
                num_notifications: u32::try_from(items.len()).unwrap_or(u32::MAX),
                notifications: Some(idl::ConfArray(items)),
                result: WError(0),
            }
        }
        Err(e) => ApiGetNotifyAsyncResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.107] ApiUnblockGetNotifyCall: "complete any outstanding ApiGetNotify,
/// ApiGetNotifyV2, and ApiGetNotifyAsync calls for the designated notification port so that
/// the port can be closed". The port is run down (no more indications); the handle stays
/// valid until ApiCloseNotify.
pub fn api_unblock_get_notify_call(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiUnblockGetNotifyCallRequest,
) -> ApiUnblockGetNotifyCallResponse {
    match notify_port(ctx, &req.notify) {
        Some(p) => {
            p.close();
            ApiUnblockGetNotifyCallResponse { result: WError(0) }
        }
        None => ApiUnblockGetNotifyCallResponse { result: WError(win::ERROR_INVALID_HANDLE) },
    }
}

// ---------------------------------------------------------------------------------------------
// Version 2 ports
// ---------------------------------------------------------------------------------------------

/// [MS-CMRP 3.1.4.2.136] ApiCreateNotifyV2: a version 2 port. "The server MUST NOT queue any
/// event indications to the port until the first event filter has been registered."
pub fn api_create_notify_v2(
    s: &ClusapiService,
    ctx: &CallCtx,
    _req: ApiCreateNotifyV2Request,
) -> ApiCreateNotifyV2Response {
    match create(s, ctx, PortVersion::V2) {
        Ok(notify) => ApiCreateNotifyV2Response { rpc_error: WError(0), rpc_status: 0, notify },
        Err(e) => ApiCreateNotifyV2Response::error(e),
    }
}

/// What an ApiAddNotifyV2 registration is about. `hObject` is a cluster handle for the
/// cluster-wide object types, the object's handle otherwise — or a cluster handle, meaning
/// every object of the type, as does `isTargetedAtObject` = FALSE. For the registry type it is
/// a key handle (that key) or a cluster handle (the root key).
fn v2_target(
    s: &ClusapiService,
    ctx: &CallCtx,
    ty: u32,
    flags: i64,
    h: &ContextHandle,
    targeted: bool,
) -> Result<Target, u32> {
    use object_type as t;
    let bad = win::ERROR_INVALID_HANDLE;
    let cluster = handle::<Cluster>(ctx, h).is_ok();
    let object = |id: Option<String>| match id {
        Some(id) if targeted => Ok(Target::Object(id)),
        Some(_) => Ok(Target::All),
        None if cluster => Ok(Target::All),
        None => Err(bad),
    };
    match ty {
        t::CLUSTER | t::RESOURCE_TYPE | t::QUORUM | t::SHARED_VOLUME => {
            if cluster {
                Ok(Target::All)
            } else {
                Err(bad)
            }
        }
        t::REGISTRY => {
            let subtree = flags & v2::REGISTRY_SUBTREE != 0;
            let path = if cluster { String::new() } else { registry::key_handle(ctx, h)?.path.clone() };
            Ok(Target::Key { path, subtree })
        }
        t::GROUP => object(handle::<Groups>(ctx, h).ok().map(|g| g.id.clone())),
        t::RESOURCE => object(handle::<Resources>(ctx, h).ok().map(|r| r.id.clone())),
        t::NETWORK => object(handle::<Networks>(ctx, h).ok().map(|n| n.id.clone())),
        t::NETWORK_INTERFACE => object(handle::<NetInterfaces>(ctx, h).ok().map(|i| i.id.clone())),
        t::NODE => object(handle::<Nodes>(ctx, h).ok().map(|n| node_id(&s.backend.snapshot(), n.pnn))),
        // every group set of the cluster (it has none, so nothing ever fires), or one by handle
        // (none can be opened)
        t::GROUPSET => object(handle::<GroupSets>(ctx, h).ok().map(|g| g.name.clone())),
        _ => Err(win::ERROR_INVALID_PARAMETER),
    }
}

/// [MS-CMRP 3.1.4.2.137] ApiAddNotifyV2: registers `filter` for the object (or object type)
/// `hObject` designates. ERROR_INVALID_PARAMETER when "the filter parameter contains invalid
/// flags", "specifies an invalid object type" or "the dwVersion parameter contains an invalid
/// value" (see [`check_v2_filter`]); ERROR_INVALID_HANDLE for a bad port or object handle.
/// For CLUSTER_OBJECT_TYPE_REGISTRY, CLUSTER_CHANGE_REGISTRY_SUBTREE_V2 extends the watch to
/// "all subkeys ... and all values under" the key.
pub fn api_add_notify_v2(s: &ClusapiService, ctx: &CallCtx, req: ApiAddNotifyV2Request) -> ApiAddNotifyV2Response {
    let r = (|| -> Result<(), u32> {
        let port = v2_port(ctx, &req.notify, req.version)?;
        let (object_type, flags) = (req.filter.dw_object_type, req.filter.filter_flags);
        if !super::profile::has_notify_object_type(super::profile::version_of(s), object_type) {
            return Err(win::ERROR_INVALID_PARAMETER);
        }
        check_v2_filter(object_type, flags)?;
        let target = v2_target(s, ctx, object_type, flags, &req.object, req.is_targeted_at_object.0)?;
        let filter = if object_type == object_type::REGISTRY {
            watch_registry(s, &port);
            flags & !v2::REGISTRY_SUBTREE
        } else {
            flags
        };
        port.register(Registration { object_type, filter, key: req.notify_key, target }, None)
    })();
    ApiAddNotifyV2Response { rpc_status: 0, result: status(r) }
}

/// [MS-CMRP 3.1.4.2.144] ApiAddNotifyResourceTypeV2: registers CLUSTER_CHANGE_RESOURCE_TYPE_V2
/// flags for one resource type, by name (ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND for an unknown
/// one). clusapid's resource types are a fixed table, so these never fire.
pub fn api_add_notify_resource_type_v2(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiAddNotifyResourceTypeV2Request,
) -> ApiAddNotifyResourceTypeV2Response {
    let r = (|| -> Result<(), u32> {
        let port = v2_port(ctx, &req.notify, req.version)?;
        check_v2_filter(object_type::RESOURCE_TYPE, req.filter)?;
        let snap = s.backend.snapshot();
        let t =
            snap.find_resource_type(req.res_type_name.as_str()).ok_or(win::ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND)?;
        port.register(
            Registration {
                object_type: object_type::RESOURCE_TYPE,
                filter: req.filter,
                key: req.notify_key,
                target: Target::Object(t.name.clone()),
            },
            None,
        )
    })();
    ApiAddNotifyResourceTypeV2Response { rpc_status: 0, result: status(r) }
}

fn wire_string(s: String) -> Option<WString> {
    Some(WString::new(s))
}

/// One queued indication as NOTIFICATION_RPC ([MS-CMRP] 2.2.3.24).
fn notification_rpc(q: Queued) -> NotificationRpc {
    let n = q.notice;
    let size = u32::try_from(n.buffer.len()).unwrap_or(u32::MAX);
    NotificationRpc {
        dw_notify_key: q.key,
        notification_data: NotificationDataRpc {
            filter_and_type: NotifyFilterAndTypeRpc { dw_object_type: n.object_type, filter_flags: n.filter },
            buffer: (!n.buffer.is_empty()).then_some(ConfBytes(n.buffer)),
            dw_buffer_size: size,
            object_id: wire_string(n.object_id),
            parent_id: wire_string(n.parent_id),
            name: wire_string(n.name),
            type_name: wire_string(n.type_name),
        },
    }
}

/// [MS-CMRP 3.1.4.2.138] ApiGetNotifyV2: every indication queued on a version 2 port since the
/// previous call. "The server MUST NOT complete this method until an indication has been
/// queued to the port or the port has been closed through a separate call to the
/// ApiUnblockGetNotifyCall or ApiCloseNotify method": ERROR_INVALID_FUNCTION then, and
/// ERROR_NO_MORE_ITEMS for a port already closed. Client-only flags are never returned (they
/// cannot be registered, [`check_v2_filter`]).
pub async fn api_get_notify_v2(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiGetNotifyV2Request,
) -> ApiGetNotifyV2Response {
    match wait_on(ctx, &req.notify, PortVersion::V2, |st| st.take_all(PortVersion::V2)).await {
        Ok(v) => {
            let items: Vec<NotificationRpc> = v.into_iter().map(notification_rpc).collect();
            ApiGetNotifyV2Response {
                num_notifications: u32::try_from(items.len()).unwrap_or(u32::MAX),
                notifications: Some(idl::ConfArray(items)),
                result: WError(0),
            }
        }
        Err(e) => ApiGetNotifyV2Response::error(e),
    }
}

#[cfg(test)]
mod tests;
