//! OVN 23.03's own action-encoding test vectors (`tests/vectors/`,
//! extracted from its test suite): every action string must encode to the
//! same OpenFlow actions, or fail when OVN fails.

use std::collections::BTreeMap;

use lflow::of::ActionList;
use lflow::{Context, Lookup, Pipeline, compile_actions};

struct Ports {
    groups: BTreeMap<String, u32>,
    meters: BTreeMap<String, u32>,
}

impl Lookup for Ports {
    fn port_key(&self, name: &str) -> Option<u32> {
        match name {
            "eth0" => Some(5),
            "eth1" => Some(6),
            "LOCAL" => Some(0xfffe),
            "lsp1" => Some(0x11),
            _ => None,
        }
    }
    fn tunnel_ofport(&self, port: &str) -> Option<u32> {
        self.port_key(port)
    }
    fn has_collector_set(&self, id: u32) -> bool {
        id == 0 || id == 200
    }
    fn group_id(&mut self, g: &lflow::of::Group) -> Option<u32> {
        let n = self.groups.len() as u32 + 1;
        Some(*self.groups.entry(g.to_string()).or_insert(n))
    }
    fn meter_id(&mut self, name: &str) -> Option<u32> {
        let n = self.meters.len() as u32 + 1;
        Some(*self.meters.entry(name.to_string()).or_insert(n))
    }
}

#[test]
fn ovn_action_vectors() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/ovn-actions.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let mut ctx = Context::new(0xabcdef, true);
    ctx.n_tables = 24;
    ctx.output_table = Some(64);
    // The OVS behind OVN's unit test lacks all-zero SNAT support.
    ctx.ct_zero_snat = false;
    ctx.dp_meters = false;
    ctx.lflow_cookie = 0xaaaa_aaaa;
    let mut pass = 0;
    let mut failures = Vec::new();
    let mut ports = Ports {
        groups: BTreeMap::new(),
        meters: BTreeMap::new(),
    };
    for pair in lines.chunks(2) {
        let [input, expect] = pair else {
            panic!("odd vector file")
        };
        let input = &input[2..];
        let got = compile_actions(input, Pipeline::Ingress, 10, &ctx, &mut ports);
        let ok = match (&got, &expect[..2]) {
            (Ok((acts, _)), "= ") => {
                let text = if acts.is_empty() {
                    "drop".to_string()
                } else {
                    ActionList(acts).to_string()
                };
                // ovs-ofctl prints a decoded dec_ttl as `dec_ttl()`, the
                // unit test's formatter as `dec_ttl`.
                text == expect[2..]
                    .replace("dec_ttl,", "dec_ttl(),")
                    .replace("dec_ttl", "dec_ttl()")
                    .replace("dec_ttl()()", "dec_ttl()")
            }
            (Err(_), "! ") => true,
            _ => false,
        };
        if ok {
            pass += 1;
        } else {
            let got = match got {
                Ok((a, _)) => ActionList(&a).to_string(),
                Err(e) => format!("error: {e}"),
            };
            failures.push(format!("{input}\n   want {expect}\n   got  {got}"));
        }
    }
    println!("OVN action vectors: {pass} pass, {} fail", failures.len());
    for f in &failures {
        println!("{f}");
    }
    assert!(failures.is_empty(), "{} vectors differ", failures.len());
}
