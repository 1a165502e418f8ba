//! `path`: how the cluster registry names things, below both the live tree (`tree`) and its
//! persisted copy (`stored`): backslash-separated relative key paths, case-insensitive and
//! case-preserving names ([MS-RRP] 3.1.1: key-name components at most 255 characters), the
//! size limits, and [`RegError`] with its Win32 codes.

use crate::security;
use crate::win32;

/// Maximum UTF-16 length of one key-name component.
pub const MAX_KEY_NAME_CHARS: usize = 255;
/// Maximum number of components in a path.
pub const MAX_DEPTH: usize = 64;
/// Maximum UTF-16 length of a value name.
pub const MAX_VALUE_NAME_CHARS: usize = 16_383;
/// Maximum size of one value's data written by a client (1 MiB).
pub const MAX_VALUE_DATA: usize = 1 << 20;

/// Registry errors; [`RegError::win32_code`] gives the status to return.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegError {
    /// The key does not exist (ERROR_FILE_NOT_FOUND).
    #[error("registry key not found")]
    KeyNotFound,
    /// The value does not exist (ERROR_FILE_NOT_FOUND).
    #[error("registry value not found")]
    ValueNotFound,
    /// Write to derived content (ERROR_ACCESS_DENIED).
    #[error("access denied: {0}")]
    AccessDenied(&'static str),
    /// Delete of a key with subkeys: [MS-CMRP] 3.1.4.2.36 requires
    /// ERROR_ACCESS_DENIED.
    #[error("key has subkeys")]
    HasSubkeys,
    /// Malformed path (ERROR_INVALID_PARAMETER).
    #[error("invalid registry path: {0}")]
    InvalidPath(&'static str),
    /// Other invalid argument (ERROR_INVALID_PARAMETER).
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
    /// Enumeration index past the end (ERROR_NO_MORE_ITEMS).
    #[error("no more items")]
    NoMoreItems,
    /// Output buffer too small (ERROR_MORE_DATA).
    #[error("more data")]
    MoreData,
    /// Output buffer too small for a security descriptor
    /// (ERROR_INSUFFICIENT_BUFFER).
    #[error("insufficient buffer")]
    InsufficientBuffer,
    /// The key behind a handle has been deleted (ERROR_KEY_DELETED).
    #[error("key deleted")]
    KeyDeleted,
    /// Malformed security descriptor (ERROR_INVALID_SECURITY_DESCR).
    #[error("invalid security descriptor: {0}")]
    InvalidSecurityDescriptor(#[from] security::SdError),
}

impl RegError {
    /// Win32 status for this error.
    pub fn win32_code(&self) -> u32 {
        match self {
            RegError::KeyNotFound | RegError::ValueNotFound => win32::ERROR_FILE_NOT_FOUND,
            RegError::AccessDenied(_) | RegError::HasSubkeys => win32::ERROR_ACCESS_DENIED,
            RegError::InvalidPath(_) | RegError::InvalidParameter(_) => win32::ERROR_INVALID_PARAMETER,
            RegError::NoMoreItems => win32::ERROR_NO_MORE_ITEMS,
            RegError::MoreData => win32::ERROR_MORE_DATA,
            RegError::InsufficientBuffer => win32::ERROR_INSUFFICIENT_BUFFER,
            RegError::KeyDeleted => win32::ERROR_KEY_DELETED,
            RegError::InvalidSecurityDescriptor(_) => win32::ERROR_INVALID_SECURITY_DESCR,
        }
    }
}

/// Case folding used for all name comparisons: each character is replaced
/// by its uppercase form when that is a single character (Windows upcases
/// UTF-16 units one by one and never expands).
pub fn fold(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// Case-insensitive name equality (see [`fold`]).
pub fn name_eq(a: &str, b: &str) -> bool {
    (a.len() == b.len() && a.eq_ignore_ascii_case(b)) || fold(a) == fold(b)
}

/// Splits and checks a relative path: "" is the key itself; no leading
/// backslash, no empty component, components of 1..=255 UTF-16 units
/// without NUL, at most 64 components.
pub fn split_path(path: &str) -> Result<Vec<&str>, RegError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    if path.starts_with('\\') {
        return Err(RegError::InvalidPath("leading backslash"));
    }
    let comps: Vec<&str> = path.split('\\').collect();
    if comps.len() > MAX_DEPTH {
        return Err(RegError::InvalidPath("too deep"));
    }
    for c in &comps {
        if c.is_empty() {
            return Err(RegError::InvalidPath("empty component"));
        }
        if c.encode_utf16().count() > MAX_KEY_NAME_CHARS {
            return Err(RegError::InvalidPath("component longer than 255 characters"));
        }
        if c.contains('\0') {
            return Err(RegError::InvalidPath("NUL in key name"));
        }
    }
    Ok(comps)
}

/// Joins path components with backslashes.
pub fn join_path(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}\\{child}")
    }
}
