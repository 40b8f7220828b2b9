//! Integration tests of the protocol layer: the handshake and transport, and the real
//! Terraform driving the testbed provider.
//!
//! One test binary for the crate (each binary is linked on its own, and linking is
//! most of the build time of the suite); each module below is one area.

// Test code: a panic is a failed test with its location, which is what we want here.
#![allow(clippy::unwrap_used)]

mod common;

mod handshake;
mod surface_e2e;
mod terraform_e2e;
