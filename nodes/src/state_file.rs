//! The backends' files on disk: the admin [`Overlay`] in the state file and the
//! cluster-registry blob in [`registry_file`] next to it, both written crash-safely by
//! [`persist_bytes`] (temp file, fsync, rename, fsync directory). The simulated backend keeps
//! its state there; the CTDB backend keeps a local cache there.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::backend::{BackendError, BackendResult};
use crate::overlay::Overlay;

fn io_err(what: &str, path: &Path, e: std::io::Error) -> BackendError {
    BackendError::Storage(format!("{what} {}: {e}", path.display()))
}

/// Loads the overlay; a missing file is an empty overlay.
pub fn load_overlay(path: &Path) -> BackendResult<Overlay> {
    match fs::read_to_string(path) {
        Ok(text) => Overlay::from_toml(&text),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Overlay::default()),
        Err(e) => Err(io_err("cannot read", path, e)),
    }
}

/// Writes the overlay crash-safely (see [`persist_bytes`]).
pub fn persist_overlay(path: &Path, overlay: &Overlay) -> BackendResult<()> {
    persist_bytes(path, overlay.to_toml()?.as_bytes())
}

/// The file holding the cluster-registry blob next to the state file `state`: `state` with
/// the extension `registry` (`state.toml` → `state.registry`; `state` → `state.registry`).
pub fn registry_file(state: &Path) -> PathBuf {
    let p = state.with_extension("registry");
    if p == state {
        let mut s = state.as_os_str().to_owned();
        s.push(".registry");
        PathBuf::from(s)
    } else {
        p
    }
}

/// Loads the registry blob; a missing file is `None`.
pub fn load_registry(path: &Path) -> BackendResult<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("cannot read", path, e)),
    }
}

/// Writes `bytes` to `path` crash-safely: temp file, fsync, rename, fsync directory. A crash
/// leaves either the old or the new content; on error the temp file is removed.
pub fn persist_bytes(path: &Path, bytes: &[u8]) -> BackendResult<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = (|| {
        let mut f = File::create(&tmp).map_err(|e| io_err("cannot create", &tmp, e))?;
        f.write_all(bytes).map_err(|e| io_err("cannot write", &tmp, e))?;
        f.sync_all().map_err(|e| io_err("cannot sync", &tmp, e))?;
        drop(f);
        fs::rename(&tmp, path).map_err(|e| io_err("cannot rename onto", path, e))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // Best effort: not every filesystem lets a directory be fsynced.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nodes-state-file-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[test]
    fn registry_file_next_to_state_file() {
        assert_eq!(registry_file(Path::new("/x/state.toml")), PathBuf::from("/x/state.registry"));
        assert_eq!(registry_file(Path::new("/x/state")), PathBuf::from("/x/state.registry"));
        assert_eq!(registry_file(Path::new("/x/s.registry")), PathBuf::from("/x/s.registry.registry"));
    }

    #[test]
    fn overlay_file_roundtrip() {
        let dir = tmpdir("overlay");
        let path = dir.join("overlay.toml");
        assert_eq!(load_overlay(&path), Ok(Overlay::default()));
        let mut o = Overlay::default();
        o.descriptions.insert("x".into(), "y".into());
        persist_overlay(&path, &o).expect("persist");
        assert_eq!(load_overlay(&path), Ok(o));
        assert!(!dir.join("overlay.toml.tmp").exists());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn persist_bytes_replaces_atomically() {
        let dir = tmpdir("bytes");
        let path = dir.join("blob.registry");
        assert_eq!(load_registry(&path), Ok(None));
        persist_bytes(&path, b"one").expect("persist");
        persist_bytes(&path, b"two").expect("persist");
        assert_eq!(load_registry(&path), Ok(Some(b"two".to_vec())));
        // a directory in the way: error, nothing left behind
        let bad = dir.join("sub");
        fs::create_dir_all(bad.join("x")).expect("dir");
        assert!(persist_bytes(&bad, b"x").is_err());
        assert!(!dir.join("sub.tmp").exists());
        let _ = fs::remove_dir_all(&dir);
    }
}
