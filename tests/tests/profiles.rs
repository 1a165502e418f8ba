//! The presented Windows version over the wire, on `clusapid demo --windows-version V`:
//! ApiGetClusterVersion2 and the node properties report the profile's numbers, the methods a
//! version lacks fault with `nca_s_op_rng_error`, and a drain started with ApiPauseNodeEx
//! answers ERROR_IO_PENDING and converges in what a client polls (NodeDrainStatus, node state,
//! group owners).

use std::time::{Duration, Instant};

use idl::clusapi::*;
use idl::{Bool32, ByteOrder, ConfBytes, ContextHandle};
use registry_model::{PropValue, PropertyList};
use tests::clusapi_nodes::open_node;
use tests::win::ERROR_IO_PENDING;
use tests::*;

const LE: ByteOrder = ByteOrder::Little;
const NCA_S_OP_RNG_ERROR: u32 = 0x1C01_0002;
const CLUSCTL_NODE_GET_RO_COMMON_PROPERTIES: u32 = 0x0400_0055;
const CLUSCTL_CLUSTER_GET_RO_COMMON_PROPERTIES: u32 = 0x0700_0055;

fn version2(c: &mut RpcClient) -> ApiGetClusterVersion2Response {
    let stub = c.call(ApiGetClusterVersion2Request::OPNUM, &ApiGetClusterVersion2Request {}.to_stub()).unwrap();
    ApiGetClusterVersion2Response::decode_stub(&stub, LE).unwrap()
}

fn open_cluster(c: &mut RpcClient) -> ContextHandle {
    let stub = c.call(ApiOpenClusterRequest::OPNUM, &ApiOpenClusterRequest {}.to_stub()).unwrap();
    let r = ApiOpenClusterResponse::decode_stub(&stub, LE).unwrap();
    assert_eq!(r.status.0, 0);
    r.cluster
}

fn node_ro(c: &mut RpcClient, node: ContextHandle) -> PropertyList {
    let req = ApiNodeControlRequest {
        node,
        control_code: CLUSCTL_NODE_GET_RO_COMMON_PROPERTIES,
        in_buffer: None,
        in_buffer_size: 0,
        out_buffer_size: 0x4000,
    };
    let r = ApiNodeControlResponse::decode_stub(&c.call(ApiNodeControlRequest::OPNUM, &req.to_stub()).unwrap(), LE)
        .unwrap();
    assert_eq!(r.result.0, 0);
    PropertyList::decode(&r.out_buffer.data).unwrap()
}

fn cluster_ro(c: &mut RpcClient, cluster: ContextHandle) -> PropertyList {
    let req = ApiClusterControlRequest {
        cluster,
        control_code: CLUSCTL_CLUSTER_GET_RO_COMMON_PROPERTIES,
        in_buffer: None::<ConfBytes>,
        in_buffer_size: 0,
        out_buffer_size: 0x4000,
    };
    let stub = c.call(ApiClusterControlRequest::OPNUM, &req.to_stub()).unwrap();
    let r = ApiClusterControlResponse::decode_stub(&stub, LE).unwrap();
    assert_eq!(r.result.0, 0);
    PropertyList::decode(&r.out_buffer.data).unwrap()
}

fn dword(l: &PropertyList, name: &str) -> Option<u32> {
    match l.get(name) {
        Some(PropValue::Dword(v)) => Some(*v),
        _ => None,
    }
}

/// A profile and what it reports: OS major/minor/build, cluster version, functional level.
type Expected = (&'static str, (u16, u16, u16), u32, Option<u32>);

const PROFILES: [Expected; 5] = [
    ("2012r2", (6, 3, 9600), 0x0008_2580, None),
    ("2016", (10, 0, 14393), 0x0009_0003, Some(9)),
    ("2019", (10, 0, 17763), 0x000a_0003, Some(10)),
    ("2022", (10, 0, 20348), 0x000b_0003, Some(11)),
    ("2025", (10, 0, 26100), 0x000c_0004, Some(12)),
];

#[test]
fn every_profile_reports_its_version_and_has_its_methods() {
    for (profile, (major, minor, build), cluster_version, level) in PROFILES {
        let mut demo = Demo::start(&["--windows-version", profile]);
        let mut c = RpcClient::clusapi(demo.port);
        let v = version2(&mut c);
        assert_eq!(
            (v.result.0, v.major_version, v.minor_version, v.build_number),
            (0, major, minor, build),
            "{profile}"
        );
        let info = v.cluster_op_ver_info.expect("operational version info");
        assert_eq!(
            (info.dw_cluster_highest_version, info.dw_cluster_lowest_version, info.dw_flags),
            (cluster_version, cluster_version, 0),
            "{profile}"
        );
        // the nodes say the same
        let n = open_node(&mut c, "CTDB_NODE_1");
        let ro = node_ro(&mut c, n);
        assert_eq!(dword(&ro, "NodeHighestVersion"), Some(cluster_version), "{profile}");
        assert_eq!(dword(&ro, "MajorVersion"), Some(u32::from(major)), "{profile}");
        assert_eq!(dword(&ro, "BuildNumber"), Some(u32::from(build)), "{profile}");
        let cluster = open_cluster(&mut c);
        assert_eq!(dword(&cluster_ro(&mut c, cluster), "ClusterFunctionalLevel"), level, "{profile}");
        // ApiCreateGroupSetEnum (180) exists from 2016 on
        let r = c.try_call(ApiCreateGroupSetEnumRequest::OPNUM, &ApiCreateGroupSetEnumRequest { cluster }.to_stub());
        if profile == "2012r2" {
            assert!(matches!(r, Err(RpcError::Fault(NCA_S_OP_RNG_ERROR))), "{profile}: {r:?}");
            // the connection goes on
            assert_eq!(version2(&mut c).result.0, 0);
        } else {
            let r = ApiCreateGroupSetEnumResponse::decode_stub(&r.unwrap(), LE).unwrap();
            assert_eq!((r.result.0, r.return_enum.map(|e| e.entries.len())), (0, Some(0)), "{profile}");
        }
        demo.assert_alive();
    }
}

#[test]
fn a_drain_is_pending_and_converges_for_a_poller() {
    let mut demo = Demo::start(&[]);
    let mut c = RpcClient::clusapi(demo.port);
    let n1 = open_node(&mut c, "CTDB_NODE_1");
    let req = ApiPauseNodeExRequest { node: n1, drain_node: Bool32(true), pause_flags: 0 };
    let stub = c.call(ApiPauseNodeExRequest::OPNUM, &req.to_stub()).unwrap();
    assert_eq!(ApiPauseNodeExResponse::decode_stub(&stub, LE).unwrap().result.0, ERROR_IO_PENDING);
    // poll as Suspend-ClusterNode -Drain -Wait would: NodeDrainStatus InProgress (1) until
    // Completed (2)
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        let ro = node_ro(&mut c, n1);
        let status = dword(&ro, "NodeDrainStatus").unwrap();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        if status == 2 {
            break;
        }
        assert!(matches!(status, 0 | 1), "NodeDrainStatus {status}");
        assert!(start.elapsed() < Duration::from_secs(10), "no convergence: {seen:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stub = c.call(ApiGetNodeStateRequest::OPNUM, &ApiGetNodeStateRequest { node: n1 }.to_stub()).unwrap();
    assert_eq!(ApiGetNodeStateResponse::decode_stub(&stub, LE).unwrap().state, 2, "Paused");
    // the node owns no group any more
    let req = ApiCreateNodeEnumRequest { node: n1, enum_type: 2 };
    let stub = c.call(ApiCreateNodeEnumRequest::OPNUM, &req.to_stub()).unwrap();
    let r = ApiCreateNodeEnumResponse::decode_stub(&stub, LE).unwrap();
    assert_eq!((r.result.0, r.return_enum.map(|e| e.entries.len())), (0, Some(0)));
    demo.assert_alive();
}
