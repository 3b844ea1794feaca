//! A benchmark, not a test (ignored; prints figures, asserts no times): how fast the IDL loads,
//! hands out changes, applies update2 diffs and is read, on 40 000 Southbound `Logical_Flow`
//! rows shaped like rovn-northd's. Best of 5:
//! `cargo test --release -p ovsdb --test idl_speed -- --ignored --nocapture`.

mod common;

use std::time::Instant;

use ovsdb::monitor::MonitorMethod;
use serde_json::{Value, json};

#[test]
#[ignore]
fn idl_speed() {
    const N: usize = 40000;
    let mut best = [f64::MAX; 4];
    for _ in 0..5 {
        let mut idl = common::logical_flow_idl();
        let reply = common::initial_reply(N);
        let t = Instant::now();
        idl.apply_monitor_reply_owned(MonitorMethod::MonitorCond, reply)
            .unwrap();
        best[0] = best[0].min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let changes = idl.take_changes();
        best[1] = best[1].min(t.elapsed().as_secs_f64());
        drop(changes);
        // 400 notifications of 100 modifies each: a scalar replaced, a map key changed.
        let notes: Vec<Value> = (0..N / 100)
            .map(|b| {
                let m: serde_json::Map<String, Value> = (b * 100..b * 100 + 100)
                    .map(|i| {
                        (
                            common::flow_uuid(i).to_string(),
                            json!({"modify": {"actions": "drop;", "external_ids": ["map", [["stage-hint", "x"]]]}}),
                        )
                    })
                    .collect();
                json!(["idl", {"Logical_Flow": m}])
            })
            .collect();
        let t = Instant::now();
        for mut n in notes {
            idl.take_notification("update2", &mut n).unwrap();
        }
        best[2] = best[2].min(t.elapsed().as_secs_f64());
        // Reading columns and map keys by name, as the daemons' typed conversions do.
        let t = Instant::now();
        let mut read = 0usize;
        for _ in 0..5 {
            for (_, r) in idl.table("Logical_Flow") {
                let long_match = r
                    .get("match")
                    .and_then(|d| d.as_str())
                    .is_some_and(|s| s.len() > 10);
                let staged = r
                    .get("external_ids")
                    .and_then(|d| d.map_get("stage-name"))
                    .is_some();
                read += usize::from(long_match && staged);
            }
        }
        best[3] = best[3].min(t.elapsed().as_secs_f64());
        assert_eq!(read, 5 * N);
    }
    println!(
        "idl, {N} Logical_Flow rows: initial load {:.1} ms, take_changes {:.1} ms, 400 x 100 modifies {:.1} ms, 5 reads of 2 columns {:.1} ms",
        best[0] * 1e3,
        best[1] * 1e3,
        best[2] * 1e3,
        best[3] * 1e3
    );
}
