//! Batches and batch notification ports over a simulated cluster.

use std::sync::Arc;
use std::time::Duration;

use idl::clusapi::*;
use idl::{ConfBytes, ContextHandle, WString};
use nodes::ClusterBackend;
use registry_model::value::{REG_DWORD, REG_SZ};
use registry_model::RegValue;

use super::*;
use crate::services::clusapi::registry::api_delete_key;
use crate::services::clusapi::registry::tests::{
    admin, admin_root, create, open, read, reader, root, set, sim, svc_over,
};

fn cmd(command_type: u32, value_type: u32, name: &str, data: &[u8]) -> BatchUpdateCommand {
    BatchUpdateCommand { command_type, value_type, name: name.into(), data: data.to_vec() }
}

fn set_cmd(name: &str, v: &RegValue) -> BatchUpdateCommand {
    cmd(CLUSREG_SET_VALUE, v.kind, name, &v.data)
}

fn batch(commands: Vec<BatchUpdateCommand>) -> ClusterRegBatchUpdate {
    ClusterRegBatchUpdate { version: BATCH_VERSION, commands }
}

async fn execute(s: &ClusapiService, c: &CallCtx, key: &ContextHandle, b: &ClusterRegBatchUpdate) -> (u32, i32) {
    let bytes = b.to_bytes();
    let r = api_execute_batch(
        s,
        c,
        ApiExecuteBatchRequest { key: *key, cb_data: bytes.len() as u32, data: ConfBytes(bytes) },
    )
    .await;
    assert_eq!(r.rpc_status, 0);
    (r.result.0, r.failed_command)
}

async fn port(s: &ClusapiService, c: &CallCtx, key: &ContextHandle) -> ContextHandle {
    let r = api_create_batch_port(s, c, ApiCreateBatchPortRequest { key: *key }).await;
    assert_eq!((r.result.0, r.rpc_status), (0, 0));
    r.batch_port
}

/// The next notification of a port (must be queued already).
async fn next(s: &ClusapiService, c: &CallCtx, p: &ContextHandle) -> ClusterRegBatchUpdate {
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        api_get_batch_notification(s, c, ApiGetBatchNotificationRequest { batch_notify: *p }),
    )
    .await
    .expect("a notification is queued");
    assert_eq!(r.result.0, 0);
    let data = r.data.unwrap().0;
    assert_eq!(r.cb_data as usize, data.len());
    ClusterRegBatchUpdate::parse(&data).unwrap()
}

async fn read_batch_call(
    s: &ClusapiService,
    c: &CallCtx,
    key: &ContextHandle,
    b: &ClusterRegBatchUpdate,
    ex: bool,
) -> Result<ClusterRegBatchUpdate, u32> {
    let bytes = b.to_bytes();
    let n = bytes.len() as u32;
    let (result, cb, data) = if ex {
        let r = api_execute_read_batch_ex(
            s,
            c,
            ApiExecuteReadBatchExRequest { key: *key, cb_in_data: n, in_data: ConfBytes(bytes), flags: 2 },
        )
        .await;
        (r.result.0, r.cb_out_data, r.out_data)
    } else {
        let r = api_execute_read_batch(
            s,
            c,
            ApiExecuteReadBatchRequest { key: *key, cb_in_data: n, in_data: ConfBytes(bytes) },
        )
        .await;
        (r.result.0, r.cb_out_data, r.out_data)
    };
    if result != 0 {
        assert!(data.is_none());
        return Err(result);
    }
    let data = data.unwrap().0;
    assert_eq!(cb as usize, data.len());
    Ok(ClusterRegBatchUpdate::parse(&data).unwrap())
}

// ---- ApiExecuteBatch ----

#[tokio::test]
async fn execute_batch_applies_every_command() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    let batch = batch(vec![
        // relative to the designated key (the root) until the first CREATE_KEY
        set_cmd("AtRoot", &RegValue::dword(1)),
        cmd(CLUSREG_CREATE_KEY, 0, "App\\Config", &[]),
        set_cmd("Name", &RegValue::sz("x")),
        set_cmd("Size", &RegValue::dword(3)),
        cmd(CLUSREG_DELETE_VALUE, 0, "Size", &[]),
        cmd(CLUSREG_DELETE_VALUE, 0, "NeverExisted", &[]),
        cmd(CLUSREG_CREATE_KEY, 0, "App\\Other", &[]),
        set_cmd("Flag", &RegValue::dword(9)),
        cmd(CLUSREG_DELETE_KEY, 0, "App\\DoesNotExist", &[]),
    ]);
    assert_eq!(execute(&s, &c, &r, &batch).await, (0, -1));
    assert_eq!(read(&s, &c, &r, "AtRoot").await.unwrap(), RegValue::dword(1));
    let k = open(&s, &c, &r, "App\\Config").await.key;
    assert_eq!(read(&s, &c, &k, "Name").await.unwrap(), RegValue::sz("x"));
    assert_eq!(read(&s, &c, &k, "Size").await.unwrap_err(), 2);
    let o = open(&s, &c, &r, "App\\Other").await.key;
    assert_eq!(read(&s, &c, &o, "Flag").await.unwrap(), RegValue::dword(9));
    // Relative to a non-root designated key.
    let app = open(&s, &c, &r, "App").await.key;
    let b2 = batch_of(vec![cmd(CLUSREG_CREATE_KEY, 0, "Config", &[]), set_cmd("Name", &RegValue::sz("y"))]);
    assert_eq!(execute(&s, &c, &app, &b2).await, (0, -1));
    assert_eq!(read(&s, &c, &k, "Name").await.unwrap(), RegValue::sz("y"));
    // DELETE_KEY removes the whole subtree.
    let b3 = batch_of(vec![cmd(CLUSREG_DELETE_KEY, 0, "App", &[])]);
    assert_eq!(execute(&s, &c, &r, &b3).await, (0, -1));
    assert_eq!(open(&s, &c, &r, "App").await.status.0, 2);
}

fn batch_of(commands: Vec<BatchUpdateCommand>) -> ClusterRegBatchUpdate {
    batch(commands)
}

#[tokio::test]
async fn execute_batch_is_all_or_nothing() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    let before = b.registry_blob().await.unwrap();
    let failing = batch(vec![
        cmd(CLUSREG_CREATE_KEY, 0, "Tx", &[]),
        set_cmd("A", &RegValue::dword(1)),
        cmd(CLUSREG_CREATE_KEY, 0, "", &[]),
        set_cmd("ClusterName", &RegValue::sz("hijack")), // derived: access denied
        set_cmd("B", &RegValue::dword(2)),
    ]);
    assert_eq!(execute(&s, &c, &r, &failing).await, (5, 3));
    assert_eq!(open(&s, &c, &r, "Tx").await.status.0, 2, "the first commands were backed out");
    assert_eq!(b.registry_blob().await.unwrap(), before);
    // "After the key pointer is cleared, ... ERROR_INVALID_PARAMETER if a CLUSREG_SET_VALUE
    // ... is encountered prior to a CLUSREG_CREATE_KEY command."
    let cleared = batch(vec![
        cmd(CLUSREG_CREATE_KEY, 0, "Tx\\Sub", &[]),
        cmd(CLUSREG_DELETE_KEY, 0, "Tx\\Sub", &[]),
        set_cmd("A", &RegValue::dword(1)),
    ]);
    assert_eq!(execute(&s, &c, &r, &cleared).await, (87, 2));
    let cleared_delete = batch(vec![cmd(CLUSREG_DELETE_KEY, 0, "Tx", &[]), cmd(CLUSREG_DELETE_VALUE, 0, "A", &[])]);
    assert_eq!(execute(&s, &c, &r, &cleared_delete).await, (87, 1));
    // Deleting a derived key (or a subtree holding one) is refused.
    let node = b.snapshot().nodes[0].id.clone();
    let derived = batch(vec![
        cmd(CLUSREG_CREATE_KEY, 0, &format!("Nodes\\{node}\\Mine"), &[]),
        cmd(CLUSREG_DELETE_KEY, 0, "Nodes", &[]),
    ]);
    assert_eq!(execute(&s, &c, &r, &derived).await, (5, 1));
    assert_eq!(open(&s, &c, &r, &format!("Nodes\\{node}\\Mine")).await.status.0, 2);
    // Commands a write batch does not take, bad value types, bad paths.
    for (bad, index) in [
        (batch(vec![cmd(CLUSREG_READ_VALUE, 0, "A", &[])]), 0),
        (batch(vec![cmd(CLUSREG_CREATE_KEY, 0, "Ok", &[]), cmd(CLUSREG_VALUE_DELETED, 0, "A", &[])]), 1),
        (batch(vec![cmd(CLUSREG_SET_VALUE, 0, "A", &[1])]), 0),
        (batch(vec![cmd(CLUSREG_CREATE_KEY, 0, "\\Lead", &[])]), 0),
    ] {
        assert_eq!(execute(&s, &c, &r, &bad).await, (87, index), "{bad:?}");
    }
    assert_eq!(open(&s, &c, &r, "Ok").await.status.0, 2);
    assert_eq!(b.registry_blob().await.unwrap(), before);
}

#[tokio::test]
async fn execute_batch_rejects_bad_requests() {
    let (s, c, r) = admin_root(&sim()).await;
    let good = batch(vec![set_cmd("A", &RegValue::dword(1))]).to_bytes();
    let call = |key, cb: u32, data: Vec<u8>| ApiExecuteBatchRequest { key, cb_data: cb, data: ConfBytes(data) };
    let n = good.len() as u32;
    assert_eq!(api_execute_batch(&s, &c, call(ContextHandle::NULL, n, good.clone())).await.result.0, 6);
    assert_eq!(api_execute_batch(&s, &c, call(r, n + 1, good.clone())).await.result.0, 87);
    let truncated = good[..good.len() - 3].to_vec();
    assert_eq!(api_execute_batch(&s, &c, call(r, n - 3, truncated)).await.result.0, 87);
    let mut v2 = good.clone();
    v2[0] = 2;
    assert_eq!(api_execute_batch(&s, &c, call(r, n, v2)).await.result.0, 87);
    let ro = reader();
    let rr = root(&s, &ro).await;
    let denied = api_execute_batch(&s, &ro, call(rr, n, good.clone())).await;
    assert_eq!((denied.result.0, denied.failed_command), (5, -1));
    // An empty batch is a no-op.
    let empty = batch(vec![]).to_bytes();
    assert_eq!(api_execute_batch(&s, &c, call(r, 4, empty)).await.result.0, 0);
}

// ---- notifications ----

#[test]
fn render_follows_the_spec_example() {
    // [MS-CMRP 3.1.4.2.114]: Delete, Set "hello world", Set "hello universe", Delete of a value
    // that did not exist before is reported as Delete, Set, Value Deleted("hello world"), Set,
    // Value Deleted("hello universe"), Delete.
    let hw = RegValue::sz("hello world");
    let hu = RegValue::sz("hello universe");
    let k = "Test".to_string();
    let n = "NotifyTest".to_string();
    let changes = vec![
        Change::CreateKey { key: k.clone() },
        Change::DeleteValue { key: k.clone(), name: n.clone(), old: None },
        Change::SetValue { key: k.clone(), name: n.clone(), old: None, new: hw.clone() },
        Change::SetValue { key: k.clone(), name: n.clone(), old: Some(hw.clone()), new: hu.clone() },
        Change::DeleteValue { key: k.clone(), name: n.clone(), old: Some(hu.clone()) },
    ];
    let got = render("", &changes).unwrap();
    assert_eq!(
        got.commands,
        vec![
            cmd(CLUSREG_CREATE_KEY, 0, "Test", &[]),
            cmd(CLUSREG_DELETE_VALUE, 0, "NotifyTest", &[]),
            cmd(CLUSREG_SET_VALUE, REG_SZ, "NotifyTest", &hw.data),
            cmd(CLUSREG_VALUE_DELETED, REG_SZ, "NotifyTest", &hw.data),
            cmd(CLUSREG_SET_VALUE, REG_SZ, "NotifyTest", &hu.data),
            cmd(CLUSREG_VALUE_DELETED, REG_SZ, "NotifyTest", &hu.data),
            cmd(CLUSREG_DELETE_VALUE, 0, "NotifyTest", &[]),
        ]
    );
    // Relative to the port's key; outside it nothing.
    let got = render("test", &changes).unwrap();
    assert_eq!(got.commands[0], cmd(CLUSREG_CREATE_KEY, 0, "", &[]), "the port's key itself");
    assert_eq!(got.commands[1], cmd(CLUSREG_DELETE_VALUE, 0, "NotifyTest", &[]));
    assert_eq!(render("Other", &changes), None);
    assert_eq!(render("Tes", &changes), None, "component-wise, not a string prefix");
    // A value of a subkey: the pointer moves there first; a deleted ancestor is the port's key.
    let sub = vec![
        Change::SetValue { key: "A\\B\\C".into(), name: "v".into(), old: None, new: RegValue::dword(1) },
        Change::DeleteKey { key: "A".into() },
    ];
    assert_eq!(
        render("a\\b", &sub).unwrap().commands,
        vec![
            cmd(CLUSREG_CREATE_KEY, 0, "C", &[]),
            cmd(CLUSREG_SET_VALUE, REG_DWORD, "v", &1u32.to_le_bytes()),
            cmd(CLUSREG_DELETE_KEY, 0, "", &[]),
        ]
    );
}

#[tokio::test]
async fn port_reports_changes_of_every_connection() {
    let b = sim();
    let s = svc_over(&b);
    let watcher = admin();
    let r = root(&s, &watcher).await;
    let p = port(&s, &watcher, &r).await;
    // Changes from another connection (association), through single calls and batches.
    let writer = admin();
    let wr = root(&s, &writer).await;
    let k = create(&s, &writer, &wr, "Watched").await.key;
    assert_eq!(set(&s, &writer, &k, "V", &RegValue::dword(1)).await, 0);
    assert_eq!(set(&s, &writer, &k, "V", &RegValue::dword(2)).await, 0);
    let b1 = batch(vec![cmd(CLUSREG_CREATE_KEY, 0, "Watched", &[]), cmd(CLUSREG_DELETE_VALUE, 0, "V", &[])]);
    assert_eq!(execute(&s, &writer, &wr, &b1).await, (0, -1));
    let del = ApiDeleteKeyRequest { key: wr, sub_key: WString::new("Watched") };
    assert_eq!(api_delete_key(&s, &writer, del).await.result.0, 0);

    assert_eq!(next(&s, &watcher, &p).await.commands, vec![cmd(CLUSREG_CREATE_KEY, 0, "Watched", &[])]);
    assert_eq!(
        next(&s, &watcher, &p).await.commands,
        vec![cmd(CLUSREG_CREATE_KEY, 0, "Watched", &[]), cmd(CLUSREG_SET_VALUE, REG_DWORD, "V", &[1, 0, 0, 0])]
    );
    assert_eq!(
        next(&s, &watcher, &p).await.commands,
        vec![
            cmd(CLUSREG_CREATE_KEY, 0, "Watched", &[]),
            cmd(CLUSREG_VALUE_DELETED, REG_DWORD, "V", &[1, 0, 0, 0]),
            cmd(CLUSREG_SET_VALUE, REG_DWORD, "V", &[2, 0, 0, 0]),
        ]
    );
    assert_eq!(
        next(&s, &watcher, &p).await.commands,
        vec![
            cmd(CLUSREG_CREATE_KEY, 0, "Watched", &[]),
            cmd(CLUSREG_VALUE_DELETED, REG_DWORD, "V", &[2, 0, 0, 0]),
            cmd(CLUSREG_DELETE_VALUE, 0, "V", &[]),
        ]
    );
    assert_eq!(next(&s, &watcher, &p).await.commands, vec![cmd(CLUSREG_DELETE_KEY, 0, "Watched", &[])]);
    // Refused and failed writes report nothing; a port on a subkey sees only its subtree.
    assert_eq!(set(&s, &writer, &wr, "ClusterName", &RegValue::sz("x")).await, 5);
    let a = create(&s, &writer, &wr, "A").await.key;
    let pa = port(&s, &watcher, &open(&s, &watcher, &r, "A").await.key).await;
    assert_eq!(set(&s, &writer, &wr, "RootValue", &RegValue::dword(1)).await, 0);
    assert_eq!(set(&s, &writer, &a, "AValue", &RegValue::dword(1)).await, 0);
    assert_eq!(
        next(&s, &watcher, &pa).await.commands,
        vec![cmd(CLUSREG_SET_VALUE, REG_DWORD, "AValue", &[1, 0, 0, 0])]
    );
    let h = watcher.group.get::<BatchPortHandle>(&pa).unwrap();
    assert_eq!(h.port.pending(), 0);
    assert_eq!(h.port.path(), "A");
}

/// A service over a fresh simulated cluster, an admin caller, a batch port on the root key, and
/// ApiGetBatchNotification on it running in a task of its own.
async fn waiting_on_a_root_port(
) -> (Arc<ClusapiService>, Arc<CallCtx>, ContextHandle, tokio::task::JoinHandle<ApiGetBatchNotificationResponse>) {
    let b = sim();
    let s = Arc::new(svc_over(&b));
    let c = Arc::new(admin());
    let r = root(&s, &c).await;
    let p = port(&s, &c, &r).await;
    let waiter = {
        let (s, c) = (s.clone(), c.clone());
        tokio::spawn(async move {
            api_get_batch_notification(&s, &c, ApiGetBatchNotificationRequest { batch_notify: p }).await
        })
    };
    (s, c, p, waiter)
}

#[tokio::test]
async fn get_batch_notification_blocks_until_a_change() {
    let (s, _c, _p, waiter) = waiting_on_a_root_port().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiter.is_finished(), "nothing changed yet");
    let w = admin();
    assert_eq!(set(&s, &w, &root(&s, &w).await, "Wake", &RegValue::dword(1)).await, 0);
    let got = tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap();
    assert_eq!(got.result.0, 0);
    let parsed = ClusterRegBatchUpdate::parse(&got.data.unwrap().0).unwrap();
    assert_eq!(parsed.commands, vec![cmd(CLUSREG_SET_VALUE, REG_DWORD, "Wake", &[1, 0, 0, 0])]);
}

#[tokio::test]
async fn close_batch_port_releases_a_waiting_call() {
    let (s, c, p, waiter) = waiting_on_a_root_port().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let closed = api_close_batch_port(&s, &c, ApiCloseBatchPortRequest { batch_port: p });
    assert_eq!((closed.result.0, closed.batch_port), (0, ContextHandle::NULL));
    let got = tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap();
    // [MS-CMRP 3.1.4.2.114] ERROR_NO_MORE_ITEMS: "The port ... has been closed"
    assert_eq!((got.result.0, got.cb_data, got.data), (259, 0, None));
    // The handle is gone.
    let again = api_close_batch_port(&s, &c, ApiCloseBatchPortRequest { batch_port: p });
    assert_eq!((again.result.0, again.batch_port), (6, p));
    let get = api_get_batch_notification(&s, &c, ApiGetBatchNotificationRequest { batch_notify: p }).await;
    assert_eq!(get.result.0, 6);
    // A closed port is no longer fed.
    assert!(state_ports_are_pruned(&s).await);
}

async fn state_ports_are_pruned(s: &ClusapiService) -> bool {
    let w = admin();
    set(s, &w, &root(s, &w).await, "After", &RegValue::dword(1)).await == 0
}

#[tokio::test]
async fn batch_port_errors() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    let e = api_create_batch_port(&s, &c, ApiCreateBatchPortRequest { key: ContextHandle::NULL }).await;
    assert_eq!((e.result.0, e.batch_port), (6, ContextHandle::NULL));
    // Read access is enough.
    let ro = reader();
    let rp = port(&s, &ro, &root(&s, &ro).await).await;
    assert_ne!(rp, ContextHandle::NULL);
    // A port on a deleted key cannot be created.
    let k = create(&s, &c, &r, "Gone").await.key;
    let del = ApiDeleteKeyRequest { key: r, sub_key: WString::new("Gone") };
    assert_eq!(api_delete_key(&s, &c, del).await.result.0, 0);
    let e = api_create_batch_port(&s, &c, ApiCreateBatchPortRequest { key: k }).await;
    assert_eq!(e.result.0, win::ERROR_KEY_DELETED);
    // A key handle is not a port handle.
    let g = api_get_batch_notification(&s, &c, ApiGetBatchNotificationRequest { batch_notify: r }).await;
    assert_eq!(g.result.0, 6);
}

#[tokio::test]
async fn port_queue_is_bounded() {
    let p = BatchPort::new(String::new());
    let ch = vec![Change::SetValue { key: String::new(), name: "v".into(), old: None, new: RegValue::dword(1) }];
    for _ in 0..MAX_QUEUED + 10 {
        p.queue(&ch);
    }
    assert_eq!(p.pending(), MAX_QUEUED);
    p.close();
    assert_eq!(p.pending(), 0);
    assert!(p.is_closed());
}

// ---- read batches ----

#[tokio::test]
async fn read_batches() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    let k = create(&s, &c, &r, "App\\Cfg").await.key;
    assert_eq!(set(&s, &c, &k, "Name", &RegValue::sz("n")).await, 0);
    assert_eq!(set(&s, &c, &k, "", &RegValue::dword(5)).await, 0);
    let node = b.snapshot().nodes[0].id.clone();
    let input = batch(vec![
        cmd(CLUSREG_READ_VALUE, 0, "ClusterName", &[]),
        cmd(CLUSREG_READ_KEY, 0, "App\\Cfg", &[]),
        cmd(CLUSREG_READ_VALUE, 0, "Name", &[]),
        cmd(CLUSREG_READ_VALUE, 0, "", &[]),
        cmd(CLUSREG_READ_VALUE, 0, "Missing", &[]),
        // relative to the designated key, not to the previous one
        cmd(CLUSREG_READ_KEY, 0, &format!("Nodes\\{node}"), &[]),
        cmd(CLUSREG_READ_VALUE, 0, "NodeName", &[]),
        cmd(CLUSREG_READ_KEY, 0, "NoSuchKey", &[]),
        cmd(CLUSREG_READ_VALUE, 0, "X", &[]),
        cmd(CLUSREG_READ_KEY, 0, "\\Bad", &[]),
        cmd(CLUSREG_READ_VALUE, 0, "X", &[]),
    ]);
    let want = vec![
        cmd(CLUSREG_READ_VALUE, REG_SZ, "ClusterName", &RegValue::sz("CTDB-CLUSTER").data),
        cmd(CLUSREG_READ_KEY, 0, "App\\Cfg", &[]),
        cmd(CLUSREG_READ_VALUE, REG_SZ, "Name", &RegValue::sz("n").data),
        cmd(CLUSREG_READ_VALUE, REG_DWORD, "", &[5, 0, 0, 0]),
        cmd(CLUSREG_READ_ERROR, 2, "Missing", &[]),
        cmd(CLUSREG_READ_KEY, 0, &format!("Nodes\\{node}"), &[]),
        cmd(CLUSREG_READ_VALUE, REG_SZ, "NodeName", &RegValue::sz("CTDB_NODE_0").data),
        cmd(CLUSREG_READ_KEY, 0, "NoSuchKey", &[]),
        cmd(CLUSREG_READ_ERROR, 2, "X", &[]),
        cmd(CLUSREG_READ_KEY, 0, "\\Bad", &[]),
        cmd(CLUSREG_READ_ERROR, 87, "X", &[]),
    ];
    for ex in [false, true] {
        let out = read_batch_call(&s, &c, &r, &input, ex).await.unwrap();
        assert_eq!(out.version, BATCH_VERSION);
        assert_eq!(out.commands, want, "ex={ex}");
    }
    // Relative to a non-root key; read-only accounts may read.
    let ro = reader();
    let app = open(&s, &ro, &root(&s, &ro).await, "App").await.key;
    let out = read_batch_call(
        &s,
        &ro,
        &app,
        &batch(vec![cmd(CLUSREG_READ_KEY, 0, "Cfg", &[]), cmd(CLUSREG_READ_VALUE, 0, "Name", &[])]),
        false,
    )
    .await
    .unwrap();
    assert_eq!(out.commands[1], cmd(CLUSREG_READ_VALUE, REG_SZ, "Name", &RegValue::sz("n").data));
    // Errors of the whole call.
    let write_cmd = batch(vec![set_cmd("A", &RegValue::dword(1))]);
    assert_eq!(read_batch_call(&s, &c, &r, &write_cmd, false).await.unwrap_err(), 87);
    assert_eq!(read_batch_call(&s, &c, &ContextHandle::NULL, &input, true).await.unwrap_err(), 6);
    let bytes = input.to_bytes();
    let mismatch =
        api_execute_read_batch(&s, &c, ApiExecuteReadBatchRequest { key: r, cb_in_data: 3, in_data: ConfBytes(bytes) })
            .await;
    assert_eq!(mismatch.result.0, 87);
}

#[tokio::test]
async fn read_batch_reply_is_bounded() {
    let b = sim();
    let (s, c, r) = admin_root(&b).await;
    assert_eq!(set(&s, &c, &r, "Big", &RegValue::binary(vec![0u8; 1 << 20])).await, 0);
    let many = batch((0..16).map(|_| cmd(CLUSREG_READ_VALUE, 0, "Big", &[])).collect());
    assert_eq!(read_batch_call(&s, &c, &r, &many, false).await.unwrap_err(), win::ERROR_NOT_ENOUGH_MEMORY);
    let few = batch((0..2).map(|_| cmd(CLUSREG_READ_VALUE, 0, "Big", &[])).collect());
    assert_eq!(read_batch_call(&s, &c, &r, &few, false).await.unwrap().commands.len(), 2);
}
