//! Hostile stubs never panic the server: every declared clusapi, epmapper and mgmt opnum is
//! dispatched with random bytes, with every truncation of its default request, and with
//! random bytes after a valid prefix. Each call must end in a response or a bad-stub fault.

use std::sync::Arc;

use clusapid::accounts::AccessLevel;
use clusapid::services::clusapi::ClusapiService;
use clusapid::services::CallCtx;
use idl::clusapi::Clusapi;
use idl::ByteOrder;
use nodes::{SimConfig, SimulatedCluster};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_and_truncated_stubs_never_panic() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let backend = Arc::new(SimulatedCluster::new(SimConfig::with_nodes(3)).unwrap());
    let svc = ClusapiService::new(backend);
    let ctx = CallCtx::local(Some(AccessLevel::Full));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut calls = 0u32;
    for opnum in 0u16..=200 {
        let Some(default) = Clusapi::default_request_stub(opnum) else { continue };
        // blocking waits (GetNotify*, GetBatchNotification) only return on events: with random
        // handles they answer ERROR_INVALID_HANDLE at once, so no call may hang; bound each one
        let mut stubs: Vec<Vec<u8>> = (0..default.len()).map(|n| default[..n].to_vec()).collect();
        for len in [0usize, 1, 4, 7, 20, 24, 64, 200, 1000] {
            stubs.push(rng.bytes(len));
            let mut s = default.clone();
            s.extend(rng.bytes(len));
            stubs.push(s);
        }
        for stub in stubs {
            for order in [ByteOrder::Little, ByteOrder::Big] {
                let mut out = Vec::new();
                let fut = Clusapi::dispatch(&svc, &ctx, opnum, &stub, order, &mut out);
                let r = rt.block_on(async { tokio::time::timeout(std::time::Duration::from_secs(5), fut).await });
                assert!(r.is_ok(), "opnum {opnum} hung on a {}-byte stub", stub.len());
                calls += 1;
            }
        }
    }
    assert!(calls > 5000, "{calls} calls");
}
