//! Control code tests: the decoder, the output-buffer protocol, access, every object type's
//! properties, SET validation and persistence, and the node read-only property list byte for
//! byte against Windows Server 2012 R2's layout.

use std::sync::Arc;

use nodes::{ClusterBackend, CtdbNodeFlags, SimConfig, SimulatedCluster};
use registry_model::{multi_sz_decode, Format, PropValue, PropertyList};

use super::super::{
    ClusterHandle, GroupHandle, GroupSetHandle, NetInterfaceHandle, NetworkHandle, NodeHandle, ResourceHandle,
};
use super::*;
use crate::accounts::AccessLevel;

// ---------------------------------------------------------------------------------------------
// fixtures

fn ctx() -> CallCtx {
    CallCtx::local(Some(AccessLevel::Full))
}

fn service_with(config: SimConfig) -> (ClusapiService, Arc<SimulatedCluster>) {
    let b = Arc::new(SimulatedCluster::new(config).unwrap());
    (ClusapiService::new(b.clone()), b)
}

fn service() -> (ClusapiService, Arc<SimulatedCluster>) {
    service_with(SimConfig::with_nodes(3))
}

/// What most tests start from: [`service`], an association with full access and the model as
/// it starts.
fn setup() -> (ClusapiService, Arc<SimulatedCluster>, CallCtx, Arc<ClusterState>) {
    let (s, b) = service();
    let snap = s.backend.snapshot();
    (s, b, ctx(), snap)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// The result of one control call.
#[derive(Debug)]
struct R {
    status: u32,
    data: Vec<u8>,
    max: u32,
    returned: u32,
    required: u32,
}

impl R {
    fn ok(&self) -> &[u8] {
        assert_eq!(self.status, 0, "{self:?}");
        &self.data
    }
}

fn r(resp: ControlReply) -> R {
    R {
        status: resp.result,
        max: resp.out_buffer.max,
        data: resp.out_buffer.data,
        returned: resp.bytes_returned,
        required: resp.cb_required,
    }
}

/// An object handle of any kind, for [`call_on`].
#[derive(Clone, Copy)]
enum H {
    Cluster(ContextHandle),
    Node(ContextHandle),
    Group(ContextHandle),
    Resource(ContextHandle),
    Network(ContextHandle),
    NetInterface(ContextHandle),
    ResType(ContextHandle, &'static str),
}

fn open(ctx: &CallCtx, s: &ClusterState, which: &str, access: Granted) -> H {
    let g = &ctx.group;
    match which {
        "cluster" => H::Cluster(g.insert(ClusterHandle { access }).unwrap()),
        "node" => H::Node(g.insert(NodeHandle { pnn: 1, access }).unwrap()),
        "group" => H::Group(g.insert(GroupHandle { id: s.cluster_group().unwrap().id.clone(), access }).unwrap()),
        "resource" => {
            H::Resource(g.insert(ResourceHandle { id: s.cluster_name_resource().unwrap().id.clone(), access }).unwrap())
        }
        "ip" => H::Resource(
            g.insert(ResourceHandle {
                id: s.find_resource_by_name("IP Address 127.0.100.2").unwrap().id.clone(),
                access,
            })
            .unwrap(),
        ),
        "network" => H::Network(g.insert(NetworkHandle { id: s.networks[0].id.clone(), access }).unwrap()),
        "netinterface" => {
            H::NetInterface(g.insert(NetInterfaceHandle { id: s.net_interfaces[0].id.clone(), access }).unwrap())
        }
        "restype" => H::ResType(g.insert(ClusterHandle { access }).unwrap(), "IP Address"),
        other => panic!("{other}"),
    }
}

fn call_on(s: &ClusapiService, ctx: &CallCtx, h: H, code: u32, input: Option<Vec<u8>>, out: u32) -> R {
    let size = input.as_ref().map_or(0, |b| b.len() as u32);
    let in_buffer = input.map(ConfBytes);
    // every object's control method, called with the same code and buffers
    macro_rules! control {
        ($method:ident, $req:ident { $($field:ident $(: $value:expr)?),* }) => {
            r($method(
                s,
                ctx,
                $req {
                    $($field $(: $value)?,)*
                    control_code: code,
                    in_buffer,
                    in_buffer_size: size,
                    out_buffer_size: out,
                },
            )
            .await
            .into_reply())
        };
    }
    block_on(async {
        match h {
            H::Cluster(cluster) => control!(api_cluster_control, ApiClusterControlRequest { cluster }),
            H::Node(node) => control!(api_node_control, ApiNodeControlRequest { node }),
            H::Group(group) => control!(api_group_control, ApiGroupControlRequest { group }),
            H::Resource(resource) => control!(api_resource_control, ApiResourceControlRequest { resource }),
            H::Network(network) => control!(api_network_control, ApiNetworkControlRequest { network }),
            H::NetInterface(net_interface) => {
                control!(api_net_interface_control, ApiNetInterfaceControlRequest { net_interface })
            }
            H::ResType(cluster, name) => control!(
                api_resource_type_control,
                ApiResourceTypeControlRequest { cluster, resource_type_name: idl::WString::new(name) }
            ),
        }
    })
}

/// Back from a method response to the shared reply shape.
trait IntoReply {
    fn into_reply(self) -> ControlReply;
}

macro_rules! into_reply {
    ($($t:ident),*) => {$(
        impl IntoReply for $t {
            fn into_reply(self) -> ControlReply {
                assert_eq!(self.rpc_status, 0);
                ControlReply {
                    out_buffer: self.out_buffer,
                    bytes_returned: self.bytes_returned,
                    cb_required: self.cb_required,
                    result: self.result.0,
                }
            }
        }
    )*};
}

into_reply!(
    ApiClusterControlResponse,
    ApiNodeControlResponse,
    ApiGroupControlResponse,
    ApiResourceControlResponse,
    ApiNetworkControlResponse,
    ApiNetInterfaceControlResponse,
    ApiResourceTypeControlResponse,
    ApiNodeNodeControlResponse,
    ApiNodeGroupSetControlResponse,
    ApiGroupSetControlResponse
);

/// The size probe, then the call with exactly the size asked for, then one with a big buffer:
/// what every client (and smbtorture) does. Returns the output.
fn probe_and_get(s: &ClusapiService, ctx: &CallCtx, h: H, code: u32, input: Option<Vec<u8>>) -> Vec<u8> {
    let first = call_on(s, ctx, h, code, input.clone(), 0);
    let data = if first.status == ERROR_MORE_DATA {
        assert_eq!(first.returned, 0);
        assert!(first.data.is_empty());
        let exact = call_on(s, ctx, h, code, input.clone(), first.required);
        assert_eq!(exact.returned, first.required);
        exact.ok().to_vec()
    } else {
        first.ok().to_vec()
    };
    let big = call_on(s, ctx, h, code, input, 0x4000);
    assert_eq!(big.ok(), &data[..]);
    assert_eq!(big.returned as usize, data.len());
    assert_eq!(big.required as usize, data.len());
    assert_eq!(big.max, 0x4000);
    data
}

fn plist(props: &[(&str, PropValue)]) -> Vec<u8> {
    let mut l = PropertyList::new();
    for (n, v) in props {
        l.push(*n, v.clone());
    }
    l.encode()
}

fn utf16z(b: &[u8]) -> String {
    registry_model::utf16z_decode(b).unwrap()
}

// SDK values used below
const CLUSTER_GET_COMMON: u32 = 0x0700_0059;
const CLUSTER_GET_RO_COMMON: u32 = 0x0700_0055;
const CLUSTER_SET_COMMON: u32 = 0x0740_005e;
const CLUSTER_GET_PRIVATE: u32 = 0x0700_0081;
const CLUSTER_CHECK_VOTER_DOWN: u32 = 0x0700_0049;
const CLUSTER_CHECK_VOTER_EVICT: u32 = 0x0700_0045;
const NODE_GET_RO_COMMON: u32 = 0x0400_0055;
const NODE_GET_COMMON: u32 = 0x0400_0059;
const NODE_SET_COMMON: u32 = 0x0440_005e;
const NODE_VALIDATE_COMMON: u32 = 0x0400_0061;
const NODE_GET_ID: u32 = 0x0400_0039;
const NODE_SET_PRIVATE: u32 = 0x0440_0086;
const NODE_GET_PRIVATE: u32 = 0x0400_0081;
const GROUP_GET_COMMON: u32 = 0x0300_0059;
const GROUP_GET_RO_COMMON: u32 = 0x0300_0055;
const GROUP_SET_COMMON: u32 = 0x0340_005e;
const GROUP_GET_FLAGS: u32 = 0x0300_0009;
const GROUP_GET_CHARACTERISTICS: u32 = 0x0300_0005;

// ---------------------------------------------------------------------------------------------
// decoder

#[test]
fn every_known_code_decodes_to_its_name() {
    for t in ObjectType::ALL {
        let table = known_codes(t);
        for (i, k) in table.iter().enumerate() {
            let c = ControlCode::decode(k.code);
            assert_eq!(c.object_type(), Some(t), "{}", k.name);
            assert_eq!(c.name(), Some(k.name));
            assert_eq!(c.to_string(), k.name);
            let obj = k.name.trim_start_matches("CLUSCTL_");
            let prefix = match t {
                ObjectType::ResourceType => "RESOURCE_TYPE_",
                ObjectType::NetInterface => "NETINTERFACE_",
                ObjectType::GroupSet => "GROUPSET_",
                ObjectType::AffinityRule => "AFFINITYRULE_",
                _ => "",
            };
            assert!(obj.starts_with(prefix), "{}", k.name);
            assert!(!table[..i].iter().any(|o| o.code == k.code), "duplicate {}", k.name);
            // the modify bit always comes with write access
            if c.modify {
                assert_eq!(c.access, AccessMode::Write, "{}", k.name);
            }
            assert_eq!(c.function_for(t), k.function);
        }
    }
}

#[test]
fn codes_from_the_sdk() {
    let cases = [
        (0x0100_0055, "CLUSCTL_RESOURCE_GET_RO_COMMON_PROPERTIES"),
        (0x0100_0059, "CLUSCTL_RESOURCE_GET_COMMON_PROPERTIES"),
        (0x0140_005e, "CLUSCTL_RESOURCE_SET_COMMON_PROPERTIES"),
        (0x0100_0169, "CLUSCTL_RESOURCE_GET_NETWORK_NAME"),
        (0x0100_0175, "CLUSCTL_RESOURCE_GET_DNS_NAME"),
        (0x0200_000d, "CLUSCTL_RESOURCE_TYPE_GET_CLASS_INFO"),
        (0x0200_0069, "CLUSCTL_RESOURCE_TYPE_GET_COMMON_RESOURCE_PROPERTY_FMTS"),
        (0x0200_0091, "CLUSCTL_RESOURCE_TYPE_GET_PRIVATE_RESOURCE_PROPERTY_FMTS"),
        (0x0340_005e, "CLUSCTL_GROUP_SET_COMMON_PROPERTIES"),
        (0x0400_0055, "CLUSCTL_NODE_GET_RO_COMMON_PROPERTIES"),
        (0x0400_0041, "CLUSCTL_NODE_GET_CLUSTER_SERVICE_ACCOUNT_NAME"),
        (0x0500_0059, "CLUSCTL_NETWORK_GET_COMMON_PROPERTIES"),
        (0x0600_0031, "CLUSCTL_NETINTERFACE_GET_NODE"),
        (0x0600_0035, "CLUSCTL_NETINTERFACE_GET_NETWORK"),
        (0x0700_003d, "CLUSCTL_CLUSTER_GET_FQDN"),
        (0x0700_0049, "CLUSCTL_CLUSTER_CHECK_VOTER_DOWN"),
        (0x0700_0045, "CLUSCTL_CLUSTER_CHECK_VOTER_EVICT"),
        (0x0800_0039, "CLUSCTL_GROUPSET_GET_ID"),
    ];
    for (code, name) in cases {
        assert_eq!(ControlCode::decode(code).name(), Some(name));
    }
}

#[test]
fn bits_of_a_code() {
    let c = ControlCode::decode(0x0140_005e); // RESOURCE_SET_COMMON_PROPERTIES
    assert_eq!((c.object, c.object_type()), (1, Some(ObjectType::Resource)));
    assert!(c.modify && !c.global && !c.user && !c.internal);
    assert_eq!(c.function, 23);
    assert_eq!(c.access, AccessMode::Write);

    let c = ControlCode::decode(0x0400_0055); // NODE_GET_RO_COMMON_PROPERTIES
    assert_eq!((c.function, c.access, c.modify), (21, AccessMode::Read, false));

    let c = ControlCode::decode(0x0150_0006); // RESOURCE_DELETE (internal)
    assert!(c.internal && c.modify);
    assert_eq!(c.function, 1);

    let c = ControlCode::decode(0x07a0_0003); // made up: global + user, reserved access
    assert!(c.global && c.user && !c.modify);
    assert_eq!(c.access, AccessMode::Reserved);
    assert_eq!(c.function, 0);
    assert_eq!(c.name(), None);
    assert_eq!(c.to_string(), "0x07a00003");

    let zero = ControlCode::decode(0);
    assert_eq!(zero.object_type(), None);
    for t in ObjectType::ALL {
        assert_eq!(zero.function_for(t), None);
    }
    // a group code is nothing for a resource
    assert_eq!(ControlCode::decode(GROUP_GET_FLAGS).function_for(ObjectType::Resource), None);
    assert_eq!(ControlCode::decode(0x8000_0001).object_type(), Some(ObjectType::User));
}

// ---------------------------------------------------------------------------------------------
// output-buffer protocol

#[test]
fn buffer_protocol() {
    let out = || Ok(Output::new(vec![1, 2, 3, 4, 5, 6]));
    // size probe
    let p = reply(0, out());
    assert_eq!((p.result, p.bytes_returned, p.cb_required), (ERROR_MORE_DATA, 0, 6));
    assert!(p.out_buffer.data.is_empty());
    assert_eq!(p.out_buffer.max, 0);
    // too small
    let p = reply(5, out());
    assert_eq!((p.result, p.bytes_returned, p.cb_required, p.out_buffer.max), (ERROR_MORE_DATA, 0, 6, 5));
    assert!(p.out_buffer.data.is_empty());
    // exact
    let p = reply(6, out());
    assert_eq!((p.result, p.bytes_returned, p.cb_required), (0, 6, 6));
    assert_eq!(p.out_buffer.data, [1, 2, 3, 4, 5, 6]);
    // large
    let p = reply(0xffff, out());
    assert_eq!((p.result, p.bytes_returned, p.cb_required, p.out_buffer.max), (0, 6, 6, 0xffff));
    // empty output fits a zero-size buffer
    let p = reply(0, Ok(Output::default()));
    assert_eq!((p.result, p.bytes_returned, p.cb_required), (0, 0, 0));
    // errors carry nothing
    let p = reply(100, Err(ERROR_INVALID_FUNCTION));
    assert_eq!((p.result, p.bytes_returned, p.cb_required, p.out_buffer.max), (1, 0, 0, 100));
    // a status travels with the data
    let p = reply(0, Ok(Output { data: vec![], status: ERROR_RESOURCE_PROPERTIES_STORED }));
    assert_eq!(p.result, 5024);
}

#[test]
fn more_data_reply_on_the_wire() {
    let (s, _, c, snap) = setup();
    let H::Node(node) = open(&c, &snap, "node", Granted::All) else { unreachable!() };
    let resp = block_on(api_node_control(
        &s,
        &c,
        ApiNodeControlRequest {
            node,
            control_code: NODE_GET_RO_COMMON,
            in_buffer: None,
            in_buffer_size: 0,
            out_buffer_size: 0,
        },
    ));
    let stub = resp.to_stub();
    let len = node_ro_common_len(&snap);
    #[rustfmt::skip]
    let want: Vec<u8> = [
        &[0u8, 0, 0, 0][..],          // lpOutBuffer max_count = nOutBufferSize
        &[0, 0, 0, 0],                // offset
        &[0, 0, 0, 0],                // actual_count = *lpBytesReturned
        &[0, 0, 0, 0],                // lpBytesReturned
        &(len as u32).to_le_bytes(),  // lpcbRequired
        &[0, 0, 0, 0],                // rpc_status
        &[0xea, 0, 0, 0],             // ERROR_MORE_DATA
    ]
    .concat();
    assert_eq!(stub, want);
}

fn node_ro_common_len(s: &ClusterState) -> usize {
    properties::node_ro_common(s.node_by_pnn(1).unwrap(), s).encoded_len()
}

#[test]
fn input_buffer_bounds() {
    assert_eq!(input(&None, 0), Ok(&[][..]));
    assert_eq!(input(&None, 10), Ok(&[][..]));
    assert_eq!(input(&Some(ConfBytes(vec![1, 2, 3])), 2), Ok(&[1u8, 2][..]));
    assert_eq!(input(&Some(ConfBytes(vec![1, 2, 3])), 4), Err(87));
    assert_eq!(input(&Some(ConfBytes(vec![0; MAX_INPUT + 1])), (MAX_INPUT + 1) as u32), Err(87));
}

// ---------------------------------------------------------------------------------------------
// dispatch rules

#[test]
fn code_zero_other_objects_and_unsupported_codes_are_invalid_function() {
    let (s, _, c, snap) = setup();
    for which in ["cluster", "node", "group", "resource", "network", "netinterface", "restype"] {
        let h = open(&c, &snap, which, Granted::All);
        assert_eq!(call_on(&s, &c, h, 0, None, 0).status, ERROR_INVALID_FUNCTION, "{which}");
        // a code of every other object type
        for t in ObjectType::ALL {
            let unknown = u32::from(t.code()) << 24 | 0x55;
            let r = call_on(&s, &c, h, unknown, None, 0x4000);
            let own = match h {
                H::Cluster(_) => ObjectType::Cluster,
                H::Node(_) => ObjectType::Node,
                H::Group(_) => ObjectType::Group,
                H::Resource(_) => ObjectType::Resource,
                H::Network(_) => ObjectType::Network,
                H::NetInterface(_) => ObjectType::NetInterface,
                H::ResType(..) => ObjectType::ResourceType,
            };
            if t != own {
                assert_eq!(r.status, ERROR_INVALID_FUNCTION, "{which}: {t:?}");
            } else if t != ObjectType::GroupSet {
                assert_eq!(r.status, 0, "{which}: {t:?}");
            }
        }
    }
    let res = open(&c, &snap, "resource", Granted::All);
    // CLUSCTL_RESOURCE_UNKNOWN: controls are processed
    let u = call_on(&s, &c, res, 0x0100_0000, None, 0);
    assert_eq!((u.status, u.returned), (0, 0));
    // known but unsupported: storage codes, checkpoints
    assert_eq!(call_on(&s, &c, res, 0x0100_0191, None, 0x4000).status, 1);
    assert_eq!(call_on(&s, &c, res, 0x0100_00a9, None, 0x4000).status, 1);
    // unknown function number of the right object
    assert_eq!(call_on(&s, &c, res, 0x0100_0fff, None, 0x4000).status, 1);
    // the right function with the wrong access bits is another (unknown) code
    assert_eq!(call_on(&s, &c, res, 0x0100_0054, None, 0x4000).status, 1);
    // format codes Windows does not support on nodes and groups
    let n = open(&c, &snap, "node", Granted::All);
    assert_eq!(call_on(&s, &c, n, 0x0400_0065, None, 0x4000).status, 1);
    let rt = open(&c, &snap, "restype", Granted::All);
    assert_eq!(call_on(&s, &c, rt, 0x0200_0065, None, 0x4000).status, 1);
}

#[test]
fn invalid_handles_and_unknown_resource_types() {
    let (s, _, c, snap) = setup();
    let bogus = ContextHandle { attributes: 0, uuid: idl::Guid { data1: 0x1234, data2: 0, data3: 0, data4: [0; 8] } };
    for h in [H::Cluster(bogus), H::Node(bogus), H::Group(bogus), H::Resource(bogus), H::ResType(bogus, "IP Address")] {
        assert_eq!(call_on(&s, &c, h, 0, None, 0).status, ERROR_INVALID_HANDLE);
    }
    // a node handle is not a group handle
    let H::Node(node) = open(&c, &snap, "node", Granted::All) else { unreachable!() };
    assert_eq!(call_on(&s, &c, H::Group(node), GROUP_GET_FLAGS, None, 4).status, ERROR_INVALID_HANDLE);
    let H::Cluster(cl) = open(&c, &snap, "cluster", Granted::All) else { unreachable!() };
    let r = call_on(&s, &c, H::ResType(cl, "INVALID_TYPE_XXXX"), 0x0200_0005, None, 4);
    assert_eq!(r.status, ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND);
    // type names are case-insensitive
    assert_eq!(call_on(&s, &c, H::ResType(cl, "physical disk"), 0x0200_0005, None, 4).status, 0);
}

#[test]
fn modify_codes_need_all_access() {
    let (s, _, c, snap) = setup();
    let ro = open(&c, &snap, "node", Granted::Read);
    let input = plist(&[("Description", PropValue::Sz("x".into()))]);
    assert_eq!(call_on(&s, &c, ro, NODE_SET_COMMON, Some(input.clone()), 0).status, ERROR_ACCESS_DENIED);
    assert_eq!(call_on(&s, &c, ro, NODE_SET_PRIVATE, Some(input.clone()), 0).status, ERROR_ACCESS_DENIED);
    // reading and validating are fine with "Read"
    assert_eq!(call_on(&s, &c, ro, NODE_GET_COMMON, None, 0x4000).status, 0);
    assert_eq!(call_on(&s, &c, ro, NODE_VALIDATE_COMMON, Some(input.clone()), 0).status, 0);
    assert_eq!(s.backend.snapshot().node_by_pnn(1).unwrap().description, "");
    for which in ["cluster", "group", "resource", "network", "netinterface", "restype"] {
        let h = open(&c, &snap, which, Granted::Read);
        let set = match h {
            H::Cluster(_) => CLUSTER_SET_COMMON,
            H::Group(_) => GROUP_SET_COMMON,
            H::Resource(_) => 0x0140_005e,
            H::Network(_) => 0x0540_005e,
            H::NetInterface(_) => 0x0640_005e,
            H::ResType(..) => 0x0240_005e,
            H::Node(_) => unreachable!(),
        };
        assert_eq!(call_on(&s, &c, h, set, Some(input.clone()), 0).status, ERROR_ACCESS_DENIED, "{which}");
    }

    // ApiNode*Control: the host node handle must be open, and "All" for a modify code
    let H::Node(obj) = open(&c, &snap, "node", Granted::All) else { unreachable!() };
    let H::Node(read_host) = open(&c, &snap, "node", Granted::Read) else { unreachable!() };
    let node_node = |host: ContextHandle, code: u32, inp: Option<Vec<u8>>| {
        let size = inp.as_ref().map_or(0, |b| b.len() as u32);
        r(block_on(api_node_node_control(
            &s,
            &c,
            ApiNodeNodeControlRequest {
                node: obj,
                host_node: host,
                control_code: code,
                in_buffer: inp.map(ConfBytes),
                in_buffer_size: size,
                out_buffer_size: 0x4000,
            },
        ))
        .into_reply())
    };
    assert_eq!(node_node(read_host, NODE_SET_COMMON, Some(input.clone())).status, ERROR_ACCESS_DENIED);
    assert_eq!(node_node(read_host, NODE_GET_RO_COMMON, None).status, 0);
    let bogus = ContextHandle { attributes: 0, uuid: idl::Guid { data1: 7, data2: 0, data3: 0, data4: [0; 8] } };
    assert_eq!(node_node(bogus, NODE_GET_RO_COMMON, None).status, ERROR_INVALID_HANDLE);
    assert_eq!(node_node(obj, NODE_SET_COMMON, Some(input)).status, 0);
    assert_eq!(s.backend.snapshot().node_by_pnn(1).unwrap().description, "x");
}

// ---------------------------------------------------------------------------------------------
// what smbtorture asks for

#[test]
fn cluster_control_torture_codes() {
    let (s, _, c, snap) = setup();
    let h = open(&c, &snap, "cluster", Granted::All);
    for code in [CLUSTER_GET_COMMON, CLUSTER_GET_RO_COMMON, 0x0700_003d, CLUSTER_GET_PRIVATE, CLUSTER_CHECK_VOTER_DOWN]
    {
        let data = probe_and_get(&s, &c, h, code, None);
        let big = call_on(&s, &c, h, code, None, 0xffff);
        assert!(big.returned < 0xffff);
        assert_eq!(big.ok(), &data[..]);
    }
    assert_eq!(utf16z(&probe_and_get(&s, &c, h, 0x0700_003d, None)), "CTDB-CLUSTER");
    let ro = PropertyList::decode(&probe_and_get(&s, &c, h, CLUSTER_GET_RO_COMMON, None)).unwrap();
    assert_eq!(ro.0[0].name, "FixQuorum");
    let rw = PropertyList::decode(&probe_and_get(&s, &c, h, CLUSTER_GET_COMMON, None)).unwrap();
    assert_eq!(rw.get("SameSubnetThreshold"), Some(&PropValue::Dword(5)));
    assert!(rw.get("FixQuorum").is_none());
    // no private properties: an empty list (count 0, ENDMARK)
    assert_eq!(probe_and_get(&s, &c, h, CLUSTER_GET_PRIVATE, None), [0u8; 8]);
    // GET_COMMON_PROPERTY_FMTS is supported on the cluster
    let fmts = PropertyList::decode(&probe_and_get(&s, &c, h, 0x0700_0065, None)).unwrap();
    assert_eq!(fmts.get("Description"), Some(&PropValue::Word(3)));
    assert_eq!(fmts.len(), rw.len());
    // ENUM_COMMON_PROPERTIES: the read/write names
    let names = multi_sz_decode(&probe_and_get(&s, &c, h, 0x0700_0051, None)).unwrap();
    assert_eq!(names.len(), rw.len());
    assert_eq!(names[0], "Description");
}

#[test]
fn check_voter() {
    let (s, b, c, snap) = setup();
    let h = open(&c, &snap, "cluster", Granted::All);
    let id = |x: &str| Some(registry_model::utf16z_encode(x));
    let q = |code, inp| u32::from_le_bytes(call_on(&s, &c, h, code, inp, 4).ok().try_into().unwrap());
    // 3 nodes up: losing one keeps quorum
    assert_eq!(q(CLUSTER_CHECK_VOTER_DOWN, None), 0);
    assert_eq!(q(CLUSTER_CHECK_VOTER_DOWN, id("2")), 0);
    assert_eq!(q(CLUSTER_CHECK_VOTER_EVICT, id("3")), 0);
    // with node 2 down, taking down another loses it; evicting the dead one does not matter
    b.kill_node(2).unwrap();
    assert_eq!(q(CLUSTER_CHECK_VOTER_DOWN, id("1")), 1);
    assert_eq!(q(CLUSTER_CHECK_VOTER_DOWN, id("3")), 0);
    assert_eq!(q(CLUSTER_CHECK_VOTER_EVICT, id("3")), 0);
    // not a node id (no quorum resource exists), or not a string
    let rid = snap.cluster_name_resource().unwrap().id.clone();
    assert_eq!(call_on(&s, &c, h, CLUSTER_CHECK_VOTER_DOWN, id(&rid), 4).status, 87);
    assert_eq!(call_on(&s, &c, h, CLUSTER_CHECK_VOTER_DOWN, id("9"), 4).status, 87);
    assert_eq!(call_on(&s, &c, h, CLUSTER_CHECK_VOTER_DOWN, Some(vec![0x41, 0, 0x42]), 4).status, 87);
}

#[test]
fn every_resource_type_answers_the_torture_codes() {
    let (s, _, c, snap) = setup();
    let H::Cluster(cl) = open(&c, &snap, "cluster", Granted::All) else { unreachable!() };
    for t in &snap.resource_types {
        let name: &'static str = Box::leak(t.name.clone().into_boxed_str());
        let h = H::ResType(cl, name);
        assert_eq!(call_on(&s, &c, h, 0, None, 0).status, ERROR_INVALID_FUNCTION);
        let class = probe_and_get(&s, &c, h, 0x0200_000d, None);
        assert_eq!(class.len(), 8);
        assert_eq!(u32::from_le_bytes(class[..4].try_into().unwrap()), t.resource_class);
        let ch = probe_and_get(&s, &c, h, 0x0200_0005, None);
        assert_eq!(ch, t.characteristics.to_le_bytes());
        let rw = PropertyList::decode(&probe_and_get(&s, &c, h, 0x0200_0059, None)).unwrap();
        assert_eq!(rw.get("DllName"), Some(&PropValue::Sz("clusres.dll".into())));
        assert!(PropertyList::decode(&probe_and_get(&s, &c, h, 0x0200_0055, None)).unwrap().is_empty());
        assert!(PropertyList::decode(&probe_and_get(&s, &c, h, 0x0200_0081, None)).unwrap().is_empty());
        let fmts = PropertyList::decode(&probe_and_get(&s, &c, h, 0x0200_0069, None)).unwrap();
        assert_eq!(fmts.get("SeparateMonitor"), Some(&PropValue::Word(Format::Dword.as_u16())));
        probe_and_get(&s, &c, h, 0x0200_0011, None);
        probe_and_get(&s, &c, h, 0x0200_0091, None);
    }
    let ip = H::ResType(cl, "IP Address");
    let f = PropertyList::decode(&probe_and_get(&s, &c, ip, 0x0200_0091, None)).unwrap();
    assert_eq!(f.get("Address"), Some(&PropValue::Word(3)));
    let fs = H::ResType(cl, "File Share");
    let deps = registry_model::ValueList::decode(&probe_and_get(&s, &c, fs, 0x0200_0011, None)).unwrap();
    assert_eq!(deps.0, [registry_model::ValueItem::Name("File Server".into())]);
}

#[test]
fn node_control_torture_codes() {
    let (s, _, c, snap) = setup();
    let h = open(&c, &snap, "node", Granted::All);
    let ro = PropertyList::decode(&probe_and_get(&s, &c, h, NODE_GET_RO_COMMON, None)).unwrap();
    assert_eq!(ro.get("NodeName"), Some(&PropValue::Sz("CTDB_NODE_1".into())));
    let id = probe_and_get(&s, &c, h, NODE_GET_ID, None);
    assert!(id.len() >= 4 && id.len().is_multiple_of(2));
    assert_eq!(utf16z(&id), "2");
    assert_eq!(utf16z(&probe_and_get(&s, &c, h, 0x0400_0029, None)), "CTDB_NODE_1");
    assert_eq!(probe_and_get(&s, &c, h, 0x0400_0005, None), [0, 0, 0, 0]);
    assert_eq!(utf16z(&probe_and_get(&s, &c, h, 0x0400_0041, None)), "NT AUTHORITY\\SYSTEM");
    // no private properties
    assert_eq!(probe_and_get(&s, &c, h, NODE_GET_PRIVATE, None), [0u8; 8]);
    assert_eq!(multi_sz_decode(&probe_and_get(&s, &c, h, 0x0400_0079, None)).unwrap(), Vec::<String>::new());
}

#[test]
fn group_control_torture_codes_fit_in_1024_bytes() {
    let (s, _, c, snap) = setup();
    for g in &snap.groups {
        let h = H::Group(c.group.insert(GroupHandle { id: g.id.clone(), access: Granted::All }).unwrap());
        assert_eq!(call_on(&s, &c, h, 0, None, 0).status, ERROR_INVALID_FUNCTION);
        for code in [GROUP_GET_CHARACTERISTICS, GROUP_GET_RO_COMMON, GROUP_GET_FLAGS, GROUP_GET_COMMON] {
            probe_and_get(&s, &c, h, code, None);
            let big = call_on(&s, &c, h, code, None, 0x400);
            assert!(big.returned < 0x400, "{}: {code:#x}", g.name);
        }
        let flags = probe_and_get(&s, &c, h, GROUP_GET_FLAGS, None);
        assert_eq!(flags, g.flags.to_le_bytes());
        let ro = PropertyList::decode(&probe_and_get(&s, &c, h, GROUP_GET_RO_COMMON, None)).unwrap();
        assert_eq!(ro.get("GroupType"), Some(&PropValue::Dword(g.group_type)));
        assert_eq!(utf16z(&probe_and_get(&s, &c, h, 0x0300_0039, None)), g.id);
    }
    // the core group is flagged CORE
    let cg = open(&c, &snap, "group", Granted::All);
    assert_eq!(probe_and_get(&s, &c, cg, GROUP_GET_FLAGS, None), [1, 0, 0, 0]);
}

#[test]
fn resource_network_and_netinterface_codes() {
    let (s, _, c, snap) = setup();
    let h = open(&c, &snap, "resource", Granted::All);
    assert_eq!(utf16z(&probe_and_get(&s, &c, h, 0x0100_002d, None)), "Network Name");
    assert_eq!(utf16z(&probe_and_get(&s, &c, h, 0x0100_0029, None)), "Cluster Name");
    assert_eq!(utf16z(&probe_and_get(&s, &c, h, 0x0100_0169, None)), "CTDB-CLUSTER");
    assert_eq!(utf16z(&probe_and_get(&s, &c, h, 0x0100_0175, None)), "CTDB-CLUSTER");
    assert_eq!(probe_and_get(&s, &c, h, 0x0100_0009, None), [1, 0, 0, 0]); // CORE
    let class = probe_and_get(&s, &c, h, 0x0100_000d, None);
    assert_eq!(class, [2, 0, 0, 0, 0, 0, 0, 0]); // NETWORK, no subclass
    let ro = PropertyList::decode(&probe_and_get(&s, &c, h, 0x0100_0055, None)).unwrap();
    assert_eq!(ro.get("Type"), Some(&PropValue::Sz("Network Name".into())));
    let p = PropertyList::decode(&probe_and_get(&s, &c, h, 0x0100_0081, None)).unwrap();
    assert_eq!(p.get("Name"), Some(&PropValue::Sz("CTDB-CLUSTER".into())));
    let names = multi_sz_decode(&probe_and_get(&s, &c, h, 0x0100_0079, None)).unwrap();
    assert_eq!(names, ["Name", "DnsName"]);
    let fmts = PropertyList::decode(&probe_and_get(&s, &c, h, 0x0100_008d, None)).unwrap();
    assert_eq!(fmts.get("DnsName"), Some(&PropValue::Word(3)));
    let fmts = PropertyList::decode(&probe_and_get(&s, &c, h, 0x0100_0065, None)).unwrap();
    assert_eq!(fmts.len(), properties::RESOURCE_PROPERTIES.writable_names().len());
    // DNS name only for Network Name resources; network name through the dependency chain
    let ip = open(&c, &snap, "ip", Granted::All);
    assert_eq!(call_on(&s, &c, ip, 0x0100_0175, None, 0x4000).status, 1);
    assert_eq!(utf16z(&probe_and_get(&s, &c, ip, 0x0100_0169, None)), "CTDB-CLUSTER");

    let net = open(&c, &snap, "network", Granted::All);
    let ro = PropertyList::decode(&probe_and_get(&s, &c, net, 0x0500_0055, None)).unwrap();
    assert_eq!(ro.get("Address"), Some(&PropValue::Sz(snap.networks[0].address.clone())));
    assert_eq!(utf16z(&probe_and_get(&s, &c, net, 0x0500_0029, None)), "Cluster Network 1");

    let nif = open(&c, &snap, "netinterface", Granted::All);
    let i = &snap.net_interfaces[0];
    assert_eq!(utf16z(&probe_and_get(&s, &c, nif, 0x0600_0031, None)), snap.node_name(i.node_pnn).unwrap());
    assert_eq!(utf16z(&probe_and_get(&s, &c, nif, 0x0600_0035, None)), snap.network_by_id(&i.network_id).unwrap().name);
    let ro = PropertyList::decode(&probe_and_get(&s, &c, nif, 0x0600_0055, None)).unwrap();
    assert_eq!(ro.get("Name"), Some(&PropValue::Sz(i.name.clone())));
}

/// What `Get-ClusterResource | fl *` and Get-ClusterParameter read besides the common
/// properties: characteristics, required dependencies and the read-only private properties.
#[test]
fn resource_characteristics_dependencies_and_ro_private() {
    let (s, _, c, snap) = setup();
    let share = snap.resources.iter().find(|r| r.type_name == "File Share").expect("a share resource");
    let h = H::Resource(c.group.insert(ResourceHandle { id: share.id.clone(), access: Granted::All }).unwrap());
    let t = snap.find_resource_type("File Share").unwrap();
    assert_eq!(probe_and_get(&s, &c, h, 0x0100_0005, None), t.characteristics.to_le_bytes());
    let deps = probe_and_get(&s, &c, h, 0x0100_0011, None);
    assert_eq!(deps, properties::required_dependencies("File Share").encode());
    // a File Share must depend on a File Server: CLUSPROP_SYNTAX_NAME with the type name
    assert_eq!(deps[..8], [0x03, 0, 0x04, 0, 24, 0, 0, 0]);
    assert_eq!(utf16z(&deps[8..32]), "File Server");
    // no read-only private properties: an empty property list
    assert_eq!(probe_and_get(&s, &c, h, 0x0100_007d, None), PropertyList::new().encode());
}

/// The properties the presented version has, through the control codes: from 2016 on the
/// cluster reports its functional level and upgrade version (read-only: a SET is refused) and
/// takes the 2016 settings; 2012 R2 knows none of them.
#[test]
fn cluster_properties_follow_the_profile() {
    let c = ctx();
    let (s, _) = service();
    let h = open(&c, &s.backend.snapshot(), "cluster", Granted::All);
    let ro = PropertyList::decode(&probe_and_get(&s, &c, h, CLUSTER_GET_RO_COMMON, None)).unwrap();
    assert_eq!(ro.get("ClusterFunctionalLevel"), Some(&PropValue::Dword(11)));
    assert_eq!(ro.get("ClusterUpgradeVersion"), Some(&PropValue::Dword(3)));
    let set = |s: &ClusapiService, h, props: &[(&str, PropValue)]| {
        call_on(s, &c, h, CLUSTER_SET_COMMON, Some(plist(props)), 0).status
    };
    assert_eq!(set(&s, h, &[("ClusterFunctionalLevel", PropValue::Dword(12))]), 87);
    assert_eq!(set(&s, h, &[("QuarantineThreshold", PropValue::Dword(5))]), 0);
    let rw = PropertyList::decode(&probe_and_get(&s, &c, h, CLUSTER_GET_COMMON, None)).unwrap();
    assert_eq!(rw.get("QuarantineThreshold"), Some(&PropValue::Dword(5)));
    let names = multi_sz_decode(&probe_and_get(&s, &c, h, 0x0700_0051, None)).unwrap();
    assert!(names.iter().any(|n| n == "CrossSiteDelay"));

    let mut config = SimConfig::with_nodes(3);
    config.windows_version = nodes::WindowsVersion::Ws2012R2;
    let (old, _) = service_with(config);
    let h = open(&c, &old.backend.snapshot(), "cluster", Granted::All);
    let ro = PropertyList::decode(&probe_and_get(&old, &c, h, CLUSTER_GET_RO_COMMON, None)).unwrap();
    assert!(ro.get("ClusterFunctionalLevel").is_none());
    assert_eq!(set(&old, h, &[("QuarantineThreshold", PropValue::Dword(5))]), 87, "unknown in 2012 R2");
    let names = multi_sz_decode(&probe_and_get(&old, &c, h, 0x0700_0051, None)).unwrap();
    assert!(!names.iter().any(|n| n == "CrossSiteDelay"));
}

// ---------------------------------------------------------------------------------------------
// SET / VALIDATE

#[test]
fn set_validation_errors() {
    let (s, _, c, snap) = setup();
    let g = open(&c, &snap, "group", Granted::All);
    let set = |inp: Vec<u8>| call_on(&s, &c, g, GROUP_SET_COMMON, Some(inp), 0).status;
    assert_eq!(set(plist(&[("Bogus", PropValue::Dword(1))])), 87, "unknown name");
    assert_eq!(set(plist(&[("GroupType", PropValue::Dword(1))])), 87, "read-only");
    assert_eq!(set(plist(&[("Priority", PropValue::Sz("1".into()))])), 87, "wrong format");
    let good = plist(&[("Priority", PropValue::Dword(1000))]);
    assert_eq!(set(good[..good.len() - 12].to_vec()), 122, "truncated");
    assert_eq!(set(plist(&[("AutoFailbackType", PropValue::Dword(7))])), 13, "out of range");
    assert_eq!(set(plist(&[("Name", PropValue::Sz(String::new()))])), 87, "empty name");
    assert_eq!(set(vec![0xff, 0xff, 0xff, 0xff]), 87, "absurd count");
    // nothing was stored
    let rw = PropertyList::decode(call_on(&s, &c, g, GROUP_GET_COMMON, None, 0x4000).ok()).unwrap();
    assert_eq!(rw.get("Priority"), Some(&PropValue::Dword(2000)));
    // VALIDATE checks without storing
    assert_eq!(call_on(&s, &c, g, 0x0300_0061, Some(good.clone()), 0).status, 0);
    assert_eq!(call_on(&s, &c, g, 0x0300_0061, Some(plist(&[("Bogus", PropValue::Dword(1))])), 0).status, 87);
    let rw = PropertyList::decode(call_on(&s, &c, g, GROUP_GET_COMMON, None, 0x4000).ok()).unwrap();
    assert_eq!(rw.get("Priority"), Some(&PropValue::Dword(2000)));
    // an empty list is a no-op
    assert_eq!(set(PropertyList::new().encode()), 0);
}

#[test]
fn set_common_stores_renames_and_describes() {
    let (s, _, c, snap) = setup();
    let g = open(&c, &snap, "group", Granted::All);
    let inp = plist(&[
        ("priority", PropValue::Dword(3000)),
        ("Description", PropValue::Sz("core".into())),
        ("Name", PropValue::Sz("Cluster Group".into())),
        ("AntiAffinityClassNames", PropValue::MultiSz(vec!["a".into()])),
    ]);
    assert_eq!(call_on(&s, &c, g, GROUP_SET_COMMON, Some(inp), 0).status, 0);
    let rw = PropertyList::decode(call_on(&s, &c, g, GROUP_GET_COMMON, None, 0x4000).ok()).unwrap();
    assert_eq!(rw.get("Priority"), Some(&PropValue::Dword(3000)));
    assert_eq!(rw.get("Description"), Some(&PropValue::Sz("core".into())));
    assert_eq!(rw.get("AntiAffinityClassNames"), Some(&PropValue::MultiSz(vec!["a".into()])));
    // the same values ApiCreateGroupEnum shows
    let snap2 = s.backend.snapshot();
    let cg = snap2.cluster_group().unwrap();
    assert_eq!(properties::group_common(cg, &snap2).get("Priority"), Some(&PropValue::Dword(3000)));
    // reset: back to the default
    let inp = plist(&[("Priority", PropValue::Reset(Format::Dword))]);
    assert_eq!(call_on(&s, &c, g, GROUP_SET_COMMON, Some(inp), 0).status, 0);
    let rw = PropertyList::decode(call_on(&s, &c, g, GROUP_GET_COMMON, None, 0x4000).ok()).unwrap();
    assert_eq!(rw.get("Priority"), Some(&PropValue::Dword(2000)));
    // renaming through Name
    let inp = plist(&[("Name", PropValue::Sz("Core".into()))]);
    assert_eq!(call_on(&s, &c, g, GROUP_SET_COMMON, Some(inp), 0).status, 0);
    assert_eq!(s.backend.snapshot().cluster_group().unwrap().name, "Core");

    // cluster: its description lives in the admin store
    let cl = open(&c, &snap, "cluster", Granted::All);
    let inp = plist(&[("Description", PropValue::Sz("ctdb".into())), ("ClusterLogLevel", PropValue::Dword(5))]);
    assert_eq!(call_on(&s, &c, cl, CLUSTER_SET_COMMON, Some(inp), 0).status, 0);
    let rw = PropertyList::decode(call_on(&s, &c, cl, CLUSTER_GET_COMMON, None, 0xffff).ok()).unwrap();
    assert_eq!(rw.get("Description"), Some(&PropValue::Sz("ctdb".into())));
    assert_eq!(rw.get("ClusterLogLevel"), Some(&PropValue::Dword(5)));
    let ro = call_on(&s, &c, cl, CLUSTER_SET_COMMON, Some(plist(&[("FixQuorum", PropValue::Dword(1))])), 0);
    assert_eq!(ro.status, 87);
}

#[test]
fn resource_sets_take_effect_after_a_restart() {
    let (s, _, c, snap) = setup();
    let ip = open(&c, &snap, "ip", Granted::All);
    // SeparateMonitor of an online resource: stored, effective after a restart
    let inp = plist(&[("SeparateMonitor", PropValue::Dword(1))]);
    assert_eq!(call_on(&s, &c, ip, 0x0140_005e, Some(inp.clone()), 0).status, ERROR_RESOURCE_PROPERTIES_STORED);
    // setting it to the value it has: nothing to restart for
    assert_eq!(call_on(&s, &c, ip, 0x0140_005e, Some(inp), 0).status, 0);
    assert_eq!(call_on(&s, &c, ip, 0x0140_005e, Some(plist(&[("RestartDelay", PropValue::Dword(9))])), 0).status, 0);
    // private properties of the online IP resource
    let inp = plist(&[("OverrideAddressMatch", PropValue::Dword(1))]);
    assert_eq!(call_on(&s, &c, ip, 0x0140_0086, Some(inp), 0).status, ERROR_RESOURCE_PROPERTIES_STORED);
    let p = PropertyList::decode(call_on(&s, &c, ip, 0x0100_0081, None, 0x4000).ok()).unwrap();
    assert_eq!(p.get("OverrideAddressMatch"), Some(&PropValue::Dword(1)));
    assert_eq!(p.get("Address"), Some(&PropValue::Sz("127.0.100.2".into())));
    // the IP Address schema: unknown names, wrong formats and resets are refused
    for bad in [
        plist(&[("Bogus", PropValue::Dword(1))]),
        plist(&[("Address", PropValue::Dword(1))]),
        plist(&[("Address", PropValue::Reset(Format::Sz))]),
    ] {
        assert_eq!(call_on(&s, &c, ip, 0x0140_0086, Some(bad.clone()), 0).status, 87);
        assert_eq!(call_on(&s, &c, ip, 0x0100_0089, Some(bad), 0).status, 87);
    }
}

#[test]
fn private_properties_of_other_objects() {
    let (s, _, c, snap) = setup();
    let n = open(&c, &snap, "node", Granted::All);
    let inp = plist(&[("Site", PropValue::Sz("rack1".into())), ("Weight", PropValue::Dword(3))]);
    assert_eq!(call_on(&s, &c, n, NODE_SET_PRIVATE, Some(inp), 0).status, 0);
    let p = PropertyList::decode(&probe_and_get(&s, &c, n, NODE_GET_PRIVATE, None)).unwrap();
    assert_eq!(p.get("site"), Some(&PropValue::Sz("rack1".into())));
    assert_eq!(multi_sz_decode(&probe_and_get(&s, &c, n, 0x0400_0079, None)).unwrap(), ["Site", "Weight"]);
    // a zero-length value deletes, a format the model cannot keep is refused
    let inp = plist(&[("Site", PropValue::Reset(Format::Sz))]);
    assert_eq!(call_on(&s, &c, n, NODE_SET_PRIVATE, Some(inp), 0).status, 0);
    let p = PropertyList::decode(&probe_and_get(&s, &c, n, NODE_GET_PRIVATE, None)).unwrap();
    assert_eq!(p.len(), 1);
    let inp = plist(&[("Offset", PropValue::Long(-1))]);
    assert_eq!(call_on(&s, &c, n, NODE_SET_PRIVATE, Some(inp), 0).status, 87);
    // the resource type's Parameters too
    let rt = open(&c, &snap, "restype", Granted::All);
    let inp = plist(&[("Tuning", PropValue::Dword(1))]);
    assert_eq!(call_on(&s, &c, rt, 0x0240_0086, Some(inp), 0).status, 0);
    let p = PropertyList::decode(&probe_and_get(&s, &c, rt, 0x0200_0081, None)).unwrap();
    assert_eq!(p.get("Tuning"), Some(&PropValue::Dword(1)));
}

#[test]
fn set_persists_through_the_state_file() {
    let dir = tempfile::Builder::new().prefix("clusapid-control-").tempdir().unwrap();
    let cfg = SimConfig { state_file: Some(dir.path().join("overlay.toml")), ..SimConfig::with_nodes(3) };
    {
        let (s, _) = service_with(cfg.clone());
        let c = ctx();
        let snap = s.backend.snapshot();
        let g = open(&c, &snap, "group", Granted::All);
        let n = open(&c, &snap, "node", Granted::All);
        let inp = plist(&[("Priority", PropValue::Dword(1000)), ("FailoverPeriod", PropValue::Dword(2))]);
        assert_eq!(call_on(&s, &c, g, GROUP_SET_COMMON, Some(inp), 0).status, 0);
        let inp = plist(&[("NodeWeight", PropValue::Dword(0)), ("Description", PropValue::Sz("n1".into()))]);
        assert_eq!(call_on(&s, &c, n, NODE_SET_COMMON, Some(inp), 0).status, 0);
    }
    // a new daemon over the same state file
    let (s, _) = service_with(cfg);
    let c = ctx();
    let snap = s.backend.snapshot();
    let g = open(&c, &snap, "group", Granted::All);
    let rw = PropertyList::decode(&probe_and_get(&s, &c, g, GROUP_GET_COMMON, None)).unwrap();
    assert_eq!(rw.get("Priority"), Some(&PropValue::Dword(1000)));
    assert_eq!(rw.get("FailoverPeriod"), Some(&PropValue::Dword(2)));
    let n = open(&c, &snap, "node", Granted::All);
    let rw = PropertyList::decode(&probe_and_get(&s, &c, n, NODE_GET_COMMON, None)).unwrap();
    assert_eq!(rw.get("NodeWeight"), Some(&PropValue::Dword(0)));
    assert_eq!(rw.get("Description"), Some(&PropValue::Sz("n1".into())));
}

#[test]
fn objects_gone_since_the_open() {
    let (s, b) = service();
    let c = ctx();
    let gid = block_on(b.create_group("temp")).unwrap();
    let h = H::Group(c.group.insert(GroupHandle { id: gid.clone(), access: Granted::All }).unwrap());
    assert_eq!(call_on(&s, &c, h, GROUP_GET_FLAGS, None, 4).status, 0);
    block_on(b.delete_group(&gid)).unwrap();
    assert_eq!(call_on(&s, &c, h, GROUP_GET_FLAGS, None, 4).status, ERROR_GROUP_NOT_FOUND);
}

#[test]
fn group_sets_only_answer_get_id() {
    let (s, _) = service();
    let c = ctx();
    let gs = c.group.insert(GroupSetHandle { name: "Set".into(), access: Granted::Read }).unwrap();
    let call = |code: u32| {
        r(block_on(async {
            api_group_set_control(
                &s,
                &c,
                ApiGroupSetControlRequest {
                    group_set: gs,
                    control_code: code,
                    in_buffer: None,
                    in_buffer_size: 0,
                    out_buffer_size: 0x100,
                },
            )
        })
        .into_reply())
    };
    assert_eq!(call(0).status, 1);
    assert_eq!(utf16z(call(0x0800_0039).ok()), "Set");
    assert_eq!(call(0x0800_0059).status, 1);
    assert_eq!(call(0x0840_005e).status, ERROR_ACCESS_DENIED);
}

#[test]
fn read_only_node_state_values() {
    let (s, b, c, snap) = setup();
    let n = open(&c, &snap, "node", Granted::All);
    block_on(b.pause_node(1)).unwrap();
    let ro = PropertyList::decode(&probe_and_get(&s, &c, n, NODE_GET_RO_COMMON, None)).unwrap();
    assert_eq!(ro.get("NodeDrainStatus"), Some(&PropValue::Dword(2)));
    assert_eq!(ro.get("DynamicWeight"), Some(&PropValue::Dword(1)));
    b.set_node_flags(1, CtdbNodeFlags::DISCONNECTED).unwrap();
    let ro = PropertyList::decode(&probe_and_get(&s, &c, n, NODE_GET_RO_COMMON, None)).unwrap();
    assert_eq!(ro.get("NodeDrainStatus"), Some(&PropValue::Dword(0)));
    assert_eq!(ro.get("DynamicWeight"), Some(&PropValue::Dword(0)));
}

// ---------------------------------------------------------------------------------------------
// byte-exact: a Windows Server 2012 R2 node's read-only common properties

/// `CLUSCTL_NODE_GET_RO_COMMON_PROPERTIES` of node "node1" (id 2) as Windows Server 2012 R2
/// lays it out (protocol-facts §5): the 12 properties in Windows' order, every item padded to 4
/// bytes with lengths excluding the padding, NodeName's 18-byte name padded to 20, the empty
/// CSDVersion a 2-byte value padded to 4, and the trailing ENDMARK after the last property.
#[test]
fn node_ro_common_properties_byte_exact() {
    fn put(b: &mut Vec<u8>, v: u32) {
        b.extend(v.to_le_bytes());
    }
    fn item(b: &mut Vec<u8>, syntax: u32, data: &[u8]) {
        put(b, syntax);
        put(b, data.len() as u32);
        b.extend(data);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
    }
    fn wide(s: &str) -> Vec<u8> {
        s.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()
    }
    const NAME: u32 = 0x0004_0003;
    const SZ: u32 = 0x0001_0003;
    const DWORD: u32 = 0x0001_0002;
    let props: [(&str, u32, Vec<u8>); 12] = [
        ("NodeName", SZ, wide("node1")),
        ("NodeHighestVersion", DWORD, 0x0008_2580u32.to_le_bytes().to_vec()),
        ("NodeLowestVersion", DWORD, 0x0008_2580u32.to_le_bytes().to_vec()),
        ("MajorVersion", DWORD, 6u32.to_le_bytes().to_vec()),
        ("MinorVersion", DWORD, 3u32.to_le_bytes().to_vec()),
        ("BuildNumber", DWORD, 9600u32.to_le_bytes().to_vec()),
        ("CSDVersion", SZ, wide("")),
        ("NodeInstanceID", SZ, wide("00000000-0000-0000-0000-000000000002")),
        ("NodeDrainStatus", DWORD, 0u32.to_le_bytes().to_vec()),
        ("NodeDrainTarget", DWORD, u32::MAX.to_le_bytes().to_vec()),
        ("DynamicWeight", DWORD, 1u32.to_le_bytes().to_vec()),
        ("NeedsPreventQuorum", DWORD, 0u32.to_le_bytes().to_vec()),
    ];
    let mut want = Vec::new();
    put(&mut want, 12);
    for (name, syntax, data) in &props {
        item(&mut want, NAME, &wide(name));
        item(&mut want, *syntax, data);
        put(&mut want, 0); // ENDMARK
    }
    put(&mut want, 0); // trailing ENDMARK
    assert_eq!(want.len(), 740);
    // spot checks against the capture's first property
    #[rustfmt::skip]
    let head: &[u8] = &[
        0x0c, 0, 0, 0,                 // propertyCount
        0x03, 0, 0x04, 0, 0x12, 0, 0, 0, // NAME, 18 bytes
        b'N', 0, b'o', 0, b'd', 0, b'e', 0, b'N', 0, b'a', 0, b'm', 0, b'e', 0, 0, 0,
        0, 0,                          // pad 18 -> 20
        0x03, 0, 0x01, 0, 0x0c, 0, 0, 0, // LIST_VALUE_SZ, 12 bytes
        b'n', 0, b'o', 0, b'd', 0, b'e', 0, b'1', 0, 0, 0,
        0, 0, 0, 0,                    // ENDMARK
    ];
    assert_eq!(&want[..head.len()], head);

    // (the 2012 R2 profile: the capture is of a 2012 R2 node)
    let mut config = SimConfig::with_nodes(3);
    config.windows_version = nodes::WindowsVersion::Ws2012R2;
    let s = nodes::SimulatedCluster::new(config.clone()).unwrap().snapshot();
    let node = nodes::Node {
        pnn: 1,
        id: "2".into(),
        name: "node1".into(),
        address: "127.0.0.2".parse().unwrap(),
        state: nodes::NodeState::Up,
        flags: CtdbNodeFlags::OK,
        instance_id: "00000000-0000-0000-0000-000000000002".into(),
        description: String::new(),
        fqdn: None,
        drain_status: nodes::DrainStatus::NotInitiated,
        drain_target: None,
    };
    assert_eq!(properties::node_ro_common(&node, &s).encode(), want);

    // and through ApiNodeControl, for the simulated CTDB_NODE_1 (id 2)
    let (svc, _) = service_with(config);
    let c = ctx();
    let h = open(&c, &svc.backend.snapshot(), "node", Granted::All);
    let got = probe_and_get(&svc, &c, h, NODE_GET_RO_COMMON, None);
    let name_item = |n: &str| {
        let mut b = Vec::new();
        item(&mut b, SZ, &wide(n));
        b
    };
    // only NodeName differs ("CTDB_NODE_1" is 24 bytes, "node1" 12)
    let value_at = 4 + 8 + 20; // propertyCount, NAME item "NodeName"
    let mut want_sim = want[..value_at].to_vec();
    want_sim.extend(name_item("CTDB_NODE_1"));
    want_sim.extend(&want[value_at + name_item("node1").len()..]);
    assert_eq!(got, want_sim);
}

// ---------------------------------------------------------------------------------------------
// CLUSCTL_CLUSTER_SET_ACCOUNT_ACCESS

fn account_access(sid: &str, mask: u32, kind: u32) -> Vec<u8> {
    let mut l = PropertyList::new();
    l.push("AccountSID", PropValue::Sz(sid.into()));
    l.push("AccountAccessMask", PropValue::Dword(mask));
    l.push("AccountAccessType", PropValue::Dword(kind));
    l.encode()
}

/// [MS-CMRP 3.1.4.3.7.21]: the edit needs "All", is validated, changes the cluster security
/// descriptor (the root value clients read) and what a domain caller is entitled to, and is
/// kept in the stored cluster registry, so a second service over the same backend (another
/// node's clusapid, or a restart) sees it.
#[test]
fn set_account_access_edits_the_cluster_descriptor() {
    const SET: u32 = 0x0740_00f2;
    let user = "S-1-5-21-7-7-7-1103";
    let token = vec![user.to_string(), "S-1-5-11".to_string()];
    let (s, b, c, snap) = setup();
    assert_eq!(s.access.entitlement(&token), None);
    let before = s.access.descriptor();

    // a read-only handle cannot change access
    let ro = open(&c, &snap, "cluster", Granted::Read);
    assert_eq!(call_on(&s, &c, ro, SET, Some(account_access(user, 3, 0)), 0).status, ERROR_ACCESS_DENIED);
    // malformed input
    let h = open(&c, &snap, "cluster", Granted::All);
    for bad in [
        account_access(user, 3, 7),
        account_access(user, 0x10, 0),
        account_access("S-1-5-x", 3, 0),
        PropertyList::new().encode(),
        vec![1, 2, 3],
    ] {
        // ERROR_INVALID_PARAMETER, the property-list codec's error for a truncated list, or
        // ERROR_NONE_MAPPED for a name that is no SID and that no winbindd here resolves
        let st = call_on(&s, &c, h, SET, Some(bad), 0).status;
        assert!(st == ERROR_INVALID_PARAMETER || st == 122 || st == 13 || st == 1332, "{st}");
    }
    assert_eq!(s.access.entitlement(&token), None);

    // Grant-ClusterAccess -Full
    assert_eq!(call_on(&s, &c, h, SET, Some(account_access(user, 3, 0)), 0).status, 0);
    assert_eq!(s.access.entitlement(&token), Some(AccessLevel::Full));
    let after = s.access.descriptor();
    assert_ne!(before, after);
    let live = block_on(super::super::registry::live(&s));
    assert_eq!(live.root.value("Security Descriptor").unwrap().data, after, "clients read the new descriptor");

    // persistent and cluster-wide: a fresh service over the same backend
    let other = ClusapiService::new(b.clone());
    assert_eq!(other.access.entitlement(&token), None);
    block_on(super::super::registry::live(&other));
    assert_eq!(other.access.entitlement(&token), Some(AccessLevel::Full));

    // Block-ClusterAccess, then Remove-ClusterAccess
    assert_eq!(call_on(&s, &c, h, SET, Some(account_access(user, 4, 1)), 0).status, 0);
    assert_eq!(s.access.entitlement(&token), None);
    assert_eq!(call_on(&s, &c, h, SET, Some(account_access(user, 0, 2)), 0).status, 0);
    assert_eq!(s.access.entitlement(&token), None);
    assert_eq!(s.access.descriptor(), before);
    // the well-known names need no winbindd
    assert_eq!(call_on(&s, &c, h, SET, Some(account_access("NT AUTHORITY\\Authenticated Users", 1, 0)), 0).status, 0);
    assert_eq!(s.access.entitlement(&token), Some(AccessLevel::ReadOnly));
}
