//! Win32 error codes ([MS-ERREF] 2.2) that the errors of this crate map to.
//!
//! Only the codes this crate produces are listed; the daemon has its own
//! complete table.

/// ERROR_SUCCESS.
pub const ERROR_SUCCESS: u32 = 0;
/// ERROR_FILE_NOT_FOUND: registry key or value does not exist.
pub const ERROR_FILE_NOT_FOUND: u32 = 2;
/// ERROR_ACCESS_DENIED: write to a derived key/value; delete of a key with
/// subkeys ([MS-CMRP] 3.1.4.2.36 ApiDeleteKey).
pub const ERROR_ACCESS_DENIED: u32 = 5;
/// ERROR_INVALID_DATA: a property list whose values are malformed.
pub const ERROR_INVALID_DATA: u32 = 13;
/// ERROR_INVALID_PARAMETER: bad path, unknown / read-only / mistyped property.
pub const ERROR_INVALID_PARAMETER: u32 = 87;
/// ERROR_INSUFFICIENT_BUFFER: a property list shorter than its own contents
/// claim; also the GetKeySecurity size probe.
pub const ERROR_INSUFFICIENT_BUFFER: u32 = 122;
/// ERROR_MORE_DATA: output buffer too small.
pub const ERROR_MORE_DATA: u32 = 234;
/// ERROR_NO_MORE_ITEMS: enumeration index past the end.
pub const ERROR_NO_MORE_ITEMS: u32 = 259;
/// ERROR_KEY_DELETED: operation on a key that has been deleted.
pub const ERROR_KEY_DELETED: u32 = 1018;
/// ERROR_INVALID_SECURITY_DESCR: malformed security descriptor.
pub const ERROR_INVALID_SECURITY_DESCR: u32 = 1338;
