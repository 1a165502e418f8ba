//! What exists in which presented Windows version ([`nodes::WindowsVersion`], chosen with
//! `version` in the configuration or `--windows-version`): the opnums, the control-code object
//! types and the notification object types a client can use. Everything else a version
//! changes is a number ([`nodes::WindowsVersion`]) or a property table
//! ([`super::properties::versioned_tables`]).
//!
//! * **Opnums.** Windows Server 2012 R2's clusapi v3.0 ends with ApiGetNotifyAsync (147); the
//!   methods after it (ApiAddNotifyResourceTypeV2 155, ApiExecuteReadBatchEx 157, the group
//!   sets 163-180, ApiCreateNetInterfaceEnum 181 ... ApiChangeResourceGroupEx 184) came with
//!   Windows Server 2016 ("Minimum supported server: Windows Server 2016" on their clusapi.h
//!   functions). A server without a method has no entry for it in its interface: its RPC
//!   runtime faults the call with `nca_s_op_rng_error`, which a Windows client sees as
//!   RPC_S_PROCNUM_OUT_OF_RANGE (1745) — what the 2012 R2 profile answers for them.
//! * **Control codes.** CLUSCTL_GROUPSET_* (object 8) exist from 2016 on; they only reach
//!   clusapid through ApiGroupSetControl / ApiNodeGroupSetControl, which 2012 R2 lacks.
//! * **Notifications.** CLUSTER_OBJECT_TYPE_GROUPSET (0xD) and its CLUSTER_CHANGE_GROUPSET_V2
//!   flags ([MS-CMRP] 2.2.2.24) exist from 2016 on; a 2012 R2 server refuses the object type
//!   in ApiAddNotifyV2 with ERROR_INVALID_PARAMETER, as any unknown type.

use nodes::WindowsVersion;

use super::ClusapiService;
use idl::cluctl::ObjectType;
use idl::cluschange::object_type;

/// The last opnum of Windows Server 2012 R2's clusapi v3.0 (ApiGetNotifyAsync).
pub const LAST_OPNUM_2012R2: u16 = 147;

/// The version the service presents now (every snapshot carries it).
pub fn version_of(s: &ClusapiService) -> WindowsVersion {
    s.backend.snapshot().cluster.windows_version
}

/// Whether a server of version `v` has the method `opnum` (declared opnums only; the ones the
/// spec marks as not used on the wire fault in every version).
pub fn has_opnum(v: WindowsVersion, opnum: u16) -> bool {
    opnum <= LAST_OPNUM_2012R2 || v.at_least(WindowsVersion::Ws2016)
}

/// Whether control codes of object type `t` exist in version `v`.
pub fn has_control_object(v: WindowsVersion, t: ObjectType) -> bool {
    match t {
        ObjectType::GroupSet | ObjectType::AffinityRule => v.at_least(WindowsVersion::Ws2016),
        _ => true,
    }
}

/// Whether ApiAddNotifyV2 takes CLUSTER_OBJECT_TYPE `ty` in version `v` (the flags of the
/// types are checked by [`super::notify::check_v2_filter`]).
pub fn has_notify_object_type(v: WindowsVersion, ty: u32) -> bool {
    match ty {
        object_type::GROUPSET => v.at_least(WindowsVersion::Ws2016),
        _ => true,
    }
}

/// The versions in which `opnum` exists, for the README's coverage table ("all", "2016 and
/// later").
pub fn opnum_availability(opnum: u16) -> &'static str {
    if has_opnum(WindowsVersion::Ws2012R2, opnum) {
        "all"
    } else {
        "2016 and later"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_each_version_has() {
        use WindowsVersion as V;
        for op in [0, 102, 117, 147] {
            assert!(V::ALL.iter().all(|&v| has_opnum(v, op)), "{op}");
        }
        for op in [155, 157, 163, 164, 174, 180, 181, 183, 184] {
            assert!(!has_opnum(V::Ws2012R2, op), "{op}");
            assert!(V::ALL[1..].iter().all(|&v| has_opnum(v, op)), "{op}");
        }
        assert!(!has_notify_object_type(V::Ws2012R2, object_type::GROUPSET));
        assert!(has_notify_object_type(V::Ws2022, object_type::GROUPSET));
        assert!(has_notify_object_type(V::Ws2012R2, object_type::NODE));
        assert!(!has_control_object(V::Ws2012R2, ObjectType::GroupSet));
        assert!(has_control_object(V::Ws2016, ObjectType::GroupSet));
        assert!(has_control_object(V::Ws2012R2, ObjectType::Node));
    }
}
