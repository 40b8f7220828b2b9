//! Helpers shared by the end-to-end tests: real Terraform binaries, CLI configs, process control.
//!
//! - [`cargo_bin`]: build and locate binaries of other workspace packages.
//! - [`terraform`]: find the Terraform binaries to test against (the
//!   project's pinned one in `.venv`, required, plus any other version on PATH).
//! - [`workspace`]: a temp working directory with a generated CLI config and
//!   a filesystem mirror holding the provider under test, and running
//!   terraform commands in it with a timeout.
//! - [`credential_cases`]: one table of tricky credentials files that every
//!   credentials reader is tested on.
//! - `datacrunch` (feature `datacrunch`): the DataCrunch provider under test in a
//!   workspace wired to the in-process emulator.
//! - [`process`]: captured command output with exit-code assertions, and
//!   Ctrl-C delivery to a process group.

pub mod cargo_bin;
pub mod credential_cases;
#[cfg(feature = "datacrunch")]
pub mod datacrunch;
pub mod process;
pub mod terraform;
pub mod workspace;

pub use process::Output;
pub use terraform::{terraform_binaries, Terraform};
pub use workspace::{MirroredProvider, Workspace};
