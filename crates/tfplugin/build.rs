//! Compiles the project's own protocol definitions (proto/) into Rust at build time.
//! protox parses the files in pure Rust, so no `protoc` is needed on the build machine.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/tfplugin6.proto", "proto/go_plugin.proto"];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_transport(false)
        // Every RPC we declare but do not implement answers Unimplemented, which
        // Terraform tolerates for the RPCs it does not need.
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    Ok(())
}
