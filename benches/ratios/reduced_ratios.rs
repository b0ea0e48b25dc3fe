//! Old (QR-reduced, `η = Qᵀθ`) against new (Gram, `θ = θ₀ + Xᵀv`, the
//! default) coordinates of the reduced logistic and softmax flows, per
//! iteration (one batch step), on the `paper --quick` data at the large α
//! of its grid, in one process, interleaved.
//!
//! ```text
//! cargo bench --bench reduced_ratios [-- --reps N]
//! ```
//!
//! For each α, `N` rounds (default 7); each round times, alternating which
//! coordinates go first: (a) the paper's first iteration, fresh flows, the
//! batch's factorization included (at these α `paper --quick` converges in
//! one iteration), and (b) one epoch of batch steps from θ₀ (every batch
//! factorized on first use, as in a paper run), per iteration. Printed: the
//! solver counters per advance (right-hand-side evaluations, accepted and
//! rejected steps), the median [range] of the per-round ratios old/new and
//! the ratio of the fastest rounds (the least disturbed by other load), with
//! the load average before and after (the machine may be shared).
//! The data are those of `paper --quick --seed 0`: digits01 (b = 50) and
//! digits (b = 64) split 80/20 by the seed-0 permutation, θ₀ from seed 1.

#[path = "support/mod.rs"]
mod support;
use std::time::Instant;

use splitflow::objective::FiniteSum;
use splitflow::paper::uniform_init;
use splitflow::problems::data::{Dataset, binary_targets, named, permutation};
use splitflow::problems::logistic::Logistic;
use splitflow::problems::softmax::Softmax;
use splitflow::reduction::{FactorizationMethod, ReducedLogisticFlow, ReducedSoftmaxFlow};
use splitflow::splitting::FlowMap;
use splitflow::{State, Stats};

fn load() -> String {
    support::load_average().unwrap_or_else(|| "n/a".into())
}

fn split(name: &str) -> splitflow::Result<Dataset> {
    let d = named(name)?;
    let d = d.permute_rows(&permutation(d.n(), 0))?;
    let n_train = d.n() * 4 / 5;
    Ok(d.split(n_train)?.0)
}

fn median_range(v: &mut [f64]) -> (f64, f64, f64) {
    let m = support::median(v);
    (m, v[0], v[v.len() - 1])
}

/// The solver counters of one epoch of `flows` (each in `method`'s
/// coordinates) from `theta0` with step `h`.
fn epoch_stats<F: FlowMap>(
    flows: Vec<F>,
    coordinates: impl Fn(F) -> F,
    solver_stats: impl Fn(&F) -> Stats,
    theta0: &State,
    h: f64,
) -> Stats {
    let mut theta = theta0.clone();
    let mut s = Stats::default();
    for f in flows {
        let mut f = coordinates(f);
        f.advance(0.0, h, &mut theta).unwrap();
        let t = solver_stats(&f);
        (s.f_evals, s.accepted, s.rejected) = (
            s.f_evals + t.f_evals,
            s.accepted + t.accepted,
            s.rejected + t.rejected,
        );
    }
    s
}

/// Seconds of (a) the first iteration and (b) one epoch per iteration, and
/// the counters of the epoch's advances.
fn time_one<'a>(
    pieces: &mut dyn FnMut() -> Vec<Box<dyn FlowMap + 'a>>,
    h: f64,
    theta0: &State,
) -> splitflow::Result<(f64, f64, usize)> {
    let mut first = pieces();
    let mut theta = theta0.clone();
    let t = Instant::now();
    first[0].advance(0.0, h, &mut theta)?;
    let one = t.elapsed().as_secs_f64();
    let mut epoch = pieces();
    let mut theta = theta0.clone();
    let t = Instant::now();
    for f in epoch.iter_mut() {
        f.advance(0.0, h, &mut theta)?;
    }
    let per = t.elapsed().as_secs_f64() / epoch.len() as f64;
    Ok((one, per, epoch.iter().map(|f| f.stats().f_evals).sum()))
}

/// The interleaved rounds of one problem at each α; `steps(method, h)`
/// gives the solver counters of one epoch.
fn compare<'a>(
    what: &str,
    alphas: &[f64],
    reps: usize,
    m: usize,
    theta0: &State,
    pieces: &dyn Fn(FactorizationMethod) -> Vec<Box<dyn FlowMap + 'a>>,
    steps: &dyn Fn(FactorizationMethod, f64) -> Stats,
) -> splitflow::Result<()> {
    for &alpha in alphas {
        let h = alpha * m as f64;
        let (mut r_one, mut r_per) = (Vec::new(), Vec::new());
        let (mut t_old, mut t_new) = (Vec::new(), Vec::new());
        for round in 0..reps {
            let run = |method| time_one(&mut || pieces(method), h, theta0);
            let (old, new) = if round % 2 == 0 {
                let o = run(FactorizationMethod::Qr)?;
                (o, run(FactorizationMethod::Gram)?)
            } else {
                let n = run(FactorizationMethod::Gram)?;
                (run(FactorizationMethod::Qr)?, n)
            };
            r_one.push(old.0 / new.0);
            r_per.push(old.1 / new.1);
            t_old.push(old.1);
            t_new.push(new.1);
            assert!(old.2 > 0 && new.2 > 0);
        }
        let per_adv = |s: Stats| {
            format!(
                "{:.0} f-evals, {:.1} accepted, {:.1} rejected",
                s.f_evals as f64 / m as f64,
                s.accepted as f64 / m as f64,
                s.rejected as f64 / m as f64
            )
        };
        let (a, a0, a1) = median_range(&mut r_one);
        let (b, b0, b1) = median_range(&mut r_per);
        let (to, to_min, _) = median_range(&mut t_old);
        let (tn, tn_min, _) = median_range(&mut t_new);
        println!("{what} α = {alpha:.3e}:");
        println!(
            "  per advance: qr {}; gram {}",
            per_adv(steps(FactorizationMethod::Qr, h)),
            per_adv(steps(FactorizationMethod::Gram, h))
        );
        println!(
            "  epoch, per iteration: qr {:.0} µs, gram {:.0} µs; ratio qr/gram median {b:.2} [{b0:.2}, {b1:.2}]",
            to * 1e6,
            tn * 1e6
        );
        println!(
            "  epoch, per iteration, fastest round: qr {:.0} µs, gram {:.0} µs, ratio {:.2}",
            to_min * 1e6,
            tn_min * 1e6,
            to_min / tn_min
        );
        println!(
            "  first iteration (with factorization): ratio qr/gram median {a:.2} [{a0:.2}, {a1:.2}]"
        );
    }
    Ok(())
}

/// [`compare`] for the reduced flows made by `flows` (of `m` batches, from
/// `theta0`), switched between coordinates by `with_factorization`, their
/// counters read by `solver_stats`.
fn compare_flows<'a, F: FlowMap + 'a>(
    what: &str,
    alphas: &[f64],
    (reps, m, theta0): (usize, usize, &State),
    flows: &dyn Fn() -> Vec<F>,
    with_factorization: fn(F, FactorizationMethod) -> F,
    solver_stats: fn(&F) -> Stats,
) -> splitflow::Result<()> {
    compare(
        what,
        alphas,
        reps,
        m,
        theta0,
        &|method| {
            flows()
                .into_iter()
                .map(|f| Box::new(with_factorization(f, method)) as Box<dyn FlowMap + 'a>)
                .collect()
        },
        &|method, h| {
            epoch_stats(
                flows(),
                |f| with_factorization(f, method),
                solver_stats,
                theta0,
                h,
            )
        },
    )
}

fn main() -> splitflow::Result<()> {
    let reps = support::reps_arg(7);
    println!("load average before: {}; {reps} rounds", load());
    let opts = ReducedLogisticFlow::default_options();

    let train = split("digits01")?;
    let y = binary_targets(&train)?;
    let problem = Logistic::new(&train.x, &y, 50)?;
    let m = problem.num_batches();
    let theta0 = uniform_init(train.p(), 1)?;
    compare_flows(
        "logistic digits01 (b = 50)",
        &[316.2, 5.623e4, 1e7],
        (reps, m, &theta0),
        &|| ReducedLogisticFlow::for_batches(&problem, opts).unwrap(),
        ReducedLogisticFlow::with_factorization,
        ReducedLogisticFlow::solver_stats,
    )?;

    let train = split("digits")?;
    let classes = train.classes;
    let problem = Softmax::new(&train.x, &train.labels, classes, 64)?;
    let m = problem.num_batches();
    let theta0 = uniform_init(train.p() * classes, 1)?;
    compare_flows(
        "softmax digits (b = 64)",
        &[1e2, 1e4],
        (reps, m, &theta0),
        &|| ReducedSoftmaxFlow::for_batches(&problem, opts).unwrap(),
        ReducedSoftmaxFlow::with_factorization,
        ReducedSoftmaxFlow::solver_stats,
    )?;
    println!("load average after: {}", load());
    Ok(())
}
