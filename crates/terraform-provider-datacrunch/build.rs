//! Link settings for the provider binary on Linux that make each provider process
//! smaller in memory. Terraform starts the provider several times per command, so what
//! one process costs is paid again and again. Measured in docs/benchmarks-tfplugin.md.
//!
//! - A position-dependent executable (non-PIE). A position-independent one carries tens of
//!   thousands of relative relocations that the loader reads and applies at every start,
//!   dirtying each page of pointers it patches; linked at a fixed address, the executable
//!   needs none of that. The price is that the executable's own code is not placed at a
//!   random address (shared libraries, heap and stacks still are): the same as the Go
//!   providers Terraform runs, which Go links non-PIE by default on Linux.
//! - The functions that start-up and a first plan cycle run, placed first and together in
//!   the code (link-order.txt, made by tools/bench/link-order). The kernel maps a page of
//!   the binary together with its cached neighbours (64 KiB around it), so start-up code
//!   spread over the whole binary made nearly all of it resident; packed together, about
//!   the part that runs is. This needs lld's `--symbol-ordering-file`: used when rustc
//!   links with its own lld (the default for x86_64 Linux since Rust 1.90) and no other
//!   linker is configured. A list that no longer matches the code costs memory, never
//!   correctness: names it lacks are laid out after it, names no longer there are skipped.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link-order.txt");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os != "linux" || env != "gnu" {
        return;
    }
    // After rustc's own `-pie`; the compiler driver honours the last of the two.
    println!("cargo:rustc-link-arg-bins=-no-pie");
    let order =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("link-order.txt");
    if order.is_file() && links_with_rust_lld() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={},--no-warn-symbol-ordering",
            order.display()
        );
    }
}

/// Whether rustc links this target with its bundled lld: x86_64 Linux from Rust 1.90 on,
/// unless a linker is configured for the target or the flags choose one.
fn links_with_rust_lld() -> bool {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target != "x86_64-unknown-linux-gnu" || std::env::var_os("RUSTC_LINKER").is_some() {
        return false;
    }
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if ["linker", "link-self-contained", "fuse-ld"]
        .iter()
        .any(|f| flags.contains(f))
    {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("-vV").output() else {
        return false;
    };
    let version = String::from_utf8_lossy(&out.stdout);
    let minor = version
        .lines()
        .find_map(|l| l.strip_prefix("release: 1."))
        .and_then(|rest| rest.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|m| m >= 90)
}
