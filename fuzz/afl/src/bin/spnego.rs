//! AFL++ driver of the `spnego` fuzz target (see fuzz/src/lib.rs).
fn main() {
    afl::fuzz!(|data: &[u8]| clusapid_fuzz::spnego(data));
}
