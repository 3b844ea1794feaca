//! What a replica row costs on the heap: Southbound `Logical_Flow` rows shaped like the ones
//! rovn-northd writes, counted by an allocator that tracks live bytes. The row representation
//! is the largest part of both daemons' replicas (docs/benchmarks.md#memory); the bound keeps
//! it from growing back unnoticed (a `BTreeMap<String, Datum>` row took 1 888 bytes in 29
//! allocations).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use ovsdb::monitor::MonitorMethod;

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

const ROWS: usize = 4000;

#[test]
fn a_logical_flow_row_costs_well_under_a_kilobyte() {
    let mut idl = common::logical_flow_idl();
    let base = (LIVE.load(Ordering::Relaxed), BLOCKS.load(Ordering::Relaxed));
    let reply = common::initial_reply(ROWS);
    idl.apply_monitor_reply_owned(MonitorMethod::MonitorCond, reply)
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
