//! The DCE/RPC management interface ([C706] appendix Q), served on every clusapid endpoint as
//! the Windows RPC runtime does: which interfaces the endpoint serves, call and packet counters,
//! whether it listens, and the server principal name. Stopping the server remotely is refused.

use std::sync::atomic::{AtomicU64, Ordering};

use idl::mgmt::*;
use idl::types::ConfVarCString;
use idl::{Bool32, ConfArray, WError};

use super::CallCtx;

/// rpc_s_mgmt_op_disallowed ([C706] appendix E): remote stop is not allowed.
pub const RPC_S_MGMT_OP_DISALLOWED: u32 = 0x16c9_a0b2;
/// RPC_S_UNKNOWN_AUTHN_SERVICE ([MS-ERREF] 2.2).
pub const RPC_S_UNKNOWN_AUTHN_SERVICE: u32 = 1747;
/// ERROR_INSUFFICIENT_BUFFER.
pub const ERROR_INSUFFICIENT_BUFFER: u32 = 122;

/// Server-wide counters reported by rpc_mgmt_inq_stats ([C706] Q.2.2: calls received, calls
/// sent, packets received, packets sent).
#[derive(Default)]
pub struct Counters {
    pub calls_in: AtomicU64,
    pub calls_out: AtomicU64,
    pub pkts_in: AtomicU64,
    pub pkts_out: AtomicU64,
}

/// The mgmt service.
pub struct MgmtService {
    pub counters: Counters,
    /// The principal name announced (the node's NetBIOS name).
    pub principal: String,
}

impl MgmtServer for MgmtService {
    type Ctx = CallCtx;

    /// [C706] Q.2.1 rpc_mgmt_inq_if_ids: the interfaces of the endpoint the call came in on.
    async fn rpc_mgmt_inq_if_ids(&self, ctx: &CallCtx, _req: RpcMgmtInqIfIdsRequest) -> RpcMgmtInqIfIdsResponse {
        let ids = ctx.served.iter().map(|(uuid, major, minor)| RpcIfId {
            uuid: *uuid,
            vers_major: *major,
            vers_minor: *minor,
        });
        RpcMgmtInqIfIdsResponse { if_id_vector: Some(RpcIfIdVector::new(ids)), status: WError(0) }
    }

    /// [C706] Q.2.2 rpc_mgmt_inq_stats: up to `count` of the four counters.
    async fn rpc_mgmt_inq_stats(&self, _ctx: &CallCtx, req: RpcMgmtInqStatsRequest) -> RpcMgmtInqStatsResponse {
        let c = &self.counters;
        let all = [
            c.calls_in.load(Ordering::Relaxed),
            c.calls_out.load(Ordering::Relaxed),
            c.pkts_in.load(Ordering::Relaxed),
            c.pkts_out.load(Ordering::Relaxed),
        ];
        let n = (req.count as usize).min(all.len());
        let stats: Vec<u32> = all[..n].iter().map(|v| u32::try_from(*v).unwrap_or(u32::MAX)).collect();
        RpcMgmtInqStatsResponse { count: n as u32, statistics: ConfArray(stats), status: WError(0) }
    }

    /// [C706] Q.2.3 rpc_mgmt_is_server_listening.
    async fn rpc_mgmt_is_server_listening(
        &self,
        _ctx: &CallCtx,
        _req: RpcMgmtIsServerListeningRequest,
    ) -> RpcMgmtIsServerListeningResponse {
        RpcMgmtIsServerListeningResponse { status: WError(0), result: Bool32(true) }
    }

    /// [C706] Q.2.4 rpc_mgmt_stop_server_listening: never allowed remotely.
    async fn rpc_mgmt_stop_server_listening(
        &self,
        _ctx: &CallCtx,
        _req: RpcMgmtStopServerListeningRequest,
    ) -> RpcMgmtStopServerListeningResponse {
        RpcMgmtStopServerListeningResponse { status: WError(RPC_S_MGMT_OP_DISALLOWED) }
    }

    /// [C706] Q.2.5 rpc_mgmt_inq_server_princ_name for NTLMSSP and SPNEGO.
    async fn rpc_mgmt_inq_princ_name(
        &self,
        _ctx: &CallCtx,
        req: RpcMgmtInqPrincNameRequest,
    ) -> RpcMgmtInqPrincNameResponse {
        let fail = |code| RpcMgmtInqPrincNameResponse {
            princ_name: ConfVarCString { max: req.princ_name_size, value: String::new() },
            status: WError(code),
        };
        if !matches!(req.authn_proto, authn::GSS_NEGOTIATE | authn::WINNT) {
            return fail(RPC_S_UNKNOWN_AUTHN_SERVICE);
        }
        if self.principal.len() + 1 > req.princ_name_size as usize {
            return fail(ERROR_INSUFFICIENT_BUFFER);
        }
        RpcMgmtInqPrincNameResponse {
            princ_name: ConfVarCString { max: req.princ_name_size, value: self.principal.clone() },
            status: WError(0),
        }
    }
}
