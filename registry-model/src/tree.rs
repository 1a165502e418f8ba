//! `tree`: the synthetic cluster registry.
//!
//! Spec: [MS-CMRP] 3.1.1.2 (one cluster registry, reached through
//! ApiGetRootKey; no volatile keys; value types as [MS-RRP]), 3.1.4.2.29 -
//! 3.1.4.2.44 (ApiGetRootKey ... ApiSetKeySecurity), in particular
//! 3.1.4.2.36 ApiDeleteKey: deleting a key that has subkeys fails with
//! ERROR_ACCESS_DENIED; [MS-RRP] 3.1.1 for key / value naming (names are
//! case-insensitive and case-preserving, key-name components at most 255
//! characters) and RegQueryInfoKey's length conventions.
//!
//! Owns: [`Key`], [`Registry`] (path operations on backslash-separated,
//! case-insensitive relative paths; the path rules and [`RegError`] are in
//! `path`), the two-layer model
//! ([`Origin::Derived`] content rebuilt from the cluster model and read-only;
//! [`Origin::Stored`] content written by administrators) with
//! [`Registry::overlay`], and the [`ClusterRegistry`] facade that applies
//! every admin write to both the live tree and the persisted
//! [`StoredTree`].
//!
//! Ordering: subkeys are kept sorted case-insensitively (a Windows hive
//! enumerates subkeys in name order); values keep insertion order (as a
//! Windows key's value list does).

use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::path::{
    fold, join_path, name_eq, split_path, RegError, MAX_DEPTH, MAX_KEY_NAME_CHARS, MAX_VALUE_DATA, MAX_VALUE_NAME_CHARS,
};
use crate::security;
use crate::stored::StoredTree;
use crate::value::RegValue;

/// Where a key or value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Origin {
    /// Reflects live cluster state; rebuilt from the model, read-only to
    /// clients.
    Derived,
    /// Written by an administrator through the registry methods; persisted.
    Stored,
}

/// Current time as a FILETIME (100 ns units since 1601-01-01 UTC).
pub fn now_filetime() -> u64 {
    const EPOCH_DIFF_SECS: u64 = 11_644_473_600;
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_secs() + EPOCH_DIFF_SECS) * 10_000_000 + u64::from(d.subsec_nanos() / 100)
}

/// A value together with its origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueEntry {
    pub value: RegValue,
    pub origin: Origin,
}

/// The values of a key: insertion-ordered, case-insensitive lookup,
/// case-preserving names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValueMap {
    entries: Vec<(String, ValueEntry)>,
}

impl ValueMap {
    fn position(&self, name: &str) -> Option<usize> {
        let f = fold(name);
        self.entries.iter().position(|(n, _)| fold(n) == f)
    }

    /// Lookup by name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&ValueEntry> {
        self.position(name).map(|i| &self.entries[i].1)
    }

    /// Inserts or replaces. A replaced value keeps its position and the
    /// case of its original name. Returns the previous entry.
    pub fn insert(&mut self, name: &str, entry: ValueEntry) -> Option<ValueEntry> {
        match self.position(name) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, entry)),
            None => {
                self.entries.push((name.to_string(), entry));
                None
            }
        }
    }

    /// Removes by name.
    pub fn remove(&mut self, name: &str) -> Option<ValueEntry> {
        self.position(name).map(|i| self.entries.remove(i).1)
    }

    /// The entry at an enumeration index.
    pub fn get_index(&self, i: usize) -> Option<(&str, &ValueEntry)> {
        self.entries.get(i).map(|(n, e)| (n.as_str(), e))
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Iterates in enumeration order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ValueEntry)> {
        self.entries.iter().map(|(n, e)| (n.as_str(), e))
    }
}

/// The subkeys of a key: sorted by folded name, binary-search lookup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyMap {
    entries: Vec<(String, Key)>,
}

impl KeyMap {
    fn search(&self, name: &str) -> Result<usize, usize> {
        let f = fold(name);
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(&f))
    }

    /// Lookup by name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Key> {
        self.search(name).ok().map(|i| &self.entries[i].1)
    }

    /// Mutable lookup by name.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Key> {
        self.search(name).ok().map(move |i| &mut self.entries[i].1)
    }

    /// Inserts `key` unless a key of that name exists; returns the key in the
    /// map and whether it was inserted.
    pub fn insert(&mut self, key: Key) -> (&mut Key, bool) {
        match self.search(&key.name) {
            Ok(i) => (&mut self.entries[i].1, false),
            Err(i) => {
                self.entries.insert(i, (fold(&key.name), key));
                (&mut self.entries[i].1, true)
            }
        }
    }

    /// Removes by name.
    pub fn remove(&mut self, name: &str) -> Option<Key> {
        self.search(name).ok().map(|i| self.entries.remove(i).1)
    }

    /// The key at an enumeration index.
    pub fn get_index(&self, i: usize) -> Option<&Key> {
        self.entries.get(i).map(|(_, k)| k)
    }

    /// Number of subkeys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no subkeys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Iterates in enumeration order.
    pub fn iter(&self) -> impl Iterator<Item = &Key> {
        self.entries.iter().map(|(_, k)| k)
    }
}

/// What ApiQueryInfoKey reports. Name lengths are in UTF-16 code units
/// without the terminating NUL (RegQueryInfoKey convention; [MS-CMRP]
/// 3.1.4.2.37 says "in characters"); `max_value_len` and
/// `security_descriptor_len` are in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub subkeys: u32,
    pub max_subkey_len: u32,
    pub values: u32,
    pub max_value_name_len: u32,
    pub max_value_len: u32,
    pub security_descriptor_len: u32,
    pub last_write: u64,
}

/// A registry key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// Name as created (case-preserving); "" for the root.
    pub name: String,
    pub values: ValueMap,
    pub subkeys: KeyMap,
    /// FILETIME of the last change.
    pub last_write: u64,
    /// Self-relative security descriptor.
    pub security: Vec<u8>,
    /// Always false: the cluster registry has no volatile keys.
    pub volatile: bool,
    pub origin: Origin,
}

impl Key {
    /// A new empty key with the default security descriptor, stamped now.
    pub fn new(name: impl Into<String>, origin: Origin) -> Key {
        Key {
            name: name.into(),
            values: ValueMap::default(),
            subkeys: KeyMap::default(),
            last_write: now_filetime(),
            security: security::default_key_sd(),
            volatile: false,
            origin,
        }
    }

    /// A value's data by name.
    pub fn value(&self, name: &str) -> Option<&RegValue> {
        self.values.get(name).map(|e| &e.value)
    }

    /// A value's origin by name.
    pub fn value_origin(&self, name: &str) -> Option<Origin> {
        self.values.get(name).map(|e| e.origin)
    }

    /// A direct subkey by name.
    pub fn subkey(&self, name: &str) -> Option<&Key> {
        self.subkeys.get(name)
    }

    /// Sets a Derived value (model-building API; no checks).
    pub fn set_derived_value(&mut self, name: &str, value: RegValue) -> &mut Self {
        self.values.insert(name, ValueEntry { value, origin: Origin::Derived });
        self
    }

    /// Gets or creates a Derived direct subkey (model-building API).
    pub fn derived_subkey(&mut self, name: &str) -> &mut Key {
        let stamp = self.last_write;
        let (k, inserted) = self.subkeys.insert(Key::new(name, Origin::Derived));
        if inserted {
            k.last_write = stamp;
        }
        k
    }

    /// ApiQueryInfoKey data for this key.
    pub fn info(&self) -> KeyInfo {
        let u = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        KeyInfo {
            subkeys: u(self.subkeys.len()),
            max_subkey_len: u(self.subkeys.iter().map(|k| k.name.encode_utf16().count()).max().unwrap_or(0)),
            values: u(self.values.len()),
            max_value_name_len: u(self.values.iter().map(|(n, _)| n.encode_utf16().count()).max().unwrap_or(0)),
            max_value_len: u(self.values.iter().map(|(_, e)| e.value.data.len()).max().unwrap_or(0)),
            security_descriptor_len: u(self.security.len()),
            last_write: self.last_write,
        }
    }
}

/// The cluster registry: one root key, paths relative to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registry {
    pub root: Key,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

fn check_value_name(name: &str) -> Result<(), RegError> {
    if name.encode_utf16().count() > MAX_VALUE_NAME_CHARS {
        return Err(RegError::InvalidParameter("value name too long"));
    }
    if name.contains('\0') {
        return Err(RegError::InvalidParameter("NUL in value name"));
    }
    Ok(())
}

impl Registry {
    /// An empty registry: a Derived root with the default descriptor.
    pub fn new() -> Registry {
        Registry { root: Key::new("", Origin::Derived) }
    }

    /// The key at `path`, checking the path.
    pub fn open_checked(&self, path: &str) -> Result<&Key, RegError> {
        let mut k = &self.root;
        for c in split_path(path)? {
            k = k.subkeys.get(c).ok_or(RegError::KeyNotFound)?;
        }
        Ok(k)
    }

    /// The key at `path`, or `None` when it does not exist or the path is
    /// malformed.
    pub fn open(&self, path: &str) -> Option<&Key> {
        self.open_checked(path).ok()
    }

    fn open_mut(&mut self, path: &str) -> Result<&mut Key, RegError> {
        let mut k = &mut self.root;
        for c in split_path(path)? {
            k = k.subkeys.get_mut(c).ok_or(RegError::KeyNotFound)?;
        }
        Ok(k)
    }

    /// The path of an existing key with each component spelled as stored.
    pub fn canonical_path(&self, path: &str) -> Result<String, RegError> {
        let mut k = &self.root;
        let mut out = String::new();
        for c in split_path(path)? {
            k = k.subkeys.get(c).ok_or(RegError::KeyNotFound)?;
            out = join_path(&out, &k.name);
        }
        Ok(out)
    }

    /// ApiCreateKey: opens or creates the key at `path`, creating missing
    /// intermediate keys (as Stored; allowed under Derived keys). Returns
    /// whether the final key was created.
    pub fn create_key(&mut self, path: &str) -> Result<bool, RegError> {
        let created = self.create_key_all(path)?;
        Ok(!created.is_empty() && !path.is_empty())
    }

    /// Like [`Registry::create_key`], returning the canonical paths of all
    /// keys that were created, outermost first (for [`StoredTree`]).
    pub fn create_key_all(&mut self, path: &str) -> Result<Vec<String>, RegError> {
        let comps = split_path(path)?;
        let now = now_filetime();
        let mut created = Vec::new();
        let mut cur_path = String::new();
        let mut k = &mut self.root;
        for c in comps {
            let (child, inserted) = {
                let mut nk = Key::new(c, Origin::Stored);
                nk.last_write = now;
                let had = k.subkeys.get(c).is_some();
                if !had {
                    k.last_write = now;
                }
                let (child, _) = k.subkeys.insert(nk);
                (child, !had)
            };
            cur_path = join_path(&cur_path, &child.name);
            if inserted {
                created.push(cur_path.clone());
            }
            k = child;
        }
        Ok(created)
    }

    /// ApiSetValue. Fails with ERROR_ACCESS_DENIED when the value exists
    /// and is Derived; new values under Derived keys are allowed.
    pub fn set_value(&mut self, path: &str, name: &str, value: RegValue) -> Result<(), RegError> {
        check_value_name(name)?;
        if value.data.len() > MAX_VALUE_DATA {
            return Err(RegError::InvalidParameter("value data too large"));
        }
        let k = self.open_mut(path)?;
        if k.value_origin(name) == Some(Origin::Derived) {
            return Err(RegError::AccessDenied("value reflects cluster state"));
        }
        k.values.insert(name, ValueEntry { value, origin: Origin::Stored });
        k.last_write = now_filetime();
        Ok(())
    }

    /// ApiDeleteValue.
    pub fn delete_value(&mut self, path: &str, name: &str) -> Result<(), RegError> {
        let k = self.open_mut(path)?;
        match k.value_origin(name) {
            None => return Err(RegError::ValueNotFound),
            Some(Origin::Derived) => return Err(RegError::AccessDenied("value reflects cluster state")),
            Some(Origin::Stored) => {}
        }
        k.values.remove(name);
        k.last_write = now_filetime();
        Ok(())
    }

    /// ApiDeleteKey: the key must exist, be Stored and have no subkeys.
    pub fn delete_key(&mut self, path: &str) -> Result<(), RegError> {
        let comps = split_path(path)?;
        let Some((leaf, parents)) = comps.split_last() else {
            return Err(RegError::InvalidParameter("cannot delete the root key"));
        };
        let mut parent = &mut self.root;
        for c in parents {
            parent = parent.subkeys.get_mut(c).ok_or(RegError::KeyNotFound)?;
        }
        let k = parent.subkeys.get(leaf).ok_or(RegError::KeyNotFound)?;
        if k.origin == Origin::Derived {
            return Err(RegError::AccessDenied("key reflects cluster state"));
        }
        if !k.subkeys.is_empty() {
            return Err(RegError::HasSubkeys);
        }
        parent.subkeys.remove(leaf);
        parent.last_write = now_filetime();
        Ok(())
    }

    /// ApiEnumKey: the name of the `index`-th subkey.
    pub fn enum_key(&self, path: &str, index: u32) -> Result<&str, RegError> {
        let k = self.open_checked(path)?;
        k.subkeys.get_index(index as usize).map(|s| s.name.as_str()).ok_or(RegError::NoMoreItems)
    }

    /// ApiEnumValue: name and value of the `index`-th value.
    pub fn enum_value(&self, path: &str, index: u32) -> Result<(&str, &RegValue), RegError> {
        let k = self.open_checked(path)?;
        k.values.get_index(index as usize).map(|(n, e)| (n, &e.value)).ok_or(RegError::NoMoreItems)
    }

    /// ApiQueryValue.
    pub fn query_value(&self, path: &str, name: &str) -> Result<&RegValue, RegError> {
        self.open_checked(path)?.value(name).ok_or(RegError::ValueNotFound)
    }

    /// ApiQueryInfoKey.
    pub fn query_info(&self, path: &str) -> Result<KeyInfo, RegError> {
        Ok(self.open_checked(path)?.info())
    }

    /// ApiGetKeySecurity: the parts of the key's descriptor selected by
    /// `security_information`.
    pub fn get_security(&self, path: &str, security_information: u32) -> Result<Vec<u8>, RegError> {
        let k = self.open_checked(path)?;
        Ok(security::filter(&k.security, security_information)?)
    }

    /// ApiSetKeySecurity: validates `sd` and replaces the parts selected by
    /// `security_information`. Allowed on every key (the descriptor is
    /// metadata, not cluster state). Returns the key's new descriptor.
    pub fn set_security(&mut self, path: &str, sd: &[u8], security_information: u32) -> Result<Vec<u8>, RegError> {
        security::validate(sd)?;
        let k = self.open_mut(path)?;
        let merged = security::merge(&k.security, sd, security_information)?;
        k.security = merged.clone();
        k.last_write = now_filetime();
        Ok(merged)
    }

    /// Model-building API: gets or creates the Derived key at `path`
    /// (intermediate keys are created Derived too).
    pub fn derive_key(&mut self, path: &str) -> Result<&mut Key, RegError> {
        let comps = split_path(path)?;
        let mut k = &mut self.root;
        for c in comps {
            k = k.derived_subkey(c);
        }
        Ok(k)
    }

    /// Model-building API: sets a Derived value, creating the key.
    pub fn derive_value(&mut self, path: &str, name: &str, value: RegValue) -> Result<(), RegError> {
        check_value_name(name)?;
        self.derive_key(path)?.set_derived_value(name, value);
        Ok(())
    }

    /// Builds the live tree: `derived` (rebuilt from the cluster model) with
    /// the admin layer merged on top. Derived values win over stored values
    /// of the same name; stored keys whose parent no longer exists and value
    /// sets for derived keys that no longer exist are skipped (they are
    /// orphans, e.g. of a deleted resource).
    pub fn overlay(derived: Registry, stored: &StoredTree) -> Registry {
        let mut reg = derived;
        let mut order: Vec<(usize, &crate::stored::StoredKey)> =
            stored.keys.iter().filter_map(|k| split_path(&k.path).ok().map(|c| (c.len(), k))).collect();
        order.sort_by_key(|(depth, _)| *depth);
        for (_, sk) in order {
            let Ok(comps) = split_path(&sk.path) else {
                continue;
            };
            let key = if sk.created {
                let Some((leaf, parents)) = comps.split_last() else {
                    continue;
                };
                let parent_path = parents.join("\\");
                let Ok(parent) = reg.open_mut(&parent_path) else {
                    continue;
                };
                let mut nk = Key::new(*leaf, Origin::Stored);
                nk.last_write = sk.last_write;
                parent.subkeys.insert(nk).0
            } else {
                match reg.open_mut(&sk.path) {
                    Ok(k) => k,
                    Err(_) => continue,
                }
            };
            for v in &sk.values {
                if key.value_origin(&v.name) == Some(Origin::Derived) {
                    continue;
                }
                key.values.insert(
                    &v.name,
                    ValueEntry { value: RegValue { kind: v.kind, data: v.data.clone() }, origin: Origin::Stored },
                );
            }
            if let Some(sd) = &sk.security {
                key.security = sd.clone();
            }
            key.last_write = key.last_write.max(sk.last_write);
        }
        reg
    }
}

/// The registry the daemon serves: the live (overlaid) tree plus the admin
/// layer that is persisted. Every write method checks and applies the write
/// to the live tree, then records it in the stored layer; the caller then
/// persists [`ClusterRegistry::stored`] (e.g. with [`StoredTree::save`]).
#[derive(Clone, Debug)]
pub struct ClusterRegistry {
    live: Registry,
    stored: StoredTree,
}

impl ClusterRegistry {
    /// Builds the live tree from a derived tree and the loaded admin layer.
    pub fn new(derived: Registry, stored: StoredTree) -> ClusterRegistry {
        ClusterRegistry { live: Registry::overlay(derived, &stored), stored }
    }

    /// The live tree (for all read operations).
    pub fn live(&self) -> &Registry {
        &self.live
    }

    /// The admin layer.
    pub fn stored(&self) -> &StoredTree {
        &self.stored
    }

    /// Replaces the derived part after a cluster-model change.
    pub fn rebuild(&mut self, derived: Registry) {
        self.live = Registry::overlay(derived, &self.stored);
    }

    /// ApiCreateKey; returns whether the final key was created.
    pub fn create_key(&mut self, path: &str) -> Result<bool, RegError> {
        let created = self.live.create_key_all(path)?;
        for p in &created {
            let lw = self.live.open(p).map(|k| k.last_write).unwrap_or(0);
            self.stored.apply_create_key(p, lw);
        }
        Ok(!created.is_empty() && !path.is_empty())
    }

    /// ApiSetValue.
    pub fn set_value(&mut self, path: &str, name: &str, value: RegValue) -> Result<(), RegError> {
        self.live.set_value(path, name, value.clone())?;
        let (canon, lw) = self.canon(path)?;
        self.stored.apply_set_value(&canon, name, &value, lw);
        Ok(())
    }

    /// ApiDeleteValue.
    pub fn delete_value(&mut self, path: &str, name: &str) -> Result<(), RegError> {
        self.live.delete_value(path, name)?;
        let (canon, lw) = self.canon(path)?;
        self.stored.apply_delete_value(&canon, name, lw);
        Ok(())
    }

    /// ApiDeleteKey.
    pub fn delete_key(&mut self, path: &str) -> Result<(), RegError> {
        let canon = self.live.canonical_path(path)?;
        self.live.delete_key(path)?;
        self.stored.apply_delete_key(&canon);
        Ok(())
    }

    /// ApiSetKeySecurity.
    pub fn set_security(&mut self, path: &str, sd: &[u8], security_information: u32) -> Result<(), RegError> {
        let merged = self.live.set_security(path, sd, security_information)?;
        let (canon, lw) = self.canon(path)?;
        self.stored.apply_set_security(&canon, &merged, lw);
        Ok(())
    }

    fn canon(&self, path: &str) -> Result<(String, u64), RegError> {
        let canon = self.live.canonical_path(path)?;
        let lw = self.live.open_checked(path)?.last_write;
        Ok((canon, lw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::REG_SZ;

    fn derived() -> Registry {
        let mut r = Registry::new();
        r.derive_value("", "ClusterName", RegValue::sz("CTDB")).unwrap();
        r.derive_value("Nodes\\1", "NodeName", RegValue::sz("CTDB_NODE_0")).unwrap();
        r.derive_value("Nodes\\2", "NodeName", RegValue::sz("CTDB_NODE_1")).unwrap();
        r.derive_key("Groups").unwrap();
        r
    }

    #[test]
    fn paths() {
        assert_eq!(split_path("").unwrap(), Vec::<&str>::new());
        assert_eq!(split_path("a\\b").unwrap(), vec!["a", "b"]);
        for bad in ["\\a", "a\\\\b", "a\\", "a\0b"] {
            let e = split_path(bad).unwrap_err();
            assert_eq!(e.win32_code(), 87, "{bad:?}");
        }
        assert!(split_path(&"x".repeat(255)).is_ok());
        assert!(split_path(&"x".repeat(256)).is_err());
        assert!(split_path(&vec!["k"; 64].join("\\")).is_ok());
        assert!(split_path(&vec!["k"; 65].join("\\")).is_err());
    }

    #[test]
    fn case_insensitive_open_and_enum() {
        let r = derived();
        assert!(r.open("nodes\\1").is_some());
        assert!(r.open("NODES").is_some());
        assert_eq!(r.open("Nodes").unwrap().name, "Nodes");
        assert!(r.open("Nodes\\3").is_none());
        assert!(r.open("\\Nodes").is_none());
        assert_eq!(r.enum_key("", 0).unwrap(), "Groups");
        assert_eq!(r.enum_key("", 1).unwrap(), "Nodes");
        assert_eq!(r.enum_key("", 2).unwrap_err(), RegError::NoMoreItems);
        assert_eq!(r.enum_key("", 2).unwrap_err().win32_code(), 259);
        assert_eq!(r.enum_value("", 0).unwrap().0, "ClusterName");
        assert_eq!(r.enum_value("", 1).unwrap_err().win32_code(), 259);
        assert_eq!(r.query_value("nodes\\1", "NODENAME").unwrap(), &RegValue::sz("CTDB_NODE_0"));
        assert_eq!(r.query_value("", "nope").unwrap_err().win32_code(), 2);
        assert_eq!(r.query_value("x", "nope").unwrap_err().win32_code(), 2);
        assert_eq!(r.canonical_path("nodes\\1").unwrap(), "Nodes\\1");
    }

    #[test]
    fn sorted_subkeys_insertion_ordered_values() {
        let mut r = Registry::new();
        for n in ["b", "C", "a"] {
            r.create_key(n).unwrap();
        }
        let names: Vec<_> = (0..3).map(|i| r.enum_key("", i).unwrap().to_string()).collect();
        assert_eq!(names, vec!["a", "b", "C"]);
        for n in ["z", "y", "Z"] {
            r.set_value("a", n, RegValue::dword(1)).unwrap();
        }
        let k = r.open("a").unwrap();
        let vals: Vec<_> = k.values.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(vals, vec!["z", "y"]); // "Z" replaced "z", keeping its name
    }

    #[test]
    fn query_info_lengths() {
        let mut r = Registry::new();
        r.create_key("Ünï").unwrap();
        r.create_key("ab").unwrap();
        r.set_value("", "Name😀", RegValue::sz("abcd")).unwrap();
        r.set_value("", "x", RegValue::dword(1)).unwrap();
        let i = r.query_info("").unwrap();
        assert_eq!(i.subkeys, 2);
        assert_eq!(i.max_subkey_len, 3);
        assert_eq!(i.values, 2);
        assert_eq!(i.max_value_name_len, 6); // surrogate pair counts 2
        assert_eq!(i.max_value_len, 10);
        assert_eq!(i.security_descriptor_len, 120);
        assert!(i.last_write > 0);
        let e = r.query_info("Ünï").unwrap();
        assert_eq!((e.subkeys, e.values, e.max_subkey_len, e.max_value_len), (0, 0, 0, 0));
    }

    #[test]
    fn derived_is_read_only() {
        let mut r = derived();
        assert_eq!(r.set_value("Nodes\\1", "NodeName", RegValue::sz("x")).unwrap_err().win32_code(), 5);
        assert_eq!(r.delete_value("Nodes\\1", "nodename").unwrap_err().win32_code(), 5);
        assert_eq!(r.delete_key("Nodes\\1").unwrap_err().win32_code(), 5);
        assert_eq!(r.delete_key("Groups").unwrap_err().win32_code(), 5);
        // Admin additions are fine.
        r.set_value("Nodes\\1", "Custom", RegValue::dword(3)).unwrap();
        assert_eq!(r.open("Nodes\\1").unwrap().value_origin("custom"), Some(Origin::Stored));
        r.set_value("Nodes\\1", "Custom", RegValue::dword(4)).unwrap();
        r.delete_value("Nodes\\1", "Custom").unwrap();
        assert_eq!(r.delete_value("Nodes\\1", "Custom").unwrap_err().win32_code(), 2);
        assert!(r.create_key("Nodes\\1\\Extra").unwrap());
        assert!(!r.create_key("Nodes\\1\\extra").unwrap());
        r.delete_key("Nodes\\1\\Extra").unwrap();
        assert_eq!(r.delete_key("Nodes\\1\\Extra").unwrap_err().win32_code(), 2);
        assert_eq!(r.delete_key("").unwrap_err().win32_code(), 87);
    }

    #[test]
    fn delete_key_with_subkeys_is_access_denied() {
        let mut r = Registry::new();
        assert_eq!(r.create_key_all("a\\b\\c").unwrap(), vec!["a", "a\\b", "a\\b\\c"]);
        let e = r.delete_key("a\\b").unwrap_err();
        assert_eq!(e, RegError::HasSubkeys);
        assert_eq!(e.win32_code(), 5);
        r.delete_key("a\\b\\c").unwrap();
        r.delete_key("a\\b").unwrap();
        r.delete_key("A").unwrap();
        assert!(r.open("a").is_none());
    }

    #[test]
    fn value_checks() {
        let mut r = Registry::new();
        let big = RegValue::binary(vec![0; MAX_VALUE_DATA + 1]);
        assert_eq!(r.set_value("", "b", big).unwrap_err().win32_code(), 87);
        let long = "v".repeat(MAX_VALUE_NAME_CHARS + 1);
        assert_eq!(r.set_value("", &long, RegValue::dword(0)).unwrap_err().win32_code(), 87);
        assert_eq!(r.set_value("nokey", "a", RegValue::dword(0)).unwrap_err().win32_code(), 2);
        r.set_value("", "", RegValue::sz("default")).unwrap();
        assert_eq!(r.query_value("", "").unwrap().kind, REG_SZ);
    }

    #[test]
    fn security_get_set() {
        let mut r = derived();
        let full = r.get_security("Nodes", 0xF).unwrap();
        assert_eq!(full, security::default_key_sd());
        let owner_only = r.get_security("Nodes", 1).unwrap();
        assert!(owner_only.len() < full.len());
        assert_eq!(r.set_security("Nodes", &[1, 2, 3], 4).unwrap_err().win32_code(), 1338);
        let new = security::filter(&full, 0x4).unwrap();
        r.set_security("Nodes", &new, 0x4).unwrap();
        assert_eq!(r.get_security("Nodes", 0xF).unwrap(), full);
        assert_eq!(r.get_security("missing", 0xF).unwrap_err().win32_code(), 2);
    }

    #[test]
    fn overlay_merges_layers() {
        let mut cr = ClusterRegistry::new(derived(), StoredTree::default());
        cr.set_value("nodes\\1", "Custom", RegValue::dword(7)).unwrap();
        assert!(cr.create_key("Nodes\\1\\Sub\\Deeper").unwrap());
        cr.set_value("Nodes\\1\\Sub", "V", RegValue::sz("s")).unwrap();
        cr.create_key("Admin").unwrap();
        cr.set_value("Admin", "A", RegValue::dword(1)).unwrap();
        // Derived values cannot be changed, even through the facade.
        assert_eq!(cr.set_value("", "ClusterName", RegValue::sz("x")).unwrap_err().win32_code(), 5);
        // Rebuild from a fresh model: admin content survives.
        cr.rebuild(derived());
        let live = cr.live();
        assert_eq!(live.query_value("Nodes\\1", "Custom").unwrap(), &RegValue::dword(7));
        assert_eq!(live.open("Nodes\\1").unwrap().origin, Origin::Derived);
        assert_eq!(live.open("Nodes\\1\\Sub").unwrap().origin, Origin::Stored);
        assert!(live.open("nodes\\1\\sub\\deeper").is_some());
        assert_eq!(live.query_value("Admin", "A").unwrap(), &RegValue::dword(1));
        // The model drops node 1: its admin value and subkeys vanish.
        let mut d = derived();
        d.root.subkeys.get_mut("Nodes").unwrap().subkeys.remove("1");
        cr.rebuild(d);
        assert!(cr.live().open("Nodes\\1").is_none());
        assert!(cr.live().open("Admin").is_some());
        // Delete admin content.
        let mut cr = ClusterRegistry::new(derived(), cr.stored().clone());
        cr.delete_value("Nodes\\1", "custom").unwrap();
        cr.delete_key("Nodes\\1\\Sub\\Deeper").unwrap();
        cr.delete_key("Nodes\\1\\Sub").unwrap();
        cr.rebuild(derived());
        assert!(cr.live().query_value("Nodes\\1", "Custom").is_err());
        assert!(cr.live().open("Nodes\\1\\Sub").is_none());
    }

    #[test]
    fn derived_wins_over_stored_value() {
        let mut cr = ClusterRegistry::new(Registry::new(), StoredTree::default());
        cr.set_value("", "ClusterName", RegValue::sz("admin")).unwrap();
        cr.rebuild(derived());
        assert_eq!(cr.live().query_value("", "ClusterName").unwrap(), &RegValue::sz("CTDB"));
        assert_eq!(cr.live().root.value_origin("ClusterName"), Some(Origin::Derived));
    }

    #[test]
    fn facade_security_persists() {
        let mut cr = ClusterRegistry::new(derived(), StoredTree::default());
        let sd = security::default_key_sd();
        let owner_everyone = security::SecurityDescriptor {
            control: 0,
            owner: Some(security::Sid::everyone()),
            group: None,
            sacl: None,
            dacl: None,
        }
        .to_self_relative();
        cr.set_security("Groups", &owner_everyone, 1).unwrap();
        cr.rebuild(derived());
        let got = cr.live().get_security("Groups", 1).unwrap();
        assert_ne!(got, security::filter(&sd, 1).unwrap());
        let p = security::SecurityDescriptor::parse(&got).unwrap();
        assert_eq!(p.owner, Some(security::Sid::everyone()));
    }
}
