//! Times one step of the generated path ([`GeneratedOptimizer`]: a scheme on
//! a flow) against the fused fast path of the same method at p = 100 000,
//! in one process, and prints the ratios — the cost of "optimizer = scheme
//! on flow" (issue 11: at most 1.5× for SGD, momentum and Adam).
//!
//! ```text
//! cargo bench --bench generated_ratios [-- --rounds N] [--steps K] [--case NAME]
//! ```
//!
//! The problem and its gradient are those of `optimizer_ratios`
//! (`benches/optimizers/cases.rs`). Before timing, both sides take 100 steps
//! from the same θ₀ and must agree to 1e-12 (relative, max norm). Each round
//! times K consecutive steps (default 5) of each side, in alternating
//! order, each continuing from its own state; N rounds (default 101). The
//! table gives the median time per step of each side, the median of the
//! per-round ratios generated/fused, its interquartile range and its full
//! range (min – max), and the load average when the run started (the machine
//! may be shared: read the ratios with it).

#[path = "support/mod.rs"]
mod support;
use std::hint::black_box;
use std::time::Instant;
use support::{load_average, median, positive, quantile};

#[path = "../optimizers/cases.rs"]
mod cases;
#[path = "../../tests/schemes.rs"]
mod schemes;

use cases::{P, Quadratic, library_steps, max_rel_diff};
use schemes::{euler, lie};
use splitflow::State;
use splitflow::flows::Friction;
use splitflow::optimizers::{
    Adam, AdamBias, EpsPlacement, FlowKind, GeneratedFlow, GeneratedOptimizer, GradientDescent,
    HeavyBallScheme, Momentum, Optimizer, Scheme, SubScheme,
};

/// Steps both sides take before their θ are compared.
const CHECK_STEPS: usize = 100;
/// Relative agreement (max norm) required after [`CHECK_STEPS`].
const AGREEMENT: f64 = 1e-12;
/// The issue's bound on generated / fused time.
const TARGET: f64 = 1.5;

/// A method of the comparison: its fused fast path and its generated form.
struct Case {
    name: &'static str,
    params: &'static str,
    fused: fn() -> Box<dyn Optimizer>,
    generated: fn() -> Box<dyn Optimizer>,
}

// lr 0.1; momentum lr 0.01, μ 0.9 (h = √lr = 0.1, γ = −ln μ / h); Adam
// a = 10, b = 0.1, δ = 0.01 (β = (0.9, 0.999), lr 0.01), ε = 1e-8.
const SGD_H: f64 = 0.1;
const MOM_H: f64 = 0.1;
const ADAM_DELTA: f64 = 0.01;

fn mom_gamma() -> f64 {
    -(0.9f64).ln() / MOM_H
}

fn adam_flow() -> GeneratedFlow {
    GeneratedFlow::new(FlowKind::Adam {
        a: 10.0,
        b: 0.1,
        eps: 1e-8,
        placement: EpsPlacement::Outside,
        bias: AdamBias::Discrete,
    })
    .unwrap()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "sgd",
            params: "explicit Euler, h = lr = 0.1",
            fused: || Box::new(GradientDescent::sgd(SGD_H).unwrap()),
            generated: || {
                let flow = GeneratedFlow::new(FlowKind::Gradient).unwrap();
                Box::new(
                    GeneratedOptimizer::new(
                        Box::new(flow),
                        Scheme::stepper("explicit_euler").unwrap(),
                        SGD_H,
                    )
                    .unwrap(),
                )
            },
        },
        Case {
            name: "momentum",
            params: "Lie [friction exact, kick, drift], h 0.1",
            fused: || {
                Box::new(
                    Momentum::from_ode(mom_gamma(), HeavyBallScheme::ExactFriction, MOM_H).unwrap(),
                )
            },
            generated: || {
                let flow = GeneratedFlow::new(FlowKind::HeavyBall {
                    friction: Friction::Constant(mom_gamma()),
                    hessian_damping: 0.0,
                })
                .unwrap();
                let scheme = lie(
                    &["friction", "kick", "drift"],
                    vec![SubScheme::Exact, euler(), euler()],
                );
                Box::new(GeneratedOptimizer::new(Box::new(flow), scheme, MOM_H).unwrap())
            },
        },
        Case {
            name: "adam",
            params: "Lie [moments, position], δ 0.01",
            fused: || {
                Box::new(
                    Adam::from_ode(10.0, 0.1, 1e-8, EpsPlacement::Outside, ADAM_DELTA).unwrap(),
                )
            },
            generated: || {
                let scheme = lie(&["moments", "position"], vec![euler(), euler()]);
                Box::new(
                    GeneratedOptimizer::new(Box::new(adam_flow()), scheme, ADAM_DELTA).unwrap(),
                )
            },
        },
    ]
}

/// Wall seconds per step of `run` (which takes `k` steps).
fn measure(k: usize, run: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    run();
    start.elapsed().as_secs_f64() / k as f64
}

struct Row {
    name: &'static str,
    params: &'static str,
    fused: f64,
    generated: f64,
    ratio: f64,
    iqr: (f64, f64),
    range: (f64, f64),
    diff: f64,
}

fn time_case(case: &Case, q: &Quadratic, theta0: &[f64], rounds: usize, k: usize) -> Row {
    // Agreement of the same arithmetic.
    let run = |make: fn() -> Box<dyn Optimizer>, n: usize| {
        let mut opt = make();
        let mut oracle = q.oracle();
        let mut th = State::from_column_slice(theta0);
        library_steps(opt.as_mut(), &mut oracle, &mut th, n);
        th
    };
    let (a, b) = (
        run(case.fused, CHECK_STEPS),
        run(case.generated, CHECK_STEPS),
    );
    let diff = max_rel_diff(b.as_slice(), a.as_slice());
    assert!(
        diff <= AGREEMENT,
        "{}: generated and fused θ differ by {diff:.2e}",
        case.name
    );
    assert!(
        max_rel_diff(a.as_slice(), theta0) > 1e-3,
        "{}: θ did not move",
        case.name
    );

    let (mut fo, mut go) = ((case.fused)(), (case.generated)());
    let (mut oracle_f, mut oracle_g) = (q.oracle(), q.oracle());
    let mut tf = State::from_column_slice(theta0);
    let mut tg = State::from_column_slice(theta0);
    library_steps(fo.as_mut(), &mut oracle_f, &mut tf, 3);
    library_steps(go.as_mut(), &mut oracle_g, &mut tg, 3);
    let mut time_f = || {
        measure(k, &mut || {
            library_steps(fo.as_mut(), &mut oracle_f, black_box(&mut tf), k);
            black_box(&tf);
        })
    };
    let mut time_g = || {
        measure(k, &mut || {
            library_steps(go.as_mut(), &mut oracle_g, black_box(&mut tg), k);
            black_box(&tg);
        })
    };
    let (mut tfs, mut tgs, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (f, g) = if round % 2 == 0 {
            let f = time_f();
            (f, time_g())
        } else {
            let g = time_g();
            (time_f(), g)
        };
        tfs.push(f);
        tgs.push(g);
        r.push(g / f);
    }
    let ratio = median(&mut r); // sorts r
    Row {
        name: case.name,
        params: case.params,
        fused: median(&mut tfs),
        generated: median(&mut tgs),
        ratio,
        iqr: (quantile(&r, 0.25), quantile(&r, 0.75)),
        range: (r[0], r[r.len() - 1]),
        diff,
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("error: {msg}");
    eprintln!("usage: generated_ratios [--rounds N] [--steps K] [--case sgd|momentum|adam]");
    std::process::exit(2)
}

fn main() {
    let all = cases();
    let (mut rounds, mut k, mut only) = (101, 5, None::<String>);
    // `cargo bench` passes `--bench` to a harness-less bench: ignore it.
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = positive(args.next(), "--rounds", usage),
            "--steps" => k = positive(args.next(), "--steps", usage),
            "--case" => {
                let v = args.next().filter(|v| all.iter().any(|c| c.name == v));
                only = Some(v.unwrap_or_else(|| usage("--case needs sgd, momentum or adam")));
            }
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    let load = load_average().unwrap_or_else(|| "unknown".into());
    let q = Quadratic::new(P);
    let theta0 = q.theta0();
    let rows: Vec<Row> = all
        .iter()
        .filter(|c| only.as_deref().is_none_or(|n| n == c.name))
        .map(|c| time_case(c, &q, &theta0, rounds, k))
        .collect();
    println!(
        "generated vs fused optimizer steps at p = {P} ({rounds} alternating rounds of {k} steps; medians of wall time; ratio = generated / fused; load average at start {load})\n"
    );
    println!(
        "| method | scheme | fused | generated | ratio | ratio IQR | ratio range | |Δθ|/|θ| | ≤ {TARGET} |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|");
    for r in &rows {
        println!(
            "| {} | {} | {:.1} µs | {:.1} µs | {:.3} | {:.3} – {:.3} | {:.3} – {:.3} | {:.1e} | {} |",
            r.name,
            r.params,
            r.fused * 1e6,
            r.generated * 1e6,
            r.ratio,
            r.iqr.0,
            r.iqr.1,
            r.range.0,
            r.range.1,
            r.diff,
            if r.ratio <= TARGET { "met" } else { "not met" }
        );
    }
    println!(
        "\n|Δθ|/|θ|: relative max-norm difference of θ after {CHECK_STEPS} steps from the same θ₀ (required ≤ {AGREEMENT:.0e})."
    );
}
