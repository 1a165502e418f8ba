//! The selectors of the clusapi enumerations ([MS-CMRP] 3.1.4.2.8 ApiCreateEnum and
//! 3.1.4.2.102 ApiCreateEnumEx: CLUSTER_ENUM; 3.1.4.2.101 ApiCreateNodeEnum; 3.1.4.2.54
//! ApiCreateGroupResourceEnum; 3.1.4.2.23 ApiCreateResEnum; 3.1.4.2.85 ApiCreateNetworkEnum;
//! 3.1.4.2.103 ApiCreateResTypeEnum): `dwType` values and the entry
//! types of the returned lists. Pure data: the enumerations are in clusapid.

/// CLUSTER_ENUM_* selectors ([MS-CMRP] 3.1.4.2.8).
pub mod enum_type {
    pub const NODE: u32 = 0x0000_0001;
    pub const RESTYPE: u32 = 0x0000_0002;
    pub const RESOURCE: u32 = 0x0000_0004;
    pub const GROUP: u32 = 0x0000_0008;
    pub const NETWORK: u32 = 0x0000_0010;
    pub const NETINTERFACE: u32 = 0x0000_0020;
    pub const SHARED_VOLUME_RESOURCE: u32 = 0x4000_0000;
    pub const INTERNAL_NETWORK: u32 = 0x8000_0000;
    pub const VALID: u32 =
        NODE | RESTYPE | RESOURCE | GROUP | NETWORK | NETINTERFACE | SHARED_VOLUME_RESOURCE | INTERNAL_NETWORK;
}

/// CLUSTER_NODE_ENUM selectors ([MS-CMRP] 3.1.4.2.101).
pub mod node_enum {
    pub const NETINTERFACES: u32 = 0x1;
    pub const GROUPS: u32 = 0x2;
}

/// CLUSTER_GROUP_ENUM selectors ([MS-CMRP] 3.1.4.2.54).
pub mod group_enum {
    pub const CONTAINS: u32 = 0x1;
    pub const NODES: u32 = 0x2;
}

/// CLUSTER_RESOURCE_ENUM selectors ([MS-CMRP] 3.1.4.2.23).
pub mod res_enum {
    pub const DEPENDS: u32 = 0x1;
    pub const PROVIDES: u32 = 0x2;
    pub const NODES: u32 = 0x4;
}

/// CLUSTER_NETWORK_ENUM selectors ([MS-CMRP] 3.1.4.2.85).
pub mod network_enum {
    pub const NETINTERFACES: u32 = 0x1;
}

/// CLUSTER_RESOURCE_TYPE_ENUM selectors ([MS-CMRP] 3.1.4.2.103).
pub mod restype_enum {
    pub const NODES: u32 = 0x1;
    pub const RESOURCES: u32 = 0x2;
}
