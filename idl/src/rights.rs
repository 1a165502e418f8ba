//! Access masks of clusapi requests: `dwDesiredAccess` of the Open*Ex methods ([MS-CMRP]
//! 3.1.4.2.116-121: CLUSAPI_READ_ACCESS, CLUSAPI_CHANGE_ACCESS and the generic rights) and
//! `samDesired` of the registry methods (REGSAM, [MS-RRP] 2.2.3). Pure data: clusapid evaluates
//! them.

/// CLUSAPI_READ_ACCESS
pub const CLUSAPI_READ_ACCESS: u32 = 0x0000_0001;
/// CLUSAPI_CHANGE_ACCESS
pub const CLUSAPI_CHANGE_ACCESS: u32 = 0x0000_0002;
/// MAXIMUM_ALLOWED
pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
/// GENERIC_ALL
pub const GENERIC_ALL: u32 = 0x1000_0000;
/// GENERIC_EXECUTE
pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
/// GENERIC_WRITE
pub const GENERIC_WRITE: u32 = 0x4000_0000;
/// GENERIC_READ
pub const GENERIC_READ: u32 = 0x8000_0000;

/// REGSAM bits ([MS-RRP] 2.2.3) and the generic rights.
pub mod sam {
    pub use super::{GENERIC_ALL, GENERIC_EXECUTE, GENERIC_READ, GENERIC_WRITE, MAXIMUM_ALLOWED};

    pub const KEY_QUERY_VALUE: u32 = 0x0000_0001;
    pub const KEY_SET_VALUE: u32 = 0x0000_0002;
    pub const KEY_CREATE_SUB_KEY: u32 = 0x0000_0004;
    pub const KEY_ENUMERATE_SUB_KEYS: u32 = 0x0000_0008;
    pub const KEY_NOTIFY: u32 = 0x0000_0010;
    pub const KEY_CREATE_LINK: u32 = 0x0000_0020;
    pub const DELETE: u32 = 0x0001_0000;
    pub const READ_CONTROL: u32 = 0x0002_0000;
    pub const WRITE_DAC: u32 = 0x0004_0000;
    pub const WRITE_OWNER: u32 = 0x0008_0000;
    pub const ACCESS_SYSTEM_SECURITY: u32 = 0x0100_0000;
    /// KEY_READ: READ_CONTROL | QUERY_VALUE | ENUMERATE_SUB_KEYS | NOTIFY.
    pub const KEY_READ: u32 = 0x0002_0019;
    /// KEY_ALL_ACCESS.
    pub const KEY_ALL_ACCESS: u32 = 0x000F_003F;
    /// Rights that change the key, its values, subkeys or descriptor.
    pub const WRITE_RIGHTS: u32 = KEY_SET_VALUE
        | KEY_CREATE_SUB_KEY
        | KEY_CREATE_LINK
        | DELETE
        | WRITE_DAC
        | WRITE_OWNER
        | ACCESS_SYSTEM_SECURITY
        | GENERIC_WRITE
        | GENERIC_ALL;
}
