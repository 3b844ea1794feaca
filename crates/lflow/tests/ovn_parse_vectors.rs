//! OVN 23.03's expression parser/annotation test vectors (`tests/vectors/`):
//! the same inputs must be accepted, and rejected with the same message.

use lflow::normalize::annotate;
use lflow::parser::parse_match;
use lflow::{Error, Lookup};

struct Sets;

impl Lookup for Sets {
    fn port_key(&self, name: &str) -> Option<u32> {
        (name == "eth0").then_some(5)
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
}

fn message(e: &Error) -> String {
    match e {
        Error::Syntax { msg, .. } | Error::Semantic { msg } => msg.clone(),
        other => other.to_string(),
    }
}

#[test]
fn ovn_expression_parser_vectors() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/ovn-expr-parse.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let (mut n, mut same_msg) = (0, 0);
    let mut failures = Vec::new();
    let mut msg_diffs = Vec::new();
    for pair in lines.chunks(2) {
        let [input, expect] = pair else {
            panic!("odd vector file")
        };
        let input = &input[2..];
        n += 1;
        let got = parse_match(input, &Sets).and_then(|e| annotate(&e, &Sets));
        match (got, expect.strip_prefix("! ")) {
            (Ok(_), None) => {}
            (Err(e), Some(want)) => {
                if message(&e) == want {
                    same_msg += 1;
                } else {
                    msg_diffs.push(format!("{input}\n   want {want}\n   got  {}", message(&e)));
                }
            }
            (Ok(_), Some(want)) => failures.push(format!("{input}: accepted, OVN rejects: {want}")),
            (Err(e), None) => failures.push(format!("{input}: rejected ({e}), OVN accepts")),
        }
    }
    let rejected = lines.iter().filter(|l| l.starts_with("! ")).count();
    println!(
        "OVN parser vectors: {n} cases, {} disagree on accept/reject; {same_msg}/{rejected} errors with OVN's exact message",
        failures.len()
    );
    for d in &msg_diffs {
        println!("{d}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(msg_diffs.is_empty(), "error messages differ from OVN's");
}
