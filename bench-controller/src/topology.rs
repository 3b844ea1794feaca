//! The medium Northbound topology as ONE `transact` request in wire JSON (rows
//! inserted with `uuid-name`, referenced as `["named-uuid", ..]` by their parent in
//! the same transaction), the same shape as the northd benchmark's (bench-notes):
//!
//! - `ls{i}`: `ports_per_switch` VM ports `ls{i}-p{j}`, `addresses` = `port_security`
//!   = `"MAC IP"` on `10.(i/256).(i%256).0/24`;
//! - `lr{r}`: router port `k` of router `r` is the `.1` of switch `r * ports_per_router + k`,
//!   which gets a `router` port `ls{i}-lr`;
//! - `lb{n}`: TCP, one VIP `172.16.x.y:80`, 3 backends of switch `n % switches`.

use serde_json::{Value, json};

pub const NB_DB: &str = "OVN_Northbound";

#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub switches: usize,
    pub ports_per_switch: usize,
    pub routers: usize,
    pub ports_per_router: usize,
    pub lbs: usize,
    pub backends_per_lb: usize,
}

pub const MEDIUM: Scale = Scale {
    switches: 200,
    ports_per_switch: 20,
    routers: 20,
    ports_per_router: 10,
    lbs: 100,
    backends_per_lb: 3,
};

impl Scale {
    pub fn describe(&self) -> String {
        format!(
            "{} switches x {} ports, {} routers x {} ports, {} LBs (1 VIP, {} backends)",
            self.switches,
            self.ports_per_switch,
            self.routers,
            self.ports_per_router,
            self.lbs,
            self.backends_per_lb
        )
    }
}

fn subnet(i: usize) -> String {
    format!("10.{}.{}", (i / 256) % 256, i % 256)
}

pub fn vm_mac(i: usize, j: usize) -> String {
    format!(
        "0a:00:{:02x}:{:02x}:{:02x}:{:02x}",
        (i >> 8) & 0xff,
        i & 0xff,
        (j >> 8) & 0xff,
        j & 0xff
    )
}

pub fn vm_ip(i: usize, j: usize) -> String {
    format!("{}.{}", subnet(i), j + 2)
}

/// The logical port name of VM port `j` on switch `i`.
pub fn port_name(i: usize, j: usize) -> String {
    format!("ls{i}-p{j}")
}

fn set(items: Vec<Value>) -> Value {
    json!(["set", items])
}

fn map(pairs: &[(&str, &str)]) -> Value {
    json!([
        "map",
        pairs.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()
    ])
}

fn named(n: &str) -> Value {
    json!(["named-uuid", n])
}

fn insert(table: &str, name: &str, row: Value) -> Value {
    json!({"op": "insert", "table": table, "uuid-name": name, "row": row})
}

/// `transact` params inserting `NB_Global` and the whole topology.
pub fn load_params(s: &Scale) -> Value {
    let mut ops = vec![json!(NB_DB), insert("NB_Global", "nbg", json!({}))];
    let mut lbs_of: Vec<Vec<usize>> = vec![Vec::new(); s.switches];
    for n in 0..s.lbs {
        let i = n % s.switches;
        if let Some(l) = lbs_of.get_mut(i) {
            l.push(n);
        }
        let backends: Vec<String> = (0..s.backends_per_lb.min(s.ports_per_switch))
            .map(|j| format!("{}:8080", vm_ip(i, j)))
            .collect();
        let vip = format!("172.16.{}.{}:80", (n / 250) % 256, n % 250 + 1);
        ops.push(insert(
            "Load_Balancer",
            &format!("lb_{n}"),
            json!({"name": format!("lb{n}"), "protocol": "tcp",
                   "vips": map(&[(vip.as_str(), backends.join(",").as_str())])}),
        ));
    }
    let links = (s.routers * s.ports_per_router).min(s.switches);
    for r in 0..s.routers {
        let mut ports = Vec::new();
        for k in 0..s.ports_per_router {
            let i = r * s.ports_per_router + k;
            if i >= links {
                break;
            }
            let name = format!("lrp_{r}_{k}");
            let mac = format!(
                "0a:01:{:02x}:{:02x}:{:02x}:{:02x}",
                (r >> 8) & 0xff,
                r & 0xff,
                (k >> 8) & 0xff,
                k & 0xff
            );
            ops.push(insert(
                "Logical_Router_Port",
                &name,
                json!({"name": format!("lr{r}-p{k}"), "mac": mac,
                       "networks": set(vec![json!(format!("{}.1/24", subnet(i)))])}),
            ));
            ports.push(named(&name));
        }
        ops.push(insert(
            "Logical_Router",
            &format!("lr_{r}"),
            json!({"name": format!("lr{r}"), "ports": set(ports)}),
        ));
    }
    for (i, lbs) in lbs_of.iter().enumerate() {
        let mut ports = Vec::new();
        for j in 0..s.ports_per_switch {
            let name = format!("lsp_{i}_{j}");
            let addr = format!("{} {}", vm_mac(i, j), vm_ip(i, j));
            ops.push(insert(
                "Logical_Switch_Port",
                &name,
                json!({"name": port_name(i, j), "addresses": set(vec![json!(addr)]),
                       "port_security": set(vec![json!(addr)])}),
            ));
            ports.push(named(&name));
        }
        if i < links {
            let (r, k) = (i / s.ports_per_router, i % s.ports_per_router);
            let name = format!("lsp_{i}_lr");
            let rp = format!("lr{r}-p{k}");
            ops.push(insert(
                "Logical_Switch_Port",
                &name,
                json!({"name": format!("ls{i}-lr"), "type": "router",
                       "addresses": set(vec![json!("router")]),
                       "options": map(&[("router-port", rp.as_str())])}),
            ));
            ports.push(named(&name));
        }
        let lbs = lbs.iter().map(|n| named(&format!("lb_{n}"))).collect();
        ops.push(insert(
            "Logical_Switch",
            &format!("ls_{i}"),
            json!({"name": format!("ls{i}"), "ports": set(ports), "load_balancer": set(lbs)}),
        ));
    }
    Value::Array(ops)
}

/// `transact` operations for `lsp-add SWITCH PORT` with "MAC IP" addresses and
/// port security.
pub fn lsp_add_ops(switch: &str, port: &str, addr: &str) -> Vec<Value> {
    vec![
        insert(
            "Logical_Switch_Port",
            "newport",
            json!({"name": port, "addresses": set(vec![json!(addr)]),
                   "port_security": set(vec![json!(addr)])}),
        ),
        json!({"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", switch]],
               "mutations": [["ports", "insert", set(vec![named("newport")])]]}),
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
