//! Deterministic "fuzz smoke" test: thousands of mutated and random inputs
//! must each compile or fail with an error, never panic.  (The coverage-guided
//! target lives in `fuzz/`, which needs nightly.)

mod common;

use lflow::{Context, LogicalFlow, Lookup, Pipeline, compile};

/// xorshift64*: tiny, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

struct FuzzLookup;

impl Lookup for FuzzLookup {
    fn port_key(&self, name: &str) -> Option<u32> {
        (name.len() < 8).then_some(name.len() as u32 + 1)
    }
    fn address_set(&self, name: &str) -> Option<Vec<String>> {
        match name {
            "as1" => Some(vec!["10.0.0.1".into(), "10.0.0.0/8".into(), "fd00::/64".into()]),
            "bad" => Some(vec!["not-an-address".into()]),
            _ => None,
        }
    }
    fn port_group(&self, name: &str) -> Option<Vec<String>> {
        (name == "pg1").then(|| vec!["vm1".into(), "vm2".into()])
    }
    fn template(&self, name: &str) -> Option<String> {
        (name == "t").then(|| "10.0.0.5".into())
    }
    fn is_local_port(&self, key: u32) -> bool {
        key % 2 == 1
    }
    fn group_id(&mut self, _group: &lflow::of::Group) -> Option<u32> {
        Some(1)
    }
}

const VOCAB: &[&str] = &[
    "ip4",
    "ip6",
    "ip",
    "tcp",
    "udp",
    "arp",
    "nd_ns",
    "ct.new",
    "ct.est",
    "eth.mcast",
    "inport",
    "outport",
    "reg0",
    "reg9",
    "xxreg0",
    "xreg4",
    "ct_mark",
    "ct_label",
    "ip4.src",
    "ip6.dst",
    "tcp.dst",
    "eth.src",
    "vlan.vid",
    "ip.ttl",
    "icmp4.type",
    "nd.target",
    "flags.loopback",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "!",
    "&&",
    "||",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "..",
    ",",
    ";",
    "=",
    "<->",
    "--",
    ":",
    "-",
    "0",
    "1",
    "65535",
    "0x1ff",
    "10.0.0.1",
    "10.0.0.0/8",
    "fd00::1",
    "::/0",
    "00:00:00:00:00:01",
    "\"vm1\"",
    "\"none\"",
    "$as1",
    "$bad",
    "$nope",
    "@pg1",
    "@nope",
    "^t",
    "^u",
    "next",
    "output",
    "drop",
    "ct_next",
    "ct_commit",
    "ct_lb_mark",
    "backends",
    "ct_dnat",
    "ct_snat",
    "clone",
    "arp",
    "icmp4",
    "nd_na",
    "get_arp",
    "put_arp",
    "lookup_arp",
    "get_fdb",
    "lookup_fdb",
    "put_fdb",
    "check_in_port_sec",
    "chk_lb_hairpin",
    "ct_snat_to_vip",
    "push",
    "pop",
    "pipeline",
    "table",
    "egress",
    "is_chassis_resident",
    "/*",
    "*/",
    "//",
    "\\",
    "\u{e9}",
    "[0..15]",
];

fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut b: Vec<char> = s.chars().collect();
    for _ in 0..1 + rng.below(2) {
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b.remove(i);
            }
            1 => {
                let i = rng.below(b.len() + 1);
                let w: Vec<char> = format!(" {} ", VOCAB[rng.below(VOCAB.len())]).chars().collect();
                b.splice(i..i, w);
            }
            2 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = (b' ' + rng.below(95) as u8) as char;
            }
            3 if b.len() > 2 => {
                let i = rng.below(b.len());
                let j = (i + rng.below(16)).min(b.len());
                let dup: Vec<char> = b[i..j].to_vec();
                b.splice(j..j, dup);
            }
            4 if !b.is_empty() => b.truncate(rng.below(b.len())),
            _ => {
                let i = rng.below(b.len() + 1);
                b.splice(i..i, ['(', '!']);
            }
        }
    }
    b.into_iter().collect()
}

fn random_tokens(rng: &mut Rng) -> String {
    (0..rng.below(24))
        .map(|_| VOCAB[rng.below(VOCAB.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn no_input_panics() {
    let sb = common::load_sb();
    let seeds: Vec<(String, String)> = sb
        .lflows
        .iter()
        .map(|l| (l.match_.clone(), l.actions.clone()))
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut err) = (0, 0);
    let mut extra = vec![
        ("(".repeat(10_000), "next;".to_string()),
        ("!".repeat(10_000) + "ip4", "next;".to_string()),
        ("1".into(), "clone { ".repeat(500)),
        (
            "(ip4.src == {1.1.1.1, 2.2.2.2, 3.3.3.3} || tcp.dst == {1,2,3}) && ".repeat(12) + "1",
            "next;".into(),
        ),
        (
            "ip6.src != ::/0 && ip6.dst != ::1 && xxreg0 != 0".into(),
            "next;".into(),
        ),
        (
            "reg0 > 4294967295 || reg0 < 0 || ct_label >= 0x1".into(),
            "next;".into(),
        ),
    ];
    for i in 0..4000 {
        let (m, a) = match i % 4 {
            0 => (random_tokens(&mut rng), "next;".to_string()),
            1 => ("1".to_string(), random_tokens(&mut rng)),
            _ => {
                let (m, a) = &seeds[rng.below(seeds.len())];
                if rng.below(2) == 0 {
                    (mutate(&mut rng, m), a.clone())
                } else {
                    (m.clone(), mutate(&mut rng, a))
                }
            }
        };
        extra.push((m, a));
    }
    for (k, (m, a)) in extra.iter().enumerate() {
        let lf = LogicalFlow {
            pipeline: if k % 3 == 0 {
                Pipeline::Egress
            } else {
                Pipeline::Ingress
            },
            table_id: (k % 30) as u8,
            priority: 100,
            match_: m,
            actions: a,
        };
        let ctx = Context::new(1, k % 2 == 0);
        match compile(&lf, &ctx, &mut FuzzLookup) {
            Ok(_) => ok += 1,
            Err(e) => {
                // Errors are descriptive, and parse errors point into the input.
                assert!(!e.to_string().is_empty());
                if let Some(pos) = e.inner().position() {
                    let text = match e {
                        lflow::CompileError::Match(_) => m,
                        lflow::CompileError::Actions(_) => a,
                    };
                    assert!(pos <= text.len(), "position {pos} beyond input `{text}`");
                }
                if std::env::var_os("LFLOW_FUZZ_VERBOSE").is_some() {
                    println!("`{m}` / `{a}` -> {e}");
                }
                err += 1;
            }
        }
    }
    println!(
        "fuzz smoke: {} inputs, {ok} compiled, {err} rejected with an error",
        extra.len()
    );
    assert!(ok > 100 && err > 100);
}
