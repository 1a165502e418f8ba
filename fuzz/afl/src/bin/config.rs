//! AFL++ driver of the `config` fuzz target (see fuzz/src/lib.rs).
fn main() {
    afl::fuzz!(|data: &[u8]| clusapid_fuzz::config(data));
}
