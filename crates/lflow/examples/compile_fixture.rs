//! Compiles the real-northd fixture `N` times (default 20) and prints the
//! rate; a fixed workload for profilers (`valgrind --tool=callgrind`), whose
//! instruction counts are repeatable where wall-clock timings are not.
//!
//! `cargo run --release -p lflow --example compile_fixture -- [N] [features]`
//! (`MODE=uncached|cold|warm` runs one mode only; `TOP=1` lists the
//! slowest logical flows.)

#[path = "../tests/common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

/// Counts live heap bytes, to report what the cache holds.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let dir = match args.next().as_deref() {
        Some("features") => common::fixture_dir().join("features"),
        _ => common::fixture_dir(),
    };
    let sb = common::load_sb_from(&dir);
    if std::env::var_os("SIZES").is_some() {
        sizes();
        return;
    }
    if std::env::var_os("TOP").is_some() {
        top(&sb);
        return;
    }
    let pairs: usize = sb.lflows.iter().map(|l| l.datapaths.len()).sum();
    let reference = common::compile_all_using(&sb, &mut |l, c, k| lflow::compile_uncached(l, c, k));
    assert!(reference.errors.is_empty(), "{:?}", reference.errors);
    println!(
        "{} logical flows, {pairs} (flow, datapath) compilations -> {} OpenFlow flows",
        sb.lflows.len(),
        reference.flows.len()
    );
    let mode = std::env::var("MODE").unwrap_or_else(|_| "all".into());
    let run = |name: &str, f: &mut dyn FnMut() -> common::Outcome| {
        if mode != "all" && mode != name {
            return;
        }
        let start = std::time::Instant::now();
        measured(n, f, &reference);
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{name:>9}: {n} rounds in {secs:.3}s: {:.0} compilations/s",
            (pairs * n) as f64 / secs
        );
    };
    // Every compilation parses and normalises.
    run("uncached", &mut || {
        common::compile_all_using(&sb, &mut |l, c, k| lflow::compile_uncached(l, c, k))
    });
    // A fresh cache per round: strings shared between datapaths or rows hit.
    run("cold", &mut || {
        let mut cc = lflow::Compiler::new();
        common::compile_all_using(&sb, &mut |l, c, k| cc.compile(l, c, k))
    });
    // One cache across rounds: a controller's repeated full recompute.
    let before = LIVE.load(Ordering::Relaxed);
    let mut cc = lflow::Compiler::new();
    if mode == "all" || mode == "warm" {
        common::compile_all_using(&sb, &mut |l, c, k| cc.compile(l, c, k));
        let held = LIVE.load(Ordering::Relaxed) - before;
        let n = cc.stats().entries.max(1);
        println!(
            "cache holds {n} entries in {held} bytes ({} per entry)",
            held / n as isize
        );
    }
    run("warm", &mut || {
        common::compile_all_using(&sb, &mut |l, c, k| cc.compile(l, c, k))
    });
    println!("warm cache: {:?}", cc.stats());
}

/// The timed rounds (a separate function so that
/// `valgrind --tool=callgrind --toggle-collect='*measured*'` counts only them).
#[inline(never)]
fn measured(n: usize, f: &mut dyn FnMut() -> common::Outcome, reference: &common::Outcome) {
    for _ in 0..n {
        let o = f();
        assert_eq!(o.flows, reference.flows);
    }
}

#[allow(dead_code)]
fn top(sb: &common::Sb) {
    let mut v = Vec::new();
    for lf in &sb.lflows {
        let d = &sb.datapaths[&lf.datapaths[0]];
        let ctx = lflow::Context::new(d.key, d.is_switch);
        let mut groups = Default::default();
        let mut lookup = common::SbLookup {
            sb,
            dp: lf.datapaths[0].clone(),
            dp_key: d.key,
            groups: &mut groups,
        };
        let l = lflow::LogicalFlow {
            pipeline: lf.pipeline,
            table_id: lf.table_id,
            priority: lf.priority,
            match_: &lf.match_,
            actions: &lf.actions,
        };
        let t = std::time::Instant::now();
        let mut n = 0;
        for _ in 0..50 {
            n = lflow::compile_uncached(&l, &ctx, &mut lookup)
                .map(|c| c.flows.len())
                .unwrap_or(0);
        }
        v.push((
            t.elapsed().as_nanos() / 50,
            n,
            lf.match_.clone(),
            lf.actions.clone(),
        ));
    }
    v.sort_by_key(|x| std::cmp::Reverse(x.0));
    let total: u128 = v.iter().map(|x| x.0).sum();
    println!("total {total} ns");
    for x in v.iter().take(12) {
        println!("{:>8} ns {:>3} flows  {} / {}", x.0, x.1, x.2, x.3);
    }
}
#[allow(dead_code)]
fn sizes() {
    println!(
        "Action {} Flow {} Match {}",
        std::mem::size_of::<lflow::of::Action>(),
        std::mem::size_of::<lflow::of::Flow>(),
        std::mem::size_of::<lflow::of::Match>()
    );
}
