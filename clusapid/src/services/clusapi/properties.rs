//! Common and private properties of every object class ([MS-CMRP] 3.1.1.9 common properties,
//! 2.2.3.10 PROPERTY_LIST): one table per class (names, formats, read-only or not, in the order
//! Windows lists them) as a Windows Server 2012 R2 cluster reports them, the properties Windows
//! Server 2016 added for the presented versions from 2016 on ([`Obj::table`] picks by the
//! snapshot's [`nodes::WindowsVersion`]), and the functions that fill them from the live model
//! ([`nodes::ClusterState`]).
//!
//! Where the values come from:
//!
//! * the model, for what CTDB or the overlay knows (names, descriptions, group types, network
//!   addresses, node versions and states);
//! * the admin property store ([`ClusterState::admin_props`]), for read/write values CTDB has
//!   no notion of (a group's `Priority`, a node's `NodeWeight`, the cluster's timeouts, ...)
//!   once an administrator has set them, and for the private properties of objects other than
//!   resources;
//! * otherwise Windows' defaults.
//!
//! The exact read-only sets of nodes and of the cluster, their order and their values are those
//! of real Windows Server 2012 R2 replies (protocol-facts §5). Property names are matched
//! case-insensitively everywhere.
//!
//! ApiCreateGroupEnum / ApiCreateResourceEnum build their entries with [`group_common`],
//! [`group_ro_common`], [`resource_common`], [`resource_ro_common`] and [`select`]; the
//! control codes ([`super::control`]) use [`Obj`].
//!
//! The model's value type ([`nodes::PropValue`]) and the wire's
//! ([`registry_model::PropValue`]) differ; [`to_wire`] and [`to_model`] are the only
//! conversions between them.

use nodes::model::type_names;
use nodes::{
    ClusterState, Group, GroupState, NetInterface, Network, Node, NodeState, PropValue as ModelValue, Resource,
    ResourceState, ResourceType,
};
use registry_model::{Format, PropValue, PropertyDef, PropertyList, PropertyTable, ValueList};

use super::version::{CSD_VERSION, HARDWARE_UNKNOWN};
use nodes::WindowsVersion;

use super::win::{ERROR_INVALID_DATA, ERROR_INVALID_PARAMETER};

// ---------------------------------------------------------------------------------------------
// conversions

/// A model value as it goes on the wire.
pub fn to_wire(v: &ModelValue) -> PropValue {
    match v {
        ModelValue::Dword(x) => PropValue::Dword(*x),
        ModelValue::Sz(s) => PropValue::Sz(s.clone()),
        ModelValue::MultiSz(m) => PropValue::MultiSz(m.clone()),
        ModelValue::Binary(b) => PropValue::Binary(b.clone()),
        ModelValue::ULargeInteger(x) => PropValue::ULargeInteger(*x),
    }
}

/// A wire value the model can keep: DWORD, SZ, MULTI_SZ, BINARY, ULARGE_INTEGER. Other formats
/// (and "reset" items) have no model form: `None`.
pub fn to_model(v: &PropValue) -> Option<ModelValue> {
    Some(match v {
        PropValue::Dword(x) => ModelValue::Dword(*x),
        PropValue::Sz(s) => ModelValue::Sz(s.clone()),
        PropValue::MultiSz(m) => ModelValue::MultiSz(m.clone()),
        PropValue::Binary(b) => ModelValue::Binary(b.clone()),
        PropValue::ULargeInteger(x) => ModelValue::ULargeInteger(*x),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// tables

/// A class table of Windows Server 2012 R2 and its form from 2016 on, which inserts entries at
/// two places: `NAME, NAME_2016: [head] + [2016 additions] + [tail] + [2016 additions]`.
macro_rules! versioned_table {
    (
        $(#[$doc:meta])* $name:ident, $(#[$doc16:meta])* $name16:ident:
        [$($a:expr),* $(,)?] + [$($a16:expr),* $(,)?] + [$($b:expr),* $(,)?] + [$($b16:expr),* $(,)?]
    ) => {
        $(#[$doc])*
        pub static $name: PropertyTable = PropertyTable::from_static(&[$($a,)* $($b,)*]);
        $(#[$doc16])*
        pub static $name16: PropertyTable = PropertyTable::from_static(&[$($a,)* $($a16,)* $($b,)* $($b16,)*]);
    };
}

versioned_table! {
    /// Cluster common properties. The read-only ones are exactly those of Windows Server 2012 R2,
    /// in its order; the read/write ones are the 2012 R2 set `Get-Cluster | fl *` shows.
    CLUSTER_PROPERTIES,
    /// The cluster common properties from Windows Server 2016 on: 2012 R2's, then those 2016
    /// added (documented "Minimum supported server: Windows Server 2016") that a CTDB cluster can
    /// answer truthfully: the functional level and upgrade version of the presented release
    /// (read-only here: they follow the presented version, see README), the site thresholds,
    /// quarantine settings and Storage Spaces Direct (never enabled on a CTDB cluster).
    CLUSTER_PROPERTIES_2016:
    [
        PropertyDef::rw("Description", Format::Sz),
        PropertyDef::rw("AddEvictDelay", Format::Dword),
        PropertyDef::rw("BackupInProgress", Format::Dword),
        PropertyDef::rw("BlockCacheSize", Format::Dword),
        PropertyDef::rw("ClusSvcHangTimeout", Format::Dword),
        PropertyDef::rw("ClusSvcRegroupOpeningTimeout", Format::Dword),
        PropertyDef::rw("ClusSvcRegroupPruningTimeout", Format::Dword),
        PropertyDef::rw("ClusSvcRegroupStageTimeout", Format::Dword),
        PropertyDef::rw("ClusSvcRegroupTickInMilliseconds", Format::Dword),
        PropertyDef::rw("ClusterEnforcedAntiAffinity", Format::Dword),
        PropertyDef::rw("ClusterGroupWaitDelay", Format::Dword),
        PropertyDef::rw("ClusterLogLevel", Format::Dword),
        PropertyDef::rw("ClusterLogSize", Format::Dword),
        PropertyDef::rw("CrossSubnetDelay", Format::Dword),
        PropertyDef::rw("CrossSubnetThreshold", Format::Dword),
        PropertyDef::rw("DatabaseReadWriteMode", Format::Dword),
        PropertyDef::rw("DefaultNetworkRole", Format::Dword),
        PropertyDef::rw("DrainOnShutdown", Format::Dword),
        PropertyDef::rw("DynamicQuorum", Format::Dword),
        PropertyDef::rw("EnableSharedVolumes", Format::Dword),
        PropertyDef::rw("HangRecoveryAction", Format::Dword),
        PropertyDef::rw("LogResourceControls", Format::Dword),
        PropertyDef::rw("LowerQuorumPriorityNodeId", Format::Dword),
        PropertyDef::rw("MessageBufferLength", Format::Dword),
        PropertyDef::rw("MinimumNeverPreemptPriority", Format::Dword),
        PropertyDef::rw("MinimumPreemptorPriority", Format::Dword),
        PropertyDef::rw("NetftIPSecEnabled", Format::Dword),
        PropertyDef::rw("PlumbAllCrossSubnetRoutes", Format::Dword),
        PropertyDef::rw("QuorumArbitrationTimeMax", Format::Dword),
        PropertyDef::rw("RequestReplyTimeout", Format::Dword),
        PropertyDef::rw("RootMemoryReserved", Format::Dword),
        PropertyDef::rw("RouteHistoryLength", Format::Dword),
        PropertyDef::rw("SameSubnetDelay", Format::Dword),
        PropertyDef::rw("SameSubnetThreshold", Format::Dword),
        PropertyDef::rw("SecurityLevel", Format::Dword),
        PropertyDef::rw("SharedVolumeCompatibleFilters", Format::MultiSz),
        PropertyDef::rw("SharedVolumeIncompatibleFilters", Format::MultiSz),
        PropertyDef::rw("ShutdownTimeoutInMinutes", Format::Dword),
        PropertyDef::rw("UseClientAccessNetworksForSharedVolumes", Format::Dword),
        PropertyDef::rw("WitnessDatabaseWriteTimeout", Format::Dword),
        PropertyDef::rw("WitnessRestartInterval", Format::Dword),
    ] + [
        PropertyDef::rw("CrossSiteDelay", Format::Dword),
        PropertyDef::rw("CrossSiteThreshold", Format::Dword),
        PropertyDef::rw("QuarantineDuration", Format::Dword),
        PropertyDef::rw("QuarantineThreshold", Format::Dword),
        PropertyDef::rw("S2DEnabled", Format::Dword),
    ] + [
        PropertyDef::ro("FixQuorum", Format::Dword),
        PropertyDef::ro("PreventQuorum", Format::Dword),
        PropertyDef::ro("IgnorePersistentStateOnStartup", Format::Dword),
        PropertyDef::ro("SharedVolumesRoot", Format::Sz),
        PropertyDef::ro("WitnessDynamicWeight", Format::Dword),
        PropertyDef::ro("AdminAccessPoint", Format::Dword),
    ] + [
        PropertyDef::ro("ClusterFunctionalLevel", Format::Dword),
        PropertyDef::ro("ClusterUpgradeVersion", Format::Dword),
    ]
}

/// Windows' defaults of the cluster's read/write DWORD properties (2012 R2; the site
/// thresholds of 2016 default to the subnet ones, quarantine to 3 failures and 7200 s).
const CLUSTER_DWORD_DEFAULTS: &[(&str, u32)] = &[
    ("AddEvictDelay", 60),
    ("BackupInProgress", 0),
    ("BlockCacheSize", 0),
    ("ClusSvcHangTimeout", 60),
    ("ClusSvcRegroupOpeningTimeout", 5),
    ("ClusSvcRegroupPruningTimeout", 5),
    ("ClusSvcRegroupStageTimeout", 5),
    ("ClusSvcRegroupTickInMilliseconds", 300),
    ("ClusterEnforcedAntiAffinity", 0),
    ("ClusterGroupWaitDelay", 120),
    ("ClusterLogLevel", 3),
    ("ClusterLogSize", 300),
    ("CrossSubnetDelay", 1000),
    ("CrossSubnetThreshold", 5),
    ("DatabaseReadWriteMode", 0),
    ("DefaultNetworkRole", 2),
    ("DrainOnShutdown", 1),
    ("DynamicQuorum", 1),
    ("EnableSharedVolumes", 1),
    ("HangRecoveryAction", 3),
    ("LogResourceControls", 0),
    ("LowerQuorumPriorityNodeId", 0),
    ("MessageBufferLength", 50),
    ("MinimumNeverPreemptPriority", 3000),
    ("MinimumPreemptorPriority", 1),
    ("NetftIPSecEnabled", 1),
    ("PlumbAllCrossSubnetRoutes", 0),
    ("QuorumArbitrationTimeMax", 20),
    ("RequestReplyTimeout", 60),
    ("RootMemoryReserved", u32::MAX),
    ("RouteHistoryLength", 10),
    ("SameSubnetDelay", 1000),
    ("SameSubnetThreshold", 5),
    ("SecurityLevel", 1),
    ("ShutdownTimeoutInMinutes", 20),
    ("UseClientAccessNetworksForSharedVolumes", 0),
    ("WitnessDatabaseWriteTimeout", 300),
    ("WitnessRestartInterval", 15),
    ("CrossSiteDelay", 1000),
    ("CrossSiteThreshold", 5),
    ("QuarantineDuration", 7200),
    ("QuarantineThreshold", 3),
    ("S2DEnabled", 0),
];

versioned_table! {
    /// Node common properties: the read-only ones exactly as Windows Server 2012 R2 sends them
    /// (NodeName first, ..., NeedsPreventQuorum last), then the read/write Description and
    /// NodeWeight.
    NODE_PROPERTIES,
    /// Node common properties from Windows Server 2016 on: 2012 R2's, then the hardware
    /// description 2016 added (read-only Manufacturer, Model, SerialNumber), which clusapid does
    /// not know for any node: empty.
    NODE_PROPERTIES_2016:
    [
        PropertyDef::ro("NodeName", Format::Sz),
        PropertyDef::ro("NodeHighestVersion", Format::Dword),
        PropertyDef::ro("NodeLowestVersion", Format::Dword),
        PropertyDef::ro("MajorVersion", Format::Dword),
        PropertyDef::ro("MinorVersion", Format::Dword),
        PropertyDef::ro("BuildNumber", Format::Dword),
        PropertyDef::ro("CSDVersion", Format::Sz),
        PropertyDef::ro("NodeInstanceID", Format::Sz),
        PropertyDef::ro("NodeDrainStatus", Format::Dword),
        PropertyDef::ro("NodeDrainTarget", Format::Dword),
        PropertyDef::ro("DynamicWeight", Format::Dword),
        PropertyDef::ro("NeedsPreventQuorum", Format::Dword),
    ] + [
        PropertyDef::ro("Manufacturer", Format::Sz),
        PropertyDef::ro("Model", Format::Sz),
        PropertyDef::ro("SerialNumber", Format::Sz),
    ] + [
        PropertyDef::rw("Description", Format::Sz),
        PropertyDef::rw("NodeWeight", Format::Dword),
    ] + []
}

versioned_table! {
    /// Group common properties (SDK "Group Common Properties"; `GroupType` is read-only, as
    /// smbtorture's CreateGroupEnum expects).
    GROUP_PROPERTIES,
    /// Group common properties from Windows Server 2016 on: 2012 R2's and `PreferredSite`
    /// (no preferred site: CTDB knows no sites).
    GROUP_PROPERTIES_2016:
    [
        PropertyDef::rw("Name", Format::Sz),
        PropertyDef::rw("Description", Format::Sz),
        PropertyDef::rw("PersistentState", Format::Dword),
        PropertyDef::rw("FailoverThreshold", Format::Dword),
        PropertyDef::rw("FailoverPeriod", Format::Dword),
        PropertyDef::rw("AutoFailbackType", Format::Dword),
        PropertyDef::rw("FailbackWindowStart", Format::Dword),
        PropertyDef::rw("FailbackWindowEnd", Format::Dword),
        PropertyDef::rw("AntiAffinityClassNames", Format::MultiSz),
        PropertyDef::rw("Priority", Format::Dword),
        PropertyDef::rw("DefaultOwner", Format::Dword),
    ] + [
        PropertyDef::rw("PreferredSite", Format::MultiSz),
    ] + [
        PropertyDef::ro("GroupType", Format::Dword),
        PropertyDef::ro("StatusInformation", Format::ULargeInteger),
    ] + []
}

/// The class tables of the presented version `v`: (cluster, node, group). Resources,
/// resource types, networks and network interfaces have one table for every version.
pub fn versioned_tables(v: WindowsVersion) -> [&'static PropertyTable; 3] {
    if v.at_least(WindowsVersion::Ws2016) {
        [&CLUSTER_PROPERTIES_2016, &NODE_PROPERTIES_2016, &GROUP_PROPERTIES_2016]
    } else {
        [&CLUSTER_PROPERTIES, &NODE_PROPERTIES, &GROUP_PROPERTIES]
    }
}

/// Resource common properties (SDK "Resource Common Properties", 2012 R2 set).
pub static RESOURCE_PROPERTIES: PropertyTable = PropertyTable::from_static(&[
    PropertyDef::rw("Name", Format::Sz),
    PropertyDef::rw("Description", Format::Sz),
    PropertyDef::rw("SeparateMonitor", Format::Dword),
    PropertyDef::rw("PersistentState", Format::Dword),
    PropertyDef::rw("LooksAlivePollInterval", Format::Dword),
    PropertyDef::rw("IsAlivePollInterval", Format::Dword),
    PropertyDef::rw("RestartAction", Format::Dword),
    PropertyDef::rw("RestartThreshold", Format::Dword),
    PropertyDef::rw("RestartPeriod", Format::Dword),
    PropertyDef::rw("RestartDelay", Format::Dword),
    PropertyDef::rw("RetryPeriodOnFailure", Format::Dword),
    PropertyDef::rw("PendingTimeout", Format::Dword),
    PropertyDef::rw("DeadlockTimeout", Format::Dword),
    PropertyDef::rw("EmbeddedFailureAction", Format::Dword),
    PropertyDef::ro("Type", Format::Sz),
    PropertyDef::ro("MonitorProcessId", Format::Dword),
    PropertyDef::ro("StatusInformation", Format::ULargeInteger),
    PropertyDef::ro("LastOperationStatusCode", Format::ULargeInteger),
    PropertyDef::ro("ResourceSpecificData1", Format::ULargeInteger),
    PropertyDef::ro("ResourceSpecificData2", Format::ULargeInteger),
    PropertyDef::ro("ResourceSpecificStatus", Format::Sz),
]);

/// Resource type common properties (SDK "Resource Type Common Properties"); none is
/// read-only.
pub static RESOURCE_TYPE_PROPERTIES: PropertyTable = PropertyTable::from_static(&[
    PropertyDef::rw("Name", Format::Sz),
    PropertyDef::rw("DllName", Format::Sz),
    PropertyDef::rw("Description", Format::Sz),
    PropertyDef::rw("AdminExtensions", Format::MultiSz),
    PropertyDef::rw("LooksAlivePollInterval", Format::Dword),
    PropertyDef::rw("IsAlivePollInterval", Format::Dword),
    PropertyDef::rw("PendingTimeout", Format::Dword),
    PropertyDef::rw("DeadlockTimeout", Format::Dword),
    PropertyDef::rw("DumpPolicy", Format::ULargeInteger),
    PropertyDef::rw("DumpLogQuery", Format::MultiSz),
    PropertyDef::rw("DumpServices", Format::MultiSz),
    PropertyDef::rw("EnabledEventLogs", Format::MultiSz),
    PropertyDef::rw("MaximumMonitors", Format::Dword),
]);

/// Network common properties (2012 R2 `Get-ClusterNetwork | fl *`).
pub static NETWORK_PROPERTIES: PropertyTable = PropertyTable::from_static(&[
    PropertyDef::rw("Name", Format::Sz),
    PropertyDef::rw("Description", Format::Sz),
    PropertyDef::rw("Role", Format::Dword),
    PropertyDef::rw("Metric", Format::Dword),
    PropertyDef::rw("AutoMetric", Format::Dword),
    PropertyDef::ro("Address", Format::Sz),
    PropertyDef::ro("AddressMask", Format::Sz),
    PropertyDef::ro("IPv4Addresses", Format::MultiSz),
    PropertyDef::ro("IPv4PrefixLengths", Format::MultiSz),
    PropertyDef::ro("IPv6Addresses", Format::MultiSz),
    PropertyDef::ro("IPv6PrefixLengths", Format::MultiSz),
]);

/// Network interface common properties (2012 R2 `Get-ClusterNetworkInterface | fl *`).
pub static NETINTERFACE_PROPERTIES: PropertyTable = PropertyTable::from_static(&[
    PropertyDef::rw("Description", Format::Sz),
    PropertyDef::ro("Name", Format::Sz),
    PropertyDef::ro("Node", Format::Sz),
    PropertyDef::ro("Network", Format::Sz),
    PropertyDef::ro("Adapter", Format::Sz),
    PropertyDef::ro("AdapterId", Format::Sz),
    PropertyDef::ro("Address", Format::Sz),
    PropertyDef::ro("DhcpEnabled", Format::Dword),
    PropertyDef::ro("IPv4Addresses", Format::MultiSz),
    PropertyDef::ro("IPv6Addresses", Format::MultiSz),
]);

/// The private properties the resource DLL of `type_name` knows (its `Parameters` schema), for
/// validating SET/VALIDATE_PRIVATE_PROPERTIES: an unknown name there is ERROR_INVALID_PARAMETER.
/// `None` for types whose DLL accepts any property (stored as given, as Windows'
/// `ResUtilSetUnknownProperties` does).
pub fn private_table(type_name: &str) -> Option<PropertyTable> {
    const IP: &[PropertyDef] = &[
        PropertyDef::rw("Network", Format::Sz),
        PropertyDef::rw("Address", Format::Sz),
        PropertyDef::rw("SubnetMask", Format::Sz),
        PropertyDef::rw("EnableNetBIOS", Format::Dword),
        PropertyDef::rw("OverrideAddressMatch", Format::Dword),
        PropertyDef::rw("EnableDhcp", Format::Dword),
    ];
    const IPV6: &[PropertyDef] = &[
        PropertyDef::rw("Network", Format::Sz),
        PropertyDef::rw("Address", Format::Sz),
        PropertyDef::rw("PrefixLength", Format::Dword),
    ];
    const NETNAME: &[PropertyDef] = &[
        PropertyDef::rw("Name", Format::Sz),
        PropertyDef::rw("DnsName", Format::Sz),
        PropertyDef::rw("RemapPipeNames", Format::Dword),
        PropertyDef::rw("HostRecordTTL", Format::Dword),
        PropertyDef::rw("RegisterAllProvidersIP", Format::Dword),
        PropertyDef::rw("PublishPTRRecords", Format::Dword),
    ];
    const SHARE: &[PropertyDef] = &[
        PropertyDef::rw("ShareName", Format::Sz),
        PropertyDef::rw("ServerName", Format::Sz),
        PropertyDef::rw("Path", Format::Sz),
        PropertyDef::rw("Remark", Format::Sz),
        PropertyDef::rw("MaxUsers", Format::Dword),
    ];
    let t = |e: &'static [PropertyDef]| Some(PropertyTable::from_static(e));
    [
        (type_names::IP_ADDRESS, IP),
        (type_names::IPV6_ADDRESS, IPV6),
        (type_names::NETWORK_NAME, NETNAME),
        (type_names::FILE_SHARE, SHARE),
    ]
    .iter()
    .find(|(n, _)| nodes::ids::names_equal(n, type_name))
    .and_then(|(_, e)| t(e))
}

/// CLUSCTL_*_GET_REQUIRED_DEPENDENCIES of a resource type: a value list of resource classes
/// and resource type names a resource of this type must depend on.
pub fn required_dependencies(type_name: &str) -> ValueList {
    let names: &[&str] = if nodes::ids::names_equal(type_name, type_names::FILE_SERVER) {
        &[type_names::NETWORK_NAME]
    } else if nodes::ids::names_equal(type_name, type_names::FILE_SHARE) {
        &[type_names::FILE_SERVER]
    } else {
        &[]
    };
    ValueList::required_dependencies(&[], names)
}

/// Range checks of writable DWORD values beyond their format (ERROR_INVALID_DATA, as the SDK
/// documents for out-of-range SET_COMMON_PROPERTIES values).
const DWORD_RANGES: &[(&str, u32, u32)] = &[
    ("NodeWeight", 0, 1),
    ("PersistentState", 0, 1),
    ("AutoFailbackType", 0, 1),
    ("SeparateMonitor", 0, 1),
    ("RestartAction", 0, 2),
    ("Role", 0, 3),
    ("AutoMetric", 0, 1),
    ("Priority", 0, 5000),
];

// ---------------------------------------------------------------------------------------------
// admin store keys

/// Admin store key of the cluster's common properties.
pub const CLUSTER_KEY: &str = "cluster";

/// Admin store key of a resource type's common properties.
pub fn restype_key(t: &ResourceType) -> String {
    format!("restype:{}", t.name)
}

/// Admin store key of an object's private properties (its `Parameters` key).
pub fn private_key(common_key: &str) -> String {
    format!("{common_key}\\Parameters")
}

// ---------------------------------------------------------------------------------------------
// objects

/// One object whose properties are asked for, resolved in a snapshot.
#[derive(Clone, Copy, Debug)]
pub enum Obj<'a> {
    Cluster,
    Node(&'a Node),
    Group(&'a Group),
    Resource(&'a Resource),
    ResourceType(&'a ResourceType),
    Network(&'a Network),
    NetInterface(&'a NetInterface),
}

impl<'a> Obj<'a> {
    /// The class's common property table in the version `s` presents.
    pub fn table(&self, s: &ClusterState) -> &'static PropertyTable {
        let [cluster, node, group] = versioned_tables(s.cluster.windows_version);
        match self {
            Obj::Cluster => cluster,
            Obj::Node(_) => node,
            Obj::Group(_) => group,
            Obj::Resource(_) => &RESOURCE_PROPERTIES,
            Obj::ResourceType(_) => &RESOURCE_TYPE_PROPERTIES,
            Obj::Network(_) => &NETWORK_PROPERTIES,
            Obj::NetInterface(_) => &NETINTERFACE_PROPERTIES,
        }
    }

    /// The admin store key of the object's common properties.
    pub fn key(&self) -> String {
        match self {
            Obj::Cluster => CLUSTER_KEY.to_owned(),
            Obj::Node(n) => n.id.clone(),
            Obj::Group(g) => g.id.clone(),
            Obj::Resource(r) => r.id.clone(),
            Obj::ResourceType(t) => restype_key(t),
            Obj::Network(n) => n.id.clone(),
            Obj::NetInterface(i) => i.id.clone(),
        }
    }

    /// The object's name (CLUSCTL_*_GET_NAME).
    pub fn name(&self, s: &ClusterState) -> String {
        match self {
            Obj::Cluster => s.cluster.name.clone(),
            Obj::Node(n) => n.name.clone(),
            Obj::Group(g) => g.name.clone(),
            Obj::Resource(r) => r.name.clone(),
            Obj::ResourceType(t) => t.name.clone(),
            Obj::Network(n) => n.name.clone(),
            Obj::NetInterface(i) => i.name.clone(),
        }
    }

    /// The object's id (CLUSCTL_*_GET_ID).
    pub fn id(&self, s: &ClusterState) -> String {
        match self {
            Obj::Cluster => s.cluster.instance_id.clone(),
            Obj::ResourceType(t) => t.name.clone(),
            Obj::Node(n) => n.id.clone(),
            Obj::Group(g) => g.id.clone(),
            Obj::Resource(r) => r.id.clone(),
            Obj::Network(n) => n.id.clone(),
            Obj::NetInterface(i) => i.id.clone(),
        }
    }

    /// Every common property value, in table order.
    pub fn values(&self, s: &ClusterState) -> Vec<(&'static str, PropValue)> {
        let key = self.key();
        let stored = Stored { s, key: &key };
        match self {
            Obj::Cluster => cluster_values(&stored),
            Obj::Node(n) => node_values(n, &stored),
            Obj::Group(g) => group_values(g, &stored),
            Obj::Resource(r) => resource_values(r, &stored),
            Obj::ResourceType(t) => restype_values(t, &stored),
            Obj::Network(n) => network_values(n, s, &stored),
            Obj::NetInterface(i) => netinterface_values(i, s, &stored),
        }
    }

    /// The read/write common properties (CLUSCTL_*_GET_COMMON_PROPERTIES).
    pub fn common(&self, s: &ClusterState) -> PropertyList {
        split(self.table(s), self.values(s), false)
    }

    /// The read-only common properties (CLUSCTL_*_GET_RO_COMMON_PROPERTIES).
    pub fn ro_common(&self, s: &ClusterState) -> PropertyList {
        split(self.table(s), self.values(s), true)
    }

    /// The private properties (CLUSCTL_*_GET_PRIVATE_PROPERTIES): a resource's `Parameters`
    /// from the model, any other object's from the admin store (none by default).
    pub fn private(&self, s: &ClusterState) -> PropertyList {
        let mut l = PropertyList::new();
        match self {
            Obj::Resource(r) => {
                for (n, v) in &r.private_props {
                    l.push(n.clone(), to_wire(v));
                }
            }
            _ => {
                for (n, v) in s.admin_props_of(&private_key(&self.key())) {
                    l.push(n.clone(), to_wire(v));
                }
            }
        }
        l
    }
}

/// Reads admin-stored values of one object, falling back to a default when nothing (or a
/// value of another format) is stored.
struct Stored<'a> {
    s: &'a ClusterState,
    key: &'a str,
}

impl Stored<'_> {
    fn get(&self, name: &str, default: PropValue) -> PropValue {
        match self.s.admin_prop(self.key, name).map(to_wire) {
            Some(v) if v.format() == default.format() => v,
            _ => default,
        }
    }

    fn dword(&self, name: &str, default: u32) -> PropValue {
        self.get(name, PropValue::Dword(default))
    }
}

fn split(table: &PropertyTable, values: Vec<(&'static str, PropValue)>, read_only: bool) -> PropertyList {
    let mut l = PropertyList::new();
    for (name, v) in values {
        if table.find(name).is_some_and(|d| d.read_only == read_only) {
            l.push(name, v);
        }
    }
    l
}

fn cluster_values(st: &Stored<'_>) -> Vec<(&'static str, PropValue)> {
    let version = st.s.cluster.windows_version;
    let [table, _, _] = versioned_tables(version);
    // read/write: in table order, Windows' defaults unless stored
    let mut v: Vec<(&'static str, PropValue)> = Vec::new();
    for d in table.entries().iter().filter(|d| !d.read_only) {
        let default = match d.format {
            Format::Sz => PropValue::Sz(String::new()),
            Format::MultiSz => PropValue::MultiSz(Vec::new()),
            _ => PropValue::Dword(CLUSTER_DWORD_DEFAULTS.iter().find(|(n, _)| *n == d.name).map_or(0, |(_, x)| *x)),
        };
        v.push((d.name, st.get(d.name, default)));
    }
    // read-only, Windows Server 2012 R2's set: no forced or prevented quorum (CTDB has neither),
    // the CSV root Windows reports even without CSVs, no witness, an AD + DNS access point.
    v.extend([
        ("FixQuorum", PropValue::Dword(0)),
        ("PreventQuorum", PropValue::Dword(0)),
        ("IgnorePersistentStateOnStartup", PropValue::Dword(0)),
        ("SharedVolumesRoot", PropValue::Sz("C:\\ClusterStorage".into())),
        ("WitnessDynamicWeight", PropValue::Dword(0)),
        ("AdminAccessPoint", PropValue::Dword(1)),
    ]);
    // from 2016: the level and upgrade version of the presented release (never mixed mode)
    if let Some(level) = version.functional_level() {
        v.push(("ClusterFunctionalLevel", PropValue::Dword(level)));
        v.push(("ClusterUpgradeVersion", PropValue::Dword(u32::from(version.upgrade_version()))));
    }
    v
}

fn node_values(n: &Node, st: &Stored<'_>) -> Vec<(&'static str, PropValue)> {
    let version = st.s.cluster.windows_version;
    let (major, minor, build) = version.os_version();
    let votes = matches!(n.state, NodeState::Up | NodeState::Paused);
    // NodeDrainTarget: the target node's id, 0xFFFFFFFF when none was named
    let target = n.drain_target.map_or(u32::MAX, |p| p.saturating_add(1));
    let mut v = vec![
        ("NodeName", PropValue::Sz(n.name.clone())),
        ("NodeHighestVersion", PropValue::Dword(version.cluster_version())),
        ("NodeLowestVersion", PropValue::Dword(version.cluster_version())),
        ("MajorVersion", PropValue::Dword(u32::from(major))),
        ("MinorVersion", PropValue::Dword(u32::from(minor))),
        ("BuildNumber", PropValue::Dword(u32::from(build))),
        ("CSDVersion", PropValue::Sz(CSD_VERSION.into())),
        ("NodeInstanceID", PropValue::Sz(n.instance_id.clone())),
        ("NodeDrainStatus", PropValue::Dword(n.drain_status.as_u32())),
        ("NodeDrainTarget", PropValue::Dword(target)),
        ("DynamicWeight", PropValue::Dword(u32::from(votes))),
        ("NeedsPreventQuorum", PropValue::Dword(0)),
    ];
    if version.at_least(WindowsVersion::Ws2016) {
        for name in ["Manufacturer", "Model", "SerialNumber"] {
            v.push((name, PropValue::Sz(HARDWARE_UNKNOWN.into())));
        }
    }
    v.push(("Description", PropValue::Sz(n.description.clone())));
    v.push(("NodeWeight", st.dword("NodeWeight", 1)));
    v
}

/// Priority of a group nobody changed: 2000, Windows' "Medium".
pub const DEFAULT_GROUP_PRIORITY: u32 = 2000;

fn group_values(g: &Group, st: &Stored<'_>) -> Vec<(&'static str, PropValue)> {
    let online = matches!(g.state, GroupState::Online | GroupState::PartialOnline);
    let mut v = vec![
        ("Name", PropValue::Sz(g.name.clone())),
        ("Description", PropValue::Sz(g.description.clone())),
        ("PersistentState", st.dword("PersistentState", u32::from(online))),
        ("FailoverThreshold", st.dword("FailoverThreshold", u32::MAX)),
        ("FailoverPeriod", st.dword("FailoverPeriod", 6)),
        ("AutoFailbackType", st.dword("AutoFailbackType", 0)),
        ("FailbackWindowStart", st.dword("FailbackWindowStart", u32::MAX)),
        ("FailbackWindowEnd", st.dword("FailbackWindowEnd", u32::MAX)),
        ("AntiAffinityClassNames", st.get("AntiAffinityClassNames", PropValue::MultiSz(vec![]))),
        ("Priority", st.dword("Priority", DEFAULT_GROUP_PRIORITY)),
        ("DefaultOwner", st.dword("DefaultOwner", u32::MAX)),
    ];
    if st.s.cluster.windows_version.at_least(WindowsVersion::Ws2016) {
        v.push(("PreferredSite", st.get("PreferredSite", PropValue::MultiSz(vec![]))));
    }
    v.push(("GroupType", PropValue::Dword(g.group_type)));
    v.push(("StatusInformation", PropValue::ULargeInteger(0)));
    v
}

fn resource_online(r: &Resource) -> bool {
    matches!(r.state, ResourceState::Online | ResourceState::OnlinePending)
}

fn resource_values(r: &Resource, st: &Stored<'_>) -> Vec<(&'static str, PropValue)> {
    vec![
        ("Name", PropValue::Sz(r.name.clone())),
        ("Description", PropValue::Sz(r.description.clone())),
        ("SeparateMonitor", st.dword("SeparateMonitor", 0)),
        ("PersistentState", st.dword("PersistentState", u32::from(resource_online(r)))),
        // 0xFFFFFFFF: use the resource type's poll intervals
        ("LooksAlivePollInterval", st.dword("LooksAlivePollInterval", u32::MAX)),
        ("IsAlivePollInterval", st.dword("IsAlivePollInterval", u32::MAX)),
        ("RestartAction", st.dword("RestartAction", 2)),
        ("RestartThreshold", st.dword("RestartThreshold", 1)),
        ("RestartPeriod", st.dword("RestartPeriod", 900_000)),
        ("RestartDelay", st.dword("RestartDelay", 500)),
        ("RetryPeriodOnFailure", st.dword("RetryPeriodOnFailure", 3_600_000)),
        ("PendingTimeout", st.dword("PendingTimeout", 180_000)),
        ("DeadlockTimeout", st.dword("DeadlockTimeout", 300_000)),
        ("EmbeddedFailureAction", st.dword("EmbeddedFailureAction", 2)),
        ("Type", PropValue::Sz(r.type_name.clone())),
        ("MonitorProcessId", PropValue::Dword(0)),
        ("StatusInformation", PropValue::ULargeInteger(0)),
        ("LastOperationStatusCode", PropValue::ULargeInteger(0)),
        ("ResourceSpecificData1", PropValue::ULargeInteger(0)),
        ("ResourceSpecificData2", PropValue::ULargeInteger(0)),
        ("ResourceSpecificStatus", PropValue::Sz(String::new())),
    ]
}

fn restype_values(t: &ResourceType, st: &Stored<'_>) -> Vec<(&'static str, PropValue)> {
    vec![
        ("Name", st.get("Name", PropValue::Sz(t.display_name.clone()))),
        ("DllName", st.get("DllName", PropValue::Sz(t.dll_name.clone()))),
        ("Description", st.get("Description", PropValue::Sz(String::new()))),
        ("AdminExtensions", st.get("AdminExtensions", PropValue::MultiSz(vec![]))),
        ("LooksAlivePollInterval", st.dword("LooksAlivePollInterval", 5000)),
        ("IsAlivePollInterval", st.dword("IsAlivePollInterval", 60_000)),
        ("PendingTimeout", st.dword("PendingTimeout", 180_000)),
        ("DeadlockTimeout", st.dword("DeadlockTimeout", 300_000)),
        ("DumpPolicy", st.get("DumpPolicy", PropValue::ULargeInteger(0))),
        ("DumpLogQuery", st.get("DumpLogQuery", PropValue::MultiSz(vec![]))),
        ("DumpServices", st.get("DumpServices", PropValue::MultiSz(vec![]))),
        ("EnabledEventLogs", st.get("EnabledEventLogs", PropValue::MultiSz(vec![]))),
        ("MaximumMonitors", st.dword("MaximumMonitors", 0)),
    ]
}

/// Metric Windows would give the network: cluster-only networks are preferred for internal
/// traffic (lower metric), client networks come after, in network order.
fn default_metric(n: &Network, s: &ClusterState) -> u32 {
    let index = s.networks.iter().position(|x| x.id == n.id).unwrap_or(0) as u32;
    let base = if n.role == nodes::NetworkRole::InternalUse { 30_000 } else { 70_000 };
    base + index * 240
}

fn network_values(n: &Network, s: &ClusterState, st: &Stored<'_>) -> Vec<(&'static str, PropValue)> {
    let prefix = n.prefix_len.to_string();
    let (v4, v4p, v6, v6p) = if n.subnet.is_ipv4() {
        (vec![n.address.clone()], vec![prefix], vec![], vec![])
    } else {
        (vec![], vec![], vec![n.address.clone()], vec![prefix])
    };
    vec![
        ("Name", PropValue::Sz(n.name.clone())),
        ("Description", PropValue::Sz(n.description.clone())),
        ("Role", st.dword("Role", n.role.as_u32())),
        ("Metric", st.dword("Metric", default_metric(n, s))),
        ("AutoMetric", st.dword("AutoMetric", 1)),
        ("Address", PropValue::Sz(n.address.clone())),
        ("AddressMask", PropValue::Sz(n.address_mask.clone())),
        ("IPv4Addresses", PropValue::MultiSz(v4)),
        ("IPv4PrefixLengths", PropValue::MultiSz(v4p)),
        ("IPv6Addresses", PropValue::MultiSz(v6)),
        ("IPv6PrefixLengths", PropValue::MultiSz(v6p)),
    ]
}

fn netinterface_values(i: &NetInterface, s: &ClusterState, _st: &Stored<'_>) -> Vec<(&'static str, PropValue)> {
    let node = s.node_name(i.node_pnn).unwrap_or_default().to_owned();
    let network = s.network_by_id(&i.network_id).map(|n| n.name.clone()).unwrap_or_default();
    let addr = i.address.to_string();
    let (v4, v6) = if i.address.is_ipv4() { (vec![addr.clone()], vec![]) } else { (vec![], vec![addr.clone()]) };
    vec![
        ("Description", PropValue::Sz(i.description.clone())),
        ("Name", PropValue::Sz(i.name.clone())),
        ("Node", PropValue::Sz(node)),
        ("Network", PropValue::Sz(network)),
        ("Adapter", PropValue::Sz(i.adapter_name.clone())),
        // CTDB knows no adapter GUID; the interface's own id stands in for it
        ("AdapterId", PropValue::Sz(i.id.clone())),
        ("Address", PropValue::Sz(addr)),
        ("DhcpEnabled", PropValue::Dword(0)),
        ("IPv4Addresses", PropValue::MultiSz(v4)),
        ("IPv6Addresses", PropValue::MultiSz(v6)),
    ]
}

// ---------------------------------------------------------------------------------------------
// named entry points (stable: ApiCreateGroupEnum / ApiCreateResourceEnum use them)

/// `common, ro_common (object: Type) => Obj, "what";`: the read/write and the read-only common
/// properties of one class, as ApiCreateGroupEnum / ApiCreateResourceEnum use them.
macro_rules! common_lists {
    ($($common:ident, $ro:ident ($($o:ident: $t:ty)?) => $obj:expr, $what:literal;)*) => {$(
        #[doc = concat!("The read/write common properties of ", $what, ".")]
        pub fn $common($($o: &$t,)? s: &ClusterState) -> PropertyList {
            $obj.common(s)
        }
        #[doc = concat!("The read-only common properties of ", $what, ".")]
        pub fn $ro($($o: &$t,)? s: &ClusterState) -> PropertyList {
            $obj.ro_common(s)
        }
    )*};
}

common_lists! {
    group_common, group_ro_common (g: Group) => Obj::Group(g), "a group";
    resource_common, resource_ro_common (r: Resource) => Obj::Resource(r), "a resource";
    node_common, node_ro_common (n: Node) => Obj::Node(n), "a node";
    cluster_common, cluster_ro_common () => Obj::Cluster, "the cluster";
}

/// The properties of `list` named in `names`, in the order of `names` (ApiCreateGroupEnum /
/// ApiCreateResourceEnum: `pProperties` / `pRoProperties`). A name not in `list` is
/// ERROR_INVALID_PARAMETER.
pub fn select(list: &PropertyList, names: &[String]) -> Result<PropertyList, u32> {
    let mut out = PropertyList::new();
    for n in names {
        let p = list.0.iter().find(|p| nodes::ids::names_equal(&p.name, n)).ok_or(ERROR_INVALID_PARAMETER)?;
        out.0.push(p.clone());
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// formats and validation

/// A property format list (GET_*_PROPERTY_FMTS, [MS-CMRP] 3.1.4.3.1.14): each property's name
/// with a LIST_VALUE_WORD holding its CLUSPROP_FORMAT.
pub fn format_list<'a>(entries: impl IntoIterator<Item = (&'a str, Format)>) -> PropertyList {
    let mut l = PropertyList::new();
    for (name, f) in entries {
        l.push(name, PropValue::Word(f.as_u16()));
    }
    l
}

/// The formats of a table's read/write entries.
pub fn writable_formats(table: &PropertyTable) -> PropertyList {
    format_list(table.entries().iter().filter(|d| !d.read_only).map(|d| (d.name, d.format)))
}

/// Range checks after [`registry_model::validate_set`]: ERROR_INVALID_DATA for a DWORD out of
/// its range, ERROR_INVALID_PARAMETER for an empty `Name`.
pub fn check_values(list: &PropertyList) -> Result<(), u32> {
    for p in &list.0 {
        match &p.value {
            PropValue::Dword(v) => {
                if let Some(&(_, lo, hi)) = DWORD_RANGES.iter().find(|(n, _, _)| nodes::ids::names_equal(n, &p.name)) {
                    if *v < lo || *v > hi {
                        return Err(ERROR_INVALID_DATA);
                    }
                }
            }
            PropValue::Sz(v) if nodes::ids::names_equal(&p.name, "Name") && v.trim().is_empty() => {
                return Err(ERROR_INVALID_PARAMETER);
            }
            PropValue::Reset(_) if nodes::ids::names_equal(&p.name, "Name") => return Err(ERROR_INVALID_PARAMETER),
            _ => {}
        }
    }
    Ok(())
}

/// Validates SET/VALIDATE_PRIVATE_PROPERTIES input: against the type's [`private_table`] for
/// a resource that has one, else every value must have a model form (see [`to_model`]);
/// "reset" items are allowed only where `allow_reset` (the admin store can delete, a
/// resource's `Parameters` cannot).
pub fn check_private(table: Option<&PropertyTable>, list: &PropertyList, allow_reset: bool) -> Result<(), u32> {
    if let Some(t) = table {
        registry_model::validate_set(t, list)?;
    }
    for p in &list.0 {
        match &p.value {
            PropValue::Reset(_) if allow_reset => {}
            v if v.is_reset() => return Err(ERROR_INVALID_PARAMETER),
            v if to_model(v).is_none() => return Err(ERROR_INVALID_PARAMETER),
            _ => {}
        }
    }
    Ok(())
}

/// Whether a resource shows a SET of its properties only after a restart: Windows answers
/// ERROR_RESOURCE_PROPERTIES_STORED for changed private properties, or a changed
/// `SeparateMonitor`, of a resource that is online.
pub fn takes_effect_after_restart(r: &Resource) -> bool {
    resource_online(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodes::{SimConfig, SimulatedCluster};

    fn snap() -> std::sync::Arc<ClusterState> {
        snap_of(WindowsVersion::default())
    }

    fn snap_of(v: WindowsVersion) -> std::sync::Arc<ClusterState> {
        use nodes::ClusterBackend;
        let mut config = SimConfig::with_nodes(3);
        config.windows_version = v;
        SimulatedCluster::new(config).unwrap().snapshot()
    }

    fn names(l: &PropertyList) -> Vec<&str> {
        l.0.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn every_value_matches_its_table() {
        for v in WindowsVersion::ALL {
            every_value_matches_its_table_in(v);
        }
    }

    fn every_value_matches_its_table_in(v: WindowsVersion) {
        let s = snap_of(v);
        let mut objs = vec![Obj::Cluster];
        objs.extend(s.nodes.iter().map(Obj::Node));
        objs.extend(s.groups.iter().map(Obj::Group));
        objs.extend(s.resources.iter().map(Obj::Resource));
        objs.extend(s.resource_types.iter().map(Obj::ResourceType));
        objs.extend(s.networks.iter().map(Obj::Network));
        objs.extend(s.net_interfaces.iter().map(Obj::NetInterface));
        for o in objs {
            let values = o.values(&s);
            let table = o.table(&s);
            assert_eq!(values.len(), table.entries().len(), "{o:?}");
            for ((name, v), d) in values.iter().zip(table.entries()) {
                assert_eq!(*name, d.name, "{o:?}: table order");
                assert_eq!(v.format(), d.format, "{o:?}: {name}");
            }
            let (rw, ro) = (o.common(&s), o.ro_common(&s));
            assert_eq!(names(&rw), table.writable_names());
            assert_eq!(names(&ro), table.read_only_names());
        }
    }

    #[test]
    fn node_read_only_set_is_windows_2012_r2() {
        let s = snap_of(WindowsVersion::Ws2012R2);
        let ro = node_ro_common(&s.nodes[1], &s);
        assert_eq!(
            names(&ro),
            [
                "NodeName",
                "NodeHighestVersion",
                "NodeLowestVersion",
                "MajorVersion",
                "MinorVersion",
                "BuildNumber",
                "CSDVersion",
                "NodeInstanceID",
                "NodeDrainStatus",
                "NodeDrainTarget",
                "DynamicWeight",
                "NeedsPreventQuorum"
            ]
        );
        assert_eq!(ro.get("NodeName"), Some(&PropValue::Sz("CTDB_NODE_1".into())));
        assert_eq!(ro.get("NodeInstanceID"), Some(&PropValue::Sz("00000000-0000-0000-0000-000000000002".into())));
        assert_eq!(ro.get("NodeHighestVersion"), Some(&PropValue::Dword(0x0008_2580)));
        assert_eq!(ro.get("BuildNumber"), Some(&PropValue::Dword(9600)));
        assert_eq!(ro.get("NodeDrainTarget"), Some(&PropValue::Dword(u32::MAX)));
        assert_eq!(names(&node_common(&s.nodes[1], &s)), ["Description", "NodeWeight"]);
    }

    #[test]
    fn versions_from_2016_add_their_properties() {
        let s = snap();
        let ro = cluster_ro_common(&s);
        assert_eq!(ro.get("ClusterFunctionalLevel"), Some(&PropValue::Dword(11)));
        assert_eq!(ro.get("ClusterUpgradeVersion"), Some(&PropValue::Dword(3)));
        let rw = cluster_common(&s);
        assert_eq!(rw.get("QuarantineThreshold"), Some(&PropValue::Dword(3)));
        assert_eq!(rw.get("S2DEnabled"), Some(&PropValue::Dword(0)));
        let n = node_ro_common(&s.nodes[0], &s);
        assert_eq!(n.get("NodeHighestVersion"), Some(&PropValue::Dword(0x000b_0003)));
        assert_eq!(n.get("MajorVersion"), Some(&PropValue::Dword(10)));
        assert_eq!(n.get("MinorVersion"), Some(&PropValue::Dword(0)));
        assert_eq!(n.get("BuildNumber"), Some(&PropValue::Dword(20348)));
        assert_eq!(n.get("Model"), Some(&PropValue::Sz(String::new())));
        assert_eq!(group_common(&s.groups[0], &s).get("PreferredSite"), Some(&PropValue::MultiSz(vec![])));
        let s25 = snap_of(WindowsVersion::Ws2025);
        assert_eq!(cluster_ro_common(&s25).get("ClusterFunctionalLevel"), Some(&PropValue::Dword(12)));
        assert_eq!(cluster_ro_common(&s25).get("ClusterUpgradeVersion"), Some(&PropValue::Dword(4)));
        // 2012 R2 has none of them
        let s12 = snap_of(WindowsVersion::Ws2012R2);
        assert!(cluster_ro_common(&s12).get("ClusterFunctionalLevel").is_none());
        assert!(cluster_common(&s12).get("QuarantineThreshold").is_none());
        assert!(node_ro_common(&s12.nodes[0], &s12).get("Model").is_none());
        assert!(group_common(&s12.groups[0], &s12).get("PreferredSite").is_none());
    }

    #[test]
    fn cluster_read_only_set_is_windows_2012_r2() {
        let s = snap_of(WindowsVersion::Ws2012R2);
        let ro = cluster_ro_common(&s);
        assert_eq!(
            names(&ro),
            [
                "FixQuorum",
                "PreventQuorum",
                "IgnorePersistentStateOnStartup",
                "SharedVolumesRoot",
                "WitnessDynamicWeight",
                "AdminAccessPoint"
            ]
        );
        assert_eq!(ro.get("SharedVolumesRoot"), Some(&PropValue::Sz("C:\\ClusterStorage".into())));
        assert!(cluster_common(&s).encoded_len() < 0xffff);
    }

    #[test]
    fn group_values_and_sizes() {
        let s = snap();
        let cg = s.cluster_group().unwrap();
        let ro = group_ro_common(cg, &s);
        assert_eq!(names(&ro), ["GroupType", "StatusInformation"]);
        assert_eq!(ro.get("GroupType"), Some(&PropValue::Dword(1)));
        let rw = group_common(cg, &s);
        assert_eq!(rw.get("Priority"), Some(&PropValue::Dword(2000)));
        assert_eq!(rw.get("Name"), Some(&PropValue::Sz("Cluster Group".into())));
        for g in &s.groups {
            assert!(group_ro_common(g, &s).encoded_len() < 1024);
            assert!(group_common(g, &s).encoded_len() < 1024);
        }
    }

    #[test]
    fn resource_network_and_netinterface_values() {
        let s = snap();
        let r = s.cluster_name_resource().unwrap();
        assert_eq!(resource_ro_common(r, &s).get("Type"), Some(&PropValue::Sz("Network Name".into())));
        assert_eq!(resource_common(r, &s).get("PersistentState"), Some(&PropValue::Dword(1)));
        let priv_ = Obj::Resource(r).private(&s);
        assert_eq!(priv_.get("Name"), Some(&PropValue::Sz("CTDB-CLUSTER".into())));
        let n = &s.networks[0];
        let ro = Obj::Network(n).ro_common(&s);
        assert_eq!(ro.get("Address"), Some(&PropValue::Sz(n.address.clone())));
        assert_eq!(ro.get("IPv4PrefixLengths"), Some(&PropValue::MultiSz(vec![n.prefix_len.to_string()])));
        let i = &s.net_interfaces[0];
        let ro = Obj::NetInterface(i).ro_common(&s);
        assert_eq!(ro.get("Node"), Some(&PropValue::Sz(s.node_name(i.node_pnn).unwrap().into())));
        assert_eq!(ro.get("Adapter"), Some(&PropValue::Sz(i.adapter_name.clone())));
        // objects other than resources have no private properties until someone sets them
        assert!(Obj::Node(&s.nodes[0]).private(&s).is_empty());
        assert!(Obj::Cluster.private(&s).is_empty());
    }

    #[test]
    fn admin_store_overrides_defaults_of_the_same_format() {
        let mut s = (*snap()).clone();
        let gid = s.groups[0].id.clone();
        s.admin_props.insert(
            gid.clone(),
            vec![("priority".into(), ModelValue::Dword(3000)), ("FailoverPeriod".into(), ModelValue::Sz("x".into()))],
        );
        let rw = group_common(&s.groups[0], &s);
        assert_eq!(rw.get("Priority"), Some(&PropValue::Dword(3000)));
        // a stored value of the wrong format does not leak out
        assert_eq!(rw.get("FailoverPeriod"), Some(&PropValue::Dword(6)));
    }

    #[test]
    fn select_by_names() {
        let s = snap();
        let g = &s.groups[0];
        let l = select(&group_common(g, &s), &["priority".into()]).unwrap();
        assert_eq!(names(&l), ["Priority"]);
        assert_eq!(select(&group_ro_common(g, &s), &["GroupType".into()]).unwrap().len(), 1);
        assert_eq!(select(&group_common(g, &s), &["GroupType".into()]), Err(87));
        assert!(select(&group_common(g, &s), &[]).unwrap().is_empty());
    }

    #[test]
    fn conversions_and_checks() {
        for v in [
            ModelValue::Dword(1),
            ModelValue::Sz("a".into()),
            ModelValue::MultiSz(vec!["b".into()]),
            ModelValue::Binary(vec![1]),
            ModelValue::ULargeInteger(7),
        ] {
            assert_eq!(to_model(&to_wire(&v)), Some(v));
        }
        assert_eq!(to_model(&PropValue::Long(-1)), None);
        assert_eq!(to_model(&PropValue::Reset(Format::Dword)), None);

        let mut l = PropertyList::new();
        l.push("NodeWeight", PropValue::Dword(2));
        assert_eq!(check_values(&l), Err(13));
        let mut l = PropertyList::new();
        l.push("Name", PropValue::Sz(" ".into()));
        assert_eq!(check_values(&l), Err(87));

        let ip = private_table("ip address").unwrap();
        let mut l = PropertyList::new();
        l.push("Address", PropValue::Sz("10.0.0.1".into()));
        assert_eq!(check_private(Some(&ip), &l, false), Ok(()));
        l.push("Bogus", PropValue::Dword(1));
        assert_eq!(check_private(Some(&ip), &l, false), Err(87));
        let mut l = PropertyList::new();
        l.push("Anything", PropValue::Long(1));
        assert_eq!(check_private(None, &l, true), Err(87));
        let mut l = PropertyList::new();
        l.push("Anything", PropValue::Reset(Format::Sz));
        assert_eq!(check_private(None, &l, true), Ok(()));
        assert_eq!(check_private(None, &l, false), Err(87));
    }

    #[test]
    fn formats_and_dependencies() {
        let f = writable_formats(&RESOURCE_PROPERTIES);
        assert_eq!(f.get("Name"), Some(&PropValue::Word(3)));
        assert_eq!(f.get("SeparateMonitor"), Some(&PropValue::Word(2)));
        assert!(f.get("Type").is_none());
        assert_eq!(required_dependencies("File Share").encode().len(), 8 + 24 + 4);
        assert_eq!(required_dependencies("Generic Service").encode(), vec![0, 0, 0, 0]);
    }
}
