//! OVN 23.03's own expression-to-flows test vectors (`tests/vectors/`,
//! extracted from its test suite), rendered in that test's output format.

use lflow::of::{Action, Field};
use lflow::{Context, LogicalFlow, Lookup, Pipeline, compile};

struct TestOvn;

impl Lookup for TestOvn {
    fn port_key(&self, name: &str) -> Option<u32> {
        match name {
            "eth0" => Some(5),
            "eth1" => Some(6),
            "LOCAL" => Some(0xfffe),
            "lsp1" => Some(0x11),
            "lsp2" => Some(0x12),
            "lsp3" => Some(0x13),
            _ => None,
        }
    }
    fn address_set(&self, name: &str) -> Option<Vec<String>> {
        let v: &[&str] = match name {
            "set1" => &["10.0.0.1", "10.0.0.2", "10.0.0.3"],
            "set2" => &["::1", "::2", "::3"],
            "set3" => &["00:00:00:00:00:01", "00:00:00:00:00:02", "00:00:00:00:00:03"],
            "set4" => &[],
            _ => return None,
        };
        Some(v.iter().map(|s| s.to_string()).collect())
    }
    fn port_group(&self, name: &str) -> Option<Vec<String>> {
        match name {
            "pg1" => Some(vec!["lsp1".into(), "lsp2".into(), "lsp3".into()]),
            "pg_empty" => Some(vec![]),
            _ => None,
        }
    }
}

/// One flow as test-ovn prints it: the match (conj_id included), then
/// `: conjunction(id, k/n)` with a 0-based clause for clause flows.
fn render(f: &lflow::of::Flow) -> String {
    let mut m = f.matches.clone();
    m.fields.remove(&Field::Metadata);
    let mut s = m.to_string();
    if let [
        Action::Conjunction {
            id,
            clause,
            n_clauses,
        },
    ] = f.actions.as_slice()
    {
        s.push_str(&format!(": conjunction({id}, {}/{n_clauses})", clause - 1));
    }
    s
}

#[test]
fn ovn_expr_to_flows_vectors() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/ovn-expr-to-flows.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let mut cases: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(e) = line.strip_prefix("> ") {
            cases.push((e.to_string(), Vec::new()));
        } else if let Some(c) = cases.last_mut() {
            c.1.push(line[1..].to_string());
        }
    }
    let mut failures = Vec::new();
    for (expr, mut want) in cases.iter().cloned() {
        let lf = LogicalFlow {
            pipeline: Pipeline::Ingress,
            table_id: 0,
            priority: 0,
            match_: &expr,
            actions: "",
        };
        let mut got: Vec<String> = match compile(&lf, &Context::new(0, false), &mut TestOvn) {
            Ok(c) => c.flows.iter().map(render).collect(),
            Err(e) => vec![format!("error: {e}")],
        };
        if got.is_empty() {
            got.push("(no flows)".into());
        }
        got.sort();
        want.sort();
        if got != want {
            failures.push(format!("{expr}\n  want: {want:?}\n  got:  {got:?}"));
        }
    }
    println!(
        "OVN expr-to-flows vectors: {} cases, {} differ",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
