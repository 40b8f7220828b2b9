//! Integration tests of the API client: against a scriptable fake API (support) and the real emulator.
//!
//! One test binary for the crate (each binary is linked on its own, and linking is
//! most of the build time of the suite); each module below is one area.

// Test code: a panic is a failed test with its location, which is what we want here.
#![allow(clippy::unwrap_used)]

mod support;

mod auth;
mod decode_fuzz;
mod endpoints;
mod retries;
mod tags_against_emulator;
mod wait_offer;
