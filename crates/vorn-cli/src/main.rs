//! The `vorn` command line.
fn main() {
    println!("vorn {}", env!("CARGO_PKG_VERSION"));
}
