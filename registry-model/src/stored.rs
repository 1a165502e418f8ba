//! `stored`: the persisted admin layer of the cluster registry.
//!
//! [MS-CMRP] 3.1.1.2 requires the cluster registry to be non-volatile; the
//! derived part is rebuilt from the live cluster model on every start, so
//! only what administrators wrote (ApiCreateKey, ApiSetValue,
//! ApiDeleteValue, ApiDeleteKey, ApiSetKeySecurity) is kept here, as a flat
//! list of key entries in creation order:
//!
//! * `created = true`: the administrator created this key; it is recreated
//!   by [`crate::Registry::overlay`] as long as its parent exists;
//! * `created = false`: the key is derived; the entry only carries admin
//!   values and/or a descriptor override and is applied only while the
//!   derived key exists.
//!
//! File format ([`StoredTree::save`] / [`StoredTree::load`]): one header
//! line `clusapid-registry v1 <body length> <crc32 hex>` followed by a TOML
//! body (binary data as hex). Saving writes a temporary file next to the
//! target, fsyncs it, renames it over the target and fsyncs the directory,
//! so a crash leaves either the old or the new file. Loading treats a
//! missing file as empty and anything else that is not a complete, valid
//! file (bad header, length or checksum mismatch, TOML or content errors) as
//! [`StoreError::Corrupt`], never as an empty tree.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::path::{fold, split_path, MAX_VALUE_DATA, MAX_VALUE_NAME_CHARS};
use crate::value::RegValue;

const MAGIC: &str = "clusapid-registry";
const VERSION: &str = "v1";

/// One admin-written value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredValue {
    pub name: String,
    pub kind: u32,
    #[serde(with = "crate::value::hex_bytes")]
    pub data: Vec<u8>,
}

/// The admin layer's record for one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// Backslash-separated path from the root, case as written.
    pub path: String,
    /// The key was created by an administrator.
    #[serde(default)]
    pub created: bool,
    /// FILETIME of the last admin change.
    #[serde(default)]
    pub last_write: u64,
    /// Descriptor override (self-relative), if set through SetKeySecurity.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::value::hex_bytes_opt")]
    pub security: Option<Vec<u8>>,
    /// Admin values, in insertion order.
    #[serde(default)]
    pub values: Vec<StoredValue>,
}

/// All admin-written registry content.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTree {
    #[serde(default)]
    pub keys: Vec<StoredKey>,
}

/// Persistence errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("registry store I/O error: {0}")]
    Io(#[from] io::Error),
    #[error("registry store is corrupt: {0}")]
    Corrupt(String),
}

fn path_eq(a: &str, b: &str) -> bool {
    fold(a) == fold(b)
}

/// FILETIMEs are stored as TOML integers (i64); clamp.
fn clamp_ft(ft: u64) -> u64 {
    ft.min(i64::MAX as u64)
}

fn is_prefix_path(prefix: &str, path: &str) -> bool {
    let (p, q) = (fold(prefix), fold(path));
    q.len() > p.len() && q.starts_with(&p) && q.as_bytes()[p.len()] == b'\\'
}

impl StoredTree {
    fn find(&self, path: &str) -> Option<usize> {
        self.keys.iter().position(|k| path_eq(&k.path, path))
    }

    fn entry(&mut self, path: &str) -> &mut StoredKey {
        let i = match self.find(path) {
            Some(i) => i,
            None => {
                self.keys.push(StoredKey {
                    path: path.to_string(),
                    created: false,
                    last_write: 0,
                    security: None,
                    values: Vec::new(),
                });
                self.keys.len() - 1
            }
        };
        &mut self.keys[i]
    }

    fn prune(&mut self, path: &str) {
        if let Some(i) = self.find(path) {
            let k = &self.keys[i];
            if !k.created && k.values.is_empty() && k.security.is_none() {
                self.keys.remove(i);
            }
        }
    }

    /// Records that an administrator created the key at `path` (call once
    /// per newly created key, outermost first, as
    /// [`crate::Registry::create_key_all`] returns them).
    pub fn apply_create_key(&mut self, path: &str, last_write: u64) {
        let e = self.entry(path);
        e.created = true;
        e.last_write = clamp_ft(last_write);
    }

    /// Records an admin value write.
    pub fn apply_set_value(&mut self, path: &str, name: &str, value: &RegValue, last_write: u64) {
        let e = self.entry(path);
        let sv = StoredValue { name: name.to_string(), kind: value.kind, data: value.data.clone() };
        match e.values.iter_mut().find(|v| path_eq(&v.name, name)) {
            Some(v) => {
                v.kind = sv.kind;
                v.data = sv.data;
            }
            None => e.values.push(sv),
        }
        e.last_write = clamp_ft(last_write);
    }

    /// Records an admin value deletion.
    pub fn apply_delete_value(&mut self, path: &str, name: &str, last_write: u64) {
        if let Some(i) = self.find(path) {
            let e = &mut self.keys[i];
            e.values.retain(|v| !path_eq(&v.name, name));
            e.last_write = clamp_ft(last_write);
        }
        self.prune(path);
    }

    /// Records an admin key deletion (the entry and any descendants').
    pub fn apply_delete_key(&mut self, path: &str) {
        self.keys.retain(|k| !path_eq(&k.path, path) && !is_prefix_path(path, &k.path));
    }

    /// Records a descriptor change (the full, merged descriptor).
    pub fn apply_set_security(&mut self, path: &str, sd: &[u8], last_write: u64) {
        let e = self.entry(path);
        e.security = Some(sd.to_vec());
        e.last_write = clamp_ft(last_write);
    }

    /// Checks that loaded content is well-formed.
    pub fn validate(&self) -> Result<(), String> {
        for k in &self.keys {
            let comps = split_path(&k.path).map_err(|e| format!("key {:?}: {e}", k.path))?;
            if comps.is_empty() && k.created {
                return Err("the root key cannot be admin-created".into());
            }
            if k.last_write > i64::MAX as u64 {
                return Err(format!("key {:?}: bad last_write", k.path));
            }
            if let Some(sd) = &k.security {
                crate::security::validate(sd).map_err(|e| format!("key {:?}: {e}", k.path))?;
            }
            for v in &k.values {
                if v.name.encode_utf16().count() > MAX_VALUE_NAME_CHARS || v.name.contains('\0') {
                    return Err(format!("key {:?}: bad value name", k.path));
                }
                if v.data.len() > MAX_VALUE_DATA {
                    return Err(format!("key {:?}: value {:?} too large", k.path, v.name));
                }
            }
        }
        Ok(())
    }

    /// Serialises to the file format (header line + TOML body).
    pub fn to_file_bytes(&self) -> Result<Vec<u8>, StoreError> {
        let body = toml::to_string(self).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut out = format!("{MAGIC} {VERSION} {} {:08x}\n", body.len(), crc32(body.as_bytes())).into_bytes();
        out.extend_from_slice(body.as_bytes());
        Ok(out)
    }

    /// Parses the file format strictly.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<StoredTree, StoreError> {
        let corrupt = |m: &str| StoreError::Corrupt(m.to_string());
        let nl = bytes.iter().position(|&b| b == b'\n').ok_or_else(|| corrupt("no header line"))?;
        let header = std::str::from_utf8(&bytes[..nl]).map_err(|_| corrupt("header not UTF-8"))?;
        let body = &bytes[nl + 1..];
        let parts: Vec<&str> = header.split(' ').collect();
        let [magic, version, len, crc] = parts.as_slice() else {
            return Err(corrupt("malformed header"));
        };
        if *magic != MAGIC {
            return Err(corrupt("bad magic"));
        }
        if *version != VERSION {
            return Err(StoreError::Corrupt(format!("unsupported version {version}")));
        }
        let len: usize = len.parse().map_err(|_| corrupt("bad length"))?;
        let crc = u32::from_str_radix(crc, 16).map_err(|_| corrupt("bad checksum field"))?;
        if body.len() != len {
            return Err(StoreError::Corrupt(format!("length mismatch: header says {len}, file has {}", body.len())));
        }
        if crc32(body) != crc {
            return Err(corrupt("checksum mismatch"));
        }
        let text = std::str::from_utf8(body).map_err(|_| corrupt("body not UTF-8"))?;
        let tree: StoredTree = toml::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tree.validate().map_err(StoreError::Corrupt)?;
        Ok(tree)
    }

    /// Crash-safe save: temp file, fsync, rename, fsync directory.
    pub fn save(&self, path: &Path) -> Result<(), StoreError> {
        let bytes = self.to_file_bytes()?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let file_name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        let mut tmp_name = file_name.to_os_string();
        tmp_name.push(format!(".tmp.{}", std::process::id()));
        let tmp = dir.join(tmp_name);
        let result = (|| -> io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, path)?;
            fs::File::open(&dir)?.sync_all()?;
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        Ok(result?)
    }

    /// Loads a saved tree; a missing file is an empty tree, a corrupt one an
    /// error.
    pub fn load(path: &Path) -> Result<StoredTree, StoreError> {
        match fs::read(path) {
            Ok(bytes) => StoredTree::from_file_bytes(&bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(StoredTree::default()),
            Err(e) => Err(e.into()),
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{ClusterRegistry, Registry};

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "registry-model-test-{tag}-{}-{}",
            std::process::id(),
            crate::tree::now_filetime()
        ));
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn sample() -> StoredTree {
        let mut d = Registry::new();
        d.derive_value("Nodes\\1", "NodeName", RegValue::sz("n1")).unwrap();
        let mut cr = ClusterRegistry::new(d, StoredTree::default());
        cr.set_value("Nodes\\1", "Custom", RegValue::multi_sz(&["a", "b"])).unwrap();
        cr.create_key("Admin\\Sub").unwrap();
        cr.set_value("Admin\\Sub", "Bin", RegValue::binary(vec![0, 1, 0xFF])).unwrap();
        cr.set_value("Admin\\Sub", "Q", RegValue::qword(u64::MAX)).unwrap();
        cr.set_value("Admin", "Ünï 😀", RegValue::sz("x\"y'z\n")).unwrap();
        let sd = crate::security::default_key_sd();
        cr.set_security("Admin", &sd, 0xF).unwrap();
        cr.stored().clone()
    }

    #[test]
    fn crc_known_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn save_load_round_trip() {
        let d = tmpdir("rt");
        let p = d.join("registry.toml");
        assert_eq!(StoredTree::load(&p).unwrap(), StoredTree::default());
        let t = sample();
        assert!(t.keys.iter().any(|k| k.created && k.path == "Admin"));
        assert!(t.keys.iter().any(|k| !k.created && k.path == "Nodes\\1"));
        t.save(&p).unwrap();
        assert_eq!(StoredTree::load(&p).unwrap(), t);
        // Overwrite with a new version.
        let mut t2 = t.clone();
        t2.apply_delete_key("admin");
        t2.save(&p).unwrap();
        let back = StoredTree::load(&p).unwrap();
        assert_eq!(back, t2);
        assert!(back.keys.iter().all(|k| !k.path.starts_with("Admin")));
        // No temp files left behind.
        let names: Vec<_> = fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn corrupt_files_are_errors() {
        let t = sample();
        let good = t.to_file_bytes().unwrap();
        assert_eq!(StoredTree::from_file_bytes(&good).unwrap(), t);
        // Every truncation is detected.
        for cut in 0..good.len() {
            assert!(StoredTree::from_file_bytes(&good[..cut]).is_err(), "truncated at {cut} accepted");
        }
        // A flipped bit in the body is detected.
        let mut b = good.clone();
        let last = b.len() - 2;
        b[last] ^= 0x01;
        assert!(matches!(StoredTree::from_file_bytes(&b), Err(StoreError::Corrupt(_))));
        // Garbage, empty file, wrong magic / version.
        for bad in [&b""[..], b"garbage", b"other-magic v1 0 00000000\n", b"clusapid-registry v9 0 00000000\n"] {
            assert!(StoredTree::from_file_bytes(bad).is_err());
        }
        // Valid header and checksum around invalid content.
        for body in [
            "keys = 5\n",
            "[[keys]]\npath = \"\\\\bad\"\n",
            "[[keys]]\npath = \"a\"\nsecurity = \"0102\"\n",
            "[[keys]]\npath = \"a\"\n[[keys.values]]\nname = \"v\"\nkind = 1\ndata = \"zz\"\n",
        ] {
            let f = format!("{MAGIC} {VERSION} {} {:08x}\n{body}", body.len(), crc32(body.as_bytes()));
            assert!(matches!(StoredTree::from_file_bytes(f.as_bytes()), Err(StoreError::Corrupt(_))), "{body}");
        }
        // On disk: corrupt file → error, not empty.
        let d = tmpdir("corrupt");
        let p = d.join("registry.toml");
        fs::write(&p, &good[..good.len() / 2]).unwrap();
        assert!(StoredTree::load(&p).is_err());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn apply_semantics() {
        let mut t = StoredTree::default();
        t.apply_set_value("Nodes\\1", "A", &RegValue::dword(1), 5);
        t.apply_set_value("nodes\\1", "a", &RegValue::dword(2), 6);
        assert_eq!(t.keys.len(), 1);
        assert_eq!(t.keys[0].values.len(), 1);
        assert_eq!(t.keys[0].values[0].data, vec![2, 0, 0, 0]);
        assert_eq!(t.keys[0].last_write, 6);
        // Deleting the last value of a non-created entry removes the entry.
        t.apply_delete_value("NODES\\1", "A", 7);
        assert!(t.keys.is_empty());
        // Created keys stay even when empty.
        t.apply_create_key("X", 1);
        t.apply_create_key("X\\Y", 1);
        t.apply_set_value("X\\Y", "v", &RegValue::dword(1), 2);
        t.apply_delete_value("X\\Y", "v", 3);
        assert_eq!(t.keys.len(), 2);
        t.apply_delete_key("x");
        assert!(t.keys.is_empty());
        // A prefix that is not a path component boundary is not removed.
        t.apply_create_key("Ab", 1);
        t.apply_delete_key("A");
        assert_eq!(t.keys.len(), 1);
        // Huge FILETIMEs are clamped so the TOML stays writable.
        t.apply_set_value("Ab", "v", &RegValue::dword(1), u64::MAX);
        assert!(t.to_file_bytes().is_ok());
    }
}
