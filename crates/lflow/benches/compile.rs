//! Logical flows compiled per second over the real-northd fixture set:
//! without cache, with a fresh cache per round (strings shared between
//! datapaths hit), and with one cache across rounds (a controller's
//! repeated full recompute).

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let sb = common::load_sb();
    let pairs: usize = sb.lflows.iter().map(|l| l.datapaths.len()).sum();
    let mut g = c.benchmark_group("real_northd_fixture");
    // One element = one (logical flow, datapath) compilation.
    g.throughput(Throughput::Elements(pairs as u64));
    g.bench_function("compile_all_uncached", |b| {
        b.iter(|| common::compile_all_using(&sb, &mut |l, c, k| lflow::compile_uncached(l, c, k)))
    });
    g.bench_function("compile_all_cold_cache", |b| {
        b.iter(|| {
            let mut cc = lflow::Compiler::new();
            common::compile_all_using(&sb, &mut |l, c, k| cc.compile(l, c, k))
        })
    });
    let mut cc = lflow::Compiler::new();
    g.bench_function("compile_all_warm_cache", |b| {
        b.iter(|| common::compile_all_using(&sb, &mut |l, c, k| cc.compile(l, c, k)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
