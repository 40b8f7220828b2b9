//! Protocol types and gRPC service code, generated from the project-written `.proto`
//! files under `proto/` into `proto/generated/`.
//!
//! The generated Rust is checked in rather than produced by a build script: generating
//! it at build time compiled a protobuf parser and code generator (protox, prost-build,
//! tonic-build and their dependencies) in every first build, including the one a first
//! `make bringup` waits for. The test below regenerates it and fails when the checked-in
//! files differ, so a change to a `.proto` file cannot go unnoticed.

pub mod tfplugin6 {
    include!("../proto/generated/tfplugin6.rs");
}
pub mod plugin {
    include!("../proto/generated/plugin.rs");
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Set to write the regenerated files over the checked-in ones.
    const REGENERATE_VAR: &str = "TFPLUGIN_REGENERATE_PROTO";

    /// The generator settings: a client for the tests, no transport (we serve over our
    /// own listener), and every declared but unimplemented RPC answers Unimplemented,
    /// which Terraform tolerates for the RPCs it does not need.
    fn generate(out_dir: &Path) {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = ["tfplugin6.proto", "go_plugin.proto"].map(|f| crate_dir.join("proto").join(f));
        let fds = protox::compile(files, [crate_dir.join("proto")]).unwrap();
        tonic_prost_build::configure()
            .build_client(true)
            .build_transport(false)
            .generate_default_stubs(true)
            .out_dir(out_dir)
            .compile_fds(fds)
            .unwrap();
    }

    #[test]
    fn checked_in_code_matches_the_proto_files() {
        let fresh = tempfile::tempdir().unwrap();
        generate(fresh.path());
        let checked_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto/generated");
        let regenerate = std::env::var_os(REGENERATE_VAR).is_some();
        let mut stale = Vec::new();
        for name in ["tfplugin6.rs", "plugin.rs"] {
            let want = std::fs::read_to_string(fresh.path().join(name)).unwrap();
            let path = checked_in.join(name);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(want.as_str()) {
                if regenerate {
                    std::fs::write(&path, want).unwrap();
                } else {
                    stale.push(path.display().to_string());
                }
            }
        }
        assert!(
            stale.is_empty(),
            "{stale:?} differ from what proto/*.proto generate; regenerate them with \
             `{REGENERATE_VAR}=1 cargo test -p tfplugin --lib proto::` and commit the result"
        );
    }
}
