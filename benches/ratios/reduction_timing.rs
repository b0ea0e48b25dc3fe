//! Times the QR reduction on the paper's random least-squares problem
//! (X 10000×500, b = 20, m = 500 batches) in one process and prints:
//!
//! * the time to factorize all batches (`factorize_all`) with
//!   `FactorizationMethod::Qr` (here b ≤ p and cond(Rᵢ) ≈ 1.5: faer's
//!   Householder QR of Xᵢᵀ in place, Qᵢ never formed, + eigenpairs of RᵢRᵢᵀ
//!   and the b×b maps RᵢᵀV, Rᵢ⁻¹V) and `FactorizationMethod::Gram`
//!   (eigenpairs of XᵢXᵢᵀ);
//! * one epoch of exact local flows (after factorization) against one SGD
//!   epoch (explicit-Euler local pieces), both through
//!   `SplittingOptimizer::epoch`, and their ratio.
//!
//! ```text
//! cargo bench --bench reduction_timing [-- --reps N] [--rows n]
//! ```
//!
//! (`--rows` changes n, default 10000, e.g. to fit X and the Qᵢ in cache.)
//!
//! The problem, the pieces and the timed epoch are those of the criterion
//! group `exact_epoch_ls10000x500` (`benches/reduction/mod.rs`; shared code in
//! `benches/common/exact.rs` and `benches/common/sgd.rs`): seed 42, α = 1e-3,
//! each timed epoch starting again from θ = 0.
//!
//! Factorizations are timed `N` times per method (default 7), each round
//! factorizing on a one-thread rayon pool and on the global pool (which goes
//! first alternates), then timing one SGD epoch: printed are the medians and
//! the median [range] of the per-round ratios factorization / SGD epoch and
//! one thread / global pool. Epochs are timed `4N` times each, alternating
//! exact and SGD (and which of the two goes first) so that background load
//! hits both; the epoch ratio is the median [range] of the per-repetition
//! ratios exact/SGD. Needs the `rayon` feature (on by default, via `cli`).

use std::hint::black_box;
use std::time::Instant;

#[path = "../common/mod.rs"]
mod common;

use common::exact::{exact_flows, exact_optimizer};
use common::sgd::{
    SGD_BATCH, SGD_COLS, SGD_NOISE, SGD_ROWS, SGD_SEED, ours_optimizer_epoch, splitting_optimizer,
};
use splitflow::State;
use splitflow::problems::least_squares::{LeastSquares, random_least_squares};
use splitflow::reduction::{
    ExactLeastSquaresFlow, FactorizationMethod, LocalScheme, factorize_all,
};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> splitflow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let reps = args
        .iter()
        .position(|a| a == "--reps")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(7)
        .max(1);
    let n = args
        .iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(SGD_ROWS)
        .max(SGD_BATCH);
    let (p, b) = (SGD_COLS, SGD_BATCH);
    let (x, y, _) = random_least_squares(n, p, SGD_NOISE, SGD_SEED)?;
    let ls = LeastSquares::new(&x, &y, b)?;
    let m = n.div_ceil(b);
    println!("random least squares {n}×{p}, b = {b}, m = {m} batches, {reps} repetitions");

    // Factorization: Qr vs Gram, each on one thread and on rayon's global
    // pool (all cores), interleaved with one SGD epoch per round: the
    // factorization time in SGD epochs is the median of per-round ratios.
    let mut sgd = splitting_optimizer(&ls);
    let theta0 = State::zeros(p);
    let mut theta_sgd = State::zeros(p);
    ours_optimizer_epoch(&mut sgd, &theta0, &mut theta_sgd); // warm-up
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    let threads = rayon::current_num_threads();
    println!("factorize_all, all {m} batches (median; rayon global pool: {threads} threads):");
    for method in [FactorizationMethod::Qr, FactorizationMethod::Gram] {
        let (mut t1, mut tn, mut in_epochs1, mut in_epochs, mut speedup) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for rep in 0..reps {
            let factorize = |serial: bool| -> splitflow::Result<f64> {
                let mut flows = ExactLeastSquaresFlow::for_batches(&ls, method, LocalScheme::Exact);
                let t = Instant::now();
                if serial {
                    one_thread.install(|| factorize_all(&mut flows))?;
                } else {
                    factorize_all(&mut flows)?;
                }
                Ok(t.elapsed().as_secs_f64())
            };
            let (a, b) = if rep % 2 == 0 {
                let a = factorize(true)?;
                (a, factorize(false)?)
            } else {
                let b = factorize(false)?;
                (factorize(true)?, b)
            };
            let t = Instant::now();
            ours_optimizer_epoch(&mut sgd, black_box(&theta0), &mut theta_sgd);
            black_box(&theta_sgd);
            let e = t.elapsed().as_secs_f64();
            t1.push(a);
            tn.push(b);
            in_epochs1.push(a / e);
            in_epochs.push(b / e);
            speedup.push(a / b);
        }
        let range = |v: &mut Vec<f64>| {
            let med = median(v);
            (med, v[0], v[v.len() - 1])
        };
        let (e1, e1lo, e1hi) = range(&mut in_epochs1);
        let (en, enlo, enhi) = range(&mut in_epochs);
        let (sp, splo, sphi) = range(&mut speedup);
        println!(
            "  {method:?}: 1 thread {:7.2} ms = {e1:.1} SGD epochs [{e1lo:.1}, {e1hi:.1}]   \
             {threads} threads {:7.2} ms = {en:.1} SGD epochs [{enlo:.1}, {enhi:.1}]   \
             speed-up {sp:.2} [{splo:.2}, {sphi:.2}]",
            1e3 * median(&mut t1),
            1e3 * median(&mut tn),
        );
    }

    // One epoch: exact flows (both factorizations) vs SGD, same harness.
    for method in [FactorizationMethod::Qr, FactorizationMethod::Gram] {
        let mut flows = exact_flows(&ls, method);
        let mut opt = exact_optimizer(&mut flows);
        let mut theta = State::zeros(p);
        ours_optimizer_epoch(&mut opt, &theta0, &mut theta); // warm-up
        let (mut te, mut ts, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        let mut time_exact = || {
            let t = Instant::now();
            ours_optimizer_epoch(&mut opt, black_box(&theta0), &mut theta);
            black_box(&theta);
            t.elapsed().as_secs_f64()
        };
        let mut time_sgd = || {
            let t = Instant::now();
            ours_optimizer_epoch(&mut sgd, black_box(&theta0), &mut theta_sgd);
            black_box(&theta_sgd);
            t.elapsed().as_secs_f64()
        };
        for rep in 0..4 * reps {
            let (e, s) = if rep % 2 == 0 {
                let e = time_exact();
                (e, time_sgd())
            } else {
                let s = time_sgd();
                (time_exact(), s)
            };
            te.push(e);
            ts.push(s);
            ratio.push(e / s);
        }
        let (e, s, r) = (median(&mut te), median(&mut ts), median(&mut ratio));
        let (lo, hi) = (ratio[0], ratio[ratio.len() - 1]);
        println!("one epoch ({m} batch steps, median), exact flows with {method:?}:");
        println!(
            "  exact {:7.3} ms ({:.2} µs/step)   SGD {:7.3} ms ({:.2} µs/step)   exact/SGD = {r:.2} [{lo:.2}, {hi:.2}]",
            1e3 * e,
            1e6 * e / m as f64,
            1e3 * s,
            1e6 * s / m as f64
        );
    }
    println!(
        "relative residual after one SGD epoch from θ = 0: {:.3e}",
        ls.relative_residual(&theta_sgd)?
    );
    Ok(())
}
