//! AFL++ driver of the `proplist` fuzz target (see fuzz/src/lib.rs).
fn main() {
    afl::fuzz!(|data: &[u8]| clusapid_fuzz::proplist(data));
}
