//! The Windows numbers the integration tests check answers against, written out from the specs
//! once for every test binary (deliberately not taken from the crates under test, so a wrong
//! value there cannot make its own test pass).

/// MAXIMUM_ALLOWED ([MS-DTYP] 2.4.3).
pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
/// GENERIC_ALL ([MS-DTYP] 2.4.3).
pub const GENERIC_ALL: u32 = 0x1000_0000;
/// GENERIC_READ ([MS-DTYP] 2.4.3).
pub const GENERIC_READ: u32 = 0x8000_0000;

/// Win32 error codes ([MS-ERREF] 2.2).
pub const ERROR_INVALID_FUNCTION: u32 = 1;
pub const ERROR_ACCESS_DENIED: u32 = 5;
pub const ERROR_INVALID_HANDLE: u32 = 6;
pub const ERROR_NOT_ENOUGH_MEMORY: u32 = 8;
pub const ERROR_INVALID_PARAMETER: u32 = 87;
pub const ERROR_CALL_NOT_IMPLEMENTED: u32 = 120;
pub const ERROR_NO_MORE_ITEMS: u32 = 259;
pub const ERROR_IO_PENDING: u32 = 997;
pub const ERROR_NO_SYSTEM_RESOURCES: u32 = 1450;
/// RPC_S_SERVER_TOO_BUSY ([MS-ERREF] 2.2).
pub const RPC_S_SERVER_TOO_BUSY: u32 = 0x6bb;

/// CLUSTER_NODE_STATE values (clusapi.h), as ApiGetNodeState answers.
pub const NODE_UP: u32 = 0;
pub const NODE_DOWN: u32 = 1;
pub const NODE_PAUSED: u32 = 2;
