//! The Windows-side cluster model served over clusapi: nodes, groups,
//! resources, resource types, networks and network interfaces, their wire
//! state values, and name/id lookups over one immutable [`ClusterState`].
//!
//! A `ClusterState` is built only by [`crate::mapping::build`]; backends hand
//! it out as `Arc<ClusterState>` snapshots.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::ids::names_equal;
use crate::presentation::{DrainStatus, WindowsVersion};
use crate::raw::{CtdbNodeFlags, PublicIp};

use crate::wire::{wire_enum, wire_state};

wire_state!(
    /// `CLUSTER_NODE_STATE`.
    NodeState { Up = 0, Down = 1, Paused = 2, Joining = 3 }
);
wire_state!(
    /// `CLUSTER_GROUP_STATE`.
    GroupState { Online = 0, Offline = 1, Failed = 2, PartialOnline = 3, Pending = 4 }
);
wire_state!(
    /// `CLUSTER_RESOURCE_STATE`.
    ResourceState {
        Inherited = 0,
        Initializing = 1,
        Online = 2,
        Offline = 3,
        Failed = 4,
        Pending = 0x80,
        OnlinePending = 0x81,
        OfflinePending = 0x82,
    }
);
wire_state!(
    /// `CLUSTER_NETWORK_STATE`.
    NetworkState { Unavailable = 0, Down = 1, Partitioned = 2, Up = 3 }
);
wire_state!(
    /// `CLUSTER_NETINTERFACE_STATE`.
    NetInterfaceState { Failed = 0, Unreachable = 1, Unavailable = 2, Up = 3 }
);

wire_enum!(
    /// The `Role` property of a network.
    NetworkRole { None = 0, InternalUse = 1, ClientAccess = 2, InternalAndClient = 3 }
);

/// `CLUSGROUP_TYPE` values used by the model.
pub mod group_type {
    /// The core "Cluster Group".
    pub const CLUSTER: u32 = 1;
    pub const AVAILABLE_STORAGE: u32 = 2;
    /// File Server role.
    pub const FILE_SERVER: u32 = 100;
    pub const SCALEOUT_FILE_SERVER: u32 = 114;
    /// Generic / unknown role (used for per-IP groups and created groups).
    pub const UNKNOWN: u32 = 9999;
}

/// `CLUS_FLAGS` bits.
pub mod clus_flags {
    /// Core group or resource (`CLUS_FLAG_CORE`).
    pub const CORE: u32 = 0x1;
}

/// `CLUSTER_RESOURCE_CLASS` values and subclass bits.
pub mod resource_class {
    pub const UNKNOWN: u32 = 0;
    pub const STORAGE: u32 = 1;
    pub const NETWORK: u32 = 2;
    pub const USER: u32 = 32768;
    /// `CLUS_RESSUBCLASS_SHARED` (storage) / `CLUS_RESSUBCLASS_NETWORK_INTERNET_PROTOCOL` (network).
    pub const SUBCLASS_SHARED_OR_IP: u32 = 0x8000_0000;
}

/// `CLUS_CHARACTERISTICS` bits.
pub mod characteristics {
    pub const UNKNOWN: u32 = 0;
    pub const QUORUM: u32 = 0x1;
    pub const DELETE_REQUIRES_ALL_NODES: u32 = 0x2;
    pub const LOCAL_QUORUM: u32 = 0x4;
    pub const BROADCAST_DELETE: u32 = 0x20;
    pub const SINGLE_CLUSTER_INSTANCE: u32 = 0x40;
    pub const SINGLE_GROUP_INSTANCE: u32 = 0x80;
}

/// Names of the resource types the model uses for its own resources.
pub mod type_names {
    pub const IP_ADDRESS: &str = "IP Address";
    pub const IPV6_ADDRESS: &str = "IPv6 Address";
    pub const NETWORK_NAME: &str = "Network Name";
    pub const FILE_SERVER: &str = "File Server";
    pub const FILE_SHARE: &str = "File Share";
}

/// Well-known object names.
pub mod names {
    pub const CLUSTER_GROUP: &str = "Cluster Group";
    pub const CLUSTER_NAME: &str = "Cluster Name";
    pub const CLUSTER_IP_ADDRESS: &str = "Cluster IP Address";
    pub const FILE_SERVER_GROUP: &str = "File Server";
    pub const FILE_SERVER_RESOURCE: &str = "File Server";
}

/// A property value, typed as a clusapi property list carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PropValue {
    Dword(u32),
    Sz(String),
    MultiSz(Vec<String>),
    Binary(Vec<u8>),
    ULargeInteger(#[serde(with = "u64_as_string")] u64),
}

impl PropValue {
    /// `CLUSPROP_FORMAT_*` of the value (BINARY 1, DWORD 2, SZ 3, MULTI_SZ 5, ULARGE_INTEGER 6).
    pub const fn format(&self) -> u16 {
        match self {
            PropValue::Binary(_) => 1,
            PropValue::Dword(_) => 2,
            PropValue::Sz(_) => 3,
            PropValue::MultiSz(_) => 5,
            PropValue::ULargeInteger(_) => 6,
        }
    }
}

/// TOML integers are i64; store u64 values as decimal strings.
mod u64_as_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Cluster-wide facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterInfo {
    pub name: String,
    /// `ClusterInstanceID`: a GUID derived from the cluster name.
    pub instance_id: String,
    pub this_pnn: u32,
    pub leader: Option<u32>,
    pub generation: u32,
    pub recovery_mode_active: bool,
    /// The Windows version the cluster presents (every node runs it: never mixed mode).
    pub windows_version: WindowsVersion,
}

/// A cluster node (one CTDB node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub pnn: u32,
    /// Windows node id: decimal `pnn + 1` (Windows node ids start at 1).
    pub id: String,
    /// `CTDB_NODE_<pnn>`.
    pub name: String,
    pub address: IpAddr,
    pub state: NodeState,
    /// The raw CTDB flags, for property lists.
    pub flags: CtdbNodeFlags,
    /// GUID-form `NodeInstanceID`.
    pub instance_id: String,
    pub description: String,
    /// The node's fully qualified DNS name, when its clusapid published one.
    pub fqdn: Option<String>,
    /// `NodeDrainStatus`.
    pub drain_status: DrainStatus,
    /// `NodeDrainTarget`: the pnn a drain moves groups to, when one was named.
    pub drain_target: Option<u32>,
}

/// What a group mirrors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupKind {
    /// The core "Cluster Group".
    Cluster,
    /// The group of one CTDB public IP.
    PublicIp(IpAddr),
    /// The "File Server" role holding the Samba shares.
    FileServer,
    /// Created through clusapi; lives only in the overlay.
    Created,
}

/// A group (role).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub id: String,
    pub kind: GroupKind,
    pub owner: Option<u32>,
    pub state: GroupState,
    /// `CLUSGROUP_TYPE` (see [`group_type`]).
    pub group_type: u32,
    /// `CLUS_FLAGS` (see [`clus_flags`]).
    pub flags: u32,
    pub preferred_owners: Vec<u32>,
    pub resource_ids: Vec<String>,
    pub description: String,
}

/// What a resource mirrors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    /// "Cluster Name" (Network Name of the cluster).
    ClusterName,
    /// "Cluster IP Address".
    ClusterIp,
    /// The address resource of one public IP.
    PublicIp(IpAddr),
    /// The "File Server" resource.
    FileServer,
    /// The File Server role's client access point: the Network Name the clustered Samba
    /// serves SMB under (its NetBIOS name), named after it as Windows names a role's name.
    FileServerName,
    /// One Samba share.
    Share(String),
    /// Created through clusapi; lives only in the overlay.
    Created,
}

/// A resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub name: String,
    pub id: String,
    pub kind: ResourceKind,
    /// Resource type name (always one of [`ClusterState::resource_types`]).
    pub type_name: String,
    pub group_id: String,
    pub owner: Option<u32>,
    pub state: ResourceState,
    /// Ids of the resources this one depends on.
    pub dependencies: Vec<String>,
    pub possible_owners: Vec<u32>,
    /// Private properties (`Parameters`), in order.
    pub private_props: Vec<(String, PropValue)>,
    pub flags: u32,
    pub description: String,
}

impl Resource {
    /// A private property by (case-insensitive) name.
    pub fn private_prop(&self, name: &str) -> Option<&PropValue> {
        self.private_props.iter().find(|(n, _)| names_equal(n, name)).map(|(_, v)| v)
    }

    /// True for resources created through clusapi (deletable).
    pub fn is_created(&self) -> bool {
        self.kind == ResourceKind::Created
    }
}

/// A resource type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceType {
    pub name: String,
    pub display_name: String,
    pub dll_name: String,
    pub possible_nodes: Vec<u32>,
    /// `CLUSTER_RESOURCE_CLASS` (see [`resource_class`]).
    pub resource_class: u32,
    /// Subclass bits of `CLUS_RESOURCE_CLASS_INFO`.
    pub resource_subclass: u32,
    /// `CLUS_CHARACTERISTICS` (see [`characteristics`]).
    pub characteristics: u32,
}

/// A cluster network (one IP subnet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// "Cluster Network N".
    pub name: String,
    pub id: String,
    /// Network address (host bits cleared).
    pub subnet: IpAddr,
    pub prefix_len: u8,
    /// `subnet` as a string (the `Address` property).
    pub address: String,
    /// Dotted mask for IPv4, prefix length as a string for IPv6 (`AddressMask`).
    pub address_mask: String,
    pub role: NetworkRole,
    pub state: NetworkState,
    pub description: String,
}

impl Network {
    /// True if `addr` lies in this network.
    pub fn contains(&self, addr: IpAddr) -> bool {
        network_address(addr, self.prefix_len) == Some(self.subnet)
    }
}

/// `addr` with the host bits beyond `prefix_len` cleared; `None` if the prefix
/// is too long for the address family.
pub fn network_address(addr: IpAddr, prefix_len: u8) -> Option<IpAddr> {
    match addr {
        IpAddr::V4(a) if prefix_len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix_len)).unwrap_or(0);
            Some(IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask)))
        }
        IpAddr::V6(a) if prefix_len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix_len)).unwrap_or(0);
            Some(IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask)))
        }
        _ => None,
    }
}

/// A network interface: one CTDB interface of one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetInterface {
    /// "`<node name>` - `<adapter>`", e.g. "CTDB_NODE_0 - eth1".
    pub name: String,
    pub id: String,
    pub node_pnn: u32,
    pub network_id: String,
    /// CTDB interface name.
    pub adapter_name: String,
    /// The node's address.
    pub address: IpAddr,
    pub state: NetInterfaceState,
    pub description: String,
}

/// One consistent view of the whole cluster, as clusapi serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterState {
    pub cluster: ClusterInfo,
    /// By pnn, ascending.
    pub nodes: Vec<Node>,
    pub groups: Vec<Group>,
    pub resources: Vec<Resource>,
    pub resource_types: Vec<ResourceType>,
    pub networks: Vec<Network>,
    pub net_interfaces: Vec<NetInterface>,
    /// The raw public IP table (hosting nodes), as CTDB reported it.
    pub public_ips: Vec<PublicIp>,
    /// Samba share names.
    pub shares: Vec<String>,
    /// The admin property store (see [`crate::Overlay::set_admin_props`]): property values
    /// by opaque object key, each list in the order the names were first stored.
    pub admin_props: std::collections::BTreeMap<String, Vec<(String, PropValue)>>,
}

/// Writes, for each class of object clusapi opens by id and by name, the two lookups of
/// [`ClusterState`]: `$by_id` and `$by_name` over the list `$list`. Ids and names compare
/// case-insensitively, as Windows compares them. (Nodes are found by their own rules.)
macro_rules! lookups {
    ($($list:ident: $class:ident => $by_id:ident, $by_name:ident;)*) => {
        impl ClusterState {
            $(
                #[doc = concat!("The ", stringify!($class), " with id `id`.")]
                pub fn $by_id(&self, id: &str) -> Option<&$class> {
                    self.$list.iter().find(|o| names_equal(&o.id, id))
                }

                #[doc = concat!("The ", stringify!($class), " named `name`.")]
                pub fn $by_name(&self, name: &str) -> Option<&$class> {
                    self.$list.iter().find(|o| names_equal(&o.name, name))
                }
            )*
        }
    };
}

lookups! {
    groups: Group => group_by_id, find_group_by_name;
    resources: Resource => resource_by_id, find_resource_by_name;
    networks: Network => network_by_id, find_network_by_name;
    net_interfaces: NetInterface => netinterface_by_id, find_netinterface_by_name;
}

impl ClusterState {
    // --- admin property store ---

    /// The admin-stored value of property `name` (case-insensitive) under object key `key`.
    pub fn admin_prop(&self, key: &str, name: &str) -> Option<&PropValue> {
        self.admin_props.get(key)?.iter().find(|(n, _)| names_equal(n, name)).map(|(_, v)| v)
    }

    /// Every admin-stored property under object key `key`.
    pub fn admin_props_of(&self, key: &str) -> &[(String, PropValue)] {
        self.admin_props.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    // --- nodes ---

    pub fn node_by_pnn(&self, pnn: u32) -> Option<&Node> {
        self.nodes.iter().find(|n| n.pnn == pnn)
    }

    /// By Windows node id ("1", "2", ...).
    pub fn node_by_id(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// A node by name, or by the fully qualified name its clusapid published.
    pub fn find_node_by_name(&self, name: &str) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| names_equal(&n.name, name))
            .or_else(|| self.nodes.iter().find(|n| n.fqdn.as_deref().is_some_and(|f| names_equal(f, name))))
    }

    /// Node name of `pnn`, if the node exists.
    pub fn node_name(&self, pnn: u32) -> Option<&str> {
        self.node_by_pnn(pnn).map(|n| n.name.as_str())
    }

    // --- groups ---

    /// The core "Cluster Group".
    pub fn cluster_group(&self) -> Option<&Group> {
        self.groups.iter().find(|g| g.kind == GroupKind::Cluster)
    }

    /// The group mirroring public IP `addr`.
    pub fn group_for_ip(&self, addr: IpAddr) -> Option<&Group> {
        self.groups.iter().find(|g| g.kind == GroupKind::PublicIp(addr))
    }

    /// Groups currently owned by `pnn`.
    pub fn groups_owned_by(&self, pnn: u32) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter(move |g| g.owner == Some(pnn))
    }

    // --- resources ---

    /// The "Cluster Name" resource.
    pub fn cluster_name_resource(&self) -> Option<&Resource> {
        self.resources.iter().find(|r| r.kind == ResourceKind::ClusterName)
    }

    /// Resources of group `group_id`, in the group's order.
    pub fn resources_in_group<'a>(&'a self, group_id: &'a str) -> impl Iterator<Item = &'a Resource> {
        self.group_by_id(group_id)
            .into_iter()
            .flat_map(|g| g.resource_ids.iter())
            .filter_map(|id| self.resource_by_id(id))
    }

    /// Resources that depend directly on `id`.
    pub fn dependents_of<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Resource> {
        self.resources.iter().filter(move |r| r.dependencies.iter().any(|d| names_equal(d, id)))
    }

    /// The "Network Name" resource for `id` (ApiGetResourceNetworkName): the
    /// resource itself if it is a Network Name, else the first one found
    /// breadth-first along its dependencies.
    pub fn network_name_resource(&self, id: &str) -> Option<&Resource> {
        let start = self.resource_by_id(id)?;
        let mut queue = std::collections::VecDeque::from([start]);
        let mut seen: Vec<&str> = Vec::new();
        while let Some(r) = queue.pop_front() {
            if seen.contains(&r.id.as_str()) {
                continue;
            }
            seen.push(&r.id);
            if names_equal(&r.type_name, type_names::NETWORK_NAME) {
                return Some(r);
            }
            queue.extend(r.dependencies.iter().filter_map(|d| self.resource_by_id(d)));
        }
        None
    }

    /// The network name (`Name` private property) for resource `id`.
    pub fn resource_network_name(&self, id: &str) -> Option<String> {
        let r = self.network_name_resource(id)?;
        match r.private_prop("Name") {
            Some(PropValue::Sz(s)) => Some(s.clone()),
            _ => Some(r.name.clone()),
        }
    }

    // --- resource types ---

    /// Resource type by (case-insensitive) name.
    pub fn find_resource_type(&self, name: &str) -> Option<&ResourceType> {
        self.resource_types.iter().find(|t| names_equal(&t.name, name))
    }

    /// Resources of type `type_name`.
    pub fn resources_of_type<'a>(&'a self, type_name: &'a str) -> impl Iterator<Item = &'a Resource> {
        self.resources.iter().filter(move |r| names_equal(&r.type_name, type_name))
    }

    // --- network interfaces ---

    /// The interface of node `node_name` on network `network_name` (ApiGetNetInterface).
    pub fn find_netinterface(&self, node_name: &str, network_name: &str) -> Option<&NetInterface> {
        let node = self.find_node_by_name(node_name)?;
        let net = self.find_network_by_name(network_name)?;
        self.net_interfaces.iter().find(|i| i.node_pnn == node.pnn && i.network_id == net.id)
    }

    pub fn netinterfaces_of_node(&self, pnn: u32) -> impl Iterator<Item = &NetInterface> {
        self.net_interfaces.iter().filter(move |i| i.node_pnn == pnn)
    }

    pub fn netinterfaces_on_network<'a>(&'a self, network_id: &'a str) -> impl Iterator<Item = &'a NetInterface> {
        self.net_interfaces.iter().filter(move |i| names_equal(&i.network_id, network_id))
    }

    // --- public IPs ---

    /// The hosting node of public IP `addr` (`Some(None)` = known but unassigned).
    pub fn ip_host(&self, addr: IpAddr) -> Option<Option<u32>> {
        self.public_ips.iter().find(|p| p.addr == addr).map(|p| p.pnn)
    }

    /// Public IPs hosted by `pnn`.
    pub fn ips_hosted_by(&self, pnn: u32) -> impl Iterator<Item = IpAddr> + '_ {
        self.public_ips.iter().filter(move |p| p.pnn == Some(pnn)).map(|p| p.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values() {
        assert_eq!(NodeState::Paused.as_u32(), 2);
        assert_eq!(NodeState::Unknown.as_u32(), 0xFFFF_FFFF);
        assert_eq!(NodeState::from_u32(3), NodeState::Joining);
        assert_eq!(NodeState::from_u32(77), NodeState::Unknown);
        assert_eq!(GroupState::PartialOnline.as_u32(), 3);
        assert_eq!(ResourceState::OfflinePending.as_u32(), 0x82);
        assert_eq!(ResourceState::from_u32(0x81), ResourceState::OnlinePending);
        assert_eq!(NetworkState::Partitioned.as_u32(), 2);
        assert_eq!(NetInterfaceState::Unavailable.as_u32(), 2);
        assert_eq!(NetworkRole::ClientAccess.as_u32(), 2);
    }

    #[test]
    fn prop_formats() {
        assert_eq!(PropValue::Dword(1).format(), 2);
        assert_eq!(PropValue::MultiSz(vec![]).format(), 5);
        assert_eq!(PropValue::ULargeInteger(1).format(), 6);
    }
}
