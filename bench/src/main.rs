//! Load generator (see README "Performance").
fn main() {}
