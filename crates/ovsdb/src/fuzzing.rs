//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the stable
//! deterministic smoke test (`tests/fuzz_smoke.rs`). Each takes arbitrary bytes and
//! must neither panic nor loop; any error is fine.

use serde_json::Value;

use crate::datum::{Datum, row_from_json};
use crate::idl::Idl;
use crate::jsonrpc::{Framer, Message};
use crate::monitor::{self, UpdateFormat};
use crate::schema::DatabaseSchema;

/// Feeds `data` to a [`Framer`] in chunks whose sizes come from the data itself,
/// classifying every message it yields.
pub fn framer(data: &[u8]) {
    let mut f = Framer::new();
    let step = data.first().map_or(1, |b| usize::from(*b % 17) + 1);
    for chunk in data.chunks(step) {
        f.push(chunk);
        // Each successful message consumes at least one byte and each error resets,
        // so this terminates.
        for _ in 0..=data.len() {
            match f.next_message() {
                Ok(Some(v)) => {
                    if let Ok(m) = Message::parse(v) {
                        let _ = Message::parse(m.to_json());
                    }
                }
                Ok(None) => break,
                Err(_) => {}
            }
        }
    }
}

const SCHEMA: &str = r#"{"name": "T", "version": "1.0.0", "tables": {
  "R": {"columns": {
    "name": {"type": "string"},
    "n": {"type": {"key": "integer", "min": 0, "max": 1}},
    "r": {"type": "real"},
    "tags": {"type": {"key": "string", "min": 0, "max": "unlimited"}},
    "opts": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
    "refs": {"type": {"key": {"type": "uuid", "refTable": "R"}, "min": 0, "max": "unlimited"}},
    "imap": {"type": {"key": "integer", "value": {"type": "uuid"}, "min": 0, "max": "unlimited"}}}}}}"#;

/// Parses `data` as JSON and runs it through every datum, row, update and IDL
/// parser, checking that what parses round-trips.
pub fn datum(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    json_value(&v);
}

/// [`datum`] for an already-parsed value.
pub fn json_value(v: &Value) {
    if let Ok(d) = Datum::from_json(v) {
        let back = Datum::from_json(&d.to_json()).expect("a datum we wrote parses");
        assert_eq!(back, d, "round trip of {v}");
        let _ = d.to_string();
    }
    let schema = DatabaseSchema::parse(SCHEMA).expect("built-in schema");
    let table = schema.table("R").expect("table R");
    for col in table.columns.values() {
        if let Ok(d) = Datum::from_json_typed(v, &col.ty) {
            let back = Datum::from_json_typed(&d.to_json(), &col.ty).expect("a typed datum we wrote parses");
            assert_eq!(back, d);
            let _ = col.ty.check(&d);
        }
    }
    let _ = row_from_json(v);
    let _ = DatabaseSchema::from_json(v);
    for f in [UpdateFormat::V1, UpdateFormat::V2] {
        let _ = monitor::parse_table_updates(v, f, &schema);
    }
    let _ = monitor::parse_since_reply(v);
    let _ = crate::ops::parse_results(v, 2);
    let mut idl = Idl::with_schema(schema.clone(), Idl::all_tables(&schema));
    let _ = idl.apply_monitor_reply(crate::monitor::MonitorMethod::MonitorCond, v);
    for m in ["update", "update2", "update3"] {
        let _ = idl.apply_notification(m, v);
        let _ = idl.apply_notification(m, &serde_json::json!(["idl", v]));
        let _ = idl.apply_notification(m, &serde_json::json!(["idl", "t", v]));
    }
    let _ = idl.take_changes();
}
