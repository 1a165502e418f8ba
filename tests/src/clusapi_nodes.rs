//! The node calls several integration tests make with the blocking [`RpcClient`]: ApiOpenNode,
//! ApiGetNodeState, ApiPauseNode and ApiResumeNode. A fault or an undecodable reply panics.

use idl::clusapi::*;
use idl::{ByteOrder, ContextHandle, WString};

use crate::RpcClient;

/// ApiOpenNode of `name`; asserts the status is 0.
pub fn open_node(c: &mut RpcClient, name: &str) -> ContextHandle {
    let stub = ApiOpenNodeRequest { node_name: WString::new(name) }.to_stub();
    let stub = c.call(ApiOpenNodeRequest::OPNUM, &stub).expect("ApiOpenNode faulted");
    let r = ApiOpenNodeResponse::decode_stub(&stub, ByteOrder::Little).expect("decoding ApiOpenNode");
    assert_eq!(r.status.0, 0, "ApiOpenNode {name}");
    r.node
}

/// ApiGetNodeState of `node`; asserts the result is 0.
pub fn node_state(c: &mut RpcClient, node: ContextHandle) -> u32 {
    let stub = c.call(ApiGetNodeStateRequest::OPNUM, &ApiGetNodeStateRequest { node }.to_stub());
    let r = ApiGetNodeStateResponse::decode_stub(&stub.expect("ApiGetNodeState faulted"), ByteOrder::Little)
        .expect("decoding ApiGetNodeState");
    assert_eq!(r.result.0, 0, "ApiGetNodeState");
    r.state
}

/// ApiPauseNode of `node`: its result.
pub fn pause_node(c: &mut RpcClient, node: ContextHandle) -> u32 {
    let stub = c.call(ApiPauseNodeRequest::OPNUM, &ApiPauseNodeRequest { node }.to_stub());
    ApiPauseNodeResponse::decode_stub(&stub.expect("ApiPauseNode faulted"), ByteOrder::Little)
        .expect("decoding ApiPauseNode")
        .result
        .0
}

/// ApiResumeNode of `node`: its result.
pub fn resume_node(c: &mut RpcClient, node: ContextHandle) -> u32 {
    let stub = c.call(ApiResumeNodeRequest::OPNUM, &ApiResumeNodeRequest { node }.to_stub());
    ApiResumeNodeResponse::decode_stub(&stub.expect("ApiResumeNode faulted"), ByteOrder::Little)
        .expect("decoding ApiResumeNode")
        .result
        .0
}
