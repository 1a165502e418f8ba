//! The cluster registry methods over a simulated cluster: every method's success and error
//! paths, the derived tree, persistence through the backend, concurrent writers.

use std::sync::Arc;

use idl::clusapi::*;
use idl::{ConfBytes, ContextHandle, WString};
use nodes::{ClusterBackend, SimConfig, SimulatedCluster};
use registry_model::security::{self, SecurityDescriptor, Sid};
use registry_model::value::{REG_BINARY, REG_DWORD, REG_NONE, REG_SZ};
use registry_model::RegValue;

use super::*;
use crate::accounts::AccessLevel;
use crate::services::clusapi::cluster::enum_entries;
use crate::services::clusapi::properties::Obj;

// ---- helpers (shared with the batch tests) ----

pub(crate) fn sim() -> Arc<SimulatedCluster> {
    Arc::new(SimulatedCluster::new(SimConfig::with_nodes(3)).unwrap())
}

pub(crate) fn svc_over(b: &Arc<SimulatedCluster>) -> ClusapiService {
    ClusapiService::new(b.clone())
}

pub(crate) fn ctx(level: Option<AccessLevel>) -> CallCtx {
    CallCtx::local(level)
}

pub(crate) fn admin() -> CallCtx {
    ctx(Some(AccessLevel::Full))
}

pub(crate) fn reader() -> CallCtx {
    ctx(Some(AccessLevel::ReadOnly))
}

pub(crate) async fn root(s: &ClusapiService, c: &CallCtx) -> ContextHandle {
    let r = api_get_root_key(s, c, ApiGetRootKeyRequest { sam_desired: sam::MAXIMUM_ALLOWED });
    assert_eq!(r.status.0, 0);
    r.key
}

/// What most tests start from: a service over `b`, an association with full access and the
/// root key handle it opened.
pub(crate) async fn admin_root(b: &Arc<SimulatedCluster>) -> (ClusapiService, CallCtx, ContextHandle) {
    let s = svc_over(b);
    let c = admin();
    let r = root(&s, &c).await;
    (s, c, r)
}

pub(crate) async fn open(s: &ClusapiService, c: &CallCtx, h: &ContextHandle, sub: &str) -> ApiOpenKeyResponse {
    api_open_key(s, c, ApiOpenKeyRequest { key: *h, sub_key: WString::new(sub), sam_desired: sam::MAXIMUM_ALLOWED })
        .await
}

pub(crate) async fn create(s: &ClusapiService, c: &CallCtx, h: &ContextHandle, sub: &str) -> ApiCreateKeyResponse {
    api_create_key(
        s,
        c,
        ApiCreateKeyRequest {
            key: *h,
            sub_key: WString::new(sub),
            options: 0,
            sam_desired: sam::KEY_ALL_ACCESS,
            security_attributes: None,
        },
    )
    .await
}

pub(crate) async fn set(s: &ClusapiService, c: &CallCtx, h: &ContextHandle, name: &str, v: &RegValue) -> u32 {
    api_set_value(
        s,
        c,
        ApiSetValueRequest {
            key: *h,
            value_name: WString::new(name),
            value_type: v.kind,
            data: ConfBytes(v.data.clone()),
            cb_data: len32(v.data.len()),
        },
    )
    .await
    .result
    .0
}

pub(crate) async fn query(
    s: &ClusapiService,
    c: &CallCtx,
    h: &ContextHandle,
    name: &str,
    cb: u32,
) -> ApiQueryValueResponse {
    api_query_value(s, c, ApiQueryValueRequest { key: *h, value_name: WString::new(name), cb_data: cb }).await
}

/// The value `name` of the handle's key, read with an exact buffer.
pub(crate) async fn read(s: &ClusapiService, c: &CallCtx, h: &ContextHandle, name: &str) -> Result<RegValue, u32> {
    let probe = query(s, c, h, name, 0).await;
    match probe.result.0 {
        0 => return Ok(RegValue { kind: probe.value_type, data: Vec::new() }),
        win::ERROR_MORE_DATA => {}
        e => return Err(e),
    }
    let r = query(s, c, h, name, probe.cb_required).await;
    assert_eq!(r.result.0, 0);
    Ok(RegValue { kind: r.value_type, data: r.data.0 })
}

async fn enum_value(s: &ClusapiService, c: &CallCtx, h: &ContextHandle, index: u32, cb: u32) -> ApiEnumValueResponse {
    api_enum_value(s, c, ApiEnumValueRequest { key: *h, index, cb_data: cb }).await
}

async fn get_sd(s: &ClusapiService, c: &CallCtx, h: &ContextHandle, si: u32, cb_in: u32) -> ApiGetKeySecurityResponse {
    api_get_key_security(
        s,
        c,
        ApiGetKeySecurityRequest {
            key: *h,
            security_information: si,
            security_descriptor: RpcSecurityDescriptor {
                lp_security_descriptor: (cb_in > 0).then(Vec::new),
                cb_in_security_descriptor: cb_in,
                cb_out_security_descriptor: 0,
            },
        },
    )
    .await
}

/// KEY_WRITE: READ_CONTROL | KEY_SET_VALUE | KEY_CREATE_SUB_KEY.
const KEY_WRITE: u32 = 0x0002_0006;

fn tmpdir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("clusapid-registry-{tag}-")).tempdir().unwrap()
}

// ---- the derived tree ----

#[test]
fn derived_tree_mirrors_the_model() {
    let b = sim();
    let snap = b.snapshot();
    let reg = derived_tree(&snap);
    let root = &reg.root;
    assert_eq!(root.value("ClusterName"), Some(&RegValue::sz("CTDB-CLUSTER")));
    assert_eq!(root.value("ClusterInstanceID"), Some(&RegValue::sz(&snap.cluster.instance_id)));
    assert_eq!(root.value("Security Descriptor"), Some(&RegValue::binary(security::default_key_sd())));
    // The cluster's common properties, as the control methods report them.
    for (name, v) in Obj::Cluster.values(&snap) {
        assert_eq!(root.value(name), v.to_reg_value().as_ref(), "{name}");
    }
    let n0 = &snap.nodes[0];
    for (name, v) in Obj::Node(n0).values(&snap) {
        assert_eq!(reg.open(&format!("Nodes\\{}", n0.id)).unwrap().value(name), v.to_reg_value().as_ref(), "{name}");
    }
    let names: Vec<_> = root.subkeys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["Groups", "NetworkInterfaces", "Networks", "Nodes", "Quorum", "Resources", "ResourceTypes"]);
    // Subkey names are the ids ApiCreateEnumEx (and ApiGet*Id) return.
    for (e, id) in enum_entries(&snap, 0x3F) {
        let collection = match e.entry_type {
            0x1 => "Nodes",
            0x2 => "ResourceTypes",
            0x4 => "Resources",
            0x8 => "Groups",
            0x10 => "Networks",
            0x20 => "NetworkInterfaces",
            t => panic!("type {t}"),
        };
        let k = reg.open(&format!("{collection}\\{id}")).unwrap_or_else(|| panic!("{collection}\\{id}"));
        let name_value = if collection == "Nodes" { "NodeName" } else { "Name" };
        let name = e.name.unwrap().0;
        if collection != "ResourceTypes" {
            assert_eq!(k.value(name_value), Some(&RegValue::sz(&name)), "{collection}\\{id}");
        }
    }
    let n = &snap.nodes[1];
    let k = reg.open(&format!("Nodes\\{}", n.id)).unwrap();
    let v = snap.cluster.windows_version;
    assert_eq!(k.value("NodeHighestVersion").unwrap().as_dword(), Some(v.cluster_version()));
    assert_eq!(k.value("BuildNumber").unwrap().as_dword(), Some(u32::from(v.os_version().2)));
    let g = snap.cluster_group().unwrap();
    let k = reg.open(&format!("Groups\\{}", g.id)).unwrap();
    assert_eq!(k.value("Contains").unwrap().as_multi_sz().unwrap(), g.resource_ids);
    assert_eq!(k.value("GroupType").unwrap().as_dword(), Some(1));
    let r = snap.resources.iter().find(|r| !r.dependencies.is_empty()).unwrap();
    let k = reg.open(&format!("Resources\\{}", r.id)).unwrap();
    assert_eq!(k.value("DependsOn").unwrap().as_multi_sz().unwrap(), r.dependencies);
    assert_eq!(k.value("Type").unwrap().as_string().unwrap(), r.type_name);
    let params = k.subkey("Parameters").unwrap();
    assert_eq!(params.values.len(), r.private_props.len());
    let i = &snap.net_interfaces[0];
    let k = reg.open(&format!("NetworkInterfaces\\{}", i.id)).unwrap();
    assert_eq!(k.value("Node").unwrap().as_string().unwrap(), snap.node_by_pnn(i.node_pnn).unwrap().id);
    assert_eq!(k.value("Network").unwrap().as_string().unwrap(), i.network_id);
    assert!(reg.open("Quorum").unwrap().value("Resource").is_some());
}

#[test]
fn every_value_fits_the_2048_byte_enum_buffer() {
    let reg = derived_tree(&sim().snapshot());
    fn walk(k: &registry_model::Key, path: &str) {
        for (n, e) in k.values.iter() {
            assert!(e.value.data.len() <= 2048, "{path}: {n} is {} bytes", e.value.data.len());
        }
        for c in k.subkeys.iter() {
            walk(c, &format!("{path}\\{}", c.name));
        }
    }
    walk(&reg.root, "");
}

#[tokio::test]
async fn derived_tree_follows_model_changes() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    let id = b.create_group("Extra").await.unwrap();
    let g = open(&s, &c, &r, &format!("Groups\\{id}")).await;
    assert_eq!(g.status.0, 0);
    assert_eq!(read(&s, &c, &g.key, "Name").await.unwrap(), RegValue::sz("Extra"));
    b.rename_group(&id, "Renamed").await.unwrap();
    assert_eq!(read(&s, &c, &g.key, "Name").await.unwrap(), RegValue::sz("Renamed"));
    b.delete_group(&id).await.unwrap();
    // The handle's key is gone.
    assert_eq!(read(&s, &c, &g.key, "Name").await.unwrap_err(), win::ERROR_KEY_DELETED);
    let e = api_enum_key(&s, &c, ApiEnumKeyRequest { key: g.key, index: 0 }).await;
    assert_eq!(e.result.0, win::ERROR_KEY_DELETED);
}

// ---- handles and access ----

#[test]
fn sam_evaluation() {
    let all = Some(Granted::All);
    let ro = Some(Granted::Read);
    assert_eq!(evaluate_sam(sam::MAXIMUM_ALLOWED, all), Ok(Granted::All));
    assert_eq!(evaluate_sam(sam::MAXIMUM_ALLOWED, ro), Ok(Granted::Read));
    assert_eq!(evaluate_sam(sam::KEY_READ, ro), Ok(Granted::Read));
    assert_eq!(evaluate_sam(sam::KEY_READ, all), Ok(Granted::All));
    assert_eq!(evaluate_sam(sam::GENERIC_READ, ro), Ok(Granted::Read));
    assert_eq!(evaluate_sam(0, ro), Ok(Granted::Read));
    for w in [
        sam::KEY_ALL_ACCESS,
        sam::KEY_SET_VALUE,
        sam::KEY_CREATE_SUB_KEY,
        sam::DELETE,
        sam::WRITE_DAC,
        sam::GENERIC_ALL,
    ] {
        assert_eq!(evaluate_sam(w, ro), Err(5), "{w:#x}");
        assert_eq!(evaluate_sam(w, all), Ok(Granted::All), "{w:#x}");
    }
    assert_eq!(evaluate_sam(sam::KEY_READ, None), Err(5));
}

#[tokio::test]
async fn get_root_key_and_close_key() {
    let s = svc_over(&sim());
    let c = admin();
    let r = api_get_root_key(&s, &c, ApiGetRootKeyRequest { sam_desired: sam::MAXIMUM_ALLOWED });
    assert_eq!((r.status.0, r.rpc_status), (0, 0));
    let h = c.group.get::<KeyHandle>(&r.key).unwrap();
    assert_eq!((h.path.as_str(), h.access), ("", Granted::All));
    let ro = reader();
    let r2 = api_get_root_key(&s, &ro, ApiGetRootKeyRequest { sam_desired: sam::KEY_READ });
    assert_eq!(ro.group.get::<KeyHandle>(&r2.key).unwrap().access, Granted::Read);
    let denied = api_get_root_key(&s, &ro, ApiGetRootKeyRequest { sam_desired: sam::KEY_ALL_ACCESS });
    assert_eq!((denied.status.0, denied.key), (5, ContextHandle::NULL));
    let anon = api_get_root_key(&s, &ctx(None), ApiGetRootKeyRequest { sam_desired: sam::KEY_READ });
    assert_eq!((anon.status.0, anon.key), (5, ContextHandle::NULL));

    let closed = api_close_key(&s, &c, ApiCloseKeyRequest { key: r.key });
    assert_eq!((closed.result.0, closed.key), (0, ContextHandle::NULL));
    let again = api_close_key(&s, &c, ApiCloseKeyRequest { key: r.key });
    assert_eq!((again.result.0, again.key), (6, r.key));
    // A handle of another association is unknown here.
    assert_eq!(api_close_key(&s, &c, ApiCloseKeyRequest { key: r2.key }).result.0, 6);
    // Handles are typed: a key handle is not a batch port and vice versa.
    let r3 = root(&s, &c).await;
    assert_eq!(
        super::super::batch::api_close_batch_port(&s, &c, ApiCloseBatchPortRequest { batch_port: r3 }).result.0,
        6
    );
}

#[tokio::test]
async fn open_key() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    let node_id = b.snapshot().nodes[0].id.clone();
    let k = open(&s, &c, &r, &format!("nodes\\{node_id}")).await;
    assert_eq!((k.status.0, k.rpc_status), (0, 0));
    // The handle records the path as stored.
    assert_eq!(c.group.get::<KeyHandle>(&k.key).unwrap().path, format!("Nodes\\{node_id}"));
    // Relative to the handle's key; "" is the key itself.
    let n = open(&s, &c, &r, "Nodes").await;
    let k2 = open(&s, &c, &n.key, &node_id).await;
    assert_eq!(read(&s, &c, &k2.key, "NodeName").await.unwrap(), RegValue::sz("CTDB_NODE_0"));
    let same = open(&s, &c, &k2.key, "").await;
    assert_eq!(read(&s, &c, &same.key, "NodeName").await.unwrap(), RegValue::sz("CTDB_NODE_0"));
    for (sub, want) in [("Nodes\\99", 2), ("NoSuchKey", 2), ("\\Nodes", 87), ("Nodes\\\\1", 87)] {
        let e = open(&s, &c, &r, sub).await;
        assert_eq!((e.status.0, e.key), (want, ContextHandle::NULL), "{sub:?}");
    }
    let bad = open(&s, &c, &ContextHandle { attributes: 0, uuid: idl::Guid::from_random([7; 16]) }, "Nodes").await;
    assert_eq!(bad.status.0, 6);
    // A read-only account may open for reading only.
    let ro = reader();
    let rr = root(&s, &ro).await;
    let w = api_open_key(&s, &ro, ApiOpenKeyRequest { key: rr, sub_key: "Nodes".into(), sam_desired: KEY_WRITE }).await;
    assert_eq!(w.status.0, 5);
    assert_eq!(open(&s, &ro, &rr, "Nodes").await.status.0, 0);
}

#[tokio::test]
async fn enum_key() {
    let (s, c, r) = admin_root(&sim()).await;
    let mut names = Vec::new();
    for index in 0.. {
        let e = api_enum_key(&s, &c, ApiEnumKeyRequest { key: r, index }).await;
        if e.result.0 == win::ERROR_NO_MORE_ITEMS {
            assert_eq!(e.key_name, None);
            break;
        }
        assert_eq!((e.result.0, e.rpc_status), (0, 0));
        assert!(e.last_write_time.to_u64() > 0);
        names.push(e.key_name.unwrap().0);
    }
    assert_eq!(names, ["Groups", "NetworkInterfaces", "Networks", "Nodes", "Quorum", "Resources", "ResourceTypes"]);
    let e = api_enum_key(&s, &c, ApiEnumKeyRequest { key: r, index: u32::MAX }).await;
    assert_eq!(e.result.0, 259);
    let e = api_enum_key(&s, &c, ApiEnumKeyRequest { key: ContextHandle::NULL, index: 0 }).await;
    assert_eq!(e.result.0, 6);
    // An admin key shows up among the derived ones, in name order.
    assert_eq!(create(&s, &c, &r, "Admin").await.status.0, 0);
    let e = api_enum_key(&s, &c, ApiEnumKeyRequest { key: r, index: 0 }).await;
    assert_eq!(e.key_name.unwrap().0, "Admin");
}

#[tokio::test]
async fn query_value_more_data_protocol() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    let id = RegValue::sz(&b.snapshot().cluster.instance_id);
    // smbtorture's probe: a 0-byte buffer → ERROR_MORE_DATA and the size needed.
    let probe = query(&s, &c, &r, "ClusterInstanceID", 0).await;
    assert_eq!((probe.result.0, probe.cb_required, probe.data.0.len()), (234, len32(id.data.len()), 0));
    assert_eq!(probe.value_type, REG_SZ);
    let short = query(&s, &c, &r, "ClusterInstanceID", 10).await;
    assert_eq!((short.result.0, short.data.0.len()), (234, 10), "lpData always carries cbData bytes");
    let exact = query(&s, &c, &r, "ClusterInstanceID", probe.cb_required).await;
    assert_eq!((exact.result.0, exact.rpc_status, exact.value_type), (0, 0, REG_SZ));
    assert_eq!((exact.data.0, exact.cb_required), (id.data.clone(), len32(id.data.len())));
    let big = query(&s, &c, &r, "clusterinstanceid", 200).await;
    assert_eq!((big.result.0, big.data.0.len(), big.cb_required), (0, 200, len32(id.data.len())));
    assert_eq!(&big.data.0[..id.data.len()], &id.data[..]);
    let missing = query(&s, &c, &r, "NoSuchValue", 16).await;
    assert_eq!((missing.result.0, missing.data.0.len()), (2, 16));
    let huge = query(&s, &c, &r, "ClusterName", MAX_QUERY_BUFFER + 1).await;
    assert_eq!(huge.result.0, win::ERROR_NOT_ENOUGH_MEMORY);
    let bad = query(&s, &c, &ContextHandle::NULL, "ClusterName", 4).await;
    assert_eq!((bad.result.0, bad.data.0.len()), (6, 4));
}

#[tokio::test]
async fn enum_value_walk_with_2048_byte_buffers() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    // smbtorture's all_keys: every top-level key, and the root, walk to ERROR_NO_MORE_ITEMS.
    let mut keys = vec![r];
    for name in ["Nodes", "Groups", "Resources", "ResourceTypes", "Networks", "NetworkInterfaces", "Quorum"] {
        keys.push(open(&s, &c, &r, name).await.key);
    }
    let g = &b.snapshot().groups[0].id;
    keys.push(open(&s, &c, &r, &format!("Groups\\{g}")).await.key);
    for k in keys {
        let mut index = 0;
        loop {
            let e = enum_value(&s, &c, &k, index, 2048).await;
            if e.result.0 == 259 {
                break;
            }
            assert_eq!((e.result.0, e.rpc_status), (0, 0));
            assert_eq!(e.data.0.len(), e.cb_data as usize);
            let name = e.value_name.unwrap().0;
            assert_eq!(e.total_size as usize, (name.encode_utf16().count() + 1) * 2 + e.data.0.len());
            index += 1;
        }
    }
    // The root's values in order: ClusterName first.
    let e = enum_value(&s, &c, &r, 0, 2048).await;
    assert_eq!(e.value_name.unwrap().0, "ClusterName");
    assert_eq!(e.value_type, REG_SZ);
    assert_eq!(e.data.0, RegValue::sz("CTDB-CLUSTER").data);
    // Too small a buffer: ERROR_MORE_DATA with the size needed.
    let small = enum_value(&s, &c, &r, 0, 4).await;
    assert_eq!((small.result.0, small.cb_data), (234, len32(RegValue::sz("CTDB-CLUSTER").data.len())));
    assert_eq!(enum_value(&s, &c, &ContextHandle::NULL, 0, 2048).await.result.0, 6);
}

#[tokio::test]
async fn query_info_key() {
    let (s, c, r) = admin_root(&sim()).await;
    let i = api_query_info_key(&s, &c, ApiQueryInfoKeyRequest { key: r }).await;
    assert_eq!((i.result.0, i.rpc_status), (0, 0));
    // the served tree: the derived layer with the cluster security descriptor of the access list
    let reg = live(&s).await;
    let values: Vec<_> = reg.root.values.iter().collect();
    assert_eq!(
        reg.root.value("Security Descriptor").map(|v| v.data.clone()),
        Some(s.access.descriptor()),
        "the root value is the cluster security descriptor"
    );
    assert_eq!(i.sub_keys, 7);
    assert_eq!(i.max_sub_key_len, "NetworkInterfaces".len() as u32);
    assert_eq!(i.values, values.len() as u32);
    assert_eq!(i.max_value_name_len, values.iter().map(|(n, _)| n.len() as u32).max().unwrap());
    assert_eq!(i.max_value_len, values.iter().map(|(_, e)| e.value.data.len() as u32).max().unwrap());
    assert!(i.max_value_len as usize >= s.access.descriptor().len(), "the descriptor");
    assert_eq!(i.cb_security_descriptor, 120, "the key's own descriptor");
    assert!(i.last_write_time.to_u64() > 0);
    let q = open(&s, &c, &r, "Quorum").await.key;
    let i = api_query_info_key(&s, &c, ApiQueryInfoKeyRequest { key: q }).await;
    assert_eq!((i.sub_keys, i.values), (0, 3));
    assert_eq!(api_query_info_key(&s, &c, ApiQueryInfoKeyRequest { key: ContextHandle::NULL }).await.result.0, 6);
}

#[tokio::test]
async fn get_key_security_size_probe() {
    let (s, c, r) = admin_root(&sim()).await;
    let si = security::OWNER_SECURITY_INFORMATION
        | security::GROUP_SECURITY_INFORMATION
        | security::DACL_SECURITY_INFORMATION;
    let want = security::filter(&security::default_key_sd(), si).unwrap();
    // smbtorture: cbIn 0 → ERROR_INSUFFICIENT_BUFFER with the size in cbInSecurityDescriptor.
    let probe = get_sd(&s, &c, &r, si, 0).await;
    assert_eq!(probe.result.0, 122);
    assert_eq!(probe.security_descriptor.cb_in_security_descriptor, len32(want.len()));
    assert_eq!(probe.security_descriptor.cb_out_security_descriptor, 0);
    // The reply decodes as a client stub sees it.
    let stub = probe.to_stub();
    assert_eq!(ApiGetKeySecurityResponse::decode_stub(&stub, idl::ByteOrder::Little).unwrap(), probe);
    let r2 = get_sd(&s, &c, &r, si, probe.security_descriptor.cb_in_security_descriptor).await;
    assert_eq!((r2.result.0, r2.rpc_status), (0, 0));
    assert_eq!(r2.security_descriptor.lp_security_descriptor.as_deref(), Some(&want[..]));
    assert_eq!(r2.security_descriptor.cb_out_security_descriptor, len32(want.len()));
    let stub = r2.to_stub();
    assert_eq!(ApiGetKeySecurityResponse::decode_stub(&stub, idl::ByteOrder::Little).unwrap(), r2);
    let p = SecurityDescriptor::parse(&want).unwrap();
    assert_eq!(p.owner, Some(Sid::administrators()));
    // A larger buffer is fine; owner only is smaller.
    assert_eq!(get_sd(&s, &c, &r, si, 4096).await.result.0, 0);
    let owner = get_sd(&s, &c, &r, 1, 4096).await;
    assert!(owner.security_descriptor.lp_security_descriptor.unwrap().len() < want.len());
    assert_eq!(get_sd(&s, &c, &ContextHandle::NULL, si, 0).await.result.0, 6);
}

#[tokio::test]
async fn set_key_security() {
    let (s, c, r) = admin_root(&sim()).await;
    let k = open(&s, &c, &r, "Nodes").await.key;
    let everyone_owner =
        SecurityDescriptor { control: 0, owner: Some(Sid::everyone()), group: None, sacl: None, dacl: None }
            .to_self_relative();
    let req = |key, sd: Vec<u8>| ApiSetKeySecurityRequest {
        key,
        security_information: security::OWNER_SECURITY_INFORMATION,
        security_descriptor: RpcSecurityDescriptor::with_data(len32(sd.len()), sd),
    };
    assert_eq!(api_set_key_security(&s, &c, req(k, vec![1, 2, 3])).await.result.0, 1338);
    assert_eq!(api_set_key_security(&s, &c, req(ContextHandle::NULL, everyone_owner.clone())).await.result.0, 6);
    let ro = reader();
    let rk = open(&s, &ro, &root(&s, &ro).await, "Nodes").await.key;
    assert_eq!(api_set_key_security(&s, &ro, req(rk, everyone_owner.clone())).await.result.0, 5);
    let mut no_data = req(k, everyone_owner.clone());
    no_data.security_descriptor.lp_security_descriptor = None;
    assert_eq!(api_set_key_security(&s, &c, no_data).await.result.0, 87);
    // Allowed on derived keys (the descriptor is metadata); only the owner changes.
    assert_eq!(api_set_key_security(&s, &c, req(k, everyone_owner)).await.result.0, 0);
    let got = get_sd(&s, &c, &k, 0x7, 4096).await.security_descriptor.lp_security_descriptor.unwrap();
    let p = SecurityDescriptor::parse(&got).unwrap();
    assert_eq!(p.owner, Some(Sid::everyone()));
    assert_eq!(p.group, Some(Sid::local_system()));
}

// ---- writes ----

#[tokio::test]
async fn derived_values_and_keys_are_read_only() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    assert_eq!(set(&s, &c, &r, "ClusterName", &RegValue::sz("hijack")).await, 5);
    assert_eq!(set(&s, &c, &r, "clusterinstanceid", &RegValue::sz("x")).await, 5);
    let del = |name: &str| ApiDeleteValueRequest { key: r, value_name: WString::new(name) };
    assert_eq!(api_delete_value(&s, &c, del("ClusterName")).await.result.0, 5);
    let delk = |sub: &str| ApiDeleteKeyRequest { key: r, sub_key: WString::new(sub) };
    let node = b.snapshot().nodes[0].id.clone();
    assert_eq!(api_delete_key(&s, &c, delk(&format!("Nodes\\{node}"))).await.result.0, 5);
    assert_eq!(api_delete_key(&s, &c, delk("Quorum")).await.result.0, 5);
    assert_eq!(read(&s, &c, &r, "ClusterName").await.unwrap(), RegValue::sz("CTDB-CLUSTER"));
    // Nothing was stored by the refused writes.
    assert_eq!(b.registry_blob().await.unwrap(), None);
}

#[tokio::test]
async fn admin_values_and_keys() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    // Admin values next to derived ones, even below a derived key.
    let node = b.snapshot().nodes[0].id.clone();
    let nk = open(&s, &c, &r, &format!("Nodes\\{node}")).await.key;
    assert_eq!(set(&s, &c, &nk, "Custom", &RegValue::dword(7)).await, 0);
    assert_eq!(read(&s, &c, &nk, "custom").await.unwrap(), RegValue::dword(7));
    assert_eq!(set(&s, &c, &nk, "Custom", &RegValue::binary(vec![1, 2, 3])).await, 0);
    assert_eq!(read(&s, &c, &nk, "Custom").await.unwrap(), RegValue::binary(vec![1, 2, 3]));
    // The default (unnamed) value.
    assert_eq!(set(&s, &c, &r, "", &RegValue::sz("default")).await, 0);
    assert_eq!(read(&s, &c, &r, "").await.unwrap(), RegValue::sz("default"));
    // Invalid requests.
    let bad_type = RegValue { kind: REG_NONE, data: vec![1] };
    assert_eq!(set(&s, &c, &r, "T", &bad_type).await, 87);
    let mismatch = ApiSetValueRequest {
        key: r,
        value_name: "M".into(),
        value_type: REG_BINARY,
        data: ConfBytes(vec![1, 2]),
        cb_data: 3,
    };
    assert_eq!(api_set_value(&s, &c, mismatch).await.result.0, 87);
    assert_eq!(set(&s, &c, &ContextHandle::NULL, "X", &RegValue::dword(1)).await, 6);
    // Delete.
    let del = |key, name: &str| ApiDeleteValueRequest { key, value_name: WString::new(name) };
    assert_eq!(api_delete_value(&s, &c, del(nk, "CUSTOM")).await.result.0, 0);
    assert_eq!(read(&s, &c, &nk, "Custom").await.unwrap_err(), 2);
    assert_eq!(api_delete_value(&s, &c, del(nk, "Custom")).await.result.0, 2);
    assert_eq!(api_delete_value(&s, &c, del(ContextHandle::NULL, "Custom")).await.result.0, 6);
}

#[tokio::test]
async fn create_key() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    let k = create(&s, &c, &r, "Admin\\Sub\\Deeper").await;
    assert_eq!((k.status.0, k.rpc_status, k.disposition), (0, 0, disposition::REG_CREATED_NEW_KEY));
    assert_eq!(c.group.get::<KeyHandle>(&k.key).unwrap().path, "Admin\\Sub\\Deeper");
    assert_eq!(set(&s, &c, &k.key, "V", &RegValue::dword(1)).await, 0);
    let again = create(&s, &c, &r, "admin\\sub").await;
    assert_eq!((again.status.0, again.disposition), (0, disposition::REG_OPENED_EXISTING_KEY));
    assert_eq!(c.group.get::<KeyHandle>(&again.key).unwrap().path, "Admin\\Sub");
    // Below a derived key, and relative to a non-root handle.
    let nodes = open(&s, &c, &r, "Nodes").await.key;
    let node = b.snapshot().nodes[0].id.clone();
    let under = create(&s, &c, &nodes, &format!("{node}\\Extra")).await;
    assert_eq!(under.disposition, disposition::REG_CREATED_NEW_KEY);
    // An existing derived key opens.
    let derived = create(&s, &c, &r, "Quorum").await;
    assert_eq!((derived.status.0, derived.disposition), (0, disposition::REG_OPENED_EXISTING_KEY));
    // Errors.
    let mut req = ApiCreateKeyRequest {
        key: r,
        sub_key: "Opt".into(),
        options: 1, // REG_OPTION_VOLATILE
        sam_desired: sam::KEY_ALL_ACCESS,
        security_attributes: None,
    };
    let e = api_create_key(&s, &c, req.clone()).await;
    assert_eq!((e.status.0, e.key), (87, ContextHandle::NULL));
    req.options = 0;
    req.sub_key = "\\Lead".into();
    assert_eq!(api_create_key(&s, &c, req.clone()).await.status.0, 87);
    req.sub_key = "x".repeat(256).as_str().into();
    assert_eq!(api_create_key(&s, &c, req.clone()).await.status.0, 87);
    req.key = ContextHandle::NULL;
    assert_eq!(api_create_key(&s, &c, req.clone()).await.status.0, 6);
    let ro = reader();
    assert_eq!(create(&s, &ro, &root(&s, &ro).await, "RoKey").await.status.0, 5);
    // A descriptor in the security attributes applies to the new key.
    let sd = SecurityDescriptor { control: 0, owner: Some(Sid::everyone()), group: None, sacl: None, dacl: None }
        .to_self_relative();
    let attrs = |sd: Vec<u8>| {
        Some(RpcSecurityAttributes {
            n_length: 12,
            rpc_security_descriptor: RpcSecurityDescriptor::with_data(len32(sd.len()), sd),
            b_inherit_handle: Default::default(),
        })
    };
    let with_sd = ApiCreateKeyRequest {
        key: r,
        sub_key: "Secured".into(),
        options: 0,
        sam_desired: sam::KEY_ALL_ACCESS,
        security_attributes: attrs(sd),
    };
    let k = api_create_key(&s, &c, with_sd.clone()).await;
    assert_eq!(k.status.0, 0);
    let got = get_sd(&s, &c, &k.key, 0x7, 4096).await.security_descriptor.lp_security_descriptor.unwrap();
    let p = SecurityDescriptor::parse(&got).unwrap();
    assert_eq!(p.owner, Some(Sid::everyone()));
    assert_eq!(p.group, Some(Sid::local_system()), "parts not given keep the default");
    let mut bad_sd = with_sd;
    bad_sd.sub_key = "BadSd".into();
    bad_sd.security_attributes = attrs(vec![9; 8]);
    assert_eq!(api_create_key(&s, &c, bad_sd).await.status.0, 1338);
    assert_eq!(open(&s, &c, &r, "BadSd").await.status.0, 2);
}

#[tokio::test]
async fn delete_key() {
    let (s, c, r) = admin_root(&sim()).await;
    create(&s, &c, &r, "A\\B").await;
    let a = open(&s, &c, &r, "A").await.key;
    let b_key = open(&s, &c, &a, "B").await.key;
    let del = |key, sub: &str| ApiDeleteKeyRequest { key, sub_key: WString::new(sub) };
    // [MS-CMRP 3.1.4.2.36] a key with subkeys: ERROR_ACCESS_DENIED.
    assert_eq!(api_delete_key(&s, &c, del(r, "A")).await.result.0, 5);
    assert_eq!(api_delete_key(&s, &c, del(r, "A\\Missing")).await.result.0, 2);
    assert_eq!(api_delete_key(&s, &c, del(r, "\\A")).await.result.0, 87);
    assert_eq!(api_delete_key(&s, &c, del(r, "")).await.result.0, 87, "the root cannot go");
    assert_eq!(api_delete_key(&s, &c, del(ContextHandle::NULL, "A")).await.result.0, 6);
    assert_eq!(api_delete_key(&s, &c, del(a, "b")).await.result.0, 0);
    // Handles to a deleted key answer ERROR_KEY_DELETED.
    let e = api_enum_key(&s, &c, ApiEnumKeyRequest { key: b_key, index: 0 }).await;
    assert_eq!(e.result.0, win::ERROR_KEY_DELETED);
    assert_eq!(set(&s, &c, &b_key, "V", &RegValue::dword(1)).await, win::ERROR_KEY_DELETED);
    assert_eq!(create(&s, &c, &b_key, "C").await.status.0, win::ERROR_KEY_DELETED);
    assert_eq!(api_delete_key(&s, &c, del(r, "A")).await.result.0, 0);
    assert_eq!(open(&s, &c, &r, "A").await.status.0, 2);
    let ro = reader();
    assert_eq!(api_delete_key(&s, &ro, del(root(&s, &ro).await, "A")).await.result.0, 5);
}

#[tokio::test]
async fn read_only_account_cannot_write() {
    let s = svc_over(&sim());
    let ro = reader();
    let r = root(&s, &ro).await;
    assert_eq!(ro.group.get::<KeyHandle>(&r).unwrap().access, Granted::Read);
    assert_eq!(set(&s, &ro, &r, "V", &RegValue::dword(1)).await, 5);
    let del = ApiDeleteValueRequest { key: r, value_name: "V".into() };
    assert_eq!(api_delete_value(&s, &ro, del).await.result.0, 5);
    // Reads work.
    assert_eq!(read(&s, &ro, &r, "ClusterName").await.unwrap(), RegValue::sz("CTDB-CLUSTER"));
}

// ---- persistence ----

#[tokio::test]
async fn writes_survive_a_restart() {
    let dir = tmpdir("restart");
    let cfg = SimConfig { state_file: Some(dir.path().join("state.toml")), ..SimConfig::with_nodes(3) };
    {
        let b = Arc::new(SimulatedCluster::new(cfg.clone()).unwrap());
        let (s, c, r) = admin_root(&b).await;
        let k = create(&s, &c, &r, "Admin\\Settings").await;
        assert_eq!(k.status.0, 0);
        assert_eq!(set(&s, &c, &k.key, "Answer", &RegValue::dword(42)).await, 0);
        let node = b.snapshot().nodes[1].id.clone();
        let nk = open(&s, &c, &r, &format!("Nodes\\{node}")).await.key;
        assert_eq!(set(&s, &c, &nk, "Rack", &RegValue::sz("B7")).await, 0);
    }
    assert!(dir.path().join("state.registry").exists());
    // Everything dropped; a new backend and service from the same file.
    let b = Arc::new(SimulatedCluster::new(cfg).unwrap());
    let (s, c, r) = admin_root(&b).await;
    let k = open(&s, &c, &r, "admin\\settings").await;
    assert_eq!(k.status.0, 0);
    assert_eq!(read(&s, &c, &k.key, "Answer").await.unwrap(), RegValue::dword(42));
    let node = b.snapshot().nodes[1].id.clone();
    let nk = open(&s, &c, &r, &format!("Nodes\\{node}")).await.key;
    assert_eq!(read(&s, &c, &nk, "Rack").await.unwrap(), RegValue::sz("B7"));
    assert_eq!(read(&s, &c, &nk, "NodeName").await.unwrap(), RegValue::sz("CTDB_NODE_1"));
}

#[tokio::test]
async fn failed_store_changes_nothing() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    assert_eq!(set(&s, &c, &r, "Kept", &RegValue::dword(1)).await, 0);
    b.set_available(false);
    // The store is unreachable: the write fails with the backend's code ...
    assert_eq!(set(&s, &c, &r, "Lost", &RegValue::dword(2)).await, 5072);
    assert_eq!(create(&s, &c, &r, "LostKey").await.status.0, 5072);
    // ... reads still work from the last copy ...
    assert_eq!(read(&s, &c, &r, "Kept").await.unwrap(), RegValue::dword(1));
    b.set_available(true);
    // ... and nothing of the failed writes shows.
    assert_eq!(read(&s, &c, &r, "Lost").await.unwrap_err(), 2);
    assert_eq!(open(&s, &c, &r, "LostKey").await.status.0, 2);
    assert_eq!(read(&s, &c, &r, "Kept").await.unwrap(), RegValue::dword(1));
}

#[tokio::test]
async fn failed_file_write_changes_nothing() {
    let dir = tmpdir("fsfail");
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let cfg = SimConfig { state_file: Some(sub.join("state.toml")), ..SimConfig::with_nodes(2) };
    let b = Arc::new(SimulatedCluster::new(cfg).unwrap());
    let (s, c, r) = admin_root(&b).await;
    assert_eq!(set(&s, &c, &r, "Kept", &RegValue::dword(1)).await, 0);
    std::fs::remove_dir_all(&sub).unwrap();
    assert_eq!(set(&s, &c, &r, "Lost", &RegValue::dword(2)).await, 1359);
    assert_eq!(read(&s, &c, &r, "Lost").await.unwrap_err(), 2);
    assert_eq!(read(&s, &c, &r, "Kept").await.unwrap(), RegValue::dword(1));
}

#[tokio::test]
async fn writes_of_other_nodes_show_up() {
    // Another node's clusapid stores a new blob: the next read sees it.
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    assert_eq!(read(&s, &c, &r, "Other").await.unwrap_err(), 2);
    let mut t = registry_model::StoredTree::default();
    t.apply_set_value("", "Other", &RegValue::dword(9), 1);
    b.store_registry_blob(t.to_file_bytes().unwrap()).await.unwrap();
    assert_eq!(read(&s, &c, &r, "Other").await.unwrap(), RegValue::dword(9));
}

#[tokio::test]
async fn corrupt_store_is_never_overwritten() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    assert_eq!(set(&s, &c, &r, "Good", &RegValue::dword(1)).await, 0);
    let mut bytes = b.registry_blob().await.unwrap().unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    b.store_registry_blob(bytes.clone()).await.unwrap();
    // Reads serve the last good copy; writes refuse to replace what does not verify.
    assert_eq!(read(&s, &c, &r, "Good").await.unwrap(), RegValue::dword(1));
    assert_eq!(set(&s, &c, &r, "New", &RegValue::dword(2)).await, win::ERROR_REGISTRY_CORRUPT);
    assert_eq!(b.registry_blob().await.unwrap(), Some(bytes));
}

#[test]
fn concurrent_writers_lose_nothing() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    rt.block_on(async {
        let b = sim();
        let s = Arc::new(svc_over(&b));
        let mut tasks = Vec::new();
        for i in 0..64u32 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                // each writer on its own association (connection)
                let c = admin();
                let r = root(&s, &c).await;
                let k = create(&s, &c, &r, &format!("Load\\K{}", i % 4)).await.key;
                set(&s, &c, &k, &format!("V{i}"), &RegValue::dword(i)).await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 0);
        }
        let c = admin();
        let r = root(&s, &c).await;
        for i in 0..64u32 {
            let k = open(&s, &c, &r, &format!("Load\\K{}", i % 4)).await.key;
            assert_eq!(read(&s, &c, &k, &format!("V{i}")).await.unwrap(), RegValue::dword(i), "V{i}");
        }
        // The stored blob holds all of them too.
        let t = registry_model::StoredTree::from_file_bytes(&b.registry_blob().await.unwrap().unwrap()).unwrap();
        assert_eq!(t.keys.iter().map(|k| k.values.len()).sum::<usize>(), 64);
    });
}

#[tokio::test]
async fn registry_state_is_per_backend() {
    let b1 = sim();
    let b2 = sim();
    let (s1, s2) = (svc_over(&b1), svc_over(&b2));
    let c = admin();
    let r1 = root(&s1, &c).await;
    assert_eq!(set(&s1, &c, &r1, "Only1", &RegValue::dword(1)).await, 0);
    assert!(Arc::ptr_eq(&state(&s1), &state(&svc_over(&b1))));
    assert!(!Arc::ptr_eq(&state(&s1), &state(&s2)));
    let r2 = root(&s2, &c).await;
    assert_eq!(read(&s2, &c, &r2, "Only1").await.unwrap_err(), 2);
    assert_eq!(read(&s1, &c, &r1, "Only1").await.unwrap(), RegValue::dword(1));
    let _ = REG_DWORD;
}

#[tokio::test]
async fn replies_encode_as_clients_decode_them() {
    use idl::ByteOrder;
    let (s, c, r) = admin_root(&sim()).await;
    let q = query(&s, &c, &r, "ClusterName", 64).await;
    assert_eq!(ApiQueryValueResponse::decode_stub(&q.to_stub(), ByteOrder::Little).unwrap(), q);
    let q0 = query(&s, &c, &r, "ClusterName", 0).await;
    assert_eq!(ApiQueryValueResponse::decode_stub(&q0.to_stub(), ByteOrder::Little).unwrap(), q0);
    let e = enum_value(&s, &c, &r, 0, 2048).await;
    assert_eq!(ApiEnumValueResponse::decode_stub(&e.to_stub(), ByteOrder::Little).unwrap(), e);
    let k = api_enum_key(&s, &c, ApiEnumKeyRequest { key: r, index: 0 }).await;
    assert_eq!(ApiEnumKeyResponse::decode_stub(&k.to_stub(), ByteOrder::Little).unwrap(), k);
    let ck = create(&s, &c, &r, "Wire").await;
    assert_eq!(ApiCreateKeyResponse::decode_stub(&ck.to_stub(), ByteOrder::Little).unwrap(), ck);
    let i = api_query_info_key(&s, &c, ApiQueryInfoKeyRequest { key: r }).await;
    assert_eq!(ApiQueryInfoKeyResponse::decode_stub(&i.to_stub(), ByteOrder::Little).unwrap(), i);
}
