//! Terraform plugin protocol 6 server library: handshake, AutoMTLS, values, schema, planner. Knows nothing of DataCrunch.
