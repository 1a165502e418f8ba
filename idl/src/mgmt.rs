//! The DCE/RPC remote management interface, mgmt v1.0 ([C706] appendix Q, `rpc__mgmt_*`),
//! which every DCE/RPC server answers on each of its endpoints: the interfaces it offers, call
//! statistics, whether it listens, and its principal name.
//!
//! Every operation's first parameter is a `handle_t` binding handle (no wire form), and each
//! returns an `error_status_t` in `[out] status`. Statuses are DCE `rpc_s_*` codes
//! (0 = `rpc_s_ok`); they are typed [`WError`] so that a default "not implemented" reply carries
//! a non-zero status.

use crate::ndr::{Bool32, ConfArray, Guid, WError};
use crate::types::{conformant_list, ConfVarCString};

/// Indexes into the `rpc__mgmt_inq_stats` vector ([C706] appendix Q / `rpc_c_stats_*`).
pub mod stats {
    /// Calls received by the server.
    pub const CALLS_IN: usize = 0;
    /// Calls made by the server.
    pub const CALLS_OUT: usize = 1;
    /// Packets received.
    pub const PKTS_IN: usize = 2;
    /// Packets sent.
    pub const PKTS_OUT: usize = 3;
    /// Number of statistics.
    pub const ARRAY_MAX_SIZE: usize = 4;
}

/// `rpc_c_authn_*` values accepted by `rpc__mgmt_inq_princ_name` ([MS-RPCE] 2.2.1.1.7).
pub mod authn {
    /// RPC_C_AUTHN_GSS_NEGOTIATE (SPNEGO).
    pub const GSS_NEGOTIATE: u32 = 9;
    /// RPC_C_AUTHN_WINNT (NTLM).
    pub const WINNT: u32 = 10;
    /// RPC_C_AUTHN_GSS_KERBEROS.
    pub const GSS_KERBEROS: u32 = 16;
}

crate::ndr_struct! {
    /// `rpc_if_id_t`: an interface UUID and its version.
    pub struct RpcIfId {
        pub uuid: Guid,
        pub vers_major: u16,
        pub vers_minor: u16,
    }
}

conformant_list! {
    /// `rpc_if_id_vector_t`: a conformant struct `{ unsigned32 count; [size_is(count)]
    /// rpc_if_id_p_t if_id[] }` whose elements are full pointers to [`RpcIfId`]. The array's
    /// max_count precedes the struct; the pointees follow the pointer array.
    pub struct RpcIfIdVector {
        pub if_id: Vec<Option<RpcIfId>>,
    }
}

impl RpcIfIdVector {
    /// A vector of non-null entries.
    pub fn new(ids: impl IntoIterator<Item = RpcIfId>) -> Self {
        RpcIfIdVector { if_id: ids.into_iter().map(Some).collect() }
    }
}

crate::rpc_interface! {
    /// mgmt v1.0 ([C706] appendix Q).
    interface Mgmt {
        uuid: "afa8bd80-7d8a-11c9-bef4-08002b102989",
        version: (1, 0),
        server: MgmtServer,
    }

    /// [C706 Q] rpc__mgmt_inq_if_ids: the interfaces the server offers.
    0 RpcMgmtInqIfIds
        in ()
        out (if_id_vector: Option<RpcIfIdVector>, status: WError);

    /// [C706 Q] rpc__mgmt_inq_stats: `[in, out] count`, then `[out, size_is(*count)]
    /// statistics[]` (a conformant array of [`stats::ARRAY_MAX_SIZE`] counters). Samba's IDL
    /// sends an extra 4-byte `unknown` after `count`; it is ignored.
    1 RpcMgmtInqStats
        in (count: u32)
        out (count: u32, statistics: ConfArray<u32>, status: WError);

    /// [C706 Q] rpc__mgmt_is_server_listening: `status`, then the boolean32 result.
    2 RpcMgmtIsServerListening
        in ()
        out (status: WError, result: Bool32);

    /// [C706 Q] rpc__mgmt_stop_server_listening (remote callers are normally refused).
    3 RpcMgmtStopServerListening
        in ()
        out (status: WError);

    /// [C706 Q] rpc__mgmt_inq_princ_name: the server principal name for an authentication
    /// service, as a `[string, size_is(princ_name_size)] char[]` (max_count =
    /// `princ_name_size`).
    4 RpcMgmtInqPrincName
        in (authn_proto: u32, princ_name_size: u32)
        out (princ_name: ConfVarCString, status: WError);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndr::ByteOrder;
    use crate::testutil::truncations;

    #[test]
    fn inq_if_ids_layout() {
        let resp = RpcMgmtInqIfIdsResponse {
            if_id_vector: Some(RpcIfIdVector::new([
                RpcIfId { uuid: Guid::parse("b97db8b2-4c63-11cf-bff6-08002be23f2f"), vers_major: 3, vers_minor: 0 },
                RpcIfId { uuid: Guid::parse("afa8bd80-7d8a-11c9-bef4-08002b102989"), vers_major: 1, vers_minor: 0 },
            ])),
            status: WError(0),
        };
        let stub = resp.to_stub();
        #[rustfmt::skip]
        let expected = [
            &[0x04, 0x00, 0x02, 0x00][..],  // *if_id_vector referent
            &[2, 0, 0, 0],                  // max_count
            &[2, 0, 0, 0],                  // count
            &[0x08, 0x00, 0x02, 0x00],      // if_id[0] referent
            &[0x0c, 0x00, 0x02, 0x00],      // if_id[1] referent
            &[0xb2, 0xb8, 0x7d, 0xb9, 0x63, 0x4c, 0xcf, 0x11,
              0xbf, 0xf6, 0x08, 0x00, 0x2b, 0xe2, 0x3f, 0x2f],  // clusapi uuid
            &[3, 0, 0, 0],                  // vers_major, vers_minor
            &[0x80, 0xbd, 0xa8, 0xaf, 0x8a, 0x7d, 0xc9, 0x11,
              0xbe, 0xf4, 0x08, 0x00, 0x2b, 0x10, 0x29, 0x89],  // mgmt uuid
            &[1, 0, 0, 0],
            &[0, 0, 0, 0],                  // status
        ]
        .concat();
        assert_eq!(stub, expected);
        assert_eq!(RpcMgmtInqIfIdsResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
        truncations(&stub, |s| RpcMgmtInqIfIdsResponse::decode_stub(s, ByteOrder::Little));
        // the request has no stub data at all
        assert!(RpcMgmtInqIfIdsRequest::default().to_stub().is_empty());
    }

    #[test]
    fn inq_stats_layout() {
        let req = RpcMgmtInqStatsRequest { count: 4 };
        assert_eq!(req.to_stub(), [4, 0, 0, 0]);
        // Samba's client form (max_count, unknown) decodes too
        assert_eq!(RpcMgmtInqStatsRequest::decode_stub(&[4, 0, 0, 0, 0, 0, 0, 0], ByteOrder::Little).unwrap(), req);
        let resp = RpcMgmtInqStatsResponse { count: 4, statistics: ConfArray(vec![10, 0, 20, 20]), status: WError(0) };
        let stub = resp.to_stub();
        #[rustfmt::skip]
        let expected = [
            &[4, 0, 0, 0][..],                                        // *count
            &[4, 0, 0, 0],                                            // max_count
            &[10, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 20, 0, 0, 0],     // statistics
            &[0, 0, 0, 0],                                            // status
        ]
        .concat();
        assert_eq!(stub, expected);
        assert_eq!(RpcMgmtInqStatsResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
    }

    #[test]
    fn listening_and_princ_name() {
        let resp = RpcMgmtIsServerListeningResponse { status: WError(0), result: Bool32(true) };
        assert_eq!(resp.to_stub(), [0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(RpcMgmtStopServerListeningResponse { status: WError(5) }.to_stub(), [5, 0, 0, 0]);

        let req = RpcMgmtInqPrincNameRequest { authn_proto: authn::GSS_NEGOTIATE, princ_name_size: 64 };
        assert_eq!(req.to_stub(), [9, 0, 0, 0, 64, 0, 0, 0]);
        let resp = RpcMgmtInqPrincNameResponse {
            princ_name: ConfVarCString { max: 64, value: "CL$".into() },
            status: WError(0),
        };
        let stub = resp.to_stub();
        #[rustfmt::skip]
        let expected = [
            &[64, 0, 0, 0][..],         // max_count = princ_name_size
            &[0, 0, 0, 0],              // offset
            &[4, 0, 0, 0],              // actual_count with NUL
            &[b'C', b'L', b'$', 0],     // "CL$\0"
            &[0, 0, 0, 0],              // status
        ]
        .concat();
        assert_eq!(stub, expected);
        assert_eq!(RpcMgmtInqPrincNameResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
        assert_eq!(Mgmt::op_name(4), Some("RpcMgmtInqPrincName"));
        assert_eq!(Mgmt::op_name(5), None);
        assert_eq!(Mgmt::UUID.to_string(), "afa8bd80-7d8a-11c9-bef4-08002b102989");
    }

    #[test]
    fn hostile_vector_count() {
        // claims 0x10000000 entries in a 24-byte stub
        let stub = [4, 0, 2, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(RpcMgmtInqIfIdsResponse::decode_stub(&stub, ByteOrder::Little).is_err());
    }
}
