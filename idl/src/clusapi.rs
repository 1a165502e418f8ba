//! The Failover Cluster Management API, clusapi v3.0 ([MS-CMRP] 2.2, 3.1.4.2 and appendix A):
//! its structures and one declaration per operation, in opnum order.
//!
//! Context handles (`HCLUSTER_RPC`, `HNODE_RPC`, ...) are all [`ContextHandle`] on the wire.
//! Open methods return the handle as the function result, so it is the last `out` member and
//! there is no `error_status_t` after it ([MS-CMRP] appendix A).
//!
//! Opnums the spec marks "not used on the wire" (80, 111, 140-142, 148-154, 156, 158-162, 170)
//! and the reserved opnum 185 (`ApiClusterNativeUpdateControl`, "reserved for future use",
//! whose first parameter is a binding handle) are not declared, so the dispatcher answers them
//! with `nca_s_op_rng_error`. Samba's IDL puts QueryAllValues/StmFindDisk/ClusterMrr at
//! 140-142 (an older revision of the spec); current clients do not call them.
//!
//! Where Samba's `clusapi.idl` and the spec IDL differ, the spec wins: `BOOL` is a 4-byte
//! [`Bool32`], `NOTIFICATION_RPC.dwNotifyKey` (`DWORD_PTR`) is a plain 4-byte value, and
//! `ApiSetNetworkPriorityOrder` takes an array of string pointers.

use crate::ndr::{
    Bool32, ConfArray, ConfBytes, ConfVarBytes, ContextHandle, NdrError, NdrReader, NdrResult, NdrType, NdrWriter,
    WError, WString,
};
use crate::types::{conformant_list, le_u32, take, utf16z, ConfVarArray};

crate::ndr_struct! {
    /// [MS-CMRP 2.2.3.4] ENUM_ENTRY: one named object of an enumeration.
    pub struct EnumEntry {
        pub entry_type: u32,
        pub name: Option<WString>,
    }
}

conformant_list! {
    /// [MS-CMRP 2.2.3.5] ENUM_LIST: a conformant struct `{ DWORD EntryCount; ENUM_ENTRY Entry[] }`;
    /// the array's max_count is marshalled before the struct.
    pub struct EnumList {
        pub entries: Vec<EnumEntry>,
    }
}

crate::ndr_struct! {
    /// [MS-CMRP 2.2.3.1] CLUSTER_OPERATIONAL_VERSION_INFO.
    pub struct ClusterOperationalVersionInfo {
        pub dw_size: u32,
        pub dw_cluster_highest_version: u32,
        pub dw_cluster_lowest_version: u32,
        pub dw_flags: u32,
        pub dw_reserved: u32,
    }
}

crate::ndr_struct! {
    /// [MS-DTYP 2.3.3] FILETIME: 100 ns intervals since 1601-01-01 UTC, split in two DWORDs.
    pub struct FileTime {
        pub dw_low_date_time: u32,
        pub dw_high_date_time: u32,
    }
}

impl FileTime {
    /// From a 64-bit NTTIME value.
    pub fn from_u64(v: u64) -> Self {
        FileTime { dw_low_date_time: (v & 0xffff_ffff) as u32, dw_high_date_time: (v >> 32) as u32 }
    }
    /// The 64-bit NTTIME value.
    pub fn to_u64(&self) -> u64 {
        (u64::from(self.dw_high_date_time) << 32) | u64::from(self.dw_low_date_time)
    }
}

/// [MS-CMRP 2.2.3] RPC_SECURITY_DESCRIPTOR: `{ [size_is(cbInSecurityDescriptor),
/// length_is(cbOutSecurityDescriptor)] UCHAR *lpSecurityDescriptor; DWORD cbInSecurityDescriptor;
/// DWORD cbOutSecurityDescriptor }`.
///
/// The embedded unique pointer's pointee is a conformant varying byte array whose max_count is
/// `cb_in_security_descriptor` and whose actual_count is `cb_out_security_descriptor`; the data
/// held here is exactly the transmitted (`cb_out`) bytes. The encoder writes the array's counts
/// from `cb_in` (raised to the data length if smaller) and the data length; keep
/// `cb_out_security_descriptor == data.len()` (see [`RpcSecurityDescriptor::with_data`]). The
/// decoder rejects an array whose counts disagree with the members, as MIDL and pidl do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RpcSecurityDescriptor {
    /// The self-relative security descriptor bytes (`None` = null pointer).
    pub lp_security_descriptor: Option<Vec<u8>>,
    /// Buffer size: the caller's buffer in a request, the required size in a reply.
    pub cb_in_security_descriptor: u32,
    /// Bytes transmitted.
    pub cb_out_security_descriptor: u32,
}

impl RpcSecurityDescriptor {
    /// A descriptor carrying `data` in a buffer of `cb_in` bytes (at least `data.len()`).
    pub fn with_data(cb_in: u32, data: Vec<u8>) -> Self {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        RpcSecurityDescriptor {
            lp_security_descriptor: Some(data),
            cb_in_security_descriptor: cb_in.max(len),
            cb_out_security_descriptor: len,
        }
    }
}

impl NdrType for RpcSecurityDescriptor {
    const ALIGN: usize = 4;
    const MIN_WIRE: usize = 12;
    fn encode(&self, w: &mut NdrWriter) {
        w.align(4);
        if self.lp_security_descriptor.is_some() {
            let id = w.referent();
            w.u32(id);
        } else {
            w.u32(0);
        }
        w.u32(self.cb_in_security_descriptor);
        w.u32(self.cb_out_security_descriptor);
    }
    fn encode_deferred(&self, w: &mut NdrWriter) {
        if let Some(data) = &self.lp_security_descriptor {
            w.varying(self.cb_in_security_descriptor, u32::try_from(data.len()).unwrap_or(u32::MAX));
            w.bytes(data);
        }
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        r.align(4)?;
        let ptr = r.u32()?;
        let cb_in = r.u32()?;
        let cb_out = r.u32()?;
        Ok(RpcSecurityDescriptor {
            lp_security_descriptor: if ptr == 0 { None } else { Some(Vec::new()) },
            cb_in_security_descriptor: cb_in,
            cb_out_security_descriptor: cb_out,
        })
    }
    fn decode_deferred(&mut self, r: &mut NdrReader<'_>) -> NdrResult<()> {
        if self.lp_security_descriptor.is_some() {
            let (max, len) = r.varying()?;
            if max != self.cb_in_security_descriptor {
                return Err(NdrError::ConformanceMismatch { expected: self.cb_in_security_descriptor, actual: max });
            }
            if len != self.cb_out_security_descriptor {
                return Err(NdrError::ConformanceMismatch { expected: self.cb_out_security_descriptor, actual: len });
            }
            let n = r.check_count(len, 1)?;
            self.lp_security_descriptor = Some(r.take(n)?.to_vec());
        }
        Ok(())
    }
}

crate::ndr_struct! {
    /// [MS-CMRP 2.2.3] RPC_SECURITY_ATTRIBUTES.
    pub struct RpcSecurityAttributes {
        pub n_length: u32,
        pub rpc_security_descriptor: RpcSecurityDescriptor,
        pub b_inherit_handle: Bool32,
    }
}

crate::ndr_struct! {
    /// [MS-CMRP 2.2.3] IDL_CLUSTER_SET_PASSWORD_STATUS (`SetAttempted` is a 1-byte BOOLEAN).
    pub struct IdlClusterSetPasswordStatus {
        pub node_id: u32,
        pub set_attempted: u8,
        pub return_status: u32,
    }
}

crate::ndr_struct! {
    /// [MS-CMRP 2.2.3.21] CLUSTER_CREATE_GROUP_INFO_RPC.
    pub struct ClusterCreateGroupInfoRpc {
        pub dw_version: u32,
        pub dw_group_type: u32,
    }
}

crate::ndr_struct! {
    /// [MS-CMRP 2.2.3.22] NOTIFY_FILTER_AND_TYPE_RPC: 8-aligned because of the LONGLONG.
    pub struct NotifyFilterAndTypeRpc {
        /// CLUSTER_OBJECT_TYPE_RPC value.
        pub dw_object_type: u32,
        /// Bitwise OR of the object type's CLUSTER_CHANGE_*_V2 flags.
        pub filter_flags: i64,
    }
}

crate::ndr_struct! {
    /// [MS-CMRP 2.2.3.23] NOTIFICATION_DATA_RPC. `buffer` is `[size_is(dwBufferSize)]`: keep
    /// `dw_buffer_size` equal to its length.
    pub struct NotificationDataRpc {
        pub filter_and_type: NotifyFilterAndTypeRpc,
        pub buffer: Option<ConfBytes>,
        pub dw_buffer_size: u32,
        pub object_id: Option<WString>,
        pub parent_id: Option<WString>,
        pub name: Option<WString>,
        /// `Type`: the resource type name for resource notifications.
        pub type_name: Option<WString>,
    }
}

crate::ndr_struct! {
    /// [MS-CMRP 2.2.3.24] NOTIFICATION_RPC. `dwNotifyKey` is a DWORD_PTR: 4 bytes in NDR 2.0
    /// (Samba's IDL wrongly declares a pointer). The struct is 8-aligned.
    pub struct NotificationRpc {
        pub dw_notify_key: u32,
        pub notification_data: NotificationDataRpc,
    }
}

crate::ndr_struct! {
    /// [MS-CMRP 2.2.3.30] NOTIFICATION_DATA_ASYNC_RPC (returned by ApiGetNotifyAsync).
    pub struct NotificationDataAsyncRpc {
        pub dw_notify_key: u32,
        pub dw_filter: u32,
        pub name: Option<WString>,
    }
}

crate::ndr_struct! {
    /// [MS-CMRP 2.2.3] GROUP_ENUM_ENTRY. `properties` / `ro_properties` are
    /// `[size_is(cb...)]` PROPERTY_LISTs: keep the `cb_*` members equal to their lengths.
    pub struct GroupEnumEntry {
        pub name: Option<WString>,
        pub id: Option<WString>,
        pub dw_state: u32,
        /// Name of the owner node.
        pub owner: Option<WString>,
        pub dw_flags: u32,
        pub cb_properties: u32,
        pub properties: Option<ConfBytes>,
        pub cb_ro_properties: u32,
        pub ro_properties: Option<ConfBytes>,
    }
}

crate::ndr_struct! {
    /// [MS-CMRP 2.2.3.27] RESOURCE_ENUM_ENTRY. `properties` / `ro_properties` are
    /// `[size_is(cb...)]` PROPERTY_LISTs: keep the `cb_*` members equal to their lengths.
    pub struct ResourceEnumEntry {
        pub name: Option<WString>,
        pub id: Option<WString>,
        /// Name of the owning group.
        pub owner_name: Option<WString>,
        /// ID of the owning group.
        pub owner_id: Option<WString>,
        pub cb_properties: u32,
        pub properties: Option<ConfBytes>,
        pub cb_ro_properties: u32,
        pub ro_properties: Option<ConfBytes>,
    }
}

conformant_list! {
    /// [MS-CMRP 2.2.3] GROUP_ENUM_LIST: conformant struct `{ DWORD EntryCount;
    /// GROUP_ENUM_ENTRY Entry[] }`.
    pub struct GroupEnumList {
        pub entries: Vec<GroupEnumEntry>,
    }
}

conformant_list! {
    /// [MS-CMRP 2.2.3] RESOURCE_ENUM_LIST: conformant struct `{ DWORD EntryCount;
    /// RESOURCE_ENUM_ENTRY Entry[] }`.
    pub struct ResourceEnumList {
        pub entries: Vec<ResourceEnumEntry>,
    }
}

/// [MS-CMRP 2.2.2.8] CLUSTER_REG_BATCH_COMMAND values used in [`BatchUpdateCommand`].
pub mod batch_command {
    /// Set a value (relative to the last created/opened key).
    pub const CLUSREG_SET_VALUE: u32 = 1;
    /// Create or open a subkey; later commands are relative to it.
    pub const CLUSREG_CREATE_KEY: u32 = 2;
    /// Delete a key with its values and subkeys.
    pub const CLUSREG_DELETE_KEY: u32 = 3;
    /// Delete a value.
    pub const CLUSREG_DELETE_VALUE: u32 = 4;
    /// Batch notification: a value was deleted or changed.
    pub const CLUSREG_VALUE_DELETED: u32 = 6;
    /// Read batch: select the key to read from.
    pub const CLUSREG_READ_KEY: u32 = 7;
    /// Read batch: read a value (the reply carries its type and data).
    pub const CLUSREG_READ_VALUE: u32 = 8;
    /// Read batch reply: the read failed, `value_type` holds the status.
    pub const CLUSREG_READ_ERROR: u32 = 9;
    /// Control command (newer servers).
    pub const CLUSREG_CONTROL_COMMAND: u32 = 10;
}

/// [MS-CMRP 2.2.3.17.1] BATCH_UPDATE_COMMAND: one command of a [`ClusterRegBatchUpdate`].
///
/// Custom-marshalled (not NDR), little-endian and unaligned: `CommandType` u32, `ValueType`
/// u32, `NameLength` u32 (bytes of the UTF-16 name including its NUL, at least 2), the name,
/// `DataLength` u32, the data, then one pad byte if needed so the command ends on a 16-bit
/// boundary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchUpdateCommand {
    /// A [`batch_command`] value.
    pub command_type: u32,
    /// Registry value type (REG_*) for SET/READ_VALUE, a status for READ_ERROR, else 0.
    pub value_type: u32,
    /// Key or value name.
    pub name: String,
    /// Value data.
    pub data: Vec<u8>,
}

/// [MS-CMRP 2.2.3.17] CLUSTER_REG_BATCH_UPDATE: `VersionNumber` (1) followed by the commands.
/// The `lpData` of ApiExecuteBatch and the in/out buffers of ApiExecuteReadBatch(Ex).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterRegBatchUpdate {
    /// Always 1.
    pub version: u32,
    pub commands: Vec<BatchUpdateCommand>,
}

impl Default for ClusterRegBatchUpdate {
    fn default() -> Self {
        ClusterRegBatchUpdate { version: 1, commands: Vec::new() }
    }
}

impl ClusterRegBatchUpdate {
    /// Encodes the buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut o = Vec::new();
        o.extend_from_slice(&self.version.to_le_bytes());
        for c in &self.commands {
            o.extend_from_slice(&c.command_type.to_le_bytes());
            o.extend_from_slice(&c.value_type.to_le_bytes());
            let name: Vec<u16> = c.name.encode_utf16().chain(std::iter::once(0)).collect();
            let name_len = u32::try_from(name.len() * 2).unwrap_or(u32::MAX);
            o.extend_from_slice(&name_len.to_le_bytes());
            for u in name {
                o.extend_from_slice(&u.to_le_bytes());
            }
            o.extend_from_slice(&u32::try_from(c.data.len()).unwrap_or(u32::MAX).to_le_bytes());
            o.extend_from_slice(&c.data);
            if o.len() % 2 == 1 {
                o.push(0);
            }
        }
        o
    }

    /// Parses a buffer. Every length is checked against the bytes left; a name must be
    /// NUL-terminated UTF-16.
    pub fn parse(b: &[u8]) -> NdrResult<Self> {
        let mut p = 0usize;
        let version = le_u32(b, &mut p)?;
        let mut commands = Vec::new();
        while p < b.len() {
            let command_type = le_u32(b, &mut p)?;
            let value_type = le_u32(b, &mut p)?;
            let name_len = le_u32(b, &mut p)? as usize;
            let raw = take(b, &mut p, name_len)?;
            let name = utf16z(raw)?;
            let data_len = le_u32(b, &mut p)? as usize;
            let data = take(b, &mut p, data_len)?.to_vec();
            if p % 2 == 1 && p < b.len() {
                p += 1;
            }
            commands.push(BatchUpdateCommand { command_type, value_type, name, data });
        }
        Ok(ClusterRegBatchUpdate { version, commands })
    }
}

crate::rpc_interface! {
    /// clusapi v3.0 ([MS-CMRP] 2.1).
    interface Clusapi {
        uuid: "b97db8b2-4c63-11cf-bff6-08002be23f2f",
        version: (3, 0),
        server: ClusapiServer,
    }

    /// [MS-CMRP 3.1.4.2.1] ApiOpenCluster
    0 ApiOpenCluster
        in ()
        out (status: WError, cluster: ContextHandle);

    /// [MS-CMRP 3.1.4.2.2] ApiCloseCluster
    1 ApiCloseCluster
        in (cluster: ContextHandle)
        out (cluster: ContextHandle, result: WError);

    /// [MS-CMRP 3.1.4.2.3] ApiSetClusterName
    2 ApiSetClusterName
        in (new_cluster_name: WString)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.4] ApiGetClusterName (no rpc_status)
    3 ApiGetClusterName
        in ()
        out (cluster_name: Option<WString>, node_name: Option<WString>, result: WError);

    /// [MS-CMRP 3.1.4.2.5] ApiGetClusterVersion (no rpc_status; servers answer ERROR_CALL_NOT_IMPLEMENTED)
    4 ApiGetClusterVersion
        in ()
        out (major_version: u16, minor_version: u16, build_number: u16, vendor_id: Option<WString>,
             csd_version: Option<WString>, result: WError);

    /// [MS-CMRP 3.1.4.2.6] ApiGetQuorumResource
    5 ApiGetQuorumResource
        in ()
        out (resource_name: Option<WString>, device_name: Option<WString>, max_quorum_log_size: u32,
             rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.7] ApiSetQuorumResource
    6 ApiSetQuorumResource
        in (resource: ContextHandle, device_name: WString, max_quorum_log_size: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.8] ApiCreateEnum (no cluster handle)
    7 ApiCreateEnum
        in (enum_type: u32)
        out (return_enum: Option<EnumList>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.9] ApiOpenResource
    8 ApiOpenResource
        in (resource_name: WString)
        out (status: WError, rpc_status: u32, resource: ContextHandle);

    /// [MS-CMRP 3.1.4.2.10] ApiCreateResource
    9 ApiCreateResource
        in (group: ContextHandle, resource_name: WString, resource_type: WString, flags: u32)
        out (status: WError, rpc_status: u32, resource: ContextHandle);

    /// [MS-CMRP 3.1.4.2.11] ApiDeleteResource
    10 ApiDeleteResource
        in (resource: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.12] ApiCloseResource
    11 ApiCloseResource
        in (resource: ContextHandle)
        out (resource: ContextHandle, result: WError);

    /// [MS-CMRP 3.1.4.2.13] ApiGetResourceState
    12 ApiGetResourceState
        in (resource: ContextHandle)
        out (state: u32, node_name: Option<WString>, group_name: Option<WString>, rpc_status: u32,
             result: WError);

    /// [MS-CMRP 3.1.4.2.14] ApiSetResourceName
    13 ApiSetResourceName
        in (resource: ContextHandle, resource_name: WString)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.15] ApiGetResourceId
    14 ApiGetResourceId
        in (resource: ContextHandle)
        out (guid: Option<WString>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.16] ApiGetResourceType
    15 ApiGetResourceType
        in (resource: ContextHandle)
        out (resource_type: Option<WString>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.17] ApiFailResource
    16 ApiFailResource
        in (resource: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.18] ApiOnlineResource
    17 ApiOnlineResource
        in (resource: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.19] ApiOfflineResource
    18 ApiOfflineResource
        in (resource: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.20] ApiAddResourceDependency
    19 ApiAddResourceDependency
        in (resource: ContextHandle, depends_on: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.21] ApiRemoveResourceDependency
    20 ApiRemoveResourceDependency
        in (resource: ContextHandle, depends_on: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.22] ApiCanResourceBeDependent
    21 ApiCanResourceBeDependent
        in (resource: ContextHandle, resource_dependent: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.23] ApiCreateResEnum
    22 ApiCreateResEnum
        in (resource: ContextHandle, enum_type: u32)
        out (return_enum: Option<EnumList>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.24] ApiAddResourceNode
    23 ApiAddResourceNode
        in (resource: ContextHandle, node: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.25] ApiRemoveResourceNode
    24 ApiRemoveResourceNode
        in (resource: ContextHandle, node: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.26] ApiChangeResourceGroup
    25 ApiChangeResourceGroup
        in (resource: ContextHandle, group: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.27] ApiCreateResourceType
    26 ApiCreateResourceType
        in (type_name: WString, display_name: WString, dll_name: WString, looks_alive: u32, is_alive: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.28] ApiDeleteResourceType
    27 ApiDeleteResourceType
        in (type_name: WString)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.29] ApiGetRootKey
    28 ApiGetRootKey
        in (sam_desired: u32)
        out (status: WError, rpc_status: u32, key: ContextHandle);

    /// [MS-CMRP 3.1.4.2.30] ApiCreateKey
    29 ApiCreateKey
        in (key: ContextHandle, sub_key: WString, options: u32, sam_desired: u32,
            security_attributes: Option<RpcSecurityAttributes>)
        out (disposition: u32, status: WError, rpc_status: u32, key: ContextHandle);

    /// [MS-CMRP 3.1.4.2.31] ApiOpenKey
    30 ApiOpenKey
        in (key: ContextHandle, sub_key: WString, sam_desired: u32)
        out (status: WError, rpc_status: u32, key: ContextHandle);

    /// [MS-CMRP 3.1.4.2.32] ApiEnumKey
    31 ApiEnumKey
        in (key: ContextHandle, index: u32)
        out (key_name: Option<WString>, last_write_time: FileTime, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.33] ApiSetValue
    32 ApiSetValue
        in (key: ContextHandle, value_name: WString, value_type: u32, data: ConfBytes, cb_data: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.34] ApiDeleteValue
    33 ApiDeleteValue
        in (key: ContextHandle, value_name: WString)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.35] ApiQueryValue (`data` is `[out, size_is(cbData)]`: exactly `cb_data` bytes go back)
    34 ApiQueryValue
        in (key: ContextHandle, value_name: WString, cb_data: u32)
        out (value_type: u32, data: ConfBytes, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.36] ApiDeleteKey
    35 ApiDeleteKey
        in (key: ContextHandle, sub_key: WString)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.37] ApiEnumValue (`data` is `[out, size_is(*lpcbData)]`: as many bytes as the returned `cb_data`)
    36 ApiEnumValue
        in (key: ContextHandle, index: u32, cb_data: u32)
        out (value_name: Option<WString>, value_type: u32, data: ConfBytes, cb_data: u32, total_size: u32,
             rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.38] ApiCloseKey
    37 ApiCloseKey
        in (key: ContextHandle)
        out (key: ContextHandle, result: WError);

    /// [MS-CMRP 3.1.4.2.39] ApiQueryInfoKey
    38 ApiQueryInfoKey
        in (key: ContextHandle)
        out (sub_keys: u32, max_sub_key_len: u32, values: u32, max_value_name_len: u32, max_value_len: u32,
             cb_security_descriptor: u32, last_write_time: FileTime, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.40] ApiSetKeySecurity
    39 ApiSetKeySecurity
        in (key: ContextHandle, security_information: u32, security_descriptor: RpcSecurityDescriptor)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.41] ApiGetKeySecurity
    40 ApiGetKeySecurity
        in (key: ContextHandle, security_information: u32, security_descriptor: RpcSecurityDescriptor)
        out (security_descriptor: RpcSecurityDescriptor, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.42] ApiOpenGroup
    41 ApiOpenGroup
        in (group_name: WString)
        out (status: WError, rpc_status: u32, group: ContextHandle);

    /// [MS-CMRP 3.1.4.2.43] ApiCreateGroup
    42 ApiCreateGroup
        in (group_name: WString)
        out (status: WError, rpc_status: u32, group: ContextHandle);

    /// [MS-CMRP 3.1.4.2.44] ApiDeleteGroup
    43 ApiDeleteGroup
        in (group: ContextHandle, force: Bool32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.45] ApiCloseGroup
    44 ApiCloseGroup
        in (group: ContextHandle)
        out (group: ContextHandle, result: WError);

    /// [MS-CMRP 3.1.4.2.46] ApiGetGroupState
    45 ApiGetGroupState
        in (group: ContextHandle)
        out (state: u32, node_name: Option<WString>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.47] ApiSetGroupName
    46 ApiSetGroupName
        in (group: ContextHandle, group_name: WString)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.48] ApiGetGroupId
    47 ApiGetGroupId
        in (group: ContextHandle)
        out (guid: Option<WString>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.49] ApiGetNodeId
    48 ApiGetNodeId
        in (node: ContextHandle)
        out (guid: Option<WString>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.50] ApiOnlineGroup
    49 ApiOnlineGroup
        in (group: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.51] ApiOfflineGroup
    50 ApiOfflineGroup
        in (group: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.52] ApiMoveGroup
    51 ApiMoveGroup
        in (group: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.53] ApiMoveGroupToNode
    52 ApiMoveGroupToNode
        in (group: ContextHandle, node: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.54] ApiCreateGroupResourceEnum
    53 ApiCreateGroupResourceEnum
        in (group: ContextHandle, enum_type: u32)
        out (return_enum: Option<EnumList>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.55] ApiSetGroupNodeList (`node_list` is a MULTI_SZ of node IDs as UTF-16 code units)
    54 ApiSetGroupNodeList
        in (group: ContextHandle, node_list: Option<ConfArray<u16>>, cch_list_size: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.56] ApiCreateNotify
    55 ApiCreateNotify
        in ()
        out (status: WError, rpc_status: u32, notify: ContextHandle);

    /// [MS-CMRP 3.1.4.2.57] ApiCloseNotify
    56 ApiCloseNotify
        in (notify: ContextHandle)
        out (notify: ContextHandle, result: WError);

    /// [MS-CMRP 3.1.4.2.58] ApiAddNotifyCluster
    57 ApiAddNotifyCluster
        in (notify: ContextHandle, cluster: ContextHandle, filter: u32, notify_key: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.59] ApiAddNotifyNode
    58 ApiAddNotifyNode
        in (notify: ContextHandle, node: ContextHandle, filter: u32, notify_key: u32)
        out (state_sequence: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.60] ApiAddNotifyGroup
    59 ApiAddNotifyGroup
        in (notify: ContextHandle, group: ContextHandle, filter: u32, notify_key: u32)
        out (state_sequence: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.61] ApiAddNotifyResource
    60 ApiAddNotifyResource
        in (notify: ContextHandle, resource: ContextHandle, filter: u32, notify_key: u32)
        out (state_sequence: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.62] ApiAddNotifyKey
    61 ApiAddNotifyKey
        in (notify: ContextHandle, key: ContextHandle, notify_key: u32, filter: u32, watch_sub_tree: Bool32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.63] ApiReAddNotifyNode
    62 ApiReAddNotifyNode
        in (notify: ContextHandle, node: ContextHandle, filter: u32, notify_key: u32, state_sequence: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.64] ApiReAddNotifyGroup
    63 ApiReAddNotifyGroup
        in (notify: ContextHandle, group: ContextHandle, filter: u32, notify_key: u32, state_sequence: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.65] ApiReAddNotifyResource
    64 ApiReAddNotifyResource
        in (notify: ContextHandle, resource: ContextHandle, filter: u32, notify_key: u32, state_sequence: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.66] ApiGetNotify
    65 ApiGetNotify
        in (notify: ContextHandle)
        out (notify_key: u32, filter: u32, state_sequence: u32, name: Option<WString>, rpc_status: u32,
             result: WError);

    /// [MS-CMRP 3.1.4.2.67] ApiOpenNode
    66 ApiOpenNode
        in (node_name: WString)
        out (status: WError, rpc_status: u32, node: ContextHandle);

    /// [MS-CMRP 3.1.4.2.68] ApiCloseNode
    67 ApiCloseNode
        in (node: ContextHandle)
        out (node: ContextHandle, result: WError);

    /// [MS-CMRP 3.1.4.2.69] ApiGetNodeState
    68 ApiGetNodeState
        in (node: ContextHandle)
        out (state: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.70] ApiPauseNode
    69 ApiPauseNode
        in (node: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.71] ApiResumeNode
    70 ApiResumeNode
        in (node: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.72] ApiEvictNode
    71 ApiEvictNode
        in (node: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.73] ApiNodeResourceControl
    72 ApiNodeResourceControl
        in (resource: ContextHandle, node: ContextHandle, control_code: u32, in_buffer: Option<ConfBytes>,
            in_buffer_size: u32, out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.74] ApiResourceControl
    73 ApiResourceControl
        in (resource: ContextHandle, control_code: u32, in_buffer: Option<ConfBytes>, in_buffer_size: u32,
            out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.75] ApiNodeResourceTypeControl
    74 ApiNodeResourceTypeControl
        in (cluster: ContextHandle, resource_type_name: WString, node: ContextHandle, control_code: u32,
            in_buffer: Option<ConfBytes>, in_buffer_size: u32, out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.76] ApiResourceTypeControl
    75 ApiResourceTypeControl
        in (cluster: ContextHandle, resource_type_name: WString, control_code: u32,
            in_buffer: Option<ConfBytes>, in_buffer_size: u32, out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.77] ApiNodeGroupControl
    76 ApiNodeGroupControl
        in (group: ContextHandle, node: ContextHandle, control_code: u32, in_buffer: Option<ConfBytes>,
            in_buffer_size: u32, out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.78] ApiGroupControl
    77 ApiGroupControl
        in (group: ContextHandle, control_code: u32, in_buffer: Option<ConfBytes>, in_buffer_size: u32,
            out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.79] ApiNodeNodeControl
    78 ApiNodeNodeControl
        in (node: ContextHandle, host_node: ContextHandle, control_code: u32, in_buffer: Option<ConfBytes>,
            in_buffer_size: u32, out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.80] ApiNodeControl
    79 ApiNodeControl
        in (node: ContextHandle, control_code: u32, in_buffer: Option<ConfBytes>, in_buffer_size: u32,
            out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.81] ApiOpenNetwork
    81 ApiOpenNetwork
        in (network_name: WString)
        out (status: WError, rpc_status: u32, network: ContextHandle);

    /// [MS-CMRP 3.1.4.2.82] ApiCloseNetwork
    82 ApiCloseNetwork
        in (network: ContextHandle)
        out (network: ContextHandle, result: WError);

    /// [MS-CMRP 3.1.4.2.83] ApiGetNetworkState
    83 ApiGetNetworkState
        in (network: ContextHandle)
        out (state: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.84] ApiSetNetworkName
    84 ApiSetNetworkName
        in (network: ContextHandle, network_name: WString)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.85] ApiCreateNetworkEnum
    85 ApiCreateNetworkEnum
        in (network: ContextHandle, enum_type: u32)
        out (return_enum: Option<EnumList>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.86] ApiGetNetworkId
    86 ApiGetNetworkId
        in (network: ContextHandle)
        out (guid: Option<WString>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.87] ApiSetNetworkPriorityOrder (`network_id_list` is a conformant array of `[string]` pointers (Samba declares one string))
    87 ApiSetNetworkPriorityOrder
        in (network_count: u32, network_id_list: ConfArray<Option<WString>>)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.88] ApiNodeNetworkControl
    88 ApiNodeNetworkControl
        in (network: ContextHandle, node: ContextHandle, control_code: u32, in_buffer: Option<ConfBytes>,
            in_buffer_size: u32, out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.89] ApiNetworkControl
    89 ApiNetworkControl
        in (network: ContextHandle, control_code: u32, in_buffer: Option<ConfBytes>, in_buffer_size: u32,
            out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.90] ApiAddNotifyNetwork
    90 ApiAddNotifyNetwork
        in (notify: ContextHandle, network: ContextHandle, filter: u32, notify_key: u32)
        out (state_sequence: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.91] ApiReAddNotifyNetwork
    91 ApiReAddNotifyNetwork
        in (notify: ContextHandle, network: ContextHandle, filter: u32, notify_key: u32, state_sequence: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.92] ApiOpenNetInterface
    92 ApiOpenNetInterface
        in (net_interface_name: WString)
        out (status: WError, rpc_status: u32, net_interface: ContextHandle);

    /// [MS-CMRP 3.1.4.2.93] ApiCloseNetInterface
    93 ApiCloseNetInterface
        in (net_interface: ContextHandle)
        out (net_interface: ContextHandle, result: WError);

    /// [MS-CMRP 3.1.4.2.94] ApiGetNetInterfaceState
    94 ApiGetNetInterfaceState
        in (net_interface: ContextHandle)
        out (state: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.95] ApiGetNetInterface
    95 ApiGetNetInterface
        in (node_name: WString, network_name: WString)
        out (interface_name: Option<WString>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.96] ApiGetNetInterfaceId
    96 ApiGetNetInterfaceId
        in (net_interface: ContextHandle)
        out (guid: Option<WString>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.97] ApiNodeNetInterfaceControl
    97 ApiNodeNetInterfaceControl
        in (net_interface: ContextHandle, node: ContextHandle, control_code: u32,
            in_buffer: Option<ConfBytes>, in_buffer_size: u32, out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.98] ApiNetInterfaceControl
    98 ApiNetInterfaceControl
        in (net_interface: ContextHandle, control_code: u32, in_buffer: Option<ConfBytes>,
            in_buffer_size: u32, out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.99] ApiAddNotifyNetInterface
    99 ApiAddNotifyNetInterface
        in (notify: ContextHandle, net_interface: ContextHandle, filter: u32, notify_key: u32)
        out (state_sequence: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.100] ApiReAddNotifyNetInterface
    100 ApiReAddNotifyNetInterface
        in (notify: ContextHandle, net_interface: ContextHandle, filter: u32, notify_key: u32,
            state_sequence: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.101] ApiCreateNodeEnum
    101 ApiCreateNodeEnum
        in (node: ContextHandle, enum_type: u32)
        out (return_enum: Option<EnumList>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.102] ApiGetClusterVersion2
    102 ApiGetClusterVersion2
        in ()
        out (major_version: u16, minor_version: u16, build_number: u16, vendor_id: Option<WString>,
             csd_version: Option<WString>, cluster_op_ver_info: Option<ClusterOperationalVersionInfo>,
             rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.103] ApiCreateResTypeEnum
    103 ApiCreateResTypeEnum
        in (type_name: WString, enum_type: u32)
        out (return_enum: Option<EnumList>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.104] ApiBackupClusterDatabase
    104 ApiBackupClusterDatabase
        in (path_name: WString)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.105] ApiNodeClusterControl
    105 ApiNodeClusterControl
        in (cluster: ContextHandle, host_node: ContextHandle, control_code: u32, in_buffer: Option<ConfBytes>,
            in_buffer_size: u32, out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.106] ApiClusterControl
    106 ApiClusterControl
        in (cluster: ContextHandle, control_code: u32, in_buffer: Option<ConfBytes>, in_buffer_size: u32,
            out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.107] ApiUnblockGetNotifyCall
    107 ApiUnblockGetNotifyCall
        in (notify: ContextHandle)
        out (result: WError);

    /// [MS-CMRP 3.1.4.2.108] ApiSetServiceAccountPassword (no rpc_status; `flags` is a plain MIDL `enum` (16 bits in NDR 2.0))
    108 ApiSetServiceAccountPassword
        in (new_password: WString, flags: u16, return_status_buffer_size: u32)
        out (return_status_buffer: ConfVarArray<IdlClusterSetPasswordStatus>, size_returned: u32,
             expected_buffer_size: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.109] ApiSetResourceDependencyExpression
    109 ApiSetResourceDependencyExpression
        in (resource: ContextHandle, dependency_expression: Option<WString>)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.110] ApiGetResourceDependencyExpression
    110 ApiGetResourceDependencyExpression
        in (resource: ContextHandle)
        out (dependency_expression: Option<WString>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.111] ApiGetResourceNetworkName
    112 ApiGetResourceNetworkName
        in (resource: ContextHandle)
        out (name: Option<WString>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.112] ApiExecuteBatch (`data` is a [`ClusterRegBatchUpdate`])
    113 ApiExecuteBatch
        in (key: ContextHandle, cb_data: u32, data: ConfBytes)
        out (failed_command: i32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.113] ApiCreateBatchPort
    114 ApiCreateBatchPort
        in (key: ContextHandle)
        out (batch_port: ContextHandle, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.114] ApiGetBatchNotification (no rpc_status)
    115 ApiGetBatchNotification
        in (batch_notify: ContextHandle)
        out (cb_data: u32, data: Option<ConfBytes>, result: WError);

    /// [MS-CMRP 3.1.4.2.115] ApiCloseBatchPort
    116 ApiCloseBatchPort
        in (batch_port: ContextHandle)
        out (batch_port: ContextHandle, result: WError);

    /// [MS-CMRP 3.1.4.2.116] ApiOpenClusterEx (no rpc_status)
    117 ApiOpenClusterEx
        in (desired_access: u32)
        out (granted_access: u32, status: WError, cluster: ContextHandle);

    /// [MS-CMRP 3.1.4.2.117] ApiOpenNodeEx
    118 ApiOpenNodeEx
        in (node_name: WString, desired_access: u32)
        out (granted_access: u32, status: WError, rpc_status: u32, node: ContextHandle);

    /// [MS-CMRP 3.1.4.2.118] ApiOpenGroupEx
    119 ApiOpenGroupEx
        in (group_name: WString, desired_access: u32)
        out (granted_access: u32, status: WError, rpc_status: u32, group: ContextHandle);

    /// [MS-CMRP 3.1.4.2.119] ApiOpenResourceEx
    120 ApiOpenResourceEx
        in (resource_name: WString, desired_access: u32)
        out (granted_access: u32, status: WError, rpc_status: u32, resource: ContextHandle);

    /// [MS-CMRP 3.1.4.2.120] ApiOpenNetworkEx
    121 ApiOpenNetworkEx
        in (network_name: WString, desired_access: u32)
        out (granted_access: u32, status: WError, rpc_status: u32, network: ContextHandle);

    /// [MS-CMRP 3.1.4.2.121] ApiOpenNetInterfaceEx
    122 ApiOpenNetInterfaceEx
        in (net_interface_name: WString, desired_access: u32)
        out (granted_access: u32, status: WError, rpc_status: u32, net_interface: ContextHandle);

    /// [MS-CMRP 3.1.4.2.122] ApiChangeCsvState
    123 ApiChangeCsvState
        in (resource: ContextHandle, state: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.123] ApiCreateNodeEnumEx
    124 ApiCreateNodeEnumEx
        in (node: ContextHandle, enum_type: u32, options: u32)
        out (return_id_enum: Option<EnumList>, return_name_enum: Option<EnumList>, rpc_status: u32,
             result: WError);

    /// [MS-CMRP 3.1.4.2.124] ApiCreateEnumEx
    125 ApiCreateEnumEx
        in (cluster: ContextHandle, enum_type: u32, options: u32)
        out (return_id_enum: Option<EnumList>, return_name_enum: Option<EnumList>, rpc_status: u32,
             result: WError);

    /// [MS-CMRP 3.1.4.2.125] ApiPauseNodeEx
    126 ApiPauseNodeEx
        in (node: ContextHandle, drain_node: Bool32, pause_flags: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.126] ApiPauseNodeWithDrainTarget
    127 ApiPauseNodeWithDrainTarget
        in (node: ContextHandle, pause_flags: u32, node_drain_target: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.127] ApiResumeNodeEx
    128 ApiResumeNodeEx
        in (node: ContextHandle, resume_failback_type: u32, resume_flags_reserved: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.128] ApiCreateGroupEx
    129 ApiCreateGroupEx
        in (group_name: WString, group_info: Option<ClusterCreateGroupInfoRpc>)
        out (status: WError, rpc_status: u32, group: ContextHandle);

    /// [MS-CMRP 3.1.4.2.129] ApiOnlineGroupEx
    130 ApiOnlineGroupEx
        in (group: ContextHandle, online_flags: u32, in_buffer: ConfBytes, in_buffer_size: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.130] ApiOfflineGroupEx
    131 ApiOfflineGroupEx
        in (group: ContextHandle, offline_flags: u32, in_buffer: ConfBytes, in_buffer_size: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.131] ApiMoveGroupEx
    132 ApiMoveGroupEx
        in (group: ContextHandle, move_flags: u32, in_buffer: ConfBytes, in_buffer_size: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.132] ApiMoveGroupToNodeEx
    133 ApiMoveGroupToNodeEx
        in (group: ContextHandle, node: ContextHandle, move_flags: u32, in_buffer: ConfBytes,
            in_buffer_size: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.133] ApiCancelClusterGroupOperation
    134 ApiCancelClusterGroupOperation
        in (group: ContextHandle, cancel_flags: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.134] ApiOnlineResourceEx
    135 ApiOnlineResourceEx
        in (resource: ContextHandle, online_flags: u32, in_buffer: ConfBytes, in_buffer_size: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.135] ApiOfflineResourceEx
    136 ApiOfflineResourceEx
        in (resource: ContextHandle, offline_flags: u32, in_buffer: ConfBytes, in_buffer_size: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.136] ApiCreateNotifyV2
    137 ApiCreateNotifyV2
        in ()
        out (rpc_error: WError, rpc_status: u32, notify: ContextHandle);

    /// [MS-CMRP 3.1.4.2.137] ApiAddNotifyV2 (`object` is an HGENERIC_RPC: any handle kind)
    138 ApiAddNotifyV2
        in (notify: ContextHandle, object: ContextHandle, filter: NotifyFilterAndTypeRpc, notify_key: u32,
            version: u32, is_targeted_at_object: Bool32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.138] ApiGetNotifyV2 (no rpc_status)
    139 ApiGetNotifyV2
        in (notify: ContextHandle)
        out (notifications: Option<ConfArray<NotificationRpc>>, num_notifications: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.139] ApiCreateGroupEnum
    143 ApiCreateGroupEnum
        in (cluster: ContextHandle, properties: Option<ConfBytes>, cb_properties: u32,
            ro_properties: Option<ConfBytes>, cb_ro_properties: u32)
        out (result_list: Option<GroupEnumList>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.140] ApiCreateResourceEnum
    144 ApiCreateResourceEnum
        in (cluster: ContextHandle, properties: Option<ConfBytes>, cb_properties: u32,
            ro_properties: Option<ConfBytes>, cb_ro_properties: u32)
        out (result_list: Option<ResourceEnumList>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.141] ApiExecuteReadBatch
    145 ApiExecuteReadBatch
        in (key: ContextHandle, cb_in_data: u32, in_data: ConfBytes)
        out (cb_out_data: u32, out_data: Option<ConfBytes>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.142] ApiRestartResource
    146 ApiRestartResource
        in (resource: ContextHandle, flags: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.143] ApiGetNotifyAsync (no rpc_status)
    147 ApiGetNotifyAsync
        in (notify: ContextHandle)
        out (notifications: Option<ConfArray<NotificationDataAsyncRpc>>, num_notifications: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.144] ApiAddNotifyResourceTypeV2
    155 ApiAddNotifyResourceTypeV2
        in (notify: ContextHandle, filter: i64, notify_key: u32, res_type_name: WString, version: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.145] ApiExecuteReadBatchEx
    157 ApiExecuteReadBatchEx
        in (key: ContextHandle, cb_in_data: u32, in_data: ConfBytes, flags: u32)
        out (cb_out_data: u32, out_data: Option<ConfBytes>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.146] ApiCreateGroupSet
    163 ApiCreateGroupSet
        in (group_set_name: WString)
        out (status: WError, rpc_status: u32, group_set: ContextHandle);

    /// [MS-CMRP 3.1.4.2.147] ApiOpenGroupSet
    164 ApiOpenGroupSet
        in (group_set_name: WString)
        out (status: WError, rpc_status: u32, group_set: ContextHandle);

    /// [MS-CMRP 3.1.4.2.148] ApiCloseGroupSet
    165 ApiCloseGroupSet
        in (group_set: ContextHandle)
        out (group_set: ContextHandle, result: WError);

    /// [MS-CMRP 3.1.4.2.149] ApiDeleteGroupSet
    166 ApiDeleteGroupSet
        in (group_set: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.150] ApiAddGroupToGroupSet
    167 ApiAddGroupToGroupSet
        in (group_set: ContextHandle, group: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.151] ApiRemoveGroupFromGroupSet
    168 ApiRemoveGroupFromGroupSet
        in (group: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.152] ApiMoveGroupToGroupSet
    169 ApiMoveGroupToGroupSet
        in (group_set: ContextHandle, group: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.153] ApiAddGroupSetDependency
    171 ApiAddGroupSetDependency
        in (dependent_group_set: ContextHandle, provider_group_set: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.154] ApiAddGroupToGroupSetDependency
    172 ApiAddGroupToGroupSetDependency
        in (dependent_group: ContextHandle, provider_group_set: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.155] ApiNodeGroupSetControl
    173 ApiNodeGroupSetControl
        in (group_set: ContextHandle, node: ContextHandle, control_code: u32, in_buffer: Option<ConfBytes>,
            in_buffer_size: u32, out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.156] ApiGroupSetControl
    174 ApiGroupSetControl
        in (group_set: ContextHandle, control_code: u32, in_buffer: Option<ConfBytes>, in_buffer_size: u32,
            out_buffer_size: u32)
        out (out_buffer: ConfVarBytes, bytes_returned: u32, cb_required: u32, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.157] ApiSetGroupDependencyExpression
    175 ApiSetGroupDependencyExpression
        in (group: ContextHandle, dependency_expression: WString)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.158] ApiRemoveClusterGroupDependency
    176 ApiRemoveClusterGroupDependency
        in (group: ContextHandle, depends_on: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.159] ApiSetGroupSetDependencyExpression
    177 ApiSetGroupSetDependencyExpression
        in (group_set: ContextHandle, dependency_expression: WString)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.160] ApiRemoveGroupSetDependency
    178 ApiRemoveGroupSetDependency
        in (group_set: ContextHandle, depends_on: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.161] ApiRemoveClusterGroupToGroupSetDependency
    179 ApiRemoveClusterGroupToGroupSetDependency
        in (group: ContextHandle, depends_on: ContextHandle)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.162] ApiCreateGroupSetEnum
    180 ApiCreateGroupSetEnum
        in (cluster: ContextHandle)
        out (return_enum: Option<EnumList>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.163] ApiCreateNetInterfaceEnum
    181 ApiCreateNetInterfaceEnum
        in (cluster: ContextHandle, node_name: WString, network_name: WString)
        out (return_enum: Option<EnumList>, rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.164] ApiChangeCsvStateEx
    182 ApiChangeCsvStateEx
        in (resource: ContextHandle, state: u32, volume_name: WString)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.165] ApiAddGroupToGroupSetEx
    183 ApiAddGroupToGroupSetEx
        in (group_set: ContextHandle, group: ContextHandle, fault_domain: u32, update_domain: u32,
            use_domains: Bool32, reserved: u32)
        out (rpc_status: u32, result: WError);

    /// [MS-CMRP 3.1.4.2.166] ApiChangeResourceGroupEx
    184 ApiChangeResourceGroupEx
        in (resource: ContextHandle, group: ContextHandle, flags: u64)
        out (rpc_status: u32, result: WError);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iface::{DispatchError, ERROR_CALL_NOT_IMPLEMENTED};
    use crate::ndr::{ByteOrder, Guid};
    use crate::testutil::truncations;

    /// Opnums the spec marks "not used on the wire".
    const UNUSED: &[u16] =
        &[80, 111, 140, 141, 142, 148, 149, 150, 151, 152, 153, 154, 156, 158, 159, 160, 161, 162, 170];

    /// A handle whose wire form is 4 zero bytes then 01 02 .. 10.
    fn handle() -> ContextHandle {
        ContextHandle {
            attributes: 0,
            uuid: Guid {
                data1: 0x0403_0201,
                data2: 0x0605,
                data3: 0x0807,
                data4: [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10],
            },
        }
    }

    const HANDLE: [u8; 20] = [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn op_names_cover_declared_opnums_only() {
        let mut declared = 0;
        for n in 0u16..=184 {
            if UNUSED.contains(&n) {
                assert_eq!(Clusapi::op_name(n), None, "opnum {n} must not be declared");
            } else {
                assert!(Clusapi::op_name(n).is_some(), "opnum {n} missing");
                declared += 1;
            }
        }
        assert_eq!(declared, 166);
        assert_eq!(Clusapi::op_name(80), None);
        assert_eq!(Clusapi::op_name(111), None);
        assert_eq!(Clusapi::op_name(140), None);
        assert_eq!(Clusapi::op_name(185), None, "ApiClusterNativeUpdateControl is reserved");
        assert_eq!(Clusapi::op_name(8), Some("ApiOpenResource"));
        assert_eq!(Clusapi::op_name(139), Some("ApiGetNotifyV2"));
        assert_eq!(Clusapi::op_name(184), Some("ApiChangeResourceGroupEx"));
        assert_eq!(ApiCreateGroupEnumRequest::OPNUM, 143);
        assert_eq!(ApiAddNotifyResourceTypeV2Response::OPNUM, 155);
    }

    #[test]
    fn open_resource_layout() {
        let req = ApiOpenResourceRequest { resource_name: "ab".into() };
        let stub = req.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &[3, 0, 0, 0],             // max_count (with NUL)
            &[0, 0, 0, 0],             // offset
            &[3, 0, 0, 0],             // actual_count
            &[b'a', 0, b'b', 0, 0, 0], // "ab\0"
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiOpenResourceRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);

        // a failed open (smbtorture: unknown name -> 5007, rpc_status 0, null handle)
        let resp = ApiOpenResourceResponse { status: WError(5007), rpc_status: 0, resource: ContextHandle::NULL };
        let stub = resp.to_stub();
        let expected = cat(&[
            &[0x8f, 0x13, 0, 0], // Status = 5007
            &[0, 0, 0, 0],       // rpc_status
            &[0; 20],            // null handle
        ]);
        assert_eq!(stub, expected);

        let resp = ApiOpenResourceResponse { status: WError(0), rpc_status: 0, resource: handle() };
        let stub = resp.to_stub();
        assert_eq!(stub, cat(&[&[0; 8], &HANDLE]));
        assert_eq!(ApiOpenResourceResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
        truncations(&stub, |s| ApiOpenResourceResponse::decode_stub(s, ByteOrder::Little));
    }

    #[test]
    fn create_key_layout() {
        let req = ApiCreateKeyRequest {
            key: handle(),
            sub_key: "k".into(),
            options: 0,
            sam_desired: 0x0200_0000,
            security_attributes: Some(RpcSecurityAttributes {
                n_length: 12,
                rpc_security_descriptor: RpcSecurityDescriptor::with_data(4, vec![1, 2, 3]),
                b_inherit_handle: Bool32(true),
            }),
        };
        let stub = req.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &HANDLE,                  // 0: hKey
            &[2, 0, 0, 0],            // 20: lpSubKey max_count
            &[0, 0, 0, 0],            // 24: offset
            &[2, 0, 0, 0],            // 28: actual_count
            &[b'k', 0, 0, 0],         // 32: "k\0"
            &[0, 0, 0, 0],            // 36: dwOptions
            &[0, 0, 0, 2],            // 40: samDesired = MAXIMUM_ALLOWED
            &[4, 0, 2, 0],            // 44: lpSecurityAttributes referent
            &[12, 0, 0, 0],           // 48: nLength
            &[8, 0, 2, 0],            // 52: lpSecurityDescriptor referent
            &[4, 0, 0, 0],            // 56: cbInSecurityDescriptor
            &[3, 0, 0, 0],            // 60: cbOutSecurityDescriptor
            &[1, 0, 0, 0],            // 64: bInheritHandle (4-byte BOOL)
            &[4, 0, 0, 0],            // 68: SD max_count = cbIn
            &[0, 0, 0, 0],            // 72: offset
            &[3, 0, 0, 0],            // 76: actual_count = cbOut
            &[1, 2, 3],               // 80: SD bytes
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiCreateKeyRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);
        truncations(&stub, |s| ApiCreateKeyRequest::decode_stub(s, ByteOrder::Little));

        // without security attributes the pointer is null and nothing follows it
        let req2 = ApiCreateKeyRequest { security_attributes: None, ..req };
        let stub2 = req2.to_stub();
        assert_eq!(stub2.len(), 48);
        assert_eq!(&stub2[44..48], &[0, 0, 0, 0]);

        let resp = ApiCreateKeyResponse { disposition: 1, status: WError(0), rpc_status: 0, key: handle() };
        let stub = resp.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &[1, 0, 0, 0], // lpdwDisposition = REG_CREATED_NEW_KEY
            &[0, 0, 0, 0], // Status
            &[0, 0, 0, 0], // rpc_status
            &HANDLE,       // the new key's handle (function result)
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiCreateKeyResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
    }

    #[test]
    fn query_value_layout() {
        let req = ApiQueryValueRequest { key: handle(), value_name: "v".into(), cb_data: 0 };
        let stub = req.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &HANDLE,          // hKey
            &[2, 0, 0, 0],    // lpValueName max_count
            &[0, 0, 0, 0],    // offset
            &[2, 0, 0, 0],    // actual_count
            &[b'v', 0, 0, 0], // "v\0"
            &[0, 0, 0, 0],    // cbData
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiQueryValueRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);

        // size probe: ERROR_MORE_DATA with the required size, an empty lpData array
        let resp = ApiQueryValueResponse {
            value_type: 1,
            data: ConfBytes(vec![]),
            cb_required: 78,
            rpc_status: 0,
            result: WError(234),
        };
        #[rustfmt::skip]
        let expected = cat(&[
            &[1, 0, 0, 0],    // lpValueType = REG_SZ
            &[0, 0, 0, 0],    // lpData max_count = cbData = 0
            &[78, 0, 0, 0],   // lpcbRequired
            &[0, 0, 0, 0],    // rpc_status
            &[0xea, 0, 0, 0], // ERROR_MORE_DATA
        ]);
        assert_eq!(resp.to_stub(), expected);

        let resp = ApiQueryValueResponse {
            value_type: 3,
            data: ConfBytes(vec![0xaa, 0xbb, 0xcc]),
            cb_required: 3,
            rpc_status: 0,
            result: WError(0),
        };
        let stub = resp.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &[3, 0, 0, 0],       // REG_BINARY
            &[3, 0, 0, 0],       // max_count
            &[0xaa, 0xbb, 0xcc], // data
            &[0],                // pad to 4
            &[3, 0, 0, 0],       // lpcbRequired
            &[0, 0, 0, 0],       // rpc_status
            &[0, 0, 0, 0],       // result
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiQueryValueResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
        truncations(&stub, |s| ApiQueryValueResponse::decode_stub(s, ByteOrder::Little));
    }

    #[test]
    fn resource_control_layout() {
        let req = ApiResourceControlRequest {
            resource: handle(),
            control_code: 0x0100_0055,
            in_buffer: Some(ConfBytes(vec![0xde, 0xad])),
            in_buffer_size: 2,
            out_buffer_size: 0x100,
        };
        let stub = req.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &HANDLE,             // 0: hResource
            &[0x55, 0, 0, 1],    // 20: dwControlCode (RESOURCE_GET_RO_COMMON_PROPERTIES)
            &[4, 0, 2, 0],       // 24: lpInBuffer referent
            &[2, 0, 0, 0],       // 28: max_count
            &[0xde, 0xad, 0, 0], // 32: bytes + pad
            &[2, 0, 0, 0],       // 36: nInBufferSize
            &[0, 1, 0, 0],       // 40: nOutBufferSize
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiResourceControlRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);

        // the usual client call: no input buffer
        let req = ApiResourceControlRequest { in_buffer: None, in_buffer_size: 0, ..req };
        let stub = req.to_stub();
        assert_eq!(stub, cat(&[&HANDLE, &[0x55, 0, 0, 1], &[0; 8], &[0, 1, 0, 0]]));
        assert_eq!(ApiResourceControlRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);

        let resp = ApiResourceControlResponse {
            out_buffer: ConfVarBytes { max: 0x100, data: vec![1, 2, 3, 4, 5] },
            bytes_returned: 5,
            cb_required: 5,
            rpc_status: 0,
            result: WError(0),
        };
        let stub = resp.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &[0, 1, 0, 0],       // lpOutBuffer max_count = nOutBufferSize
            &[0, 0, 0, 0],       // offset
            &[5, 0, 0, 0],       // actual_count = *lpBytesReturned
            &[1, 2, 3, 4, 5],    // data
            &[0, 0, 0],          // pad
            &[5, 0, 0, 0],       // lpBytesReturned
            &[5, 0, 0, 0],       // lpcbRequired
            &[0, 0, 0, 0],       // rpc_status
            &[0, 0, 0, 0],       // result
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiResourceControlResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
        truncations(&stub, |s| ApiResourceControlResponse::decode_stub(s, ByteOrder::Little));
    }

    #[test]
    fn get_key_security_layout() {
        // smbtorture's size probe: null buffer, cbIn = cbOut = 0
        let req = ApiGetKeySecurityRequest {
            key: handle(),
            security_information: 7,
            security_descriptor: RpcSecurityDescriptor::default(),
        };
        let stub = req.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &HANDLE,       // hKey
            &[7, 0, 0, 0], // SecurityInformation = OWNER|GROUP|DACL
            &[0, 0, 0, 0], // lpSecurityDescriptor = NULL
            &[0, 0, 0, 0], // cbInSecurityDescriptor
            &[0, 0, 0, 0], // cbOutSecurityDescriptor
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiGetKeySecurityRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);

        // ERROR_INSUFFICIENT_BUFFER with the required size in cbIn
        let resp = ApiGetKeySecurityResponse {
            security_descriptor: RpcSecurityDescriptor {
                lp_security_descriptor: None,
                cb_in_security_descriptor: 116,
                cb_out_security_descriptor: 0,
            },
            rpc_status: 0,
            result: WError(122),
        };
        #[rustfmt::skip]
        let expected = cat(&[
            &[0, 0, 0, 0],    // NULL buffer
            &[116, 0, 0, 0],  // cbIn = required size
            &[0, 0, 0, 0],    // cbOut
            &[0, 0, 0, 0],    // rpc_status
            &[0x7a, 0, 0, 0], // ERROR_INSUFFICIENT_BUFFER
        ]);
        assert_eq!(resp.to_stub(), expected);

        // success: the buffer comes back as a conformant varying array
        let resp = ApiGetKeySecurityResponse {
            security_descriptor: RpcSecurityDescriptor::with_data(116, vec![1, 0, 4, 0x80]),
            rpc_status: 0,
            result: WError(0),
        };
        let stub = resp.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &[4, 0, 2, 0],       // referent
            &[116, 0, 0, 0],     // cbIn
            &[4, 0, 0, 0],       // cbOut
            &[116, 0, 0, 0],     // max_count = cbIn
            &[0, 0, 0, 0],       // offset
            &[4, 0, 0, 0],       // actual_count = cbOut
            &[1, 0, 4, 0x80],    // SD revision 1, control SE_SELF_RELATIVE...
            &[0, 0, 0, 0],       // rpc_status
            &[0, 0, 0, 0],       // result
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiGetKeySecurityResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
        truncations(&stub, |s| ApiGetKeySecurityResponse::decode_stub(s, ByteOrder::Little));

        // array counts that disagree with the members are rejected
        let mut bad = stub.clone();
        bad[12] = 115; // max_count != cbIn
        assert!(ApiGetKeySecurityResponse::decode_stub(&bad, ByteOrder::Little).is_err());
        let mut bad = stub;
        bad[8] = 3; // cbOut != actual_count
        assert!(ApiGetKeySecurityResponse::decode_stub(&bad, ByteOrder::Little).is_err());
    }

    #[test]
    fn create_enum_ex_roundtrip() {
        let req = ApiCreateEnumExRequest { cluster: handle(), enum_type: 1, options: 0 };
        let stub = req.to_stub();
        assert_eq!(stub, cat(&[&HANDLE, &[1, 0, 0, 0], &[0, 0, 0, 0]]));
        assert_eq!(ApiCreateEnumExRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);

        let resp = ApiCreateEnumExResponse {
            return_id_enum: Some(EnumList { entries: vec![EnumEntry { entry_type: 1, name: Some("1".into()) }] }),
            return_name_enum: Some(EnumList { entries: vec![EnumEntry { entry_type: 1, name: Some("n1".into()) }] }),
            rpc_status: 0,
            result: WError(0),
        };
        let stub = resp.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &[4, 0, 2, 0],                    // 0: ReturnIdEnum referent
            &[1, 0, 0, 0],                    // 4: max_count
            &[1, 0, 0, 0],                    // 8: EntryCount
            &[1, 0, 0, 0],                    // 12: Type = CLUSTER_ENUM_NODE
            &[8, 0, 2, 0],                    // 16: Name referent
            &[2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0], // 20: "1" counts
            &[b'1', 0, 0, 0],                 // 32: "1\0"
            &[0x0c, 0, 2, 0],                 // 36: ReturnNameEnum referent
            &[1, 0, 0, 0],                    // 40: max_count
            &[1, 0, 0, 0],                    // 44: EntryCount
            &[1, 0, 0, 0],                    // 48: Type
            &[0x10, 0, 2, 0],                 // 52: Name referent
            &[3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0], // 56: "n1" counts
            &[b'n', 0, b'1', 0, 0, 0, 0, 0],  // 68: "n1\0" + pad
            &[0, 0, 0, 0],                    // 76: rpc_status
            &[0, 0, 0, 0],                    // 80: result
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiCreateEnumExResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
        truncations(&stub, |s| ApiCreateEnumExResponse::decode_stub(s, ByteOrder::Little));
    }

    #[test]
    fn add_notify_v2_layout() {
        let mut object = handle();
        object.attributes = 1;
        let req = ApiAddNotifyV2Request {
            notify: handle(),
            object,
            filter: NotifyFilterAndTypeRpc { dw_object_type: 3, filter_flags: 4 },
            notify_key: 0x1234,
            version: 2,
            is_targeted_at_object: Bool32(true),
        };
        let stub = req.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &HANDLE,                   // 0: hNotify
            &[1, 0, 0, 0],             // 20: hObject attributes
            &HANDLE[4..],              // 24: hObject uuid
            &[3, 0, 0, 0],             // 40: dwObjectType = RESOURCE (already 8-aligned)
            &[0, 0, 0, 0],             // 44: pad to 8 for the LONGLONG
            &[4, 0, 0, 0, 0, 0, 0, 0], // 48: FilterFlags = CLUSTER_CHANGE_RESOURCE_STATE_V2
            &[0x34, 0x12, 0, 0],       // 56: dwNotifyKey
            &[2, 0, 0, 0],             // 60: dwVersion
            &[1, 0, 0, 0],             // 64: isTargetedAtObject (4-byte BOOL)
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiAddNotifyV2Request::decode_stub(&stub, ByteOrder::Little).unwrap(), req);

        let resp = ApiAddNotifyV2Response { rpc_status: 0, result: WError(6) };
        assert_eq!(resp.to_stub(), [0, 0, 0, 0, 6, 0, 0, 0]);
    }

    #[test]
    fn get_notify_v2_layout() {
        let resp = ApiGetNotifyV2Response {
            notifications: Some(ConfArray(vec![NotificationRpc {
                dw_notify_key: 0x55,
                notification_data: NotificationDataRpc {
                    filter_and_type: NotifyFilterAndTypeRpc { dw_object_type: 3, filter_flags: 4 },
                    buffer: Some(ConfBytes(vec![2, 0, 0, 0])),
                    dw_buffer_size: 4,
                    object_id: Some("id".into()),
                    parent_id: None,
                    name: Some("r".into()),
                    type_name: None,
                },
            }])),
            num_notifications: 1,
            result: WError(0),
        };
        let stub = resp.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &[4, 0, 2, 0],             // 0: Notifications referent
            &[1, 0, 0, 0],             // 4: max_count (4-aligned, not 8)
            &[0x55, 0, 0, 0],          // 8: dwNotifyKey (DWORD_PTR = 4 bytes)
            &[0, 0, 0, 0],             // 12: pad (NOTIFICATION_DATA_RPC is 8-aligned)
            &[3, 0, 0, 0],             // 16: dwObjectType
            &[0, 0, 0, 0],             // 20: pad
            &[4, 0, 0, 0, 0, 0, 0, 0], // 24: FilterFlags
            &[8, 0, 2, 0],             // 32: buffer referent
            &[4, 0, 0, 0],             // 36: dwBufferSize
            &[0x0c, 0, 2, 0],          // 40: ObjectId referent
            &[0, 0, 0, 0],             // 44: ParentId = NULL
            &[0x10, 0, 2, 0],          // 48: Name referent
            &[0, 0, 0, 0],             // 52: Type = NULL
            &[4, 0, 0, 0],             // 56: buffer max_count
            &[2, 0, 0, 0],             // 60: buffer bytes
            &[3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0], // 64: ObjectId counts
            &[b'i', 0, b'd', 0, 0, 0, 0, 0],       // 76: "id\0" + pad
            &[2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0], // 84: Name counts
            &[b'r', 0, 0, 0],          // 96: "r\0"
            &[1, 0, 0, 0],             // 100: dwNumNotifications
            &[0, 0, 0, 0],             // 104: result
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiGetNotifyV2Response::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
        truncations(&stub, |s| ApiGetNotifyV2Response::decode_stub(s, ByteOrder::Little));

        // port closed: null array, 0 notifications, ERROR_NO_MORE_ITEMS
        let closed = ApiGetNotifyV2Response { notifications: None, num_notifications: 0, result: WError(259) };
        assert_eq!(closed.to_stub(), [0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 0, 0]);
    }

    #[test]
    fn get_notify_async_roundtrip() {
        let resp = ApiGetNotifyAsyncResponse {
            notifications: Some(ConfArray(vec![
                NotificationDataAsyncRpc { dw_notify_key: 1, dw_filter: 0x100, name: Some("res".into()) },
                NotificationDataAsyncRpc { dw_notify_key: 2, dw_filter: 0x1000, name: None },
            ])),
            num_notifications: 2,
            result: WError(0),
        };
        let stub = resp.to_stub();
        assert_eq!(&stub[4..8], &[2, 0, 0, 0]);
        assert_eq!(ApiGetNotifyAsyncResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
    }

    #[test]
    fn create_group_enum_layout() {
        let multi_sz = vec![b'P', 0, 0, 0, 0, 0]; // "P\0\0" as UTF-16
        let req = ApiCreateGroupEnumRequest {
            cluster: handle(),
            properties: Some(ConfBytes(multi_sz.clone())),
            cb_properties: 6,
            ro_properties: None,
            cb_ro_properties: 0,
        };
        let stub = req.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &HANDLE,        // 0: hCluster
            &[4, 0, 2, 0],  // 20: pProperties referent
            &[6, 0, 0, 0],  // 24: max_count
            &multi_sz,      // 28: "P\0\0"
            &[0, 0],        // 34: pad
            &[6, 0, 0, 0],  // 36: cbProperties
            &[0, 0, 0, 0],  // 40: pRoProperties = NULL
            &[0, 0, 0, 0],  // 44: cbRoProperties
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiCreateGroupEnumRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);

        let props = vec![0u8; 12];
        let resp = ApiCreateGroupEnumResponse {
            result_list: Some(GroupEnumList {
                entries: vec![GroupEnumEntry {
                    name: Some("Cluster Group".into()),
                    id: Some("1e4a0c8b-0000-0000-0000-000000000000".into()),
                    dw_state: 0,
                    owner: Some("NODE1".into()),
                    dw_flags: 1,
                    cb_properties: 12,
                    properties: Some(ConfBytes(props)),
                    cb_ro_properties: 0,
                    ro_properties: None,
                }],
            }),
            rpc_status: 0,
            result: WError(0),
        };
        let stub = resp.to_stub();
        // referent, max_count, EntryCount, then the entry's 9 scalar members
        assert_eq!(&stub[4..12], &[1, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&stub[20..24], &[0, 0, 0, 0]); // dwState
        assert_eq!(&stub[28..32], &[1, 0, 0, 0]); // dwFlags
        assert_eq!(&stub[32..36], &[12, 0, 0, 0]); // cbProperties
        assert_eq!(ApiCreateGroupEnumResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
        truncations(&stub, |s| ApiCreateGroupEnumResponse::decode_stub(s, ByteOrder::Little));

        let resp = ApiCreateResourceEnumResponse {
            result_list: Some(ResourceEnumList {
                entries: vec![ResourceEnumEntry {
                    name: Some("Cluster Name".into()),
                    id: Some("r1".into()),
                    owner_name: Some("Cluster Group".into()),
                    owner_id: Some("g1".into()),
                    ..Default::default()
                }],
            }),
            rpc_status: 0,
            result: WError(0),
        };
        let stub = resp.to_stub();
        assert_eq!(ApiCreateResourceEnumResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
    }

    #[test]
    fn pause_node_ex_layout() {
        let req = ApiPauseNodeExRequest { node: handle(), drain_node: Bool32(true), pause_flags: 0 };
        let stub = req.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &HANDLE,       // hNode
            &[1, 0, 0, 0], // bDrainNode: BOOL is 4 bytes (Samba: boolean8 + 3 pad bytes)
            &[0, 0, 0, 0], // dwPauseFlags
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiPauseNodeExRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);
        // any non-zero BOOL is TRUE
        let mut other = stub;
        other[20] = 0;
        other[23] = 1;
        assert!(ApiPauseNodeExRequest::decode_stub(&other, ByteOrder::Little).unwrap().drain_node.0);
    }

    #[test]
    fn corrected_v3_shapes() {
        // ApiCreateEnum carries only dwType; ApiGetClusterName has no rpc_status.
        let req = ApiCreateEnumRequest { enum_type: 0x3f };
        assert_eq!(req.to_stub(), [0x3f, 0, 0, 0]);
        let resp = ApiGetClusterNameResponse { cluster_name: None, node_name: None, result: WError(0) };
        assert_eq!(resp.to_stub(), [0u8; 12]);
        // ApiChangeResourceGroupEx: the ULONGLONG is 8-aligned (at 40, already aligned)
        let req = ApiChangeResourceGroupExRequest { resource: handle(), group: handle(), flags: 1 };
        let stub = req.to_stub();
        assert_eq!(stub.len(), 48);
        assert_eq!(&stub[40..48], &[1, 0, 0, 0, 0, 0, 0, 0]);
        // ApiAddNotifyResourceTypeV2: the LONGLONG after a 20-byte handle gets 4 pad bytes
        let req = ApiAddNotifyResourceTypeV2Request {
            notify: handle(),
            filter: 1,
            notify_key: 9,
            res_type_name: "IP Address".into(),
            version: 2,
        };
        let stub = req.to_stub();
        assert_eq!(&stub[20..24], &[0, 0, 0, 0]);
        assert_eq!(&stub[24..32], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&stub[32..36], &[9, 0, 0, 0]);
        assert_eq!(ApiAddNotifyResourceTypeV2Request::decode_stub(&stub, ByteOrder::Little).unwrap(), req);
    }

    #[test]
    fn enum_key_and_network_priority_roundtrip() {
        let resp = ApiEnumKeyResponse {
            key_name: Some("Nodes".into()),
            last_write_time: FileTime::from_u64(0x01d0_1234_5678_9abc),
            rpc_status: 0,
            result: WError(0),
        };
        let stub = resp.to_stub();
        // the string pointee follows its referent before the FILETIME
        assert_eq!(&stub[4..8], &[6, 0, 0, 0]);
        assert_eq!(&stub[28..36], &[0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12, 0xd0, 0x01]);
        let back = ApiEnumKeyResponse::decode_stub(&stub, ByteOrder::Little).unwrap();
        assert_eq!(back, resp);
        assert_eq!(back.last_write_time.to_u64(), 0x01d0_1234_5678_9abc);

        let req = ApiSetNetworkPriorityOrderRequest {
            network_count: 2,
            network_id_list: ConfArray(vec![Some("a".into()), Some("b".into())]),
        };
        let stub = req.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &[2, 0, 0, 0],                          // NetworkCount
            &[2, 0, 0, 0],                          // max_count
            &[4, 0, 2, 0], &[8, 0, 2, 0],           // two string referents
            &[2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0], &[b'a', 0, 0, 0],
            &[2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0], &[b'b', 0, 0, 0],
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiSetNetworkPriorityOrderRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);
    }

    #[test]
    fn set_service_account_password_roundtrip() {
        let req =
            ApiSetServiceAccountPasswordRequest { new_password: "pw".into(), flags: 1, return_status_buffer_size: 4 };
        let stub = req.to_stub();
        // string (12 + 6 bytes), pad to 2 for the 16-bit enum, then the DWORD at 20
        assert_eq!(&stub[18..20], &[1, 0]);
        assert_eq!(&stub[20..24], &[4, 0, 0, 0]);
        assert_eq!(ApiSetServiceAccountPasswordRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);

        let resp = ApiSetServiceAccountPasswordResponse {
            return_status_buffer: ConfVarArray {
                max: 4,
                items: vec![IdlClusterSetPasswordStatus { node_id: 1, set_attempted: 1, return_status: 0 }],
            },
            size_returned: 1,
            expected_buffer_size: 1,
            result: WError(0),
        };
        let stub = resp.to_stub();
        #[rustfmt::skip]
        let expected = cat(&[
            &[4, 0, 0, 0], &[0, 0, 0, 0], &[1, 0, 0, 0], // max, offset, length
            &[1, 0, 0, 0],                               // NodeId
            &[1, 0, 0, 0],                               // SetAttempted (1 byte) + pad
            &[0, 0, 0, 0],                               // ReturnStatus
            &[1, 0, 0, 0], &[1, 0, 0, 0], &[0, 0, 0, 0], // SizeReturned, ExpectedBufferSize, result
        ]);
        assert_eq!(stub, expected);
        assert_eq!(ApiSetServiceAccountPasswordResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
    }

    #[test]
    fn reg_batch_update_codec() {
        let batch = ClusterRegBatchUpdate {
            version: 1,
            commands: vec![
                BatchUpdateCommand {
                    command_type: batch_command::CLUSREG_CREATE_KEY,
                    value_type: 0,
                    name: "a".into(),
                    data: vec![],
                },
                BatchUpdateCommand {
                    command_type: batch_command::CLUSREG_SET_VALUE,
                    value_type: 4,
                    name: "v".into(),
                    data: vec![1, 2, 3],
                },
            ],
        };
        let b = batch.to_bytes();
        #[rustfmt::skip]
        let expected = cat(&[
            &[1, 0, 0, 0],                                  // VersionNumber
            &[2, 0, 0, 0], &[0, 0, 0, 0], &[4, 0, 0, 0],    // CREATE_KEY, ValueType, NameLength
            &[b'a', 0, 0, 0], &[0, 0, 0, 0],                // "a\0", DataLength 0
            &[1, 0, 0, 0], &[4, 0, 0, 0], &[4, 0, 0, 0],    // SET_VALUE, REG_DWORD, NameLength
            &[b'v', 0, 0, 0], &[3, 0, 0, 0], &[1, 2, 3],    // "v\0", DataLength, Data
            &[0],                                           // pad to a 16-bit boundary
        ]);
        assert_eq!(b, expected);
        assert_eq!(ClusterRegBatchUpdate::parse(&b).unwrap(), batch);
        truncations(&b, ClusterRegBatchUpdate::parse);
        // a name without NUL is rejected
        let bad = cat(&[&[1, 0, 0, 0], &[2, 0, 0, 0], &[0, 0, 0, 0], &[2, 0, 0, 0], &[b'a', 0], &[0, 0, 0, 0]]);
        assert!(ClusterRegBatchUpdate::parse(&bad).is_err());
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        struct Noop;
        impl std::task::Wake for Noop {
            fn wake(self: std::sync::Arc<Self>) {}
        }
        let waker = std::task::Waker::from(std::sync::Arc::new(Noop));
        let mut cx = std::task::Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    struct Server;

    impl ClusapiServer for Server {
        type Ctx = ();
        async fn api_get_node_state(&self, _ctx: &(), req: ApiGetNodeStateRequest) -> ApiGetNodeStateResponse {
            assert_eq!(req.node, handle());
            ApiGetNodeStateResponse { state: 2, rpc_status: 0, result: WError(0) }
        }
    }

    #[test]
    fn dispatch_routes_and_defaults() {
        let mut out = Vec::new();
        let stub = ApiGetNodeStateRequest { node: handle() }.to_stub();
        block_on(Clusapi::dispatch(&Server, &(), 68, &stub, ByteOrder::Little, &mut out)).unwrap();
        assert_eq!(out, [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

        // a declared but unimplemented Open: Status = ERROR_CALL_NOT_IMPLEMENTED, null handle
        let stub = ApiOpenResourceRequest { resource_name: "x".into() }.to_stub();
        block_on(Clusapi::dispatch(&Server, &(), 8, &stub, ByteOrder::Little, &mut out)).unwrap();
        let resp = ApiOpenResourceResponse::decode_stub(&out, ByteOrder::Little).unwrap();
        assert_eq!(resp.status, WError(ERROR_CALL_NOT_IMPLEMENTED));
        assert!(resp.resource.is_null());

        for op in [80u16, 111, 140, 185] {
            let r = block_on(Clusapi::dispatch(&Server, &(), op, &[], ByteOrder::Little, &mut out));
            assert_eq!(r, Err(DispatchError::OpRange(op)));
        }
        let r = block_on(Clusapi::dispatch(&Server, &(), 68, &[0; 10], ByteOrder::Little, &mut out));
        assert!(matches!(r, Err(DispatchError::BadStub(_))));
    }
}
