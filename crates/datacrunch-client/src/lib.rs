//! Typed async client for the DataCrunch (Verda) public API v1. Knows nothing of Terraform.
