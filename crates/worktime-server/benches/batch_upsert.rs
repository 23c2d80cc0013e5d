//! Placeholder replaced by the batch-upsert benchmark.
fn main() {}
