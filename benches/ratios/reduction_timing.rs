//! Times the QR reduction on the paper's random least-squares problem
//! (X 10000×500, b = 20, m = 500 batches) in one process and prints:
//!
//! * the time to factorize all batches (`factorize_all`) with
//!   `FactorizationMethod::Qr` (faer thin QR of Xᵢᵀ + eigenpairs of RᵢRᵢᵀ)
//!   and `FactorizationMethod::Gram` (eigenpairs of XᵢXᵢᵀ);
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
//! Factorizations are timed `N` times each (default 7), alternating Qr and
//! Gram; epochs `4N` times each, alternating exact and SGD (and which of the
//! two goes first) so that background load hits both. Medians are printed,
//! and the epoch ratio is the median of the per-repetition ratios exact/SGD.

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

    // Factorization: Qr vs Gram.
    let (mut t_qr, mut t_gram) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        for (method, out) in [
            (FactorizationMethod::Qr, &mut t_qr),
            (FactorizationMethod::Gram, &mut t_gram),
        ] {
            let mut flows = ExactLeastSquaresFlow::for_batches(&ls, method, LocalScheme::Exact);
            let t = Instant::now();
            factorize_all(&mut flows)?;
            out.push(t.elapsed().as_secs_f64());
        }
    }
    let (qr, gram) = (median(&mut t_qr), median(&mut t_gram));
    println!("factorize_all, all {m} batches (median):");
    println!("  Qr   {:8.2} ms", 1e3 * qr);
    println!(
        "  Gram {:8.2} ms   (Gram/Qr = {:.2})",
        1e3 * gram,
        gram / qr
    );

    // One epoch: exact flows (both factorizations) vs SGD, same harness.
    let mut sgd = splitting_optimizer(&ls);
    let theta0 = State::zeros(p);
    let mut theta_sgd = State::zeros(p);
    ours_optimizer_epoch(&mut sgd, &theta0, &mut theta_sgd); // warm-up
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
        println!("one epoch ({m} batch steps, median), exact flows with {method:?}:");
        println!(
            "  exact {:7.3} ms ({:.2} µs/step)   SGD {:7.3} ms ({:.2} µs/step)   exact/SGD = {r:.2}",
            1e3 * e,
            1e6 * e / m as f64,
            1e3 * s,
            1e6 * s / m as f64
        );
    }
    println!(
        "relative residual after one SGD epoch from θ = 0: {:.3e}",
        ls.relative_residual(&theta_sgd)
    );
    Ok(())
}
