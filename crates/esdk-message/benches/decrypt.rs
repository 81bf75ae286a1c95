//! Criterion benchmark (written next).
fn main() {}
