//! Logical flows compiled per second over the real-northd fixture set.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let sb = common::load_sb();
    let pairs: usize = sb.lflows.iter().map(|l| l.datapaths.len()).sum();
    let mut g = c.benchmark_group("real_northd_fixture");
    // One element = one (logical flow, datapath) compilation.
    g.throughput(Throughput::Elements(pairs as u64));
    g.bench_function("compile_all", |b| b.iter(|| common::compile_all(&sb)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
