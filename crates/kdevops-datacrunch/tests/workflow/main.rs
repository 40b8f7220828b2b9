//! End-to-end tests of the workflow tool: real make, Terraform, provider and emulator, on loopback.
//!
//! One test binary for the crate (each binary is linked on its own, and linking is
//! most of the build time of the suite); each module below is one area.

// Test code: a panic is a failed test with its location, which is what we want here.
#![allow(clippy::unwrap_used)]

mod common;

mod adopt;
mod bad_input;
mod cluster;
mod config;
mod cost;
mod environment;
mod fallback;
mod faults;
mod interrupt;
mod lifecycle;
mod menuconfig;
mod nodes;
mod noop;
mod power;
mod ssh_key;
mod stale_plan;
mod team;
mod volumes;
