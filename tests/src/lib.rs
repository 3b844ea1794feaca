//! Test harness: real ovsdb-server instances in temporary directories.
