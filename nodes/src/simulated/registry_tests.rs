//! The simulated backend's cluster-registry blob storage.

use std::fs;

use super::*;

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "nodes-registry-{tag}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    fs::create_dir_all(&d).unwrap();
    d
}

fn block<T>(f: BoxFuture<'_, T>) -> T {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
}

#[test]
fn in_memory_without_state_file() {
    let sim = SimulatedCluster::new(SimConfig::with_nodes(2)).unwrap();
    assert_eq!(block(sim.registry_blob()).unwrap(), None);
    block(sim.store_registry_blob(b"one".to_vec())).unwrap();
    assert_eq!(block(sim.registry_blob()).unwrap(), Some(b"one".to_vec()));
    block(sim.store_registry_blob(b"two".to_vec())).unwrap();
    assert_eq!(block(sim.registry_blob()).unwrap(), Some(b"two".to_vec()));
}

#[test]
fn persisted_and_reloaded() {
    let d = tmpdir("persist");
    let state = d.join("state.toml");
    let cfg = SimConfig { state_file: Some(state.clone()), ..SimConfig::with_nodes(3) };
    {
        let sim = SimulatedCluster::new(cfg.clone()).unwrap();
        assert_eq!(block(sim.registry_blob()).unwrap(), None);
        block(sim.store_registry_blob(b"blob v1".to_vec())).unwrap();
        block(sim.store_registry_blob(b"blob v2".to_vec())).unwrap();
    }
    assert_eq!(fs::read(d.join("state.registry")).unwrap(), b"blob v2");
    let sim = SimulatedCluster::new(cfg).unwrap();
    assert_eq!(block(sim.registry_blob()).unwrap(), Some(b"blob v2".to_vec()));
    // No temporary file is left behind.
    let mut names: Vec<_> = fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, vec!["state.registry".to_string()]);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn failed_store_keeps_the_previous_blob() {
    let d = tmpdir("fail");
    let cfg = SimConfig { state_file: Some(d.join("sub").join("state.toml")), ..SimConfig::with_nodes(1) };
    fs::create_dir_all(d.join("sub")).unwrap();
    let sim = SimulatedCluster::new(cfg).unwrap();
    block(sim.store_registry_blob(b"good".to_vec())).unwrap();
    // The directory disappears: the temp file cannot be created.
    fs::remove_dir_all(d.join("sub")).unwrap();
    let e = block(sim.store_registry_blob(b"lost".to_vec())).unwrap_err();
    assert!(matches!(e, BackendError::Storage(_)), "{e:?}");
    assert_eq!(block(sim.registry_blob()).unwrap(), Some(b"good".to_vec()));
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn unavailable_ctdbd_fails_both_ways() {
    let sim = SimulatedCluster::new(SimConfig::with_nodes(2)).unwrap();
    block(sim.store_registry_blob(b"x".to_vec())).unwrap();
    sim.set_available(false);
    assert_eq!(block(sim.registry_blob()).unwrap_err().win32_code(), 5072);
    assert_eq!(block(sim.store_registry_blob(b"y".to_vec())).unwrap_err().win32_code(), 5072);
    sim.set_available(true);
    assert_eq!(block(sim.registry_blob()).unwrap(), Some(b"x".to_vec()));
}

#[test]
fn default_trait_methods_are_unsupported() {
    struct Minimal(SimulatedCluster);
    // Only the required methods, forwarded: the registry ones keep their defaults.
    impl ClusterBackend for Minimal {
        fn snapshot(&self) -> Arc<ClusterState> {
            self.0.snapshot()
        }
        fn subscribe(&self) -> broadcast::Receiver<ClusterEvent> {
            self.0.subscribe()
        }
        fn available(&self) -> bool {
            true
        }
        fn pause_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
            self.0.pause_node(pnn)
        }
        fn resume_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
            self.0.resume_node(pnn)
        }
        fn stop_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
            self.0.stop_node(pnn)
        }
        fn continue_node(&self, pnn: u32) -> BoxFuture<'_, BackendResult<()>> {
            self.0.continue_node(pnn)
        }
        fn move_ip(&self, addr: IpAddr, to: u32) -> BoxFuture<'_, BackendResult<()>> {
            self.0.move_ip(addr, to)
        }
        fn move_group<'a>(&'a self, g: &'a str, to: Option<u32>) -> BoxFuture<'a, BackendResult<u32>> {
            self.0.move_group(g, to)
        }
        fn edit_overlay<'a>(&'a self, edit: OverlayEdit<'a>) -> BoxFuture<'a, BackendResult<String>> {
            self.0.edit_overlay(edit)
        }
    }
    let m = Minimal(SimulatedCluster::new(SimConfig::with_nodes(1)).unwrap());
    assert_eq!(block(m.registry_blob()).unwrap_err().win32_code(), 50);
    assert_eq!(block(m.store_registry_blob(vec![1])).unwrap_err().win32_code(), 50);
}
