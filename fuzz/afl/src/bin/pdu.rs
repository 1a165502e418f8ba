//! AFL++ driver of the `pdu` fuzz target (see fuzz/src/lib.rs).
fn main() {
    afl::fuzz!(|data: &[u8]| clusapid_fuzz::pdu(data));
}
