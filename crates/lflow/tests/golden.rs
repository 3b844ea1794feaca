//! Data-driven golden tests: `tests/golden/*.txt`.
//!
//! A file is a sequence of blocks separated by blank lines.  A block without
//! a `flow:` line sets defaults for the blocks after it.  Keys:
//!
//! ```text
//! datapath: <key> switch|router
//! ports: name=key ...            (ports and multicast groups of the datapath)
//! local: key ...                 (local port keys; default: all)
//! address_set <name>: addr ...
//! port_group <name>: port ...
//! resident: port ...             (is_chassis_resident() is true for these)
//! conj_id: <first conj id>
//! group_base: <first group id>
//! flow: ingress|egress <table> <priority>
//! match: <match>
//! actions: <actions>
//!  table=..., priority=... actions=...   (expected flows, leading space)
//! group <id>: <description>              (expected groups)
//! error: <substring of the expected error>
//! ```
//!
//! Expected flows are compared as a sorted list of lines in `ovs-ofctl
//! dump-flows` syntax.  `LFLOW_BLESS=1` rewrites the expectations.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use lflow::{Context, LogicalFlow, Lookup, Pipeline, compile};

#[derive(Clone, Default)]
struct Env {
    dp_key: u32,
    is_switch: bool,
    ports: HashMap<String, u32>,
    local: Option<HashSet<u32>>,
    address_sets: HashMap<String, Vec<String>>,
    port_groups: HashMap<String, Vec<String>>,
    resident: HashSet<String>,
    conj_id: u32,
    group_base: u32,
}

struct GoldenLookup<'a> {
    env: &'a Env,
    groups: BTreeMap<String, u32>,
    meters: BTreeMap<String, u32>,
}

impl Lookup for GoldenLookup<'_> {
    fn port_key(&self, name: &str) -> Option<u32> {
        self.env.ports.get(name).copied()
    }
    fn address_set(&self, name: &str) -> Option<Vec<String>> {
        self.env.address_sets.get(name).cloned()
    }
    fn port_group(&self, name: &str) -> Option<Vec<String>> {
        self.env.port_groups.get(name).cloned()
    }
    fn is_chassis_resident(&self, port: &str) -> bool {
        self.env.resident.contains(port)
    }
    fn is_local_port(&self, key: u32) -> bool {
        self.env.local.as_ref().is_none_or(|l| l.contains(&key))
    }
    fn meter_id(&mut self, name: &str) -> Option<u32> {
        let n = self.meters.len() as u32 + 1;
        Some(*self.meters.entry(name.to_string()).or_insert(n))
    }
    fn group_id(&mut self, group: &lflow::of::Group) -> Option<u32> {
        let n = self.groups.len() as u32 + self.env.group_base.max(1);
        Some(*self.groups.entry(group.to_string()).or_insert(n))
    }
}

/// Applies one `key: value` line to the environment; false if not an env key.
fn apply_env(env: &mut Env, key: &str, val: &str) -> bool {
    let words = || val.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    match key {
        "datapath" => {
            let mut it = val.split_whitespace();
            env.dp_key = it.next().and_then(|k| k.parse().ok()).expect("datapath key");
            env.is_switch = it.next() != Some("router");
        }
        "ports" => {
            env.ports = words()
                .iter()
                .map(|w| {
                    let (n, k) = w.split_once('=').expect("name=key");
                    (n.to_string(), k.parse().expect("port key"))
                })
                .collect()
        }
        "local" => env.local = Some(words().iter().map(|w| w.parse().expect("key")).collect()),
        "resident" => env.resident = words().into_iter().collect(),
        "conj_id" => env.conj_id = val.trim().parse().expect("conj id"),
        "group_base" => env.group_base = val.trim().parse().expect("group id"),
        _ if key.starts_with("address_set ") => {
            env.address_sets
                .insert(key["address_set ".len()..].trim().to_string(), words());
        }
        _ if key.starts_with("port_group ") => {
            env.port_groups
                .insert(key["port_group ".len()..].trim().to_string(), words());
        }
        _ => return false,
    }
    true
}

/// Runs one case and returns its expectation lines.
fn run_case(env: &Env, flow: &str, m: &str, a: &str) -> Vec<String> {
    let mut it = flow.split_whitespace();
    let pipeline = match it.next() {
        Some("egress") => Pipeline::Egress,
        _ => Pipeline::Ingress,
    };
    let table_id = it.next().and_then(|t| t.parse().ok()).expect("table");
    let priority = it.next().and_then(|t| t.parse().ok()).expect("priority");
    let mut ctx = Context::new(env.dp_key, env.is_switch);
    ctx.conj_id_base = env.conj_id.max(1);
    let mut lookup = GoldenLookup {
        env,
        groups: BTreeMap::new(),
        meters: BTreeMap::new(),
    };
    let lf = LogicalFlow {
        pipeline,
        table_id,
        priority,
        match_: m,
        actions: a,
    };
    match compile(&lf, &ctx, &mut lookup) {
        Ok(c) => {
            let mut lines: Vec<String> = c.flows.iter().map(|f| format!(" {f}")).collect();
            lines.sort();
            for (desc, id) in &lookup.groups {
                lines.push(format!("group {id}: {desc}"));
            }
            lines
        }
        Err(e) => vec![format!("error: {e}")],
    }
}

fn check_file(path: &Path, bless: bool) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("golden file");
    let mut env = Env {
        dp_key: 1,
        is_switch: true,
        conj_id: 1,
        ..Env::default()
    };
    let mut failures = Vec::new();
    let mut out = String::new();
    for block in text.split("\n\n") {
        let block = block.trim_matches('\n');
        if block.is_empty() {
            continue;
        }
        let mut case_env = env.clone();
        let (mut flow, mut m, mut a) = (None, String::new(), String::new());
        let mut expected = Vec::new();
        let mut header = Vec::new();
        for line in block.lines() {
            if line.starts_with(' ') || line.starts_with("group ") || line.starts_with("error:") {
                expected.push(line.to_string());
                continue;
            }
            header.push(line);
            if line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                panic!("{}: bad line `{line}`", path.display())
            };
            let v = v.trim();
            match k {
                "flow" => flow = Some(v.to_string()),
                "match" => m = v.to_string(),
                "actions" => a = v.to_string(),
                _ => assert!(
                    apply_env(&mut case_env, k, v),
                    "{}: unknown key `{k}`",
                    path.display()
                ),
            }
        }
        out.push_str(&header.join("\n"));
        out.push('\n');
        let Some(flow) = flow else {
            env = case_env;
            out.push('\n');
            continue;
        };
        let got = run_case(&case_env, &flow, &m, &a);
        let ok = match expected.first() {
            Some(e) if e.starts_with("error:") => {
                got.len() == 1 && got[0].contains(e["error:".len()..].trim())
            }
            _ => {
                let mut want = expected.clone();
                let groups: Vec<String> = want.iter().filter(|l| l.starts_with("group ")).cloned().collect();
                want.retain(|l| !l.starts_with("group "));
                want.sort();
                want.extend(groups);
                want == got
            }
        };
        if !ok {
            failures.push(format!(
                "{}: `{m}` / `{a}`\n  expected:\n    {}\n  got:\n    {}",
                path.display(),
                expected.join("\n    "),
                got.join("\n    ")
            ));
        }
        let keep_expected = ok && expected.first().is_some_and(|e| e.starts_with("error:"));
        for l in if keep_expected || !bless { &expected } else { &got } {
            out.push_str(l);
            out.push('\n');
        }
        out.push('\n');
    }
    if bless {
        std::fs::write(path, out.trim_end().to_string() + "\n").expect("write golden");
    }
    failures
}

#[test]
fn golden_files() {
    let bless = std::env::var_os("LFLOW_BLESS").is_some();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut n = 0;
    for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "txt")) {
        n += 1;
        failures.extend(check_file(f, bless));
    }
    assert!(n > 0, "no golden files");
    assert!(
        failures.is_empty() || bless,
        "{} golden case(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
