//! The DataCrunch Terraform provider (source address linux-kdevops/datacrunch).

#![deny(clippy::print_stdout)]

mod credentials;

fn main() {}
