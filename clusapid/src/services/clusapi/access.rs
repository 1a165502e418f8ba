//! Access evaluation for the Open and OpenEx methods ([MS-CMRP] 3.1.4.2.116 and siblings):
//! the caller asks with a desired-access mask, the account's level decides, and the handle
//! records what was granted.

use crate::accounts::AccessLevel;

use super::win;

pub use idl::rights::{
    CLUSAPI_CHANGE_ACCESS, CLUSAPI_READ_ACCESS, GENERIC_ALL, GENERIC_EXECUTE, GENERIC_READ, GENERIC_WRITE,
    MAXIMUM_ALLOWED,
};

/// What a handle was granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granted {
    /// "Read" access.
    Read,
    /// "All" access (read and change).
    All,
}

impl Granted {
    /// The value reported in `lpdwGrantedAccess`: GENERIC_READ or GENERIC_ALL.
    pub fn wire(self) -> u32 {
        match self {
            Granted::Read => GENERIC_READ,
            Granted::All => GENERIC_ALL,
        }
    }

    /// What an account may get at most.
    pub fn entitled(level: Option<AccessLevel>) -> Option<Granted> {
        match level? {
            AccessLevel::Full => Some(Granted::All),
            AccessLevel::ReadOnly => Some(Granted::Read),
        }
    }
}

/// Evaluates `dwDesiredAccess` against what the caller is entitled to. Errors are Win32 codes:
/// ERROR_INVALID_PARAMETER for a malformed mask, ERROR_ACCESS_DENIED when more is asked than
/// the account has.
pub fn evaluate(desired: u32, entitled: Option<Granted>) -> Result<Granted, u32> {
    const KNOWN: u32 = CLUSAPI_READ_ACCESS
        | CLUSAPI_CHANGE_ACCESS
        | MAXIMUM_ALLOWED
        | GENERIC_ALL
        | GENERIC_EXECUTE
        | GENERIC_WRITE
        | GENERIC_READ;
    if desired & !KNOWN != 0 || desired == 0 {
        return Err(win::ERROR_INVALID_PARAMETER);
    }
    // [MS-CMRP 3.1.4.2.116] CHANGE without READ is invalid
    if desired & CLUSAPI_CHANGE_ACCESS != 0 && desired & CLUSAPI_READ_ACCESS == 0 {
        return Err(win::ERROR_INVALID_PARAMETER);
    }
    let entitled = entitled.ok_or(win::ERROR_ACCESS_DENIED)?;
    let wants_all = desired & (CLUSAPI_CHANGE_ACCESS | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL) != 0;
    if wants_all {
        return if entitled == Granted::All { Ok(Granted::All) } else { Err(win::ERROR_ACCESS_DENIED) };
    }
    if desired & MAXIMUM_ALLOWED != 0 {
        return Ok(entitled);
    }
    Ok(Granted::Read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_table() {
        let all = Some(Granted::All);
        let ro = Some(Granted::Read);
        assert_eq!(evaluate(MAXIMUM_ALLOWED, all), Ok(Granted::All));
        assert_eq!(evaluate(MAXIMUM_ALLOWED, ro), Ok(Granted::Read));
        assert_eq!(evaluate(CLUSAPI_READ_ACCESS, all), Ok(Granted::Read));
        assert_eq!(evaluate(GENERIC_READ, ro), Ok(Granted::Read));
        assert_eq!(evaluate(CLUSAPI_READ_ACCESS | CLUSAPI_CHANGE_ACCESS, all), Ok(Granted::All));
        assert_eq!(evaluate(CLUSAPI_READ_ACCESS | CLUSAPI_CHANGE_ACCESS, ro), Err(5));
        assert_eq!(evaluate(GENERIC_ALL, ro), Err(5));
        assert_eq!(evaluate(CLUSAPI_CHANGE_ACCESS, all), Err(87));
        assert_eq!(evaluate(0, all), Err(87));
        assert_eq!(evaluate(0x0000_0100, all), Err(87));
        assert_eq!(evaluate(MAXIMUM_ALLOWED, None), Err(5));
        assert_eq!(Granted::Read.wire(), 0x8000_0000);
        assert_eq!(Granted::All.wire(), 0x1000_0000);
    }
}
