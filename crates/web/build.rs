//! The embedded files are `web/dist` as committed: rebuild when it changes (new hashed asset
//! names included, which `include_bytes!` alone would not notice).
fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}
