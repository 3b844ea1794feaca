//! Plain data types for the translation input (NB snapshot plus SB context) and output
//! (desired SB contents). They mirror the OVSDB tables but hold only the columns the
//! translation reads or writes; the daemon converts live rows to and from them.

pub mod nb;
pub mod sb;

use std::collections::BTreeMap;

/// An OVSDB string-to-string map column.
pub type Map = BTreeMap<String, String>;
