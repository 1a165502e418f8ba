//! Decoding every request and response stub with the project's own codecs (`idl`), by
//! interface and opnum, and checking that the decoder used the whole stub.
//!
//! `idl` has no "decode the response of opnum N" entry point (its generated dispatcher only
//! decodes requests, and only to call a server method), so the tables below list, per declared
//! operation, the generated request and response types. They were produced from the
//! `rpc_interface!` blocks of `idl/src/{clusapi,epm,mgmt}.rs`; [`check_tables`] (run by the
//! tests) proves that every table matches the interface's own `op_name` and `OPNUM`s, so a
//! table cannot silently drift from the IDL.

use idl::{ByteOrder, Guid, NdrResult};

/// The interfaces clusapid serves, as named by a presentation context's abstract syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Iface {
    /// clusapi v3.0 ([MS-CMRP]).
    Clusapi,
    /// epmapper v3.0.
    Epmapper,
    /// mgmt v1.0.
    Mgmt,
}

impl Iface {
    /// The interface of an abstract syntax (UUID and major version), if it is one of ours.
    pub fn from_syntax(uuid: Guid, major: u16) -> Option<Iface> {
        if uuid == idl::clusapi::Clusapi::UUID && major == idl::clusapi::Clusapi::VERSION_MAJOR {
            Some(Iface::Clusapi)
        } else if uuid == idl::epm::Epmapper::UUID && major == idl::epm::Epmapper::VERSION_MAJOR {
            Some(Iface::Epmapper)
        } else if uuid == idl::mgmt::Mgmt::UUID && major == idl::mgmt::Mgmt::VERSION_MAJOR {
            Some(Iface::Mgmt)
        } else {
            None
        }
    }

    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Iface::Clusapi => "clusapi",
            Iface::Epmapper => "epmapper",
            Iface::Mgmt => "mgmt",
        }
    }

    /// The operation's name, from the IDL.
    pub fn op_name(self, opnum: u16) -> Option<&'static str> {
        match self {
            Iface::Clusapi => idl::clusapi::Clusapi::op_name(opnum),
            Iface::Epmapper => idl::epm::Epmapper::op_name(opnum),
            Iface::Mgmt => idl::mgmt::Mgmt::op_name(opnum),
        }
    }
}

/// What decoding one stub found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes the decoder consumed: the shortest prefix of the stub that decodes to the same
    /// value as the whole stub.
    pub consumed: usize,
    /// Whether re-encoding the decoded value gives back exactly `stub[..consumed]`.
    pub canonical: bool,
    /// The Win32 status of a response (its last status-typed member), if it has one.
    pub status: Option<u32>,
}

/// Bytes after the NDR data that are tolerated as alignment padding.
pub const MAX_TRAILING: usize = 7;

/// One generated request or response type.
trait Stub: Sized + PartialEq {
    fn decode(stub: &[u8], order: ByteOrder) -> NdrResult<Self>;
    fn encode(&self) -> Vec<u8>;
    /// The status a response carries; requests have none.
    fn status(&self) -> Option<u32> {
        None
    }
}

/// Implements [`Stub`] for one generated type through its `decode_stub` and `to_stub`; a
/// response names the function that reads its status.
macro_rules! impl_stub {
    ($ty:ty $(, status: $status:path)?) => {
        impl Stub for $ty {
            fn decode(stub: &[u8], order: ByteOrder) -> NdrResult<Self> {
                Self::decode_stub(stub, order)
            }
            fn encode(&self) -> Vec<u8> {
                self.to_stub()
            }
            $(
                fn status(&self) -> Option<u32> {
                    $status(self)
                }
            )?
        }
    };
}

/// Decodes `stub` as `T`, and finds how much of it the decoder used: decoding is sequential and
/// deterministic, so a prefix decodes to the same value exactly when it holds every byte the
/// decoder reads. Fails when the stub does not decode, or when more than [`MAX_TRAILING`] bytes
/// are left over, or when the left-over bytes are not zero.
fn check<T: Stub>(stub: &[u8], order: ByteOrder) -> Result<Decoded, String> {
    let full = T::decode(stub, order).map_err(|e| format!("does not decode ({} bytes): {e}", stub.len()))?;
    let mut consumed = stub.len();
    for cut in 1..=stub.len().min(MAX_TRAILING + 1) {
        match T::decode(&stub[..stub.len() - cut], order) {
            Ok(v) if v == full => consumed = stub.len() - cut,
            _ => break,
        }
    }
    let trailing = &stub[consumed..];
    if trailing.len() > MAX_TRAILING {
        return Err(format!(
            "the first {consumed} of its {} bytes already decode to the same value: at least {} bytes of trailing \
             garbage",
            stub.len(),
            trailing.len()
        ));
    }
    if trailing.iter().any(|&b| b != 0) {
        return Err(format!(
            "{} trailing bytes after the NDR data are not zero padding: {trailing:02x?}",
            trailing.len()
        ));
    }
    let canonical = order == ByteOrder::Little && full.encode() == stub[..consumed];
    Ok(Decoded { consumed, canonical, status: full.status() })
}

/// Implements [`Stub`] for the listed types and writes the decoder of one interface, plus the
/// table check.
macro_rules! op_table {
    ($decode:ident, $table_check:ident, $iface:path, $module:ident; $( $opnum:literal $req:ident $resp:ident, )*) => {
        $(
            impl_stub!(idl::$module::$req);
            impl_stub!(idl::$module::$resp, status: idl::$module::$resp::status);
        )*

        fn $decode(opnum: u16, response: bool, stub: &[u8], order: ByteOrder) -> Option<Result<Decoded, String>> {
            match opnum {
                $(
                    $opnum => Some(if response {
                        check::<idl::$module::$resp>(stub, order)
                    } else {
                        check::<idl::$module::$req>(stub, order)
                    }),
                )*
                _ => None,
            }
        }

        fn $table_check() -> Result<usize, String> {
            type I = $iface;
            let listed: &[(u16, u16, u16, &str, &str)] = &[
                $( ($opnum, idl::$module::$req::OPNUM, idl::$module::$resp::OPNUM, stringify!($req), stringify!($resp)), )*
            ];
            for &(op, req_op, resp_op, req, resp) in listed {
                let name = I::op_name(op).ok_or_else(|| format!("{}: opnum {op} is listed but not declared", I::NAME))?;
                if req_op != op || resp_op != op || req != format!("{name}Request") || resp != format!("{name}Response") {
                    return Err(format!("{}: table entry {op} {req} {resp} does not match {name}", I::NAME));
                }
            }
            for op in 0..=u16::MAX {
                if I::op_name(op).is_some() && !listed.iter().any(|l| l.0 == op) {
                    return Err(format!("{}: opnum {op} ({:?}) is declared but missing from the table", I::NAME, I::op_name(op)));
                }
            }
            Ok(listed.len())
        }
    };
}

/// Decodes a request (`response == false`) or response stub of `iface`/`opnum`. `None` when
/// the opnum is not declared (the server answers it with a fault).
pub fn decode(
    iface: Iface,
    opnum: u16,
    response: bool,
    stub: &[u8],
    order: ByteOrder,
) -> Option<Result<Decoded, String>> {
    match iface {
        Iface::Clusapi => clusapi(opnum, response, stub, order),
        Iface::Epmapper => epmapper(opnum, response, stub, order),
        Iface::Mgmt => mgmt(opnum, response, stub, order),
    }
}

/// Checks the three tables against the IDL; returns how many operations they list.
pub fn check_tables() -> Result<usize, String> {
    Ok(check_clusapi()? + check_epmapper()? + check_mgmt()?)
}

op_table! { epmapper, check_epmapper, idl::epm::Epmapper, epm;
    2 EptLookupRequest EptLookupResponse,
    3 EptMapRequest EptMapResponse,
    4 EptLookupHandleFreeRequest EptLookupHandleFreeResponse,
}

op_table! { mgmt, check_mgmt, idl::mgmt::Mgmt, mgmt;
    0 RpcMgmtInqIfIdsRequest RpcMgmtInqIfIdsResponse,
    1 RpcMgmtInqStatsRequest RpcMgmtInqStatsResponse,
    2 RpcMgmtIsServerListeningRequest RpcMgmtIsServerListeningResponse,
    3 RpcMgmtStopServerListeningRequest RpcMgmtStopServerListeningResponse,
    4 RpcMgmtInqPrincNameRequest RpcMgmtInqPrincNameResponse,
}

op_table! { clusapi, check_clusapi, idl::clusapi::Clusapi, clusapi;
    0 ApiOpenClusterRequest ApiOpenClusterResponse,
    1 ApiCloseClusterRequest ApiCloseClusterResponse,
    2 ApiSetClusterNameRequest ApiSetClusterNameResponse,
    3 ApiGetClusterNameRequest ApiGetClusterNameResponse,
    4 ApiGetClusterVersionRequest ApiGetClusterVersionResponse,
    5 ApiGetQuorumResourceRequest ApiGetQuorumResourceResponse,
    6 ApiSetQuorumResourceRequest ApiSetQuorumResourceResponse,
    7 ApiCreateEnumRequest ApiCreateEnumResponse,
    8 ApiOpenResourceRequest ApiOpenResourceResponse,
    9 ApiCreateResourceRequest ApiCreateResourceResponse,
    10 ApiDeleteResourceRequest ApiDeleteResourceResponse,
    11 ApiCloseResourceRequest ApiCloseResourceResponse,
    12 ApiGetResourceStateRequest ApiGetResourceStateResponse,
    13 ApiSetResourceNameRequest ApiSetResourceNameResponse,
    14 ApiGetResourceIdRequest ApiGetResourceIdResponse,
    15 ApiGetResourceTypeRequest ApiGetResourceTypeResponse,
    16 ApiFailResourceRequest ApiFailResourceResponse,
    17 ApiOnlineResourceRequest ApiOnlineResourceResponse,
    18 ApiOfflineResourceRequest ApiOfflineResourceResponse,
    19 ApiAddResourceDependencyRequest ApiAddResourceDependencyResponse,
    20 ApiRemoveResourceDependencyRequest ApiRemoveResourceDependencyResponse,
    21 ApiCanResourceBeDependentRequest ApiCanResourceBeDependentResponse,
    22 ApiCreateResEnumRequest ApiCreateResEnumResponse,
    23 ApiAddResourceNodeRequest ApiAddResourceNodeResponse,
    24 ApiRemoveResourceNodeRequest ApiRemoveResourceNodeResponse,
    25 ApiChangeResourceGroupRequest ApiChangeResourceGroupResponse,
    26 ApiCreateResourceTypeRequest ApiCreateResourceTypeResponse,
    27 ApiDeleteResourceTypeRequest ApiDeleteResourceTypeResponse,
    28 ApiGetRootKeyRequest ApiGetRootKeyResponse,
    29 ApiCreateKeyRequest ApiCreateKeyResponse,
    30 ApiOpenKeyRequest ApiOpenKeyResponse,
    31 ApiEnumKeyRequest ApiEnumKeyResponse,
    32 ApiSetValueRequest ApiSetValueResponse,
    33 ApiDeleteValueRequest ApiDeleteValueResponse,
    34 ApiQueryValueRequest ApiQueryValueResponse,
    35 ApiDeleteKeyRequest ApiDeleteKeyResponse,
    36 ApiEnumValueRequest ApiEnumValueResponse,
    37 ApiCloseKeyRequest ApiCloseKeyResponse,
    38 ApiQueryInfoKeyRequest ApiQueryInfoKeyResponse,
    39 ApiSetKeySecurityRequest ApiSetKeySecurityResponse,
    40 ApiGetKeySecurityRequest ApiGetKeySecurityResponse,
    41 ApiOpenGroupRequest ApiOpenGroupResponse,
    42 ApiCreateGroupRequest ApiCreateGroupResponse,
    43 ApiDeleteGroupRequest ApiDeleteGroupResponse,
    44 ApiCloseGroupRequest ApiCloseGroupResponse,
    45 ApiGetGroupStateRequest ApiGetGroupStateResponse,
    46 ApiSetGroupNameRequest ApiSetGroupNameResponse,
    47 ApiGetGroupIdRequest ApiGetGroupIdResponse,
    48 ApiGetNodeIdRequest ApiGetNodeIdResponse,
    49 ApiOnlineGroupRequest ApiOnlineGroupResponse,
    50 ApiOfflineGroupRequest ApiOfflineGroupResponse,
    51 ApiMoveGroupRequest ApiMoveGroupResponse,
    52 ApiMoveGroupToNodeRequest ApiMoveGroupToNodeResponse,
    53 ApiCreateGroupResourceEnumRequest ApiCreateGroupResourceEnumResponse,
    54 ApiSetGroupNodeListRequest ApiSetGroupNodeListResponse,
    55 ApiCreateNotifyRequest ApiCreateNotifyResponse,
    56 ApiCloseNotifyRequest ApiCloseNotifyResponse,
    57 ApiAddNotifyClusterRequest ApiAddNotifyClusterResponse,
    58 ApiAddNotifyNodeRequest ApiAddNotifyNodeResponse,
    59 ApiAddNotifyGroupRequest ApiAddNotifyGroupResponse,
    60 ApiAddNotifyResourceRequest ApiAddNotifyResourceResponse,
    61 ApiAddNotifyKeyRequest ApiAddNotifyKeyResponse,
    62 ApiReAddNotifyNodeRequest ApiReAddNotifyNodeResponse,
    63 ApiReAddNotifyGroupRequest ApiReAddNotifyGroupResponse,
    64 ApiReAddNotifyResourceRequest ApiReAddNotifyResourceResponse,
    65 ApiGetNotifyRequest ApiGetNotifyResponse,
    66 ApiOpenNodeRequest ApiOpenNodeResponse,
    67 ApiCloseNodeRequest ApiCloseNodeResponse,
    68 ApiGetNodeStateRequest ApiGetNodeStateResponse,
    69 ApiPauseNodeRequest ApiPauseNodeResponse,
    70 ApiResumeNodeRequest ApiResumeNodeResponse,
    71 ApiEvictNodeRequest ApiEvictNodeResponse,
    72 ApiNodeResourceControlRequest ApiNodeResourceControlResponse,
    73 ApiResourceControlRequest ApiResourceControlResponse,
    74 ApiNodeResourceTypeControlRequest ApiNodeResourceTypeControlResponse,
    75 ApiResourceTypeControlRequest ApiResourceTypeControlResponse,
    76 ApiNodeGroupControlRequest ApiNodeGroupControlResponse,
    77 ApiGroupControlRequest ApiGroupControlResponse,
    78 ApiNodeNodeControlRequest ApiNodeNodeControlResponse,
    79 ApiNodeControlRequest ApiNodeControlResponse,
    81 ApiOpenNetworkRequest ApiOpenNetworkResponse,
    82 ApiCloseNetworkRequest ApiCloseNetworkResponse,
    83 ApiGetNetworkStateRequest ApiGetNetworkStateResponse,
    84 ApiSetNetworkNameRequest ApiSetNetworkNameResponse,
    85 ApiCreateNetworkEnumRequest ApiCreateNetworkEnumResponse,
    86 ApiGetNetworkIdRequest ApiGetNetworkIdResponse,
    87 ApiSetNetworkPriorityOrderRequest ApiSetNetworkPriorityOrderResponse,
    88 ApiNodeNetworkControlRequest ApiNodeNetworkControlResponse,
    89 ApiNetworkControlRequest ApiNetworkControlResponse,
    90 ApiAddNotifyNetworkRequest ApiAddNotifyNetworkResponse,
    91 ApiReAddNotifyNetworkRequest ApiReAddNotifyNetworkResponse,
    92 ApiOpenNetInterfaceRequest ApiOpenNetInterfaceResponse,
    93 ApiCloseNetInterfaceRequest ApiCloseNetInterfaceResponse,
    94 ApiGetNetInterfaceStateRequest ApiGetNetInterfaceStateResponse,
    95 ApiGetNetInterfaceRequest ApiGetNetInterfaceResponse,
    96 ApiGetNetInterfaceIdRequest ApiGetNetInterfaceIdResponse,
    97 ApiNodeNetInterfaceControlRequest ApiNodeNetInterfaceControlResponse,
    98 ApiNetInterfaceControlRequest ApiNetInterfaceControlResponse,
    99 ApiAddNotifyNetInterfaceRequest ApiAddNotifyNetInterfaceResponse,
    100 ApiReAddNotifyNetInterfaceRequest ApiReAddNotifyNetInterfaceResponse,
    101 ApiCreateNodeEnumRequest ApiCreateNodeEnumResponse,
    102 ApiGetClusterVersion2Request ApiGetClusterVersion2Response,
    103 ApiCreateResTypeEnumRequest ApiCreateResTypeEnumResponse,
    104 ApiBackupClusterDatabaseRequest ApiBackupClusterDatabaseResponse,
    105 ApiNodeClusterControlRequest ApiNodeClusterControlResponse,
    106 ApiClusterControlRequest ApiClusterControlResponse,
    107 ApiUnblockGetNotifyCallRequest ApiUnblockGetNotifyCallResponse,
    108 ApiSetServiceAccountPasswordRequest ApiSetServiceAccountPasswordResponse,
    109 ApiSetResourceDependencyExpressionRequest ApiSetResourceDependencyExpressionResponse,
    110 ApiGetResourceDependencyExpressionRequest ApiGetResourceDependencyExpressionResponse,
    112 ApiGetResourceNetworkNameRequest ApiGetResourceNetworkNameResponse,
    113 ApiExecuteBatchRequest ApiExecuteBatchResponse,
    114 ApiCreateBatchPortRequest ApiCreateBatchPortResponse,
    115 ApiGetBatchNotificationRequest ApiGetBatchNotificationResponse,
    116 ApiCloseBatchPortRequest ApiCloseBatchPortResponse,
    117 ApiOpenClusterExRequest ApiOpenClusterExResponse,
    118 ApiOpenNodeExRequest ApiOpenNodeExResponse,
    119 ApiOpenGroupExRequest ApiOpenGroupExResponse,
    120 ApiOpenResourceExRequest ApiOpenResourceExResponse,
    121 ApiOpenNetworkExRequest ApiOpenNetworkExResponse,
    122 ApiOpenNetInterfaceExRequest ApiOpenNetInterfaceExResponse,
    123 ApiChangeCsvStateRequest ApiChangeCsvStateResponse,
    124 ApiCreateNodeEnumExRequest ApiCreateNodeEnumExResponse,
    125 ApiCreateEnumExRequest ApiCreateEnumExResponse,
    126 ApiPauseNodeExRequest ApiPauseNodeExResponse,
    127 ApiPauseNodeWithDrainTargetRequest ApiPauseNodeWithDrainTargetResponse,
    128 ApiResumeNodeExRequest ApiResumeNodeExResponse,
    129 ApiCreateGroupExRequest ApiCreateGroupExResponse,
    130 ApiOnlineGroupExRequest ApiOnlineGroupExResponse,
    131 ApiOfflineGroupExRequest ApiOfflineGroupExResponse,
    132 ApiMoveGroupExRequest ApiMoveGroupExResponse,
    133 ApiMoveGroupToNodeExRequest ApiMoveGroupToNodeExResponse,
    134 ApiCancelClusterGroupOperationRequest ApiCancelClusterGroupOperationResponse,
    135 ApiOnlineResourceExRequest ApiOnlineResourceExResponse,
    136 ApiOfflineResourceExRequest ApiOfflineResourceExResponse,
    137 ApiCreateNotifyV2Request ApiCreateNotifyV2Response,
    138 ApiAddNotifyV2Request ApiAddNotifyV2Response,
    139 ApiGetNotifyV2Request ApiGetNotifyV2Response,
    143 ApiCreateGroupEnumRequest ApiCreateGroupEnumResponse,
    144 ApiCreateResourceEnumRequest ApiCreateResourceEnumResponse,
    145 ApiExecuteReadBatchRequest ApiExecuteReadBatchResponse,
    146 ApiRestartResourceRequest ApiRestartResourceResponse,
    147 ApiGetNotifyAsyncRequest ApiGetNotifyAsyncResponse,
    155 ApiAddNotifyResourceTypeV2Request ApiAddNotifyResourceTypeV2Response,
    157 ApiExecuteReadBatchExRequest ApiExecuteReadBatchExResponse,
    163 ApiCreateGroupSetRequest ApiCreateGroupSetResponse,
    164 ApiOpenGroupSetRequest ApiOpenGroupSetResponse,
    165 ApiCloseGroupSetRequest ApiCloseGroupSetResponse,
    166 ApiDeleteGroupSetRequest ApiDeleteGroupSetResponse,
    167 ApiAddGroupToGroupSetRequest ApiAddGroupToGroupSetResponse,
    168 ApiRemoveGroupFromGroupSetRequest ApiRemoveGroupFromGroupSetResponse,
    169 ApiMoveGroupToGroupSetRequest ApiMoveGroupToGroupSetResponse,
    171 ApiAddGroupSetDependencyRequest ApiAddGroupSetDependencyResponse,
    172 ApiAddGroupToGroupSetDependencyRequest ApiAddGroupToGroupSetDependencyResponse,
    173 ApiNodeGroupSetControlRequest ApiNodeGroupSetControlResponse,
    174 ApiGroupSetControlRequest ApiGroupSetControlResponse,
    175 ApiSetGroupDependencyExpressionRequest ApiSetGroupDependencyExpressionResponse,
    176 ApiRemoveClusterGroupDependencyRequest ApiRemoveClusterGroupDependencyResponse,
    177 ApiSetGroupSetDependencyExpressionRequest ApiSetGroupSetDependencyExpressionResponse,
    178 ApiRemoveGroupSetDependencyRequest ApiRemoveGroupSetDependencyResponse,
    179 ApiRemoveClusterGroupToGroupSetDependencyRequest ApiRemoveClusterGroupToGroupSetDependencyResponse,
    180 ApiCreateGroupSetEnumRequest ApiCreateGroupSetEnumResponse,
    181 ApiCreateNetInterfaceEnumRequest ApiCreateNetInterfaceEnumResponse,
    182 ApiChangeCsvStateExRequest ApiChangeCsvStateExResponse,
    183 ApiAddGroupToGroupSetExRequest ApiAddGroupToGroupSetExResponse,
    184 ApiChangeResourceGroupExRequest ApiChangeResourceGroupExResponse,
}
