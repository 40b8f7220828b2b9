//! Integration tests of the emulator: its HTTP API, the admin API, the binary, the Python SDK and fuzzing.
//!
//! One test binary for the crate (each binary is linked on its own, and linking is
//! most of the build time of the suite); each module below is one area.

// Test code: a panic is a failed test with its location, which is what we want here.
#![allow(clippy::unwrap_used)]

mod common;

mod auth_catalog;
mod binary;
mod client_roundtrip;
mod clusters;
mod fuzz;
mod instances;
mod python_sdk;
mod resources;
mod sandbox;
mod sandbox_process;
mod state_faults;
mod stuck;
mod volume_rules;
