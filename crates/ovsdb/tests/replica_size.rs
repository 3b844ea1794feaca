//! What a replica row costs on the heap: Southbound `Logical_Flow` rows shaped like the ones
//! rovn-northd writes, counted by an allocator that tracks live bytes. The row representation
//! is the largest part of both daemons' replicas (docs/benchmarks.md#memory); the bound keeps
//! it from growing back unnoticed (a `BTreeMap<String, Datum>` row took ~2.8 kB).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use ovsdb::idl::Idl;
use ovsdb::monitor::{MonitorMethod, TableMonitor};
use ovsdb::{DatabaseSchema, Uuid};
use serde_json::{Value, json};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static BLOCKS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        BLOCKS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        BLOCKS.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const SB: &str = include_str!("../../../schemas/ovn-sb.ovsschema");
const ROWS: usize = 4000;

fn flow(i: usize, dp: Uuid) -> Value {
    json!({
        "logical_datapath": ["uuid", dp.to_string()],
        "pipeline": if i.is_multiple_of(2) { "ingress" } else { "egress" },
        "table_id": i % 27,
        "priority": 50,
        "match": format!("inport == \"lsp-{i}\" && eth.src == {{00:00:00:00:{:02x}:{:02x}}}", i / 256 % 256, i % 256),
        "actions": "next;",
        "external_ids": ["map", [
            ["source", "northd.c:5623"],
            ["stage-hint", format!("{:08x}", i * 7919)],
            ["stage-name", "ls_in_port_sec_l2"]
        ]]
    })
}

#[test]
fn a_logical_flow_row_costs_well_under_a_kilobyte() {
    let schema = DatabaseSchema::parse(SB).unwrap();
    let mut reqs = std::collections::BTreeMap::new();
    reqs.insert("Logical_Flow".to_string(), TableMonitor::all());
    let mut idl = Idl::with_schema(schema, reqs);
    let dp = Uuid::from_u128(7);
    let base = (LIVE.load(Ordering::Relaxed), BLOCKS.load(Ordering::Relaxed));
    let rows: serde_json::Map<String, Value> = (0..ROWS)
        .map(|i| {
            (
                Uuid::from_u128(1000 + i as u128).to_string(),
                json!({"initial": flow(i, dp)}),
            )
        })
        .collect();
    // Moved, not through `json!` (which would serialize a copy and keep `rows` alive).
    let mut reply = serde_json::Map::new();
    reply.insert("Logical_Flow".into(), Value::Object(rows));
    idl.apply_monitor_reply_owned(MonitorMethod::MonitorCond, Value::Object(reply))
        .unwrap();
    idl.discard_changes();
    let bytes = (LIVE.load(Ordering::Relaxed) - base.0) as usize / ROWS;
    let blocks = (BLOCKS.load(Ordering::Relaxed) - base.1) as usize / ROWS;
    assert_eq!(idl.len("Logical_Flow"), ROWS);
    // The match string (~50 bytes) is the only part that is the row's own content.
    println!("replica: {bytes} bytes in {blocks} allocations per Logical_Flow row");
    assert!(bytes < 800, "{bytes} bytes per row");
    assert!(blocks <= 4, "{blocks} allocations per row");
}
