//! The medium Northbound topology of the northd benchmark (`rovn_bench::topology`,
//! one generator for both benchmarks), as ONE `transact` request in wire JSON, and
//! the `lsp-add` of one new port.

use ovsdb::Operation;
use serde_json::{Value, json};

pub use rovn_bench::topology::{Scale, port_name};

pub const NB_DB: &str = "OVN_Northbound";

pub const MEDIUM: Scale = Scale::MEDIUM;

/// `transact` params that load the whole topology.
pub fn load_params(s: &Scale) -> Value {
    let mut params = vec![json!(NB_DB)];
    params.extend(rovn_bench::topology::operations(s).iter().map(Operation::to_json));
    Value::Array(params)
}

/// `transact` operations for `lsp-add SWITCH PORT` with "MAC IP" addresses and
/// port security.
pub fn lsp_add_ops(switch: &str, port: &str, addr: &str) -> Vec<Value> {
    let set = |v: Vec<Value>| json!(["set", v]);
    vec![
        json!({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "newport",
               "row": {"name": port, "addresses": set(vec![json!(addr)]),
                       "port_security": set(vec![json!(addr)])}}),
        json!({"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", switch]],
               "mutations": [["ports", "insert", set(vec![json!(["named-uuid", "newport"])])]]}),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medium_row_counts() {
        let p = load_params(&MEDIUM);
        let ops = p.as_array().unwrap();
        let count = |t: &str| ops.iter().filter(|o| o["table"] == t).count();
        assert_eq!(count("Logical_Switch"), 200);
        assert_eq!(count("Logical_Switch_Port"), 200 * 20 + 200);
        assert_eq!(count("Logical_Router_Port"), 200);
        assert_eq!(count("Load_Balancer"), 100);
        assert_eq!(count("NB_Global"), 1);
    }
}
