//! Generates one struct per table of `schemas/ovn-nb.ovsschema` and
//! `schemas/ovn-sb.ovsschema` (see `src/lib.rs` for the shape of the output).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static", "struct",
    "super", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn", "abstract",
    "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield",
    "try", "gen",
];

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR")).join("../..");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    for (file, module) in [("ovn-nb.ovsschema", "nb"), ("ovn-sb.ovsschema", "sb")] {
        let path = root.join("schemas").join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        let code = generate(&path);
        std::fs::write(out.join(format!("{module}.rs")), code).expect("writing generated code");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

fn atomic(v: &Value) -> &str {
    match v {
        Value::String(s) => s,
        Value::Object(o) => o
            .get("type")
            .and_then(Value::as_str)
            .expect("base type without type"),
        _ => panic!("bad base type {v}"),
    }
}

fn rust_atom(t: &str) -> &'static str {
    match t {
        "integer" => "i64",
        "real" => "f64",
        "boolean" => "bool",
        "string" => "String",
        "uuid" => "::ovsdb::Uuid",
        _ => panic!("unknown atomic type {t}"),
    }
}

/// The Rust type of a column (see `ovsdb::typed`).
fn rust_type(ty: &Value) -> String {
    if let Value::String(t) = ty {
        return rust_atom(t).to_string();
    }
    let key = rust_atom(atomic(&ty["key"]));
    let min = ty.get("min").and_then(Value::as_u64).unwrap_or(1);
    let max = match ty.get("max") {
        None => Some(1),
        Some(Value::String(s)) if s == "unlimited" => None,
        Some(m) => Some(m.as_u64().expect("bad max")),
    };
    if let Some(v) = ty.get("value") {
        let value = rust_atom(atomic(v));
        assert!(key != "f64", "maps keyed by reals have no ordered Rust type");
        return format!("::std::collections::BTreeMap<{key}, {value}>");
    }
    match (min, max) {
        (1, Some(1)) => key.to_string(),
        (0, Some(1)) => format!("Option<{key}>"),
        _ => format!("Vec<{key}>"),
    }
}

fn camel(s: &str) -> String {
    s.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}

fn field(c: &str) -> String {
    if KEYWORDS.contains(&c) {
        format!("r#{c}")
    } else {
        c.to_string()
    }
}

fn generate(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    let db = schema["name"].as_str().expect("schema name");
    let tables = schema["tables"].as_object().expect("schema tables");
    let mut o = String::new();
    let w = &mut o;
    writeln!(w, "/// The database name, `{db}`.").unwrap();
    writeln!(w, "pub const DATABASE: &str = {db:?};").unwrap();
    writeln!(w, "/// The schema text the structs were generated from.").unwrap();
    writeln!(
        w,
        "pub const SCHEMA: &str = include_str!({:?});",
        path.canonicalize().unwrap().display().to_string()
    )
    .unwrap();
    let names: Vec<&String> = tables.keys().collect();
    writeln!(w, "/// Every table of the schema.").unwrap();
    writeln!(w, "pub const TABLES: &[&str] = &{names:?};").unwrap();
    for (tname, t) in tables {
        let cols = t["columns"].as_object().expect("columns");
        assert!(
            !cols.contains_key("uuid"),
            "{tname}: a column named uuid clashes with the row id field"
        );
        let sname = camel(tname);
        writeln!(w, "\n/// A row of table `{tname}`.").unwrap();
        writeln!(w, "#[derive(Debug, Clone, PartialEq, Default)]").unwrap();
        writeln!(w, "pub struct {sname} {{").unwrap();
        writeln!(
            w,
            "    /// The row's `_uuid` (nil for a row not read from the database)."
        )
        .unwrap();
        writeln!(w, "    pub uuid: ::ovsdb::Uuid,").unwrap();
        for (c, cv) in cols {
            writeln!(w, "    pub {}: {},", field(c), rust_type(&cv["type"])).unwrap();
        }
        writeln!(w, "}}\n").unwrap();
        writeln!(w, "impl {sname} {{").unwrap();
        writeln!(w, "    pub const TABLE: &'static str = {tname:?};").unwrap();
        let cnames: Vec<&String> = cols.keys().collect();
        writeln!(w, "    pub const COLUMNS: &'static [&'static str] = &{cnames:?};").unwrap();
        for (c, cv) in cols {
            let ty = rust_type(&cv["type"]);
            writeln!(
                w,
                "    pub const COL_{}: &'static str = {c:?};",
                c.to_ascii_uppercase()
            )
            .unwrap();
            writeln!(
                w,
                "    /// Sets `{c}` in a row being built for an `insert` or `update`."
            )
            .unwrap();
            writeln!(
                w,
                "    pub fn set_{c}(row: &mut ::ovsdb::Row, value: &{ty}) {{ row.insert({c:?}.to_string(), ::ovsdb::typed::ColumnValue::to_datum(value)); }}"
            )
            .unwrap();
        }
        writeln!(w, "}}\n").unwrap();
        writeln!(w, "impl ::ovsdb::typed::Table for {sname} {{").unwrap();
        writeln!(w, "    const TABLE: &'static str = {tname:?};").unwrap();
        writeln!(
            w,
            "    fn from_row(row: &::ovsdb::Row) -> Result<Self, ::ovsdb::typed::TypedError> {{"
        )
        .unwrap();
        writeln!(w, "        Ok({sname} {{").unwrap();
        writeln!(w, "            uuid: ::ovsdb::typed::row_uuid(row),").unwrap();
        for c in cols.keys() {
            writeln!(
                w,
                "            {}: ::ovsdb::typed::column(row, {tname:?}, {c:?})?,",
                field(c)
            )
            .unwrap();
        }
        writeln!(w, "        }})\n    }}").unwrap();
        writeln!(w, "    fn to_row(&self) -> ::ovsdb::Row {{").unwrap();
        writeln!(w, "        let mut row = ::ovsdb::Row::new();").unwrap();
        for c in cols.keys() {
            writeln!(
                w,
                "        row.insert({c:?}.to_string(), ::ovsdb::typed::ColumnValue::to_datum(&self.{}));",
                field(c)
            )
            .unwrap();
        }
        writeln!(w, "        row\n    }}\n}}").unwrap();
    }
    o
}
