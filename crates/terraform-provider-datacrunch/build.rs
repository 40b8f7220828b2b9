//! Links the provider as a position-dependent executable (non-PIE) on Linux.
//!
//! Terraform starts the provider several times per command, so what one process costs in
//! memory is paid again and again. A position-independent executable carries tens of
//! thousands of relative relocations that the loader reads and applies at every start,
//! dirtying each page of pointers it patches; linked at a fixed address, the executable
//! needs none of that. The price is that the executable's own code is not placed at a
//! random address (shared libraries, heap and stacks still are): the same as the Go
//! providers Terraform runs, which Go links non-PIE by default on Linux.
//! Measured in docs/benchmarks-tfplugin.md.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        // After rustc's own `-pie`; the compiler driver honours the last of the two.
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
