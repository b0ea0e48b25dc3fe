//! Splitting benchmarks: one SGD epoch on 10000×500 least squares (m = 500
//! batches of 20 rows) as a Lie step of our `Splitting` over explicit-Euler
//! local flows, as `SplittingOptimizer::epoch`, and as a blocked slice loop.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};

use crate::common::sgd::{
    SGD_ALPHA, SGD_BATCH, SGD_COLS, SgdProblem, SliceSgd, lie_splitting, ours_lie_epoch,
    ours_optimizer_epoch, splitting_optimizer,
};
use splitflow::State;
use splitflow::optimizers::SplittingOptimizer;

/// Benchmarks `name`: one `SplittingOptimizer::epoch` of `opt` from `theta0`
/// (copied into `theta` first, so every iteration times the same epoch).
pub fn bench_optimizer_epoch(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    opt: &mut SplittingOptimizer<'_>,
    theta0: &State,
    theta: &mut State,
) {
    g.bench_function(name, |b| {
        b.iter(|| {
            ours_optimizer_epoch(opt, black_box(theta0), theta);
            black_box(&*theta);
        })
    });
}

/// One epoch from θ = 0 at α = 1e-3 each way (each iteration copies θ₀ in
/// first, so every iteration times the same epoch).
pub fn sgd_epoch_vs_slice_loop(c: &mut Criterion) {
    let prob = SgdProblem::new();
    let h = prob.h();
    let mut g = c.benchmark_group("sgd_epoch_ls10000x500");
    let mut split = lie_splitting(&prob.ls);
    let mut theta = State::zeros(SGD_COLS);
    g.bench_function("splitflow_lie_step", |b| {
        b.iter(|| {
            ours_lie_epoch(
                &mut split,
                black_box(h),
                black_box(&prob.theta0),
                &mut theta,
            );
            black_box(&theta);
        })
    });
    let mut opt = splitting_optimizer(&prob.ls);
    bench_optimizer_epoch(
        &mut g,
        "splitflow_optimizer_epoch",
        &mut opt,
        &prob.theta0,
        &mut theta,
    );
    let mut slice = SliceSgd::new(&prob.x, &prob.y, SGD_BATCH);
    let t0 = prob.theta0.as_slice().to_vec();
    let mut ts = t0.clone();
    g.bench_function("slice_loop", |b| {
        b.iter(|| {
            slice.run(black_box(SGD_ALPHA), black_box(&t0), &mut ts);
            black_box(&ts);
        })
    });
    g.finish();
}
