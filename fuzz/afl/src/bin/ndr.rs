//! AFL++ driver of the `ndr` fuzz target (see fuzz/src/lib.rs).
fn main() {
    afl::fuzz!(|data: &[u8]| clusapid_fuzz::ndr(data));
}
