//! Lambda (in progress).
fn main() {}
