//! `cargo +nightly fuzz run compile` (from crates/lflow/fuzz): any bytes, split
//! into a match and an action string, must compile or fail without panicking.
#![no_main]

use lflow::{Context, Lookup, LogicalFlow, Pipeline, compile};
use libfuzzer_sys::fuzz_target;

struct L;

impl Lookup for L {
    fn port_key(&self, name: &str) -> Option<u32> {
        (name.len() < 6).then_some(name.len() as u32 + 1)
    }
    fn address_set(&self, name: &str) -> Option<Vec<String>> {
        (name == "as").then(|| vec!["10.0.0.1".into(), "fd00::/64".into()])
    }
    fn port_group(&self, name: &str) -> Option<Vec<String>> {
        (name == "pg").then(|| vec!["a".into(), "bb".into()])
    }
    fn group_id(&mut self, _group: &lflow::of::Group) -> Option<u32> {
        Some(1)
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (m, a) = s.split_once('\n').unwrap_or((s, "next;"));
    let table_id = data.first().copied().unwrap_or(0) % 32;
    let pipeline = if table_id % 2 == 0 { Pipeline::Ingress } else { Pipeline::Egress };
    let lf = LogicalFlow { pipeline, table_id, priority: 1, match_: m, actions: a };
    let _ = compile(&lf, &Context::new(1, table_id % 3 == 0), &mut L);
});
