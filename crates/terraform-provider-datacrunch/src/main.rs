//! The DataCrunch Terraform provider (source address linux-kdevops/datacrunch).

fn main() {}
