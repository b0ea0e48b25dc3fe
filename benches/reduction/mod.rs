//! Reduction benchmarks: one epoch of the exact least-squares local flows
//! (`ExactLeastSquaresFlow`, QR and Gram factorizations) against one SGD
//! epoch (explicit-Euler local flows), both through
//! `SplittingOptimizer::epoch` on the same 10000×500 problem with m = 500
//! batches of 20 rows. Factorization happens once, before the timed loop.

use criterion::Criterion;
use splitflow::State;
use splitflow::reduction::FactorizationMethod;

use crate::common::exact::{exact_flows, exact_optimizer};
use crate::common::sgd::{SGD_COLS, SgdProblem, splitting_optimizer};
use crate::splitting::bench_optimizer_epoch;

/// One epoch from θ = 0 each way (each iteration copies θ₀ in first, so every
/// iteration times the same epoch).
pub fn exact_epoch_vs_sgd_epoch(c: &mut Criterion) {
    let prob = SgdProblem::new();
    let mut theta = State::zeros(SGD_COLS);
    let mut g = c.benchmark_group("exact_epoch_ls10000x500");
    for (name, method) in [
        ("exact_qr", FactorizationMethod::Qr),
        ("exact_gram", FactorizationMethod::Gram),
    ] {
        let mut flows = exact_flows(&prob.ls, method);
        let mut opt = exact_optimizer(&mut flows);
        bench_optimizer_epoch(&mut g, name, &mut opt, &prob.theta0, &mut theta);
    }
    let mut sgd = splitting_optimizer(&prob.ls);
    bench_optimizer_epoch(&mut g, "sgd", &mut sgd, &prob.theta0, &mut theta);
    g.finish();
}
