//! Paths to binaries of *other* packages in this workspace, built on demand.
//!
//! `CARGO_BIN_EXE_<name>` only exists for a package's own binaries, but the end-to-end
//! tests of the workflow need the provider and the emulator, and the provider's tests
//! need the emulator. [`workspace_bin`] runs `cargo build` for the named package (a no-op
//! when it is up to date, and serialised by cargo's own lock) and returns the path.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("test-support lives at crates/test-support")
        .to_path_buf()
}

/// The target directory cargo builds into: `CARGO_TARGET_DIR` when set, else `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds binary `bin` of package `package` (debug profile) and returns its path.
/// Panics with cargo's output when the build fails: this is test setup.
pub fn workspace_bin(package: &str, bin: &str) -> PathBuf {
    workspace_bin_with_features(package, bin, &[])
}

/// [`workspace_bin`] for a binary that needs `features` of its package.
pub fn workspace_bin_with_features(package: &str, bin: &str, features: &[&str]) -> PathBuf {
    // One build at a time from this process; cargo also locks across processes.
    static BUILD: Mutex<()> = Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .args(features.iter().flat_map(|f| ["--features", f]))
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {bin}: {e}"));
    assert!(
        out.status.success(),
        "building {bin} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = target_dir().join("debug").join(bin);
    assert!(
        path.is_file(),
        "cargo built {bin} but {} is missing",
        path.display()
    );
    path
}
