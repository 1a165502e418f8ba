//! Notification ports against a running `clusapid demo`: a version 2 port reports a node
//! pause made over another connection while its ApiGetNotifyV2 blocks, and a second
//! connection of the same association group unblocks a waiting call.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use idl::clusapi::*;
use idl::{Bool32, ByteOrder, ContextHandle, WString};
use tests::clusapi_nodes::{open_node, pause_node, resume_node};
use tests::win::{ERROR_INVALID_FUNCTION, ERROR_NO_MORE_ITEMS, NODE_PAUSED};
use tests::*;

const LE: ByteOrder = ByteOrder::Little;
const OBJECT_TYPE_NODE: u32 = 7;
const NODE_STATE_V2: i64 = 0x10;

fn get_notify_v2(c: &mut RpcClient, port: ContextHandle) -> ApiGetNotifyV2Response {
    let stub = c
        .call(ApiGetNotifyV2Request::OPNUM, &ApiGetNotifyV2Request { notify: port }.to_stub())
        .expect("ApiGetNotifyV2 faulted");
    ApiGetNotifyV2Response::decode_stub(&stub, LE).expect("decoding ApiGetNotifyV2")
}

/// Runs ApiGetNotifyV2 on `c` in a thread; the receiver yields the client back with the answer.
fn get_in_background(mut c: RpcClient, port: ContextHandle) -> mpsc::Receiver<(RpcClient, ApiGetNotifyV2Response)> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let r = get_notify_v2(&mut c, port);
        let _ = tx.send((c, r));
    });
    rx
}

#[test]
fn v2_port_reports_a_pause_made_on_another_connection() {
    let demo = Demo::start(&[]);
    let mut a = RpcClient::clusapi(demo.port);
    let n1 = open_node(&mut a, "CTDB_NODE_1");
    let stub = a.call(ApiCreateNotifyV2Request::OPNUM, &ApiCreateNotifyV2Request {}.to_stub()).expect("faulted");
    let created = ApiCreateNotifyV2Response::decode_stub(&stub, LE).expect("decoding ApiCreateNotifyV2");
    assert_eq!(created.rpc_error.0, 0);
    let port = created.notify;
    let add = ApiAddNotifyV2Request {
        notify: port,
        object: n1,
        filter: NotifyFilterAndTypeRpc { dw_object_type: OBJECT_TYPE_NODE, filter_flags: NODE_STATE_V2 },
        notify_key: 0x77,
        version: 2,
        is_targeted_at_object: Bool32(true),
    };
    let stub = a.call(ApiAddNotifyV2Request::OPNUM, &add.to_stub()).expect("ApiAddNotifyV2 faulted");
    assert_eq!(ApiAddNotifyV2Response::decode_stub(&stub, LE).unwrap().result.0, 0);

    // the wait blocks until another connection pauses the node
    let pending = get_in_background(a, port);
    thread::sleep(Duration::from_millis(300));
    assert!(pending.try_recv().is_err(), "ApiGetNotifyV2 completed before anything happened");
    let mut other = RpcClient::clusapi(demo.port);
    let n1_other = open_node(&mut other, "CTDB_NODE_1");
    assert_eq!(pause_node(&mut other, n1_other), 0);
    let (a, r) = pending.recv_timeout(Duration::from_secs(10)).expect("ApiGetNotifyV2 still blocked");
    assert_eq!(r.result.0, 0);
    let v = r.notifications.map(|a| a.0).expect("notifications");
    assert_eq!((r.num_notifications, v.len()), (1, 1));
    assert_eq!(v[0].dw_notify_key, 0x77);
    let d = &v[0].notification_data;
    assert_eq!(
        d.filter_and_type,
        NotifyFilterAndTypeRpc { dw_object_type: OBJECT_TYPE_NODE, filter_flags: NODE_STATE_V2 }
    );
    assert_eq!(d.object_id.as_ref().map(WString::as_str), Some("2"));
    assert_eq!(d.name.as_ref().map(WString::as_str), Some("CTDB_NODE_1"));
    assert_eq!(d.buffer.as_ref().map(|b| b.0.clone()), Some(NODE_PAUSED.to_le_bytes().to_vec()));

    // a second connection joining the association group unblocks the next wait
    let assoc = a.assoc_group_id;
    let pending = get_in_background(a, port);
    thread::sleep(Duration::from_millis(200));
    let mut b = RpcClient::connect(demo.port, Auth::alice());
    let bound = b.bind(clusapi_syntax(), assoc).expect("joining the association group");
    assert_eq!(bound[0].result, dcerpc::pdu::result::ACCEPTANCE);
    let stub = b
        .call(ApiUnblockGetNotifyCallRequest::OPNUM, &ApiUnblockGetNotifyCallRequest { notify: port }.to_stub())
        .expect("ApiUnblockGetNotifyCall faulted");
    assert_eq!(ApiUnblockGetNotifyCallResponse::decode_stub(&stub, LE).unwrap().result.0, 0);
    let (mut a, r) = pending.recv_timeout(Duration::from_secs(10)).expect("unblock did not complete the wait");
    assert_eq!(r.result.0, ERROR_INVALID_FUNCTION);
    assert_eq!(get_notify_v2(&mut a, port).result.0, ERROR_NO_MORE_ITEMS);
    let stub =
        a.call(ApiCloseNotifyRequest::OPNUM, &ApiCloseNotifyRequest { notify: port }.to_stub()).expect("faulted");
    let closed = ApiCloseNotifyResponse::decode_stub(&stub, LE).unwrap();
    assert_eq!((closed.result.0, closed.notify), (0, ContextHandle::NULL));

    assert_eq!(resume_node(&mut other, n1_other), 0);
    a.close();
    b.close();
    other.close();
}
