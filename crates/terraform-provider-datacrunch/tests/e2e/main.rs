//! End-to-end tests of the provider: the real Terraform against the emulator, on loopback.
//!
//! One test binary for the crate (each binary is linked on its own, and linking is
//! most of the build time of the suite); each module below is one area.

// Test code: a panic is a failed test with its location, which is what we want here.
#![allow(clippy::unwrap_used)]

mod actions;
mod cluster;
mod data_sources;
mod examples;
mod failures;
mod instance;
mod kdevops_compat;
mod lifecycle;
mod moved;
mod query;
mod secrets;
mod validation;
mod volume_attachment;
mod volume_script;
