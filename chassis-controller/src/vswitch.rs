//! Names in the local `Open_vSwitch` database (`vswitch.ovsschema`) that the
//! controller uses, shaped like `ovn-db`'s generated API (`TABLE`, `COL_*`) so
//! that rows are never indexed by scattered string literals. The rows stay
//! untyped and are read leniently through `row.rs`; a test checks every name
//! against the installed schema.

/// The database name.
pub const DATABASE: &str = "Open_vSwitch";

macro_rules! tables {
    ($($ty:ident = $table:literal { $($col:ident = $name:literal),* $(,)? })*) => {
        $(
            #[doc = concat!("Table `", $table, "`.")]
            pub struct $ty;

            impl $ty {
                pub const TABLE: &'static str = $table;
                $(pub const $col: &'static str = $name;)*
                /// Every column named here.
                #[cfg(test)]
                pub const COLUMNS: &'static [&'static str] = &[$($name),*];
            }
        )*

        /// Every table named here, with its columns.
        #[cfg(test)]
        pub const TABLES: &[(&str, &[&str])] = &[$(($ty::TABLE, $ty::COLUMNS)),*];
    };
}

tables! {
    OpenVswitch = "Open_vSwitch" {
        COL_BRIDGES = "bridges",
        COL_DATAPATH_TYPES = "datapath_types",
        COL_EXTERNAL_IDS = "external_ids",
        COL_IFACE_TYPES = "iface_types",
        COL_OTHER_CONFIG = "other_config",
    }
    Bridge = "Bridge" {
        COL_DATAPATH_TYPE = "datapath_type",
        COL_EXTERNAL_IDS = "external_ids",
        COL_FAIL_MODE = "fail_mode",
        COL_NAME = "name",
        COL_OTHER_CONFIG = "other_config",
        COL_PORTS = "ports",
    }
    Port = "Port" {
        COL_EXTERNAL_IDS = "external_ids",
        COL_INTERFACES = "interfaces",
        COL_NAME = "name",
    }
    Interface = "Interface" {
        COL_ERROR = "error",
        COL_EXTERNAL_IDS = "external_ids",
        COL_NAME = "name",
        COL_OFPORT = "ofport",
        COL_OPTIONS = "options",
        COL_TYPE = "type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names exist in the installed schema (skipped without Open vSwitch).
    #[test]
    fn names_match_installed_schema() {
        let Ok(text) = std::fs::read_to_string("/usr/share/openvswitch/vswitch.ovsschema") else {
            eprintln!("no vswitch.ovsschema installed: skipped");
            return;
        };
        let schema = ovsdb::DatabaseSchema::parse(&text).expect("vswitch schema parses");
        assert_eq!(schema.name, DATABASE);
        for (table, cols) in TABLES {
            let ts = schema
                .tables
                .get(*table)
                .unwrap_or_else(|| panic!("table {table}"));
            for c in *cols {
                assert!(ts.columns.contains_key(*c), "{table}.{c}");
            }
        }
    }
}
