//! The training executor: every termination reason on a small problem, the
//! roll-back of θ, the cadences, the batch order, and equality with a
//! hand-written SGD loop.

use std::sync::atomic::{AtomicUsize, Ordering};

use splitflow::error::NonFiniteKind;
use splitflow::objective::{FiniteSum, Mean, Objective};
use splitflow::optimizers::{Adam, AdamParameters, FnOracle, GradientDescent, Optimizer};
use splitflow::problems::least_squares::{LeastSquares, random_least_squares};
use splitflow::splitting::{PieceOrder, PieceSchedule};
use splitflow::train::{
    Budget, Cadence, Control, Divergence, DivergenceBound, Executor, Observation, Termination,
    TrainMethod,
};
use splitflow::{Error, State};

use crate::common::rel;

/// A consistent least-squares problem: n = 40 rows, p = 5, b = 10 (m = 4).
fn problem() -> LeastSquares {
    let (x, y, _) = random_least_squares(40, 5, 0.0, 0x7a1e).unwrap();
    LeastSquares::new(&x, &y, 10).unwrap()
}

/// SGD written out: θ ← θ − lr·∇fᵢ(θ) over the epochs of `order`.
fn hand_sgd(sum: &LeastSquares, lr: f64, order: PieceOrder, steps: usize) -> State {
    let mut theta = State::zeros(sum.dim());
    let mut g = State::zeros(sum.dim());
    let mut schedule = PieceSchedule::new(order, sum.num_batches());
    let mut k = 0;
    while k < steps {
        for &i in schedule.next_step() {
            if k == steps {
                break;
            }
            sum.batch_gradient(i, &theta, &mut g);
            theta.axpy(-lr, &g, 1.0);
            k += 1;
        }
    }
    theta
}

/// A finite sum whose gradient turns NaN at the `fail_at`-th gradient call.
struct NanAfter<'a> {
    sum: &'a LeastSquares,
    calls: AtomicUsize,
    fail_at: usize,
}

impl FiniteSum for NanAfter<'_> {
    fn dim(&self) -> usize {
        self.sum.dim()
    }
    fn num_batches(&self) -> usize {
        self.sum.num_batches()
    }
    fn batch_value(&self, i: usize, theta: &State) -> f64 {
        self.sum.batch_value(i, theta)
    }
    fn batch_gradient(&self, i: usize, theta: &State, g: &mut State) {
        let calls = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        self.sum.batch_gradient(i, theta, g);
        if calls == self.fail_at {
            g[1] = f64::NAN;
        }
    }
}

/// SGD as a hand-made [`TrainMethod`] that writes NaN into θ at step
/// `fail_at` (after updating part of it), and records the batches it is given.
struct Recording<'a> {
    sum: &'a LeastSquares,
    lr: f64,
    g: State,
    batches: Vec<usize>,
    fail_at: Option<usize>,
}

impl<'a> Recording<'a> {
    fn new(sum: &'a LeastSquares, lr: f64, fail_at: Option<usize>) -> Self {
        Recording {
            sum,
            lr,
            g: State::zeros(sum.dim()),
            batches: Vec::new(),
            fail_at,
        }
    }
}

impl TrainMethod for Recording<'_> {
    fn batches(&self) -> usize {
        self.sum.num_batches()
    }
    fn dim(&self) -> usize {
        self.sum.dim()
    }
    fn step(&mut self, batch: usize, theta: &mut State) -> splitflow::Result<()> {
        self.batches.push(batch);
        self.sum.batch_gradient(batch, theta, &mut self.g);
        theta.axpy(-self.lr, &self.g, 1.0);
        if Some(self.batches.len()) == self.fail_at {
            theta[2] = f64::NAN;
        }
        Ok(())
    }
}

fn iterations(out: &splitflow::train::Outcome) -> Vec<usize> {
    out.records.iter().map(|r| r.iteration).collect()
}

#[test]
fn target_reached_at_the_first_evaluation_below_it() {
    let sum = problem();
    let (lr, target) = (0.05, 1e-6);
    let mut theta = State::zeros(5);
    let mut sgd = GradientDescent::sgd(lr).unwrap();
    let out = Executor::new(Budget::Epochs(500))
        .evaluate(Cadence::Every(1))
        .target(target)
        .run_on_sum(&mut sgd, &sum, &mut theta)
        .unwrap();
    assert_eq!(out.termination, Termination::TargetReached);
    let k = out.iterations_to_target.expect("reached");
    assert_eq!(out.iterations, k);
    assert!(out.final_loss <= target);
    assert_eq!(out.final_loss, Mean(&sum).value(&theta));
    // The first step of the hand loop whose loss is at most the target.
    let first =
        (1..=k).find(|&j| Mean(&sum).value(&hand_sgd(&sum, lr, PieceOrder::Fixed, j)) <= target);
    assert_eq!(first, Some(k));
}

#[test]
fn budgets_end_the_run_with_their_own_reason() {
    let sum = problem();
    let mut sgd = GradientDescent::sgd(0.01).unwrap();
    let mut theta = State::zeros(5);
    let out = Executor::new(Budget::Iterations(7))
        .run_on_sum(&mut sgd, &sum, &mut theta)
        .unwrap();
    assert_eq!(out.termination, Termination::IterationBudget);
    assert_eq!(out.iterations, 7);
    // Once per epoch (m = 4) and at the last step.
    assert_eq!(iterations(&out), [0, 4, 7]);
    assert_eq!(out.iterations_to_target, None);

    let mut sgd = GradientDescent::sgd(0.01).unwrap();
    let mut theta = State::zeros(5);
    let out = Executor::new(Budget::Epochs(3))
        .run_on_sum(&mut sgd, &sum, &mut theta)
        .unwrap();
    assert_eq!(out.termination, Termination::EpochBudget);
    assert_eq!(out.iterations, 12);
    assert_eq!(iterations(&out), [0, 4, 8, 12]);
    assert_eq!(out.records[2].epoch, 2.0);
    assert_eq!(out.final_loss, out.records[3].loss);
}

#[test]
fn non_finite_gradient_rolls_theta_back_bitwise() {
    let sum = problem();
    let lr = 0.05;
    let fail_at = 6;
    let bad = NanAfter {
        sum: &sum,
        calls: AtomicUsize::new(0),
        fail_at,
    };
    let mut sgd = GradientDescent::sgd(lr).unwrap();
    let mut theta = State::zeros(5);
    let out = Executor::new(Budget::Epochs(10))
        .run_on_sum(&mut sgd, &bad, &mut theta)
        .unwrap();
    assert_eq!(
        out.termination,
        Termination::Diverged(Divergence::NonFiniteGradient { step: fail_at })
    );
    assert_eq!(out.iterations, fail_at - 1);
    // θ after step 5, bitwise: the same run stopped by the budget there.
    let mut sgd = GradientDescent::sgd(lr).unwrap();
    let mut clean = State::zeros(5);
    Executor::new(Budget::Iterations(fail_at - 1))
        .run_on_sum(&mut sgd, &sum, &mut clean)
        .unwrap();
    assert_eq!(theta, clean);
    // The final loss is that of the returned θ (step 5 is not an evaluation point).
    assert_eq!(iterations(&out), [0, 4]);
    assert_eq!(out.final_loss, Mean(&sum).value(&theta));
    assert_ne!(out.final_loss, out.initial_loss);
}

#[test]
fn non_finite_parameters_roll_theta_back_bitwise() {
    let sum = problem();
    let lr = 0.05;
    let mut method = Recording::new(&sum, lr, Some(7));
    let mut theta = State::zeros(5);
    let mut loss = |t: &State| Mean(&sum).value(t);
    let out = Executor::new(Budget::Epochs(10))
        .run(&mut method, &mut theta, &mut loss)
        .unwrap();
    assert_eq!(
        out.termination,
        Termination::Diverged(Divergence::NonFiniteParameters { step: 7 })
    );
    assert_eq!(out.iterations, 6);
    let mut clean_method = Recording::new(&sum, lr, None);
    let mut clean = State::zeros(5);
    Executor::new(Budget::Iterations(6))
        .run(&mut clean_method, &mut clean, &mut loss)
        .unwrap();
    assert_eq!(theta, clean, "θ after step 6, bitwise");
    assert!(theta.iter().all(|v| v.is_finite()));
    assert_eq!(out.final_loss, Mean(&sum).value(&theta));
}

/// An [`Optimizer`] on one batch whose gradient is the constant `g`
/// everywhere (θ ∈ ℝ¹): lets a test choose which quantity of a step overflows.
struct ConstantGradient<'a> {
    optimizer: &'a mut dyn Optimizer,
    g: f64,
}

impl TrainMethod for ConstantGradient<'_> {
    fn batches(&self) -> usize {
        1
    }
    fn dim(&self) -> usize {
        1
    }
    fn step(&mut self, _batch: usize, theta: &mut State) -> splitflow::Result<()> {
        let g = self.g;
        let mut oracle = FnOracle::new(1, move |_: &State, out: &mut State| out.fill(g));
        self.optimizer.step(theta, &mut oracle)
    }
}

/// Runs `optimizer` with the constant gradient `g` from θ = 1 and returns
/// the termination and the returned θ.
fn diverge_with(optimizer: &mut dyn Optimizer, g: f64) -> (Termination, State) {
    let mut method = ConstantGradient { optimizer, g };
    let mut theta = State::from_element(1, 1.0);
    let mut loss = |t: &State| t[0].abs();
    let out = Executor::new(Budget::Iterations(5))
        .divergence(DivergenceBound::none())
        .run(&mut method, &mut theta, &mut loss)
        .unwrap();
    (out.termination, theta)
}

/// The executor reports the quantity that overflowed: SGD with a finite
/// gradient whose step θ − lr·g overflows is non-finite *parameters*, Adam
/// whose second moment g² overflows (while θ stays finite: m/√v = 0) is a
/// non-finite *optimizer state*, and only a non-finite gradient is a
/// non-finite gradient (negative control). θ is rolled back in each case.
#[test]
fn divergence_names_the_quantity_that_overflowed() {
    let mut sgd = GradientDescent::sgd(1e300).unwrap();
    let (t, theta) = diverge_with(&mut sgd, 1e10);
    assert_eq!(
        t,
        Termination::Diverged(Divergence::NonFiniteParameters { step: 1 })
    );
    assert_eq!(theta[0], 1.0);

    let mut adam = Adam::textbook(AdamParameters::default()).unwrap();
    let (t, theta) = diverge_with(&mut adam, 1e200);
    assert_eq!(
        t,
        Termination::Diverged(Divergence::NonFiniteState { step: 1 })
    );
    assert_eq!(
        t.to_string(),
        "diverged: non-finite optimizer state after step 1"
    );
    assert_eq!(theta[0], 1.0);

    let mut sgd = GradientDescent::sgd(0.1).unwrap();
    let (t, theta) = diverge_with(&mut sgd, f64::INFINITY);
    assert_eq!(
        t,
        Termination::Diverged(Divergence::NonFiniteGradient { step: 1 })
    );
    assert_eq!(theta[0], 1.0);
    // A finite gradient with a harmless step: no divergence at all.
    let mut sgd = GradientDescent::sgd(0.1).unwrap();
    let (t, _) = diverge_with(&mut sgd, 1e10);
    assert_eq!(t, Termination::IterationBudget);
}

#[test]
fn loss_above_the_relative_bound_is_divergence() {
    let sum = problem();
    // lr far above 2/L: the loss grows geometrically but stays finite for a while.
    let mut sgd = GradientDescent::sgd(5.0).unwrap();
    let mut theta = State::zeros(5);
    let out = Executor::new(Budget::Epochs(50))
        .run_on_sum(&mut sgd, &sum, &mut theta)
        .unwrap();
    let Termination::Diverged(Divergence::LossAboveBound { step, loss, bound }) = out.termination
    else {
        panic!("expected a loss above the bound, got {}", out.termination);
    };
    assert_eq!(bound, 1e2 * out.initial_loss);
    assert!(loss > bound && loss.is_finite());
    assert_eq!(step, out.iterations);
    assert_eq!(out.final_loss, loss);
    assert_eq!(loss, Mean(&sum).value(&theta), "θ is the one evaluated");
    // Negative control: without a bound the same run is not stopped there.
    let mut sgd = GradientDescent::sgd(5.0).unwrap();
    let mut theta = State::zeros(5);
    let free = Executor::new(Budget::Epochs(50))
        .divergence(DivergenceBound::none())
        .run_on_sum(&mut sgd, &sum, &mut theta)
        .unwrap();
    assert!(free.iterations > out.iterations, "{}", free.termination);
    assert!(!matches!(
        free.termination,
        Termination::Diverged(Divergence::LossAboveBound { .. })
    ));
}

#[test]
fn an_observer_can_stop_the_run() {
    let sum = problem();
    let mut seen = Vec::new();
    let mut stop_at_5 = |now: &Observation<'_>| {
        seen.push(now.iteration);
        if now.iteration >= 5 {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    let mut sgd = GradientDescent::sgd(0.01).unwrap();
    let mut theta = State::zeros(5);
    let out = Executor::new(Budget::Epochs(10))
        .observe(Cadence::Every(1), &mut stop_at_5)
        .run_on_sum(&mut sgd, &sum, &mut theta)
        .unwrap();
    assert_eq!(out.termination, Termination::StoppedByObserver);
    assert_eq!(out.iterations, 5);
    assert_eq!(seen, [0, 1, 2, 3, 4, 5]);
    assert_eq!(iterations(&out), [0, 4]);
    assert_eq!(out.final_loss, Mean(&sum).value(&theta));
}

#[test]
fn records_and_observations_follow_their_cadences() {
    let sum = problem();
    let mut seen = Vec::new();
    let mut log = |now: &Observation<'_>| {
        seen.push((now.iteration, now.latest.iteration));
        Control::Continue
    };
    let mut sgd = GradientDescent::sgd(0.01).unwrap();
    let mut theta = State::zeros(5);
    let out = Executor::new(Budget::Iterations(10))
        .evaluate(Cadence::Every(3))
        .observe(Cadence::EveryEpoch, &mut log)
        .run_on_sum(&mut sgd, &sum, &mut theta)
        .unwrap();
    assert_eq!(iterations(&out), [0, 3, 6, 9, 10]);
    // The observer sees epochs 0, 1, 2 and the end, with the latest evaluation.
    assert_eq!(seen, [(0, 0), (4, 3), (8, 6), (10, 10)]);
    let sparse = Cadence::Sparse { exact_until: 5 };
    let due: Vec<usize> = (0..=260).filter(|&k| sparse.is_due(k, 4)).collect();
    assert_eq!(&due[..6], [0, 1, 2, 3, 4, 5]);
    assert!(due.contains(&200) && due.contains(&202) && !due.contains(&201));
}

#[test]
fn shuffled_order_is_a_seeded_permutation_per_epoch() {
    let sum = problem();
    let m = sum.num_batches();
    let batches = |seed: u64| {
        let mut method = Recording::new(&sum, 0.01, None);
        let mut theta = State::zeros(5);
        Executor::new(Budget::Epochs(6))
            .order(PieceOrder::Shuffled { seed })
            .run(&mut method, &mut theta, &mut |t: &State| {
                Mean(&sum).value(t)
            })
            .unwrap();
        method.batches
    };
    let a = batches(3);
    assert_eq!(a, batches(3), "reproducible by seed");
    assert_ne!(a, batches(4), "another seed, another order");
    let epochs: Vec<&[usize]> = a.chunks(m).collect();
    for e in &epochs {
        let mut sorted = e.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..m).collect::<Vec<_>>(), "a permutation");
    }
    assert!(epochs.windows(2).any(|w| w[0] != w[1]), "fresh per epoch");
}

#[test]
fn executor_sgd_equals_a_hand_written_loop() {
    let sum = problem();
    let (lr, epochs) = (0.05, 25);
    let order = PieceOrder::Shuffled { seed: 11 };
    let mut sgd = GradientDescent::sgd(lr).unwrap();
    let mut theta = State::zeros(5);
    let out = Executor::new(Budget::Epochs(epochs))
        .order(order)
        .run_on_sum(&mut sgd, &sum, &mut theta)
        .unwrap();
    assert_eq!(out.iterations, epochs * 4);
    let hand = hand_sgd(&sum, lr, order, epochs * 4);
    let e = rel(&theta, &hand);
    assert!(e <= 1e-12, "rel {e:e}");
    // Negative control: another batch order gives other parameters.
    let other = hand_sgd(&sum, lr, PieceOrder::Shuffled { seed: 12 }, epochs * 4);
    assert!(rel(&other, &hand) > 1e-6);
}

#[test]
fn sparse_cadence_reports_the_dense_iteration_or_within_one_percent() {
    // A slowly converging run: the dense cadence finds the first crossing k.
    let sum = problem();
    let (lr, target) = (0.002, 1e-8);
    let crossing = |cadence: Cadence| {
        let mut sgd = GradientDescent::sgd(lr).unwrap();
        let mut theta = State::zeros(5);
        Executor::new(Budget::Iterations(1_000_000))
            .evaluate(cadence)
            .target(target)
            .run_on_sum(&mut sgd, &sum, &mut theta)
            .unwrap()
            .iterations_to_target
            .expect("converges")
    };
    let dense = crossing(Cadence::Every(1));
    assert!(
        dense > 2000,
        "the test needs a crossing well past 1000: {dense}"
    );
    // Exact while the crossing is within exact_until.
    assert_eq!(crossing(Cadence::Sparse { exact_until: dense }), dense);
    // After it: the first due iteration at or after the crossing.
    let sparse = Cadence::Sparse { exact_until: 1000 };
    let k = crossing(sparse);
    let first_due = (dense..).find(|&j| sparse.is_due(j, 4)).unwrap();
    assert_eq!(k, first_due);
    assert!(k < dense + dense / 100 + 1);
}

#[test]
fn bad_configurations_are_errors() {
    let sum = problem();
    let run = |ex: Executor<'_>, theta: &mut State| {
        let mut sgd = GradientDescent::sgd(0.01).unwrap();
        let mut ex = ex;
        ex.run_on_sum(&mut sgd, &sum, theta)
    };
    let zeros = || State::zeros(5);
    let invalid = |r: splitflow::Result<_>| matches!(r, Err(Error::InvalidParameter { .. }));
    assert!(invalid(run(
        Executor::new(Budget::Iterations(0)),
        &mut zeros()
    )));
    assert!(invalid(run(Executor::new(Budget::Epochs(0)), &mut zeros())));
    assert!(invalid(run(
        Executor::new(Budget::Epochs(1)).evaluate(Cadence::Every(0)),
        &mut zeros()
    )));
    assert!(invalid(run(
        Executor::new(Budget::Epochs(1)).target(f64::NAN),
        &mut zeros()
    )));
    assert!(invalid(run(
        Executor::new(Budget::Epochs(1)).divergence(DivergenceBound::absolute(f64::NAN)),
        &mut zeros()
    )));
    assert!(matches!(
        run(Executor::new(Budget::Epochs(1)), &mut State::zeros(4)),
        Err(Error::DimensionMismatch { .. })
    ));
    let mut nan = zeros();
    nan[0] = f64::NAN;
    match run(Executor::new(Budget::Epochs(1)), &mut nan) {
        Err(ref e @ Error::NonFinite { t, kind, .. }) => {
            assert_eq!((t, kind), (None, NonFiniteKind::Parameters));
            assert_eq!(e.to_string(), "non-finite value in initial parameters");
        }
        other => panic!("{other:?}"),
    }
}

/// `train` with SGD at lr = 1e6 on digits01 takes the loss from ln 2 to
/// hundreds within the first epoch: reported as diverged (loss above 10² ×
/// the initial loss), with the loss of the returned parameters.
#[test]
fn cli_reports_a_loss_blow_up_as_divergence() {
    let dir = std::env::temp_dir().join(format!("splitflow-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("sgd-1e6.toml");
    std::fs::write(&spec, "[textbook]\nmethod = \"sgd\"\nlr = 1e6\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_splitflow"))
        .args([
            "train",
            spec.to_str().unwrap(),
            "--data",
            "digits01",
            "--json",
        ])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["diverged"], true, "{j}");
    assert_eq!(j["termination"]["kind"], "diverged");
    assert_eq!(j["termination"]["reason"], "loss_above_bound");
    let initial = j["initial_loss"].as_f64().unwrap();
    let final_loss = j["final_loss"].as_f64().unwrap();
    assert!((initial - 2f64.ln()).abs() < 1e-15);
    assert!(final_loss > 1e2 * initial);
    assert_eq!(j["history"]["diverged"], true);
}
