//! The clusapi calls the domain-logon tests make with the blocking [`RpcClient`]: open the
//! cluster, read its name, pause and resume a node, read the cluster security descriptor (the
//! root value `Security Descriptor` of the cluster registry) and edit it with
//! `CLUSCTL_CLUSTER_SET_ACCOUNT_ACCESS`. Errors are the Win32 status (or the fault status of a
//! refused call).

use idl::clusapi::*;
use idl::{ByteOrder, ConfBytes, ContextHandle, WString};
use registry_model::security::SecurityDescriptor;
use registry_model::{PropValue, PropertyList};

use crate::win::MAXIMUM_ALLOWED;
use crate::RpcClient;

/// CLUSCTL_CLUSTER_SET_ACCOUNT_ACCESS ([MS-CMRP] 3.1.4.3.7.21).
pub const CLUSCTL_CLUSTER_SET_ACCOUNT_ACCESS: u32 = 0x0740_00f2;

fn decode<T>(r: idl::ndr::NdrResult<T>) -> T {
    r.unwrap_or_else(|e| panic!("undecodable response: {e:?}"))
}

/// ApiOpenCluster: the handle, or the status.
pub fn open_cluster(c: &mut RpcClient) -> Result<ContextHandle, u32> {
    let stub = c.call(ApiOpenClusterRequest::OPNUM, &ApiOpenClusterRequest {}.to_stub())?;
    let r = decode(ApiOpenClusterResponse::decode_stub(&stub, ByteOrder::Little));
    if r.status.0 != 0 {
        return Err(r.status.0);
    }
    Ok(r.cluster)
}

/// CLUSAPI_READ_ACCESS | CLUSAPI_CHANGE_ACCESS: "All".
pub const CLUSAPI_ALL_ACCESS: u32 = 0x3;

/// ApiOpenClusterEx with `desired`: the granted access (GENERIC_READ or GENERIC_ALL), or the
/// status. Changes nothing, so it probes what the caller may do.
pub fn open_cluster_ex(c: &mut RpcClient, desired: u32) -> Result<u32, u32> {
    let stub =
        c.call(ApiOpenClusterExRequest::OPNUM, &ApiOpenClusterExRequest { desired_access: desired }.to_stub())?;
    let r = decode(ApiOpenClusterExResponse::decode_stub(&stub, ByteOrder::Little));
    if r.status.0 != 0 {
        return Err(r.status.0);
    }
    Ok(r.granted_access)
}

/// ApiGetClusterName: the cluster name.
pub fn cluster_name(c: &mut RpcClient) -> Result<String, u32> {
    let stub = c.call(ApiGetClusterNameRequest::OPNUM, &ApiGetClusterNameRequest {}.to_stub())?;
    let r = decode(ApiGetClusterNameResponse::decode_stub(&stub, ByteOrder::Little));
    if r.result.0 != 0 {
        return Err(r.result.0);
    }
    Ok(r.cluster_name.map(|n| n.as_str().to_owned()).unwrap_or_default())
}

/// ApiOpenNode and ApiPauseNode (`pause`) or ApiResumeNode: the status of the first step
/// that fails, 0 when all succeed.
pub fn pause_or_resume(c: &mut RpcClient, node: &str, pause: bool) -> u32 {
    let stub = match c.call(ApiOpenNodeRequest::OPNUM, &ApiOpenNodeRequest { node_name: WString::new(node) }.to_stub())
    {
        Ok(s) => s,
        Err(f) => return f,
    };
    let r = decode(ApiOpenNodeResponse::decode_stub(&stub, ByteOrder::Little));
    if r.status.0 != 0 {
        return r.status.0;
    }
    let (opnum, stub) = if pause {
        (ApiPauseNodeRequest::OPNUM, ApiPauseNodeRequest { node: r.node }.to_stub())
    } else {
        (ApiResumeNodeRequest::OPNUM, ApiResumeNodeRequest { node: r.node }.to_stub())
    };
    match c.call(opnum, &stub) {
        Ok(s) => decode(ApiPauseNodeResponse::decode_stub(&s, ByteOrder::Little)).result.0,
        Err(f) => f,
    }
}

/// The cluster security descriptor: ApiGetRootKey, then ApiQueryValue of `Security Descriptor`.
pub fn cluster_descriptor(c: &mut RpcClient) -> Result<Vec<u8>, u32> {
    let stub = c.call(ApiGetRootKeyRequest::OPNUM, &ApiGetRootKeyRequest { sam_desired: MAXIMUM_ALLOWED }.to_stub())?;
    let root = decode(ApiGetRootKeyResponse::decode_stub(&stub, ByteOrder::Little));
    if root.status.0 != 0 {
        return Err(root.status.0);
    }
    let q = ApiQueryValueRequest { key: root.key, value_name: WString::new("Security Descriptor"), cb_data: 8192 };
    let stub = c.call(ApiQueryValueRequest::OPNUM, &q.to_stub())?;
    let r = decode(ApiQueryValueResponse::decode_stub(&stub, ByteOrder::Little));
    if r.result.0 != 0 {
        return Err(r.result.0);
    }
    let mut data = r.data.0;
    data.truncate(r.cb_required as usize);
    Ok(data)
}

/// The SIDs of a descriptor's DACL with their ACE type (0 allowed, 1 denied) and mask.
pub fn descriptor_aces(sd: &[u8]) -> Vec<(u8, u32, String)> {
    let sd = SecurityDescriptor::parse(sd).unwrap_or_else(|e| panic!("not a security descriptor: {e}"));
    sd.dacl
        .map(|acl| {
            acl.aces
                .iter()
                .filter_map(|a| {
                    let (sid, _) = registry_model::security::Sid::parse(a.body.get(4..)?).ok()?;
                    Some((a.ace_type, a.mask()?, sid.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// CLUSCTL_CLUSTER_SET_ACCOUNT_ACCESS with `AccountSID` = `account` (a SID or a name),
/// `AccountAccessMask` = `mask`, `AccountAccessType` = `kind`: the status.
pub fn set_account_access(c: &mut RpcClient, cluster: ContextHandle, account: &str, mask: u32, kind: u32) -> u32 {
    let mut l = PropertyList::new();
    l.push("AccountSID", PropValue::Sz(account.into()));
    l.push("AccountAccessMask", PropValue::Dword(mask));
    l.push("AccountAccessType", PropValue::Dword(kind));
    let input = l.encode();
    let req = ApiClusterControlRequest {
        cluster,
        control_code: CLUSCTL_CLUSTER_SET_ACCOUNT_ACCESS,
        in_buffer_size: input.len() as u32,
        in_buffer: Some(ConfBytes(input)),
        out_buffer_size: 0,
    };
    match c.call(ApiClusterControlRequest::OPNUM, &req.to_stub()) {
        Ok(s) => decode(ApiClusterControlResponse::decode_stub(&s, ByteOrder::Little)).result.0,
        Err(f) => f,
    }
}
