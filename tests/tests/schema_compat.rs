//! rovn's schemas must be wire-compatible with OVN 23.03's: same databases, tables,
//! columns, types, constraints and indexes. The reference is the schema shipped in
//! Debian's `ovn-common`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// What a client could notice about a schema, flattened to comparable lines.
fn facts(schema: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    out.insert(format!("name {}", schema["name"]));
    out.insert(format!("version {}", schema["version"]));
    for (tname, t) in schema["tables"].as_object().expect("tables") {
        out.insert(format!(
            "table {tname} isRoot={} maxRows={}",
            t["isRoot"], t["maxRows"]
        ));
        let mut indexes: Vec<String> = t["indexes"]
            .as_array()
            .map(|a| a.iter().map(|i| i.to_string()).collect())
            .unwrap_or_default();
        indexes.sort();
        out.insert(format!("table {tname} indexes={indexes:?}"));
        for (cname, c) in t["columns"].as_object().expect("columns") {
            out.insert(format!(
                "column {tname}.{cname} type={} ephemeral={} mutable={}",
                normalize(&c["type"]),
                c.get("ephemeral").unwrap_or(&Value::Bool(false)),
                c.get("mutable").unwrap_or(&Value::Bool(true))
            ));
        }
    }
    out
}

/// Types have equivalent spellings ("string" vs {"key": "string"}, min/max defaults,
/// enum sets in any order); compare a canonical form.
fn normalize(ty: &Value) -> String {
    let mut o = match ty {
        Value::String(_) => serde_json::json!({"key": ty}),
        _ => ty.clone(),
    };
    let obj = o.as_object_mut().expect("type object");
    obj.entry("min").or_insert(Value::from(1));
    obj.entry("max").or_insert(Value::from(1));
    for k in ["key", "value"] {
        if let Some(b) = obj.get_mut(k) {
            if b.is_string() {
                *b = serde_json::json!({"type": b.clone()});
            }
            if let Some(Value::Array(e)) = b.get_mut("enum").and_then(|e| e.get_mut(1)) {
                e.sort_by_key(|v| v.to_string());
            }
            if let Some(bo) = b.as_object_mut()
                && bo.get("refTable").is_some()
            {
                bo.entry("refType").or_insert(Value::from("strong"));
            }
        }
    }
    serde_json::to_string(&o).expect("serializable")
}

fn load(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .expect("json")
}

fn compare(ours: &Path, reference: &str) {
    let reference = Path::new(reference);
    if !reference.exists() {
        panic!(
            "reference schema {} is missing: install Debian's ovn-common (CI does)",
            reference.display()
        );
    }
    let (a, b) = (facts(&load(ours)), facts(&load(reference)));
    let missing: Vec<_> = b.difference(&a).collect();
    let extra: Vec<_> = a.difference(&b).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "schema differs from OVN 23.03\nonly in OVN:\n{missing:#?}\nonly in rovn:\n{extra:#?}"
    );
}

#[test]
fn northbound_schema_matches_ovn_23_03() {
    compare(&testbed::nb_schema(), "/usr/share/ovn/ovn-nb.ovsschema");
}

#[test]
fn southbound_schema_matches_ovn_23_03() {
    compare(&testbed::sb_schema(), "/usr/share/ovn/ovn-sb.ovsschema");
}

#[test]
fn a_changed_column_type_is_noticed() {
    let mut v = load(&testbed::nb_schema());
    v["tables"]["Logical_Switch_Port"]["columns"]["tag"]["type"]["key"]["maxInteger"] = Value::from(4096);
    assert_ne!(facts(&v), facts(&load(&testbed::nb_schema())));
}
