//! CLI (in progress).
fn main() {}
