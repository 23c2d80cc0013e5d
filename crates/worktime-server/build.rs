//! Rebuild when a dashboard file is added, changed or removed (the files are
//! embedded in the binary).

fn main() {
    println!("cargo:rerun-if-changed=assets");
    println!("cargo:rerun-if-changed=migrations");
}
