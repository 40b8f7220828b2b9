//! Helpers shared by the end-to-end tests: real Terraform binaries, CLI configs, process control.

pub mod cargo_bin;
