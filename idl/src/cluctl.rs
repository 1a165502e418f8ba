//! Cluster control codes ([MS-CMRP] 3.1.4.3; SDK clusapi.h "Control Code Architecture"): the
//! wire value of `dwControlCode` taken apart ([`ControlCode`]) and named from the tables of
//! known codes ([`known_codes`]), each marked with the operation ([`Function`]) clusapid's
//! dispatcher runs for it, if any. Pure data: the dispatcher is in clusapid.

use std::fmt;

/// The modify bit: the code changes the object, and needs "All" access.
pub const CLCTL_MODIFY_MASK: u32 = 1 << 22;
/// The global bit: the change is made on every node.
pub const CLCTL_GLOBAL_MASK: u32 = 1 << 23;
/// The user bit: a code defined by a resource DLL.
pub const CLCTL_USER_MASK: u32 = 1 << 21;
/// The internal bit: a notification the cluster service sends to resource DLLs.
pub const CLCTL_INTERNAL_MASK: u32 = 1 << 20;

// ---------------------------------------------------------------------------------------------
// decoding

/// CLUS_OBJECT_*: the object a control code is for (bits 24-31).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectType {
    Resource,
    ResourceType,
    Group,
    Node,
    Network,
    NetInterface,
    Cluster,
    GroupSet,
    AffinityRule,
    User,
}

impl ObjectType {
    /// Every object type, in code order.
    pub const ALL: [ObjectType; 10] = [
        ObjectType::Resource,
        ObjectType::ResourceType,
        ObjectType::Group,
        ObjectType::Node,
        ObjectType::Network,
        ObjectType::NetInterface,
        ObjectType::Cluster,
        ObjectType::GroupSet,
        ObjectType::AffinityRule,
        ObjectType::User,
    ];

    /// The object byte of the codes for this type.
    pub const fn code(self) -> u8 {
        match self {
            ObjectType::Resource => 1,
            ObjectType::ResourceType => 2,
            ObjectType::Group => 3,
            ObjectType::Node => 4,
            ObjectType::Network => 5,
            ObjectType::NetInterface => 6,
            ObjectType::Cluster => 7,
            ObjectType::GroupSet => 8,
            ObjectType::AffinityRule => 9,
            ObjectType::User => 128,
        }
    }

    /// The type of object byte `b`.
    pub fn from_code(b: u8) -> Option<ObjectType> {
        ObjectType::ALL.into_iter().find(|t| t.code() == b)
    }
}

/// CLUS_ACCESS_*: the access mode a control code declares (bits 0-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessMode {
    Any,
    Read,
    Write,
    /// 3 is not defined.
    Reserved,
}

/// What a supported control code does, whatever its object (the CLCTL_* operations clusapid
/// implements).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    Unknown,
    GetCharacteristics,
    GetFlags,
    GetClassInfo,
    GetRequiredDependencies,
    GetName,
    GetResourceType,
    GetNode,
    GetNetwork,
    GetId,
    GetFqdn,
    GetClusterServiceAccountName,
    CheckVoterEvict,
    CheckVoterDown,
    EnumCommonProperties,
    GetRoCommonProperties,
    GetCommonProperties,
    SetCommonProperties,
    ValidateCommonProperties,
    GetCommonPropertyFmts,
    GetCommonResourcePropertyFmts,
    EnumPrivateProperties,
    GetRoPrivateProperties,
    GetPrivateProperties,
    SetPrivateProperties,
    ValidatePrivateProperties,
    GetPrivatePropertyFmts,
    GetPrivateResourcePropertyFmts,
    GetNetworkName,
    GetDnsName,
    SetAccountAccess,
}

/// One control code of the SDK's tables: its value, its name and, when clusapid supports it,
/// what it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownCode {
    pub code: u32,
    pub name: &'static str,
    pub function: Option<Function>,
}

/// A table of known codes of one object: `object, "PREFIX": low-24-bits NAME [=> Function], ...`.
macro_rules! codes {
    // the twelve property codes every object type has (their low 24 bits are the same for all;
    // only the format-list functions differ), then the type's own codes
    ($obj:literal, $prefix:literal, properties { common_fmts $(=> $cf:ident)?, private_fmts $(=> $pf:ident)? }:
        $($rest:tt)*) => {
        codes!($obj, $prefix:
            0x000051 ENUM_COMMON_PROPERTIES => EnumCommonProperties,
            0x000055 GET_RO_COMMON_PROPERTIES => GetRoCommonProperties,
            0x000059 GET_COMMON_PROPERTIES => GetCommonProperties,
            0x40005e SET_COMMON_PROPERTIES => SetCommonProperties,
            0x000061 VALIDATE_COMMON_PROPERTIES => ValidateCommonProperties,
            0x000065 GET_COMMON_PROPERTY_FMTS $(=> $cf)?,
            0x000079 ENUM_PRIVATE_PROPERTIES => EnumPrivateProperties,
            0x00007d GET_RO_PRIVATE_PROPERTIES => GetRoPrivateProperties,
            0x000081 GET_PRIVATE_PROPERTIES => GetPrivateProperties,
            0x400086 SET_PRIVATE_PROPERTIES => SetPrivateProperties,
            0x000089 VALIDATE_PRIVATE_PROPERTIES => ValidatePrivateProperties,
            0x00008d GET_PRIVATE_PROPERTY_FMTS $(=> $pf)?,
            $($rest)*)
    };
    ($obj:literal, $prefix:literal: $($low:literal $name:ident $(=> $f:ident)?),* $(,)?) => {
        &[$(KnownCode {
            code: ($obj << 24) | $low,
            name: concat!("CLUSCTL_", $prefix, "_", stringify!($name)),
            function: codes!(@f $($f)?),
        }),*]
    };
    (@f) => { None };
    (@f $f:ident) => { Some(Function::$f) };
}

/// CLUSCTL_RESOURCE_* ([MS-CMRP] 3.1.4.3.1, clusapi.h).
const RESOURCE_CODES: &[KnownCode] = codes!(0x01, "RESOURCE", properties { common_fmts => GetCommonPropertyFmts, private_fmts => GetPrivatePropertyFmts }:
    0x000000 UNKNOWN => Unknown,
    0x000005 GET_CHARACTERISTICS => GetCharacteristics,
    0x000009 GET_FLAGS => GetFlags,
    0x00000d GET_CLASS_INFO => GetClassInfo,
    0x000011 GET_REQUIRED_DEPENDENCIES => GetRequiredDependencies,
    0x000019 GET_FAILURE_INFO,
    0x000029 GET_NAME => GetName,
    0x00002d GET_RESOURCE_TYPE => GetResourceType,
    0x000039 GET_ID => GetId,
    0x4000a2 ADD_REGISTRY_CHECKPOINT,
    0x4000a6 DELETE_REGISTRY_CHECKPOINT,
    0x0000a9 GET_REGISTRY_CHECKPOINTS,
    0x4000ae ADD_CRYPTO_CHECKPOINT,
    0x4000b2 DELETE_CRYPTO_CHECKPOINT,
    0x4002d6 ADD_CRYPTO_CHECKPOINT_EX,
    0x0000b5 GET_CRYPTO_CHECKPOINTS,
    0x4000ba UPGRADE_DLL,
    0x4000be ADD_REGISTRY_CHECKPOINT_64BIT,
    0x4000c2 ADD_REGISTRY_CHECKPOINT_32BIT,
    0x0000c9 GET_LOADBAL_PROCESS_LIST,
    0x000169 GET_NETWORK_NAME => GetNetworkName,
    0x00016d NETNAME_GET_VIRTUAL_SERVER_TOKEN,
    0x000172 NETNAME_REGISTER_DNS_RECORDS,
    0x000175 GET_DNS_NAME => GetDnsName,
    0x00017a NETNAME_SET_PWD_INFO,
    0x00017e NETNAME_DELETE_CO,
    0x000181 NETNAME_VALIDATE_VCO,
    0x000185 NETNAME_RESET_VCO,
    0x00018d NETNAME_REPAIR_VCO,
    0x000191 STORAGE_GET_DISK_INFO,
    0x000199 STORAGE_IS_PATH_VALID,
    0x0001a1 STORAGE_GET_DISK_NUMBER_INFO,
    0x0001b9 QUERY_DELETE,
    0x4001be IPADDRESS_RENEW_LEASE,
    0x4001c2 IPADDRESS_RELEASE_LEASE,
    0x0001e1 QUERY_MAINTENANCE_MODE,
    0x4001e6 SET_MAINTENANCE_MODE,
    0x4001ea STORAGE_SET_DRIVELETTER,
    0x0001f1 STORAGE_GET_DISK_INFO_EX,
    0x0001f9 STORAGE_GET_DISK_INFO_EX2,
    0x000205 STORAGE_GET_DISKID,
    0x000211 STORAGE_GET_MOUNTPOINTS,
    0x000219 STORAGE_GET_DIRTY,
    0x000225 STORAGE_GET_SHARED_VOLUME_INFO,
    0x40028a ENABLE_SHARED_VOLUME_DIRECTIO,
    0x40028e DISABLE_SHARED_VOLUME_DIRECTIO,
    0x400296 SET_CSV_MAINTENANCE_MODE,
    0x40029a SET_SHARED_VOLUME_BACKUP_MODE,
    0x00029d STORAGE_GET_SHARED_VOLUME_PARTITION_NAMES,
    0x4002a2 STORAGE_GET_SHARED_VOLUME_STATES,
    0x0002a5 STORAGE_IS_SHARED_VOLUME,
    0x4002ae RW_MODIFY_NOOP,
    0x0002b1 IS_QUORUM_BLOCKED,
    0x0002b5 POOL_GET_DRIVE_INFO,
    0x00031a NETNAME_SET_PWD_INFOEX,
    0x500006 DELETE,
    0x50000a INSTALL_NODE,
    0x50000e EVICT_NODE,
    0x500012 ADD_DEPENDENCY,
    0x500016 REMOVE_DEPENDENCY,
    0x50001a ADD_OWNER,
    0x50001e REMOVE_OWNER,
    0x500026 SET_NAME,
    0x50002a CLUSTER_NAME_CHANGED,
    0x50002e CLUSTER_VERSION_CHANGED,
    0x500046 FORCE_QUORUM,
    0x50004a INITIALIZE,
    0x50004e STATE_CHANGE_REASON,
    0x500052 PROVIDER_STATE_CHANGE,
    0x500056 LEAVING_GROUP,
    0x50005a JOINING_GROUP,
    0x10005d FSWITNESS_GET_EPOCH_INFO,
    0x500062 FSWITNESS_SET_EPOCH_INFO,
    0x500066 FSWITNESS_RELEASE_LOCK,
    0x50006a NETNAME_CREDS_NOTIFYCAM,
    0x50007e NOTIFY_QUORUM_STATUS,
    0x500086 UNDELETE,
    0x1020e9 GET_OPERATION_CONTEXT,
    0x502122 NOTIFY_OWNER_CHANGE,
    0x102125 VALIDATE_CHANGE_GROUP,
    0x10212d CHECK_DRAIN_VETO,
    0x102131 NOTIFY_DRAIN_COMPLETE,
);

/// CLUSCTL_RESOURCE_TYPE_* ([MS-CMRP] 3.1.4.3.2). GET_COMMON_PROPERTY_FMTS is known but not
/// supported: "The server SHOULD NOT support this control" (3.1.4.3.2.12).
const RESOURCE_TYPE_CODES: &[KnownCode] = codes!(0x02, "RESOURCE_TYPE":
    0x000000 UNKNOWN => Unknown,
    0x000005 GET_CHARACTERISTICS => GetCharacteristics,
    0x000009 GET_FLAGS => GetFlags,
    0x00000d GET_CLASS_INFO => GetClassInfo,
    0x000011 GET_REQUIRED_DEPENDENCIES => GetRequiredDependencies,
    0x000015 GET_ARB_TIMEOUT,
    0x000051 ENUM_COMMON_PROPERTIES => EnumCommonProperties,
    0x000055 GET_RO_COMMON_PROPERTIES => GetRoCommonProperties,
    0x000059 GET_COMMON_PROPERTIES => GetCommonProperties,
    0x40005e SET_COMMON_PROPERTIES => SetCommonProperties,
    0x000061 VALIDATE_COMMON_PROPERTIES => ValidateCommonProperties,
    0x000065 GET_COMMON_PROPERTY_FMTS,
    0x000069 GET_COMMON_RESOURCE_PROPERTY_FMTS => GetCommonResourcePropertyFmts,
    0x000079 ENUM_PRIVATE_PROPERTIES => EnumPrivateProperties,
    0x00007d GET_RO_PRIVATE_PROPERTIES => GetRoPrivateProperties,
    0x000081 GET_PRIVATE_PROPERTIES => GetPrivateProperties,
    0x400086 SET_PRIVATE_PROPERTIES => SetPrivateProperties,
    0x000089 VALIDATE_PRIVATE_PROPERTIES => ValidatePrivateProperties,
    0x00008d GET_PRIVATE_PROPERTY_FMTS => GetPrivatePropertyFmts,
    0x000091 GET_PRIVATE_RESOURCE_PROPERTY_FMTS => GetPrivateResourcePropertyFmts,
    0x0000a9 GET_REGISTRY_CHECKPOINTS,
    0x0000b5 GET_CRYPTO_CHECKPOINTS,
    0x000195 STORAGE_GET_AVAILABLE_DISKS,
    0x40019e STORAGE_SYNC_CLUSDISK_DB,
    0x0001b9 QUERY_DELETE,
    0x0001ed STORAGE_GET_DRIVELETTERS,
    0x0001f5 STORAGE_GET_AVAILABLE_DISKS_EX,
    0x000201 STORAGE_REMAP_DRIVELETTER,
    0x000205 STORAGE_GET_DISKID,
    0x000209 STORAGE_IS_CLUSTERABLE,
    0x40020e STORAGE_REMOVE_VM_OWNERSHIP,
    0x00022d STORAGE_GET_RESOURCEID,
    0x000231 GEN_APP_VALIDATE_PATH,
    0x000235 NETNAME_VALIDATE_NETNAME,
    0x000239 GEN_APP_VALIDATE_DIRECTORY,
    0x40026e NETNAME_GET_OU_FOR_VCO,
    0x50000a INSTALL_NODE,
    0x50000e EVICT_NODE,
    0x50002e CLUSTER_VERSION_CHANGED,
    0x500032 FIXUP_ON_UPGRADE,
    0x500036 STARTING_PHASE1,
    0x50003a STARTING_PHASE2,
    0x50003e HOLD_IO,
    0x500042 RESUME_IO,
    0x100081 NOTIFY_MONITOR_SHUTTING_DOWN,
);

/// CLUSCTL_GROUP_* ([MS-CMRP] 3.1.4.3.3). The property format codes are "not supported" on
/// Windows (SDK).
const GROUP_CODES: &[KnownCode] = codes!(0x03, "GROUP", properties { common_fmts, private_fmts }:
    0x000000 UNKNOWN => Unknown,
    0x000005 GET_CHARACTERISTICS => GetCharacteristics,
    0x000009 GET_FLAGS => GetFlags,
    0x000019 GET_FAILURE_INFO,
    0x000029 GET_NAME => GetName,
    0x000039 GET_ID => GetId,
    0x0001b9 QUERY_DELETE,
    0x0002d9 GET_LAST_MOVE_TIME,
    0x402d86 SET_CCF_FROM_MASTER,
);

/// CLUSCTL_NODE_* ([MS-CMRP] 3.1.4.3.4). The property format codes always fail on Windows
/// (SDK: "Always returns ERROR_INVALID_FUNCTION").
const NODE_CODES: &[KnownCode] = codes!(0x04, "NODE", properties { common_fmts, private_fmts }:
    0x000000 UNKNOWN => Unknown,
    0x000005 GET_CHARACTERISTICS => GetCharacteristics,
    0x000009 GET_FLAGS => GetFlags,
    0x000029 GET_NAME => GetName,
    0x000039 GET_ID => GetId,
    0x000041 GET_CLUSTER_SERVICE_ACCOUNT_NAME => GetClusterServiceAccountName,
    0x0002bd GET_STUCK_NODES,
    0x0002c1 INJECT_GEM_FAULT,
    0x0002c5 INTRODUCE_GEM_REPAIR_DELAY,
    0x0002c9 SEND_DUMMY_GEM_MESSAGES,
    0x0002cd BLOCK_GEM_SEND_RECV,
    0x0002d1 GET_GEMID_VECTOR,
);

/// CLUSCTL_NETWORK_* ([MS-CMRP] 3.1.4.3.5).
const NETWORK_CODES: &[KnownCode] = codes!(0x05, "NETWORK", properties { common_fmts, private_fmts }:
    0x000000 UNKNOWN => Unknown,
    0x000005 GET_CHARACTERISTICS => GetCharacteristics,
    0x000009 GET_FLAGS => GetFlags,
    0x000029 GET_NAME => GetName,
    0x000039 GET_ID => GetId,
);

/// CLUSCTL_NETINTERFACE_* ([MS-CMRP] 3.1.4.3.6).
const NETINTERFACE_CODES: &[KnownCode] = codes!(0x06, "NETINTERFACE", properties { common_fmts, private_fmts }:
    0x000000 UNKNOWN => Unknown,
    0x000005 GET_CHARACTERISTICS => GetCharacteristics,
    0x000009 GET_FLAGS => GetFlags,
    0x000029 GET_NAME => GetName,
    0x000031 GET_NODE => GetNode,
    0x000035 GET_NETWORK => GetNetwork,
    0x000039 GET_ID => GetId,
);

/// CLUSCTL_CLUSTER_* ([MS-CMRP] 3.1.4.3.7). Cluster private property formats "are not
/// supported" (SDK).
const CLUSTER_CODES: &[KnownCode] = codes!(0x07, "CLUSTER", properties { common_fmts => GetCommonPropertyFmts, private_fmts }:
    0x000000 UNKNOWN => Unknown,
    0x00003d GET_FQDN => GetFqdn,
    0x000045 CHECK_VOTER_EVICT => CheckVoterEvict,
    0x000049 CHECK_VOTER_DOWN => CheckVoterDown,
    0x00004d SHUTDOWN,
    0x4000f2 SET_ACCOUNT_ACCESS => SetAccountAccess,
    0x00023e BATCH_BLOCK_KEY,
    0x000241 BATCH_UNBLOCK_KEY,
    0x000291 GET_SHARED_VOLUME_ID,
    0x0002a9 GET_CLUSDB_TIMESTAMP,
    0x0002b9 GET_GUM_LOCK_OWNER,
    0x4002e2 SET_STORAGE_CONFIGURATION,
    0x0002e5 GET_STORAGE_CONFIGURATION,
    0x0002e9 GET_STORAGE_CONFIG_ATTRIBUTES,
    0x4002ee REMOVE_NODE,
    0x400306 CLEAR_NODE_CONNECTION_INFO,
    0x40030a SET_DNS_DOMAIN,
);

/// CLUSCTL_GROUPSET_* (Windows Server 2016 and later; [MS-CMRP] 3.1.4.3.8).
const GROUPSET_CODES: &[KnownCode] = codes!(0x08, "GROUPSET":
    0x000039 GET_ID => GetId,
    0x000055 GET_RO_COMMON_PROPERTIES,
    0x000059 GET_COMMON_PROPERTIES,
    0x40005e SET_COMMON_PROPERTIES,
    0x002d71 GET_GROUPS,
    0x002d75 GET_PROVIDER_GROUPS,
    0x002d79 GET_PROVIDER_GROUPSETS,
);

/// CLUSCTL_AFFINITYRULE_* (Windows Server 2019 and later; no method of clusapi v3 takes them).
const AFFINITYRULE_CODES: &[KnownCode] = codes!(0x09, "AFFINITYRULE":
    0x000039 GET_ID,
    0x000055 GET_RO_COMMON_PROPERTIES,
    0x000059 GET_COMMON_PROPERTIES,
    0x40005e SET_COMMON_PROPERTIES,
    0x002d71 GET_GROUPNAMES,
);

/// The known control codes of one object type (empty for USER: resource DLLs define those).
pub fn known_codes(t: ObjectType) -> &'static [KnownCode] {
    match t {
        ObjectType::Resource => RESOURCE_CODES,
        ObjectType::ResourceType => RESOURCE_TYPE_CODES,
        ObjectType::Group => GROUP_CODES,
        ObjectType::Node => NODE_CODES,
        ObjectType::Network => NETWORK_CODES,
        ObjectType::NetInterface => NETINTERFACE_CODES,
        ObjectType::Cluster => CLUSTER_CODES,
        ObjectType::GroupSet => GROUPSET_CODES,
        ObjectType::AffinityRule => AFFINITYRULE_CODES,
        ObjectType::User => &[],
    }
}

/// A control code taken apart ([MS-CMRP] 2.2.2.x / SDK "Control Code Architecture"):
///
/// ```text
/// bits 31-24 object | 23 global | 22 modify | 21 user | 20 internal | 19-2 function | 1-0 access
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ControlCode {
    /// The code as sent.
    pub raw: u32,
    /// The object byte (CLUS_OBJECT_*).
    pub object: u8,
    pub global: bool,
    pub modify: bool,
    pub user: bool,
    pub internal: bool,
    /// The operation number (bits 2-19; CLCTL_* >> 2 without the flag bits).
    pub function: u32,
    pub access: AccessMode,
}

impl ControlCode {
    /// Decodes a code; never fails (any 32-bit value has parts).
    pub const fn decode(raw: u32) -> ControlCode {
        ControlCode {
            raw,
            object: (raw >> 24) as u8,
            global: raw & CLCTL_GLOBAL_MASK != 0,
            modify: raw & CLCTL_MODIFY_MASK != 0,
            user: raw & CLCTL_USER_MASK != 0,
            internal: raw & CLCTL_INTERNAL_MASK != 0,
            function: (raw >> 2) & 0x3_FFFF,
            access: match raw & 3 {
                0 => AccessMode::Any,
                1 => AccessMode::Read,
                2 => AccessMode::Write,
                _ => AccessMode::Reserved,
            },
        }
    }

    /// The object type, if the object byte is a defined one.
    pub fn object_type(&self) -> Option<ObjectType> {
        ObjectType::from_code(self.object)
    }

    /// The SDK's entry for this exact code.
    pub fn known(&self) -> Option<&'static KnownCode> {
        known_codes(self.object_type()?).iter().find(|k| k.code == self.raw)
    }

    /// The spec name (`CLUSCTL_RESOURCE_GET_COMMON_PROPERTIES`, ...), for known codes.
    pub fn name(&self) -> Option<&'static str> {
        self.known().map(|k| k.name)
    }

    /// What clusapid does for this code sent to an object of type `t`: `None` when the code is
    /// for another object type, unknown, or known but not supported.
    pub fn function_for(&self, t: ObjectType) -> Option<Function> {
        if self.object != t.code() {
            return None;
        }
        self.known()?.function
    }
}

impl fmt::Display for ControlCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "{:#010x}", self.raw),
        }
    }
}

impl fmt::Debug for ControlCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ControlCode({:#010x} {self})", self.raw)
    }
}
