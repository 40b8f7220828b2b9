//! kdevops workflow tool for DataCrunch: credentials, catalog, tier selection, bringup, status, destroy.

fn main() {}
