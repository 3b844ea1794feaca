//! Southbound `Logical_Flow` rows shaped like the ones rovn-northd writes, for the tests and
//! benchmarks that measure the replica.

use ovsdb::Uuid;
use ovsdb::idl::Idl;
use ovsdb::monitor::TableMonitor;
use serde_json::{Value, json};

const SB: &str = include_str!("../../../../schemas/ovn-sb.ovsschema");

/// An IDL monitoring all of `Logical_Flow`.
pub fn logical_flow_idl() -> Idl {
    let schema = ovsdb::DatabaseSchema::parse(SB).unwrap();
    let mut reqs = std::collections::BTreeMap::new();
    reqs.insert("Logical_Flow".to_string(), TableMonitor::all());
    Idl::with_schema(schema, reqs)
}

pub fn flow_uuid(i: usize) -> Uuid {
    Uuid::from_u128(1000 + i as u128)
}

fn flow(i: usize) -> Value {
    json!({
        "logical_datapath": ["uuid", Uuid::from_u128(7).to_string()],
        "pipeline": if i.is_multiple_of(2) { "ingress" } else { "egress" },
        "table_id": i % 27,
        "priority": 50,
        "match": format!("inport == \"lsp-{i}\" && eth.src == {{00:00:00:00:{:02x}:{:02x}}}", i / 256 % 256, i % 256),
        "actions": "next;",
        "external_ids": ["map", [
            ["source", "northd.c:5623"],
            ["stage-hint", format!("{:08x}", i * 7919)],
            ["stage-name", "ls_in_port_sec_l2"]
        ]]
    })
}

/// A `monitor_cond` reply with `n` flows, built by moving (`json!` would serialize a copy
/// and keep the original alive).
pub fn initial_reply(n: usize) -> Value {
    let rows: serde_json::Map<String, Value> = (0..n)
        .map(|i| (flow_uuid(i).to_string(), json!({"initial": flow(i)})))
        .collect();
    let mut reply = serde_json::Map::new();
    reply.insert("Logical_Flow".into(), Value::Object(rows));
    Value::Object(reply)
}
