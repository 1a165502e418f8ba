//! AFL++ driver of the `krb` fuzz target (see fuzz/src/lib.rs).
fn main() {
    afl::fuzz!(|data: &[u8]| clusapid_fuzz::krb(data));
}
