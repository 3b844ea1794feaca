//! rovn-bench: measures rovn's daemons against OVN's on generated topologies.
//! It prints figures; it is not a test (`cargo test` only checks the generator).

pub mod db;
pub mod measure;
pub mod procs;
pub mod report;
pub mod topology;
