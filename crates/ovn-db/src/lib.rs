//! Typed access to the OVN databases: for every table of `schemas/ovn-nb.ovsschema`
//! ([`nb`]) and `schemas/ovn-sb.ovsschema` ([`sb`]), a struct generated at build time
//! with one typed field per column, plus:
//! - `TABLE` and `COLUMNS`, and a `COL_<NAME>` constant per column;
//! - [`ovsdb::typed::Table`]: `from_row(&Row)` and `to_row()`;
//! - `set_<column>(&mut Row, &value)` to build partial rows for `update`.
//!
//! Column types map as [`ovsdb::typed`] describes (scalar `T`, optional `Option<T>`,
//! sets `Vec<T>`, maps `BTreeMap<K, V>`, references `Uuid`). Columns named after
//! Rust keywords are raw identifiers (`r#type`, `r#match`).
//!
//! ```
//! use ovn_db::nb::LogicalSwitch;
//! use ovsdb::typed::Table;
//! let ls = LogicalSwitch { name: "ls1".into(), ..Default::default() };
//! let row = ls.to_row();
//! assert_eq!(LogicalSwitch::from_row(&row).unwrap().name, "ls1");
//! ```

pub use ovsdb::typed::Table;

/// OVN Northbound tables.
pub mod nb {
    include!(concat!(env!("OUT_DIR"), "/nb.rs"));
}

/// OVN Southbound tables.
pub mod sb {
    include!(concat!(env!("OUT_DIR"), "/sb.rs"));
}

/// Parses a generated module's schema text.
pub fn schema(text: &str) -> ovsdb::DatabaseSchema {
    ovsdb::DatabaseSchema::parse(text).expect("the schema the structs were generated from parses")
}
