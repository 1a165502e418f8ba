//! Cluster registry batches: ApiExecuteBatch, the batch notification port (ApiCreateBatchPort,
//! ApiGetBatchNotification, ApiCloseBatchPort) and the read batches ApiExecuteReadBatch /
//! ApiExecuteReadBatchEx ([MS-CMRP] 3.1.4.2.112-3.1.4.2.115, 3.1.4.2.141, 3.1.4.2.145; opnums
//! 113-116, 145, 157). Buffers are CLUSTER_REG_BATCH_UPDATE structures ([MS-CMRP] 2.2.3.17,
//! `idl::clusapi::ClusterRegBatchUpdate`).
//!
//! A batch is one registry write (see [`super::registry::write`]): it is applied to a copy of
//! the registry and stored only when every command succeeded, so a failing command leaves the
//! registry as it was.
//!
//! Batch notification ports report every registry change committed after the port was
//! created — by ApiExecuteBatch, ApiCreateKey, ApiSetValue, ApiDeleteValue and ApiDeleteKey,
//! on any connection — that lies in the subtree of the key the port was created on. Each
//! committed write becomes one CLUSTER_REG_BATCH_UPDATE whose key names are relative to the
//! port's key; as [MS-CMRP] 3.1.4.2.114 describes, a CLUSREG_VALUE_DELETED carrying the
//! previous data precedes each CLUSREG_SET_VALUE / CLUSREG_DELETE_VALUE of a value that had
//! data. Descriptor changes are not reported (the notification commands have no form for
//! them). A port keeps at most [`MAX_QUEUED`] undelivered notifications; older ones are
//! dropped (and logged) beyond that.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use idl::clusapi::batch_command::*;
use idl::clusapi::*;
use idl::{ConfBytes, ContextHandle, WError};
use registry_model::{ClusterRegistry, RegValue, Registry};
use tokio::sync::Notify;

use super::access::Granted;
use super::registry::{self, handle_key, key_handle, relative, sub_path, Change, VALUE_TYPES};
use super::{win, ClusapiService};
use crate::services::CallCtx;

/// CLUSTER_REG_BATCH_UPDATE `VersionNumber` ([MS-CMRP] 2.2.3.17).
pub const BATCH_VERSION: u32 = 1;
/// ApiExecuteReadBatchEx flag: isolate the reads from concurrent writes. Every read batch is
/// answered from one immutable registry snapshot, so it always is.
pub const CLUSREG_DATABASE_ISOLATE_READ: u32 = 0x0000_0002;
/// Undelivered notifications a port keeps.
pub const MAX_QUEUED: usize = 1024;
/// The largest read-batch reply served (ERROR_NOT_ENOUGH_MEMORY beyond).
pub const MAX_READ_REPLY: usize = 8 << 20;
/// How often a blocked ApiGetBatchNotification checks that its handle still exists.
const RECHECK: Duration = Duration::from_secs(30);

fn command(command_type: u32, value_type: u32, name: &str, data: Vec<u8>) -> BatchUpdateCommand {
    BatchUpdateCommand { command_type, value_type, name: name.to_owned(), data }
}

/// The notification a port on key `port` gets for `changes` ([MS-CMRP] 3.1.4.2.114), or `None`
/// when none of them concerns its subtree. The key pointer starts at the port's key; a change
/// in another key is preceded by a CLUSREG_CREATE_KEY of that key; a deleted ancestor of the
/// port's key shows as a CLUSREG_DELETE_KEY of the port's key itself ("").
pub fn render(port: &str, changes: &[Change]) -> Option<ClusterRegBatchUpdate> {
    // points the key pointer at `rel` (relative to the port's key)
    fn select(cmds: &mut Vec<BatchUpdateCommand>, cur: &mut Option<String>, rel: String) {
        if cur.as_deref() != Some(rel.as_str()) {
            cmds.push(command(CLUSREG_CREATE_KEY, 0, &rel, Vec::new()));
            *cur = Some(rel);
        }
    }
    let mut cmds = Vec::new();
    let mut cur: Option<String> = Some(String::new());
    for ch in changes {
        match ch {
            Change::CreateKey { key } => {
                if let Some(rel) = relative(port, key) {
                    cmds.push(command(CLUSREG_CREATE_KEY, 0, &rel, Vec::new()));
                    cur = Some(rel);
                }
            }
            Change::DeleteKey { key } => {
                let rel = relative(port, key).or_else(|| relative(key, port).map(|_| String::new()));
                if let Some(rel) = rel {
                    cmds.push(command(CLUSREG_DELETE_KEY, 0, &rel, Vec::new()));
                    cur = None;
                }
            }
            Change::SetValue { key, name, old, new } => {
                if let Some(rel) = relative(port, key) {
                    select(&mut cmds, &mut cur, rel);
                    if let Some(old) = old {
                        cmds.push(command(CLUSREG_VALUE_DELETED, old.kind, name, old.data.clone()));
                    }
                    cmds.push(command(CLUSREG_SET_VALUE, new.kind, name, new.data.clone()));
                }
            }
            Change::DeleteValue { key, name, old } => {
                if let Some(rel) = relative(port, key) {
                    select(&mut cmds, &mut cur, rel);
                    if let Some(old) = old {
                        cmds.push(command(CLUSREG_VALUE_DELETED, old.kind, name, old.data.clone()));
                    }
                    cmds.push(command(CLUSREG_DELETE_VALUE, 0, name, Vec::new()));
                }
            }
            Change::SetSecurity { .. } => {}
        }
    }
    (!cmds.is_empty()).then_some(ClusterRegBatchUpdate { version: BATCH_VERSION, commands: cmds })
}

/// A batch notification port: the key it watches and its undelivered notifications.
#[derive(Debug)]
pub struct BatchPort {
    path: String,
    queue: Mutex<VecDeque<Vec<u8>>>,
    closed: AtomicBool,
    notify: Notify,
}

impl BatchPort {
    /// A port watching the subtree of the key at `path`.
    pub fn new(path: String) -> Self {
        BatchPort { path, queue: Mutex::new(VecDeque::new()), closed: AtomicBool::new(false), notify: Notify::new() }
    }

    /// The watched key.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Queues the notification for `changes`, if they concern the port.
    pub fn queue(&self, changes: &[Change]) {
        let Some(batch) = render(&self.path, changes) else { return };
        {
            let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if q.len() >= MAX_QUEUED {
                q.pop_front();
                tracing::warn!(key = self.path, "Batch notification port full; oldest notification dropped");
            }
            q.push_back(batch.to_bytes());
        }
        self.notify.notify_waiters();
    }

    fn pop(&self) -> Option<Vec<u8>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front()
    }

    /// Closes the port: waiting calls return ERROR_NO_MORE_ITEMS, nothing more is queued.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.queue.lock().unwrap_or_else(PoisonError::into_inner).clear();
        self.notify.notify_waiters();
    }

    /// Whether [`BatchPort::close`] ran.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Number of undelivered notifications.
    pub fn pending(&self) -> usize {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

impl registry::ChangeSink for BatchPort {
    fn publish(&self, changes: &[Change]) {
        self.queue(changes);
    }

    fn is_closed(&self) -> bool {
        BatchPort::is_closed(self)
    }
}

/// A batch port handle (HBATCH_PORT_RPC).
#[derive(Debug)]
pub struct BatchPortHandle {
    pub port: Arc<BatchPort>,
}

/// Deletes the key at `path` with all its subkeys, deepest first (CLUSREG_DELETE_KEY deletes
/// "a key with all its values and nested subkeys"). A key reflecting cluster state anywhere in
/// the subtree fails the delete with ERROR_ACCESS_DENIED.
fn delete_tree(cr: &mut ClusterRegistry, path: &str) -> Result<(), u32> {
    fn collect(k: &registry_model::Key, path: &str, out: &mut Vec<String>) {
        for c in k.subkeys.iter() {
            collect(c, &registry_model::tree::join_path(path, &c.name), out);
        }
        out.push(path.to_owned());
    }
    let mut order = Vec::new();
    let k = cr.live().open_checked(path).map_err(|e| e.win32_code())?;
    collect(k, path, &mut order);
    for p in order {
        cr.delete_key(&p).map_err(|e| e.win32_code())?;
    }
    Ok(())
}

/// Applies the commands of an ApiExecuteBatch to `cr`, recording the changes; `failed` is set
/// to the index of the command being executed, and to -1 when all succeed.
fn apply_batch(
    cr: &mut ClusterRegistry,
    base: &str,
    batch: &ClusterRegBatchUpdate,
    changes: &mut Vec<Change>,
    failed: &mut i32,
) -> Result<(), u32> {
    cr.live().open_checked(base).map_err(|_| win::ERROR_KEY_DELETED)?;
    // [MS-CMRP 3.1.4.2.112] "The server MUST maintain a current key pointer that is initially
    // set to the designated key"
    let mut cur: Option<String> = Some(base.to_owned());
    for (i, c) in batch.commands.iter().enumerate() {
        *failed = i32::try_from(i).unwrap_or(i32::MAX);
        match c.command_type {
            CLUSREG_CREATE_KEY => {
                let path = sub_path(cr.live(), base, &c.name)?;
                cr.create_key(&path).map_err(|e| e.win32_code())?;
                let key = cr.live().canonical_path(&path).map_err(|e| e.win32_code())?;
                changes.push(Change::CreateKey { key: key.clone() });
                cur = Some(key);
            }
            CLUSREG_DELETE_KEY => {
                let path = sub_path(cr.live(), base, &c.name)?;
                if path.is_empty() {
                    return Err(win::ERROR_INVALID_PARAMETER);
                }
                // "MUST NOT fail this method if the key identified in a CLUSREG_DELETE_KEY
                // command ... does not exist"
                let key = match cr.live().canonical_path(&path) {
                    Ok(key) => {
                        delete_tree(cr, &key)?;
                        key
                    }
                    Err(_) => path,
                };
                changes.push(Change::DeleteKey { key });
                // "The current key pointer is cleared when a CLUSREG_DELETE_KEY command is
                // executed"
                cur = None;
            }
            CLUSREG_SET_VALUE | CLUSREG_DELETE_VALUE => {
                // "the server MUST fail this method with ERROR_INVALID_PARAMETER (0x00000057)
                // if a CLUSREG_SET_VALUE or CLUSREG_DELETE_VALUE command is encountered prior
                // to a CLUSREG_CREATE_KEY command"
                let key = cur.clone().ok_or(win::ERROR_INVALID_PARAMETER)?;
                let old = cr.live().query_value(&key, &c.name).ok().cloned();
                if c.command_type == CLUSREG_SET_VALUE {
                    if !VALUE_TYPES.contains(&c.value_type) {
                        return Err(win::ERROR_INVALID_PARAMETER);
                    }
                    let new = RegValue { kind: c.value_type, data: c.data.clone() };
                    cr.set_value(&key, &c.name, new.clone()).map_err(|e| e.win32_code())?;
                    changes.push(Change::SetValue { key, name: c.name.clone(), old, new });
                } else {
                    // "MUST NOT fail this method if ... the value identified in a
                    // CLUSREG_DELETE_VALUE does not exist"
                    if old.is_some() {
                        cr.delete_value(&key, &c.name).map_err(|e| e.win32_code())?;
                    }
                    changes.push(Change::DeleteValue { key, name: c.name.clone(), old });
                }
            }
            _ => return Err(win::ERROR_INVALID_PARAMETER),
        }
    }
    *failed = -1;
    Ok(())
}

/// Parses a batch buffer whose announced length must match.
fn parse_batch(cb: u32, data: &[u8]) -> Result<ClusterRegBatchUpdate, u32> {
    if cb as usize != data.len() {
        return Err(win::ERROR_INVALID_PARAMETER);
    }
    let batch = ClusterRegBatchUpdate::parse(data).map_err(|_| win::ERROR_INVALID_PARAMETER)?;
    if batch.version != BATCH_VERSION {
        return Err(win::ERROR_INVALID_PARAMETER);
    }
    Ok(batch)
}

/// [MS-CMRP 3.1.4.2.112] ApiExecuteBatch: "a transacted series of modifications, relative to
/// the designated key ... The contents of the registry are changed only if all the
/// modifications succeed". `lpFailedCommand` is the 0-based index of the command that failed,
/// -1 when none did (success, or a failure of the whole call such as a bad buffer).
pub async fn api_execute_batch(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiExecuteBatchRequest,
) -> ApiExecuteBatchResponse {
    let mut failed = -1;
    let r = async {
        let h = key_handle(ctx, &req.key)?;
        if h.access != Granted::All {
            return Err(win::ERROR_ACCESS_DENIED);
        }
        let batch = parse_batch(req.cb_data, &req.data.0)?;
        registry::write(s, |cr, changes| apply_batch(cr, &h.path, &batch, changes, &mut failed)).await
    }
    .await;
    ApiExecuteBatchResponse { failed_command: failed, rpc_status: 0, result: WError(r.err().unwrap_or(0)) }
}

/// [MS-CMRP 3.1.4.2.113] ApiCreateBatchPort: a port reporting the changes committed from now on
/// in the subtree of the handle's key ("Read" access suffices).
pub async fn api_create_batch_port(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCreateBatchPortRequest,
) -> ApiCreateBatchPortResponse {
    let r = registry::read_key(s, ctx, &req.key, |h, _| {
        let port = Arc::new(BatchPort::new(h.path.clone()));
        let sink: std::sync::Weak<dyn registry::ChangeSink> = Arc::downgrade(&port) as _;
        registry::state(s).add_sink(sink);
        ctx.group.insert(BatchPortHandle { port }).ok_or(win::ERROR_NOT_ENOUGH_MEMORY)
    })
    .await;
    match r {
        Ok(batch_port) => ApiCreateBatchPortResponse { batch_port, rpc_status: 0, result: WError(0) },
        Err(e) => ApiCreateBatchPortResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.114] ApiGetBatchNotification: the oldest queued notification. "The server
/// MUST NOT complete this method until an indication has been queued to the port or the port
/// has been closed through a separate call to the ApiCloseBatchPort method"; a closed port
/// answers ERROR_NO_MORE_ITEMS. The call ends with its connection otherwise.
pub async fn api_get_batch_notification(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiGetBatchNotificationRequest,
) -> ApiGetBatchNotificationResponse {
    let Some(h) = ctx.group.get::<BatchPortHandle>(&req.batch_notify) else {
        return ApiGetBatchNotificationResponse::error(win::ERROR_INVALID_HANDLE);
    };
    let port = h.port.clone();
    drop(h);
    loop {
        let notified = port.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(b) = port.pop() {
            return ApiGetBatchNotificationResponse {
                cb_data: u32::try_from(b.len()).unwrap_or(u32::MAX),
                data: Some(ConfBytes(b)),
                result: WError(0),
            };
        }
        if port.is_closed() {
            return ApiGetBatchNotificationResponse::error(win::ERROR_NO_MORE_ITEMS);
        }
        if tokio::time::timeout(RECHECK, notified).await.is_err()
            && ctx.group.get::<BatchPortHandle>(&req.batch_notify).is_none()
        {
            return ApiGetBatchNotificationResponse::error(win::ERROR_NO_MORE_ITEMS);
        }
    }
}

/// [MS-CMRP 3.1.4.2.115] ApiCloseBatchPort: frees the port (completing a waiting
/// ApiGetBatchNotification) and returns the handle zeroed.
pub fn api_close_batch_port(
    _s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiCloseBatchPortRequest,
) -> ApiCloseBatchPortResponse {
    match ctx.group.get::<BatchPortHandle>(&req.batch_port) {
        Some(h) if ctx.group.remove::<BatchPortHandle>(&req.batch_port) => {
            h.port.close();
            ApiCloseBatchPortResponse { batch_port: ContextHandle::NULL, result: WError(0) }
        }
        _ => ApiCloseBatchPortResponse { batch_port: req.batch_port, result: WError(win::ERROR_INVALID_HANDLE) },
    }
}

/// Runs a read batch ([MS-CMRP] 3.1.4.2.141) against one registry snapshot: CLUSREG_READ_KEY
/// selects a key relative to the designated key (echoed in the reply), CLUSREG_READ_VALUE
/// reads a value of the selected key and answers CLUSREG_READ_VALUE with its type and data,
/// or CLUSREG_READ_ERROR with the Win32 code in `ValueType`. Any other command is
/// ERROR_INVALID_PARAMETER for the whole call.
pub fn read_batch(reg: &Registry, base: &str, batch: &ClusterRegBatchUpdate) -> Result<Vec<u8>, u32> {
    reg.open_checked(base).map_err(|_| win::ERROR_KEY_DELETED)?;
    let mut out = ClusterRegBatchUpdate { version: BATCH_VERSION, commands: Vec::new() };
    let mut size = 4usize;
    let mut cur: Result<String, u32> = Ok(base.to_owned());
    for c in &batch.commands {
        let reply = match c.command_type {
            CLUSREG_READ_KEY => {
                cur = sub_path(reg, base, &c.name);
                command(CLUSREG_READ_KEY, 0, &c.name, Vec::new())
            }
            CLUSREG_READ_VALUE => {
                let v = cur.clone().and_then(|k| reg.query_value(&k, &c.name).cloned().map_err(|e| e.win32_code()));
                match v {
                    Ok(v) => command(CLUSREG_READ_VALUE, v.kind, &c.name, v.data),
                    Err(e) => command(CLUSREG_READ_ERROR, e, &c.name, Vec::new()),
                }
            }
            _ => return Err(win::ERROR_INVALID_PARAMETER),
        };
        // CommandType, ValueType, NameLength, name, DataLength, data, pad
        size += 4 + 4 + 4 + (reply.name.encode_utf16().count() + 1) * 2 + 4 + reply.data.len() + 1;
        if size > MAX_READ_REPLY {
            return Err(win::ERROR_NOT_ENOUGH_MEMORY);
        }
        out.commands.push(reply);
    }
    Ok(out.to_bytes())
}

async fn execute_read_batch(
    s: &ClusapiService,
    ctx: &CallCtx,
    key: &ContextHandle,
    cb: u32,
    data: &[u8],
) -> Result<Vec<u8>, u32> {
    let h = key_handle(ctx, key)?;
    let batch = parse_batch(cb, data)?;
    let reg = registry::live(s).await;
    handle_key(&reg, &h)?;
    read_batch(&reg, &h.path, &batch)
}

/// [MS-CMRP 3.1.4.2.141] ApiExecuteReadBatch: "For each BATCH_UPDATE_COMMAND structure ... in
/// lpInData, the server MUST include, in the same order, a [command] in the lpOutData
/// parameter" (see [`read_batch`]).
pub async fn api_execute_read_batch(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiExecuteReadBatchRequest,
) -> ApiExecuteReadBatchResponse {
    match execute_read_batch(s, ctx, &req.key, req.cb_in_data, &req.in_data.0).await {
        Ok(out) => ApiExecuteReadBatchResponse {
            cb_out_data: u32::try_from(out.len()).unwrap_or(u32::MAX),
            out_data: Some(ConfBytes(out)),
            rpc_status: 0,
            result: WError(0),
        },
        Err(e) => ApiExecuteReadBatchResponse::error(e),
    }
}

/// [MS-CMRP 3.1.4.2.145] ApiExecuteReadBatchEx: as ApiExecuteReadBatch. With
/// CLUSREG_DATABASE_ISOLATE_READ "the values returned ... MUST reflect the cluster state from
/// either before all concurrent writes or from after all concurrent writes": every read batch
/// reads one immutable registry snapshot, so this holds whatever the flags.
pub async fn api_execute_read_batch_ex(
    s: &ClusapiService,
    ctx: &CallCtx,
    req: ApiExecuteReadBatchExRequest,
) -> ApiExecuteReadBatchExResponse {
    let ApiExecuteReadBatchExRequest { key, cb_in_data, in_data, flags: _ } = req;
    let r = api_execute_read_batch(s, ctx, ApiExecuteReadBatchRequest { key, cb_in_data, in_data }).await;
    ApiExecuteReadBatchExResponse {
        cb_out_data: r.cb_out_data,
        out_data: r.out_data,
        rpc_status: r.rpc_status,
        result: r.result,
    }
}

#[cfg(test)]
mod tests;
