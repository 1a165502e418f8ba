//! AFL++ driver of the `ntlmssp` fuzz target (see fuzz/src/lib.rs).
fn main() {
    afl::fuzz!(|data: &[u8]| clusapid_fuzz::ntlmssp(data));
}
