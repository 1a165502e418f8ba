//! AFL++ driver of the `ctdb` fuzz target (see fuzz/src/lib.rs).
fn main() {
    afl::fuzz!(|data: &[u8]| clusapid_fuzz::ctdb(data));
}
