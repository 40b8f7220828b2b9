//! The DataCrunch Terraform provider (source address linux-kdevops/datacrunch).
//!
//! Layout, from the bottom up: [`state`] (what a configured provider holds: the client,
//! pacing, the catalog cache, the instance directory and per-instance power locks),
//! [`credentials`] (where the secret comes from), [`resources`] and [`data_sources`]
//! (which depend on `state` only),
//! [`provider`] (the provider block: schema, configure, and the lists of resources and
//! data sources), and [`docs`] (the registry docs, generated from the schema by
//! `terraform-provider-datacrunch docs`).
//!
//! Run by Terraform, the binary serves the plugin protocol. Two subcommands are handled
//! first, because Terraform's handshake check would refuse them: `--version` and
//! `docs --out DIR [--check]`.

#![deny(clippy::print_stdout)]

mod actions;
mod convert;
mod credentials;
mod data_sources;
mod diagnostics;
mod docs;
mod filters;
mod functions;
mod lists;
mod provider;
mod resources;
mod state;
#[cfg(test)]
mod testing;

use std::path::PathBuf;

const USAGE: &str = "usage: terraform-provider-datacrunch [--version | docs --out DIR [--check]]
Run without arguments by Terraform, it serves the plugin protocol.";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version" | "-version" | "version") => {
            #[allow(clippy::print_stdout)]
            {
                println!(
                    "terraform-provider-datacrunch {} (protocol 6, {})",
                    env!("CARGO_PKG_VERSION"),
                    provider::ADDRESS
                );
            }
        }
        Some("docs") => std::process::exit(run_docs(&args[1..])),
        Some("--help" | "-h" | "help") => eprintln!("{USAGE}"),
        _ => tfplugin::serve(provider::DataCrunchProvider),
    }
}

fn run_docs(args: &[String]) -> i32 {
    let mut out = None;
    let mut check = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = it.next().map(PathBuf::from),
            "--check" => check = true,
            other => {
                eprintln!("docs: unexpected argument {other:?}\n{USAGE}");
                return 2;
            }
        }
    }
    let Some(out) = out else {
        eprintln!("docs: --out DIR is required\n{USAGE}");
        return 2;
    };
    match docs::run(&out, &docs::examples_dir(), check) {
        Ok(drift) if drift.is_empty() => 0,
        Ok(drift) => {
            eprintln!(
                "docs are out of date (run `make docs`):\n{}",
                drift
                    .iter()
                    .map(|p| format!("  {}", p.display()))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            1
        }
        Err(e) => {
            eprintln!("docs: {e:#}");
            1
        }
    }
}
