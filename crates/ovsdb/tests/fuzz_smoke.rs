//! Deterministic "fuzz smoke" on stable Rust: a few thousand inputs mutated from
//! valid protocol messages by a tiny built-in PRNG, through the framer and every
//! datum/update parser (the same entry points as the cargo-fuzz targets in `fuzz/`).

use ovsdb::fuzzing;
use ovsdb::jsonrpc::Framer;
use serde_json::{Value, json};

/// xorshift64*: deterministic, no dependencies.
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

const U1: &str = "11111111-1111-1111-1111-111111111111";

fn seeds() -> Vec<Vec<u8>> {
    [
        json!({"id": 1, "method": "transact", "params": ["T", {"op": "insert", "table": "R", "row": {"name": "a"}}]}),
        json!({"id": null, "method": "update2", "params": ["idl", {"R": {U1: {"modify": {"tags": ["set", ["a", "b"]], "opts": ["map", [["k", "v"]]]}}}}]}),
        json!({"id": null, "method": "update3", "params": ["idl", "t1", {"R": {U1: {"insert": {"name": "x", "refs": ["uuid", U1]}}}}]}),
        json!({"id": 3, "result": [true, "t2", {"R": {U1: {"initial": {"name": "a\"}{", "n": 3, "r": 1.5}}}}], "error": null}),
        json!({"id": 4, "result": null, "error": {"error": "unknown method"}}),
        json!(["map", [[1, ["uuid", U1]], [2, ["named-uuid", "x"]]]]),
        json!(["set", [1, 2.5, true, "s", ["uuid", U1]]]),
        json!({"R": {U1: {"old": {"name": "a"}, "new": {"name": "b"}}}}),
    ]
    .iter()
    .map(|v| v.to_string().into_bytes())
    .collect()
}

const INTERESTING: &[u8] = b"{}[]\",:\\ 0123456789-.eEtrufalsn\x00\xff\xc3";

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            1 => v.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 if !v.is_empty() => {
                let end = (at + rng.below(8)).min(v.len());
                v.drain(at.min(end)..end);
            }
            3 => v.truncate(at),
            4 => {
                let dup: Vec<u8> = v[at.min(v.len())..].iter().take(rng.below(16)).copied().collect();
                v.splice(at..at, dup);
            }
            _ => {
                let i = at.min(v.len().saturating_sub(1));
                if let Some(b) = v.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
        }
    }
    v
}

/// A random JSON value shaped like OVSDB data (tagged arrays, objects keyed by uuids).
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let leaf = depth == 0 || rng.below(3) == 0;
    if leaf {
        return match rng.below(7) {
            0 => json!(rng.next() as i64),
            1 => json!((rng.below(1000) as f64) / 7.0),
            2 => json!(rng.below(2) == 0),
            3 => json!(["uuid", U1]),
            4 => json!(null),
            5 => json!(
                [
                    "set", "initial", "modify", "delete", "insert", "map", "uuid", "idl"
                ][rng.below(8)]
            ),
            _ => json!(format!("s{}", rng.below(5))),
        };
    }
    let n = rng.below(4);
    match rng.below(4) {
        0 => json!([
            "set",
            (0..n).map(|_| random_value(rng, depth - 1)).collect::<Vec<_>>()
        ]),
        1 => json!([
            "map",
            (0..n)
                .map(|_| json!([random_value(rng, 0), random_value(rng, 0)]))
                .collect::<Vec<_>>()
        ]),
        2 => {
            let keys = [
                "R", U1, "name", "tags", "opts", "n", "initial", "modify", "insert", "delete", "old", "new",
            ];
            Value::Object(
                (0..n)
                    .map(|_| {
                        (
                            keys[rng.below(keys.len())].to_string(),
                            random_value(rng, depth - 1),
                        )
                    })
                    .collect(),
            )
        }
        _ => Value::Array((0..n).map(|_| random_value(rng, depth - 1)).collect()),
    }
}

#[test]
fn mutated_protocol_bytes_never_panic() {
    let mut rng = Rng(0x5eed_0f0b_5d00);
    let seeds = seeds();
    for _ in 0..3000 {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        fuzzing::framer(&input);
        fuzzing::datum(&input);
    }
}

#[test]
fn random_ovsdb_shaped_values_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let v = random_value(&mut rng, 4);
        fuzzing::json_value(&v);
    }
}

#[test]
fn framer_yields_the_same_messages_for_any_chunking() {
    let mut rng = Rng(7);
    let seeds = seeds();
    let stream: Vec<u8> = seeds
        .iter()
        .flat_map(|s| s.iter().copied().chain(*b" \n"))
        .collect();
    let want: Vec<Value> = seeds.iter().map(|s| serde_json::from_slice(s).unwrap()).collect();
    for _ in 0..300 {
        let mut f = Framer::new();
        let mut got = vec![];
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len().min(64));
            f.push(&rest[..n]);
            rest = &rest[n..];
            while let Some(v) = f.next_message().unwrap() {
                got.push(v);
            }
        }
        assert_eq!(got, want);
        assert!(f.pending() <= 2, "only the trailing whitespace is left");
    }
}
