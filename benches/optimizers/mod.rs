//! Optimizer benchmarks: one step of every optimizer at p = 100 000 on a
//! diagonal quadratic, the library's `Optimizer::step` (`library`) against a
//! hand-written textbook loop on `Vec<f64>` with the same gradient code
//! (`textbook_loop`). One criterion group per optimizer,
//! `optimizer_step_1e5_<name>`; the problem, the library constructors and the
//! textbook loops are in `cases.rs`, shared with `benches/ratios/optimizer_ratios.rs`.

mod cases;

use std::hint::black_box;

use criterion::Criterion;

use cases::{P, Quadratic, cases, library_steps, textbook_steps};
use splitflow::State;

/// Each iteration is one step, continuing from the previous iteration's state
/// (both sides keep their own θ and optimizer state).
pub fn optimizer_steps(c: &mut Criterion) {
    let q = Quadratic::new(P);
    let theta0 = q.theta0();
    for case in cases() {
        let mut g = c.benchmark_group(format!("optimizer_step_1e5_{}", case.name));
        let mut opt = (case.library)();
        let mut oracle = q.oracle();
        let mut theta = State::from_column_slice(&theta0);
        g.bench_function("library", |b| {
            b.iter(|| {
                library_steps(opt.as_mut(), &mut oracle, black_box(&mut theta), 1);
                black_box(&theta);
            })
        });
        let mut tb = (case.textbook)(P);
        let mut hand = theta0.clone();
        g.bench_function("textbook_loop", |b| {
            b.iter(|| {
                textbook_steps(tb.as_mut(), black_box(&q), black_box(&mut hand), 1);
                black_box(&hand);
            })
        });
        g.finish();
    }
}
