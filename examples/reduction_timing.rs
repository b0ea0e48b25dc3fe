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
//! cargo run --release --example reduction_timing [-- --reps N] [--rows n]
//! ```
//!
//! (`--rows` changes n, default 10000, e.g. to fit X and the Qᵢ in cache.)
//!
//! Factorizations are timed `N` times each (default 7), alternating Qr and
//! Gram; epochs `4N` times each, alternating exact and SGD so that background
//! load hits both. Medians are printed, and the epoch ratio is the median of
//! the per-repetition ratios exact/SGD.

use std::time::Instant;

use splitflow::flows::local_flows;
use splitflow::optimizers::SplittingOptimizer;
use splitflow::problems::least_squares::{LeastSquares, random_least_squares};
use splitflow::reduction::{
    ExactLeastSquaresFlow, FactorizationMethod, LocalScheme, factorize_all,
};
use splitflow::splitting::{FlowMap, Integrated, PieceOrder, SubSteps};
use splitflow::{ExplicitEuler, State};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn sgd_optimizer(ls: &LeastSquares, alpha: f64) -> SplittingOptimizer<'_> {
    let pieces: Vec<Box<dyn FlowMap + '_>> = local_flows(ls)
        .into_iter()
        .map(|f| {
            Box::new(
                Integrated::new(f, Box::new(ExplicitEuler::new()), SubSteps::Fixed(1))
                    .expect("one sub-step")
                    .dissipative(true),
            ) as Box<dyn FlowMap + '_>
        })
        .collect();
    SplittingOptimizer::new(pieces, alpha, PieceOrder::Fixed).expect("valid optimizer")
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
        .unwrap_or(10_000)
        .max(20);
    let (p, b) = (500, 20);
    let (x, y, _) = random_least_squares(n, p, 0.01, 2020)?;
    let ls = LeastSquares::new(&x, &y, b)?;
    let m = n / b;
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
    let alpha = 0.04; // the paper's best SGD rate; the cost does not depend on α
    let mut sgd = sgd_optimizer(&ls, alpha);
    let mut exact = Vec::new();
    for method in [FactorizationMethod::Qr, FactorizationMethod::Gram] {
        let mut flows = ExactLeastSquaresFlow::for_batches(&ls, method, LocalScheme::Exact);
        factorize_all(&mut flows)?;
        exact.push((method, flows));
    }
    let mut theta_sgd = State::zeros(p);
    sgd.epoch(&mut theta_sgd)?; // warm-up
    for (method, flows) in exact.iter_mut() {
        let pieces: Vec<Box<dyn FlowMap + '_>> = flows
            .iter_mut()
            .map(|f| Box::new(f) as Box<dyn FlowMap + '_>)
            .collect();
        let mut opt = SplittingOptimizer::new(pieces, alpha, PieceOrder::Fixed)?;
        let mut theta = State::zeros(p);
        opt.epoch(&mut theta)?; // warm-up
        let (mut te, mut ts, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..4 * reps {
            let t = Instant::now();
            opt.epoch(&mut theta)?;
            let e = t.elapsed().as_secs_f64();
            let t = Instant::now();
            sgd.epoch(&mut theta_sgd)?;
            let s = t.elapsed().as_secs_f64();
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
        "relative residual after the timed epochs: SGD {:.3e}",
        ls.relative_residual(&theta_sgd)
    );
    Ok(())
}
