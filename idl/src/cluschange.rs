//! The values of cluster object notifications ([MS-CMRP] 2.2.2.7 CLUSTER_CHANGE for version 1
//! ports, 2.2.2.11 CLUSTER_OBJECT_TYPE and 2.2.2.12-2.2.2.24 CLUSTER_CHANGE_*_V2 for version 2
//! ports). Pure data: the ports are in clusapid.

/// CLUSTER_CHANGE: the indications of version 1 ports ([MS-CMRP] 2.2.2.7).
pub mod change {
    pub const NODE_STATE: u32 = 0x0000_0001;
    pub const NODE_DELETED: u32 = 0x0000_0002;
    pub const NODE_ADDED: u32 = 0x0000_0004;
    pub const NODE_PROPERTY: u32 = 0x0000_0008;
    pub const REGISTRY_NAME: u32 = 0x0000_0010;
    pub const REGISTRY_ATTRIBUTES: u32 = 0x0000_0020;
    pub const REGISTRY_VALUE: u32 = 0x0000_0040;
    pub const REGISTRY_SUBTREE: u32 = 0x0000_0080;
    pub const RESOURCE_STATE: u32 = 0x0000_0100;
    pub const RESOURCE_DELETED: u32 = 0x0000_0200;
    pub const RESOURCE_ADDED: u32 = 0x0000_0400;
    pub const RESOURCE_PROPERTY: u32 = 0x0000_0800;
    pub const GROUP_STATE: u32 = 0x0000_1000;
    pub const GROUP_DELETED: u32 = 0x0000_2000;
    pub const GROUP_ADDED: u32 = 0x0000_4000;
    pub const GROUP_PROPERTY: u32 = 0x0000_8000;
    pub const RESOURCE_TYPE_DELETED: u32 = 0x0001_0000;
    pub const RESOURCE_TYPE_ADDED: u32 = 0x0002_0000;
    pub const RESOURCE_TYPE_PROPERTY: u32 = 0x0004_0000;
    pub const CLUSTER_RECONNECT: u32 = 0x0008_0000;
    pub const NETWORK_STATE: u32 = 0x0010_0000;
    pub const NETWORK_DELETED: u32 = 0x0020_0000;
    pub const NETWORK_ADDED: u32 = 0x0040_0000;
    pub const NETWORK_PROPERTY: u32 = 0x0080_0000;
    pub const NETINTERFACE_STATE: u32 = 0x0100_0000;
    pub const NETINTERFACE_DELETED: u32 = 0x0200_0000;
    pub const NETINTERFACE_ADDED: u32 = 0x0400_0000;
    pub const NETINTERFACE_PROPERTY: u32 = 0x0800_0000;
    pub const QUORUM_STATE: u32 = 0x1000_0000;
    pub const CLUSTER_STATE: u32 = 0x2000_0000;
    pub const CLUSTER_PROPERTY: u32 = 0x4000_0000;
    pub const HANDLE_CLOSE: u32 = 0x8000_0000;
    /// The registry indications a watch reports (REGISTRY_SUBTREE only widens the watch).
    pub const REGISTRY_EVENTS: u32 = REGISTRY_NAME | REGISTRY_ATTRIBUTES | REGISTRY_VALUE;
    /// Every registry bit.
    pub const REGISTRY: u32 = REGISTRY_EVENTS | REGISTRY_SUBTREE;
}

/// CLUSTER_OBJECT_TYPE ([MS-CMRP] 2.2.2.11): `dwObjectType` of version 2 filters and
/// indications.
pub mod object_type {
    pub const CLUSTER: u32 = 1;
    pub const GROUP: u32 = 2;
    pub const RESOURCE: u32 = 3;
    pub const RESOURCE_TYPE: u32 = 4;
    pub const NETWORK_INTERFACE: u32 = 5;
    pub const NETWORK: u32 = 6;
    pub const NODE: u32 = 7;
    pub const REGISTRY: u32 = 8;
    pub const QUORUM: u32 = 9;
    pub const SHARED_VOLUME: u32 = 10;
    /// Windows Server 2016 and later (clusapid refuses it when the presented version is older).
    pub const GROUPSET: u32 = 13;
}

/// The CLUSTER_CHANGE_*_V2 flags of each object type ([MS-CMRP] 2.2.2.12-2.2.2.21).
pub mod v2 {
    // CLUSTER_CHANGE_CLUSTER_V2
    pub const CLUSTER_RECONNECT: i64 = 0x1;
    pub const CLUSTER_STATE: i64 = 0x2;
    pub const CLUSTER_GROUP_ADDED: i64 = 0x4;
    pub const CLUSTER_HANDLE_CLOSE: i64 = 0x8;
    pub const CLUSTER_NETWORK_ADDED: i64 = 0x10;
    pub const CLUSTER_NODE_ADDED: i64 = 0x20;
    pub const CLUSTER_RESOURCE_TYPE_ADDED: i64 = 0x40;
    pub const CLUSTER_COMMON_PROPERTY: i64 = 0x80;
    pub const CLUSTER_PRIVATE_PROPERTY: i64 = 0x100;
    pub const CLUSTER_LOST_NOTIFICATIONS: i64 = 0x200;
    pub const CLUSTER_RENAME: i64 = 0x400;
    pub const CLUSTER_MEMBERSHIP: i64 = 0x800;
    pub const CLUSTER_UPGRADED: i64 = 0x1000;
    // CLUSTER_CHANGE_GROUP_V2
    pub const GROUP_DELETED: i64 = 0x1;
    pub const GROUP_COMMON_PROPERTY: i64 = 0x2;
    pub const GROUP_PRIVATE_PROPERTY: i64 = 0x4;
    pub const GROUP_STATE: i64 = 0x8;
    pub const GROUP_OWNER_NODE: i64 = 0x10;
    pub const GROUP_PREFERRED_OWNERS: i64 = 0x20;
    pub const GROUP_RESOURCE_ADDED: i64 = 0x40;
    pub const GROUP_RESOURCE_GAINED: i64 = 0x80;
    pub const GROUP_RESOURCE_LOST: i64 = 0x100;
    pub const GROUP_HANDLE_CLOSE: i64 = 0x200;
    // CLUSTER_CHANGE_RESOURCE_V2
    pub const RESOURCE_COMMON_PROPERTY: i64 = 0x1;
    pub const RESOURCE_PRIVATE_PROPERTY: i64 = 0x2;
    pub const RESOURCE_STATE: i64 = 0x4;
    pub const RESOURCE_OWNER_GROUP: i64 = 0x8;
    pub const RESOURCE_DEPENDENCIES: i64 = 0x10;
    pub const RESOURCE_DEPENDENTS: i64 = 0x20;
    pub const RESOURCE_POSSIBLE_OWNERS: i64 = 0x40;
    pub const RESOURCE_DELETED: i64 = 0x80;
    pub const RESOURCE_DLL_UPGRADED: i64 = 0x100;
    pub const RESOURCE_HANDLE_CLOSE: i64 = 0x200;
    // CLUSTER_CHANGE_RESOURCE_TYPE_V2
    pub const RESOURCE_TYPE_DELETED: i64 = 0x1;
    pub const RESOURCE_TYPE_COMMON_PROPERTY: i64 = 0x2;
    pub const RESOURCE_TYPE_PRIVATE_PROPERTY: i64 = 0x4;
    pub const RESOURCE_TYPE_POSSIBLE_OWNERS: i64 = 0x8;
    pub const RESOURCE_TYPE_DLL_UPGRADED: i64 = 0x10;
    // CLUSTER_CHANGE_NETINTERFACE_V2
    pub const NETINTERFACE_DELETED: i64 = 0x1;
    pub const NETINTERFACE_COMMON_PROPERTY: i64 = 0x2;
    pub const NETINTERFACE_PRIVATE_PROPERTY: i64 = 0x4;
    pub const NETINTERFACE_STATE: i64 = 0x8;
    pub const NETINTERFACE_HANDLE_CLOSE: i64 = 0x10;
    // CLUSTER_CHANGE_NETWORK_V2
    pub const NETWORK_DELETED: i64 = 0x1;
    pub const NETWORK_COMMON_PROPERTY: i64 = 0x2;
    pub const NETWORK_PRIVATE_PROPERTY: i64 = 0x4;
    pub const NETWORK_STATE: i64 = 0x8;
    pub const NETWORK_HANDLE_CLOSE: i64 = 0x10;
    // CLUSTER_CHANGE_NODE_V2
    pub const NODE_NETINTERFACE_ADDED: i64 = 0x1;
    pub const NODE_DELETED: i64 = 0x2;
    pub const NODE_COMMON_PROPERTY: i64 = 0x4;
    pub const NODE_PRIVATE_PROPERTY: i64 = 0x8;
    pub const NODE_STATE: i64 = 0x10;
    pub const NODE_GROUP_GAINED: i64 = 0x20;
    pub const NODE_GROUP_LOST: i64 = 0x40;
    pub const NODE_HANDLE_CLOSE: i64 = 0x80;
    // CLUSTER_CHANGE_REGISTRY_V2
    pub const REGISTRY_ATTRIBUTES: i64 = 0x1;
    pub const REGISTRY_NAME: i64 = 0x2;
    pub const REGISTRY_SUBTREE: i64 = 0x4;
    pub const REGISTRY_VALUE: i64 = 0x8;
    pub const REGISTRY_HANDLE_CLOSE: i64 = 0x10;
    // CLUSTER_CHANGE_QUORUM_V2
    pub const QUORUM_STATE: i64 = 0x1;
    // CLUSTER_CHANGE_SHARED_VOLUME_V2
    pub const SHARED_VOLUME_STATE: i64 = 0x1;
    pub const SHARED_VOLUME_ADDED: i64 = 0x2;
    pub const SHARED_VOLUME_REMOVED: i64 = 0x4;
    // CLUSTER_CHANGE_GROUPSET_V2 ([MS-CMRP] 2.2.2.24)
    pub const GROUPSET_DELETED: i64 = 0x1;
    pub const GROUPSET_COMMON_PROPERTY: i64 = 0x2;
    pub const GROUPSET_PRIVATE_PROPERTY: i64 = 0x4;
    pub const GROUPSET_STATE: i64 = 0x8;
    pub const GROUPSET_GROUP_ADDED: i64 = 0x10;
    pub const GROUPSET_GROUP_REMOVED: i64 = 0x20;
    pub const GROUPSET_DEPENDENCIES: i64 = 0x40;
    pub const GROUPSET_DEPENDENTS: i64 = 0x80;
    pub const GROUPSET_HANDLE_CLOSE: i64 = 0x100;
}
