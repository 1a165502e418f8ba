//! The accounts file: who may authenticate, with which NT hash and access level.
//!
//! One account per line, `NAME:ACCESS:NTHASH` (ACCESS is `full` or `read-only`, NTHASH is the
//! 32-hex-digit MD4 of the UTF-16LE password). The password itself is never stored. The file is
//! written atomically (temporary file, fsync, rename) with mode 0600, so a crash never leaves a
//! half-written file and nothing an admin wrote is lost.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What an account may do through clusapi.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccessLevel {
    /// Reads only: handles are granted GENERIC_READ, changes answer ERROR_ACCESS_DENIED.
    ReadOnly,
    /// Reads and changes: handles are granted GENERIC_ALL.
    Full,
}

impl AccessLevel {
    fn as_str(self) -> &'static str {
        match self {
            AccessLevel::ReadOnly => "read-only",
            AccessLevel::Full => "full",
        }
    }
}

/// One account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub access: AccessLevel,
    pub nt_hash: [u8; 16],
}

/// Errors reading or writing the accounts file.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("{path}: {source}{hint}", hint = if source.kind() == std::io::ErrorKind::PermissionDenied {
        "\n  the accounts file is mode 0600 (it holds NT hashes): run clusapid and `clusapid user` as root"
    } else {
        ""
    })]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {what}")]
    Parse { path: PathBuf, line: usize, what: &'static str },
    #[error("invalid account name {0:?}: use letters, digits, '.', '-', '_' or '$'")]
    BadName(String),
    #[error("no account named {0:?}")]
    NoSuchAccount(String),
}

/// The accounts, keyed by lower-cased name (names are case-insensitive, as in Windows).
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    map: BTreeMap<String, Account>,
}

/// Whether a name is acceptable as an account name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '$'))
}

impl Accounts {
    /// Reads a file; a missing file is an empty set.
    pub fn load(path: &Path) -> Result<Self, AccountsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(AccountsError::Io { path: path.into(), source: e }),
        };
        Self::parse(&text, path)
    }

    /// Parses the text of an accounts file (`path` only names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, AccountsError> {
        let mut map = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |what| AccountsError::Parse { path: path.into(), line: i + 1, what };
            let mut parts = line.split(':');
            let (Some(name), Some(access), Some(hash), None) = (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(err("expected NAME:ACCESS:NTHASH"));
            };
            if !valid_name(name) {
                return Err(err("invalid account name"));
            }
            let access = match access {
                "full" => AccessLevel::Full,
                "read-only" => AccessLevel::ReadOnly,
                _ => return Err(err("access must be 'full' or 'read-only'")),
            };
            let bytes = hex::decode(hash).map_err(|_| err("NT hash is not hex"))?;
            let nt_hash: [u8; 16] = bytes.try_into().map_err(|_| err("NT hash must be 16 bytes"))?;
            map.insert(name.to_lowercase(), Account { name: name.to_owned(), access, nt_hash });
        }
        Ok(Self { map })
    }

    /// Writes the file atomically with mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), AccountsError> {
        use std::os::unix::fs::OpenOptionsExt;
        let io = |e| AccountsError::Io { path: path.into(), source: e };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        let mut f =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io)?;
        let mut text = String::from("# clusapid accounts: NAME:ACCESS:NTHASH (MD4 of the UTF-16LE password)\n");
        for a in self.map.values() {
            text.push_str(&format!("{}:{}:{}\n", a.name, a.access.as_str(), hex::encode(a.nt_hash)));
        }
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// Adds or replaces an account.
    pub fn add(&mut self, name: &str, password: &str, access: AccessLevel) -> Result<(), AccountsError> {
        if !valid_name(name) {
            return Err(AccountsError::BadName(name.into()));
        }
        self.map
            .insert(name.to_lowercase(), Account { name: name.to_owned(), access, nt_hash: auth::nt_hash(password) });
        Ok(())
    }

    /// Removes an account.
    pub fn remove(&mut self, name: &str) -> Result<(), AccountsError> {
        self.map.remove(&name.to_lowercase()).map(|_| ()).ok_or_else(|| AccountsError::NoSuchAccount(name.into()))
    }

    /// Looks an account up (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Account> {
        self.map.get(&name.to_lowercase())
    }

    /// All accounts, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Account> {
        self.map.values()
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl auth::CredentialStore for Accounts {
    fn nt_hash(&self, user: &str) -> Option<[u8; 16]> {
        self.get(user).map(|a| a.nt_hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_roundtrip_with_0600() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/acc");
        let mut a = Accounts::default();
        a.add("alice", "Passw0rd-1", AccessLevel::Full).unwrap();
        a.add("Bob", "x", AccessLevel::ReadOnly).unwrap();
        a.save(&p).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("Passw0rd"));
        let b = Accounts::load(&p).unwrap();
        assert_eq!(b.get("ALICE").unwrap().access, AccessLevel::Full);
        assert_eq!(b.get("bob").unwrap().access, AccessLevel::ReadOnly);
        assert_eq!(b.get("alice").unwrap().nt_hash, auth::nt_hash("Passw0rd-1"));
        let mut b = b;
        b.remove("bob").unwrap();
        assert!(b.remove("bob").is_err());
    }

    #[test]
    fn bad_files_are_errors() {
        let p = Path::new("x");
        assert!(Accounts::parse("alice:full", p).is_err());
        assert!(Accounts::parse("alice:admin:00112233445566778899aabbccddeeff", p).is_err());
        assert!(Accounts::parse("alice:full:0011", p).is_err());
        assert!(Accounts::parse("al ice:full:00112233445566778899aabbccddeeff", p).is_err());
        assert_eq!(Accounts::parse("# c\n\nalice:full:00112233445566778899aabbccddeeff\n", p).unwrap().len(), 1);
        assert!(Accounts::add(&mut Accounts::default(), "a:b", "p", AccessLevel::Full).is_err());
    }
}
