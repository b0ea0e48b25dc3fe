//! Thread safety: the types a user runs in parallel are `Send` (and `Sync`
//! where shared), checked at compile time; the same seeded work run on
//! several threads at once, sharing one problem, gives bit-identical results
//! to the sequential run.

use std::thread;

use nalgebra::DVector;
use splitflow::convergence::spec::OrderSpec;
use splitflow::flows::{
    AdaGradFlow, AdamFlow, GradientFlow, HeavyBall, LocalFlow, NewtonFlow, RmsPropFlow, local_flows,
};
use splitflow::objective::{FnFiniteSum, FnObjective, Quadratic, QuadraticSum, Rosenbrock};
use splitflow::optimizers::{
    AdaGrad, AdaMax, Adadelta, Adam, AdamW, AmsGrad, BatchOracle, FnOracle, GeneratedOptimizer,
    GradientDescent, Momentum, Nadam, Nag, Optimizer, OptimizerSpec, RmsProp, Sag,
    SplittingOptimizer, Ssa1, Ssa2, Svrg,
};
use splitflow::problems::least_squares::{LeastSquares, random_least_squares};
use splitflow::problems::logistic::Logistic;
use splitflow::problems::softmax::Softmax;
use splitflow::problems::tomography::TomographyProblem;
use splitflow::reduction::{ExactLeastSquaresFlow, ReducedLogisticFlow, ReducedSoftmaxFlow};
use splitflow::splitting::{ExactLinear, FlowMap, Integrated, PieceOrder, Splitting};
use splitflow::train::{Budget, Executor, Outcome};
use splitflow::{
    ConvergenceReport, ConvergenceStudy, ExplicitEuler, ExplicitRk, FnSystem, ImplicitEuler,
    Integrator, LinearSystem, OdeSystem, Rk4, Rk45, State, Stepper, Steps, integrate,
};

fn assert_send<T: Send>() {}
fn assert_send_sync<T: Send + Sync>() {}

/// A closure type usable as an `FnSystem` right-hand side.
type Rhs = fn(f64, &State, &mut State);

#[test]
fn main_types_are_send_and_shared_ones_sync() {
    // Systems and flows: shared by reference between threads.
    assert_send_sync::<FnSystem<Rhs>>();
    assert_send_sync::<LinearSystem>();
    assert_send_sync::<GradientFlow<Quadratic>>();
    assert_send_sync::<HeavyBall<LeastSquares>>();
    assert_send_sync::<NewtonFlow<Rosenbrock>>();
    assert_send_sync::<RmsPropFlow<Quadratic>>();
    assert_send_sync::<AdamFlow<Quadratic>>();
    assert_send_sync::<AdaGradFlow<Quadratic>>();
    assert_send_sync::<LocalFlow<&'static Logistic>>();
    // Problems (and every objective / finite sum, by the traits' bounds).
    assert_send_sync::<LeastSquares>();
    assert_send_sync::<Logistic>();
    assert_send_sync::<Softmax>();
    assert_send_sync::<TomographyProblem>();
    assert_send_sync::<QuadraticSum>();
    assert_send_sync::<FnObjective<fn(&State) -> f64, fn(&State, &mut State)>>();
    assert_send_sync::<FnFiniteSum<fn(usize, &State) -> f64, fn(usize, &State, &mut State)>>();
    assert_send_sync::<Box<dyn splitflow::objective::FiniteSum>>();
    assert_send_sync::<OptimizerSpec>();
    assert_send_sync::<OrderSpec>();
    assert_send_sync::<ConvergenceStudy>();
    assert_send_sync::<ConvergenceReport>();
    assert_send_sync::<Outcome>();
    // Steppers, integrators, flow maps, splittings: moved to a thread.
    assert_send::<Box<dyn Stepper>>();
    assert_send_sync::<ExplicitEuler>();
    assert_send_sync::<Rk4>();
    assert_send::<Rk45>();
    assert_send::<ExplicitRk>();
    assert_send::<ImplicitEuler>();
    assert_send::<Integrator>();
    assert_send::<Box<dyn FlowMap>>();
    assert_send::<Integrated<GradientFlow<Quadratic>>>();
    assert_send::<Integrated<FnSystem<Rhs>>>();
    assert_send::<ExactLinear>();
    assert_send::<Splitting<'static>>();
    assert_send::<ExactLeastSquaresFlow<'static>>();
    assert_send::<ReducedLogisticFlow<'static>>();
    assert_send::<ReducedSoftmaxFlow<'static>>();
    // Optimizers and oracles.
    assert_send::<Box<dyn Optimizer>>();
    assert_send::<SplittingOptimizer<'static>>();
    assert_send::<GeneratedOptimizer>();
    assert_send_sync::<GradientDescent>();
    assert_send_sync::<Momentum>();
    assert_send_sync::<Nag>();
    assert_send_sync::<Adam>();
    assert_send_sync::<AdamW>();
    assert_send_sync::<AdaMax>();
    assert_send_sync::<AmsGrad>();
    assert_send_sync::<Nadam>();
    assert_send_sync::<AdaGrad>();
    assert_send_sync::<RmsProp>();
    assert_send_sync::<Adadelta>();
    assert_send_sync::<Svrg>();
    assert_send_sync::<Sag>();
    assert_send_sync::<Ssa1>();
    assert_send_sync::<Ssa2>();
    assert_send::<FnOracle<fn(&State, &mut State)>>();
    assert_send::<BatchOracle<'static, LeastSquares>>();
}

/// A closure-backed system with captured data is `Send + Sync` when its
/// closure is (the Jacobian closure must be `Send + Sync`).
#[test]
fn fn_system_with_captured_data_crosses_threads() {
    // Captured heap data: the closure is Send + Sync because the Box is.
    let rate = Box::new([0.5, 2.0]);
    let sys = FnSystem::new(2, move |_t, y: &State, dy: &mut State| {
        dy[0] = -rate[0] * y[0];
        dy[1] = -rate[1] * y[1];
    })
    .with_jacobian(|_t, _y, j| {
        j.fill(0.0);
        j[(0, 0)] = -0.5;
        j[(1, 1)] = -2.0;
    });
    let y0 = DVector::from_vec(vec![1.0, 1.0]);
    let run = |sys: &dyn OdeSystem| {
        integrate(sys, &mut Rk4::new(), 0.0, 1.0, &y0, &Steps::Fixed(20))
            .unwrap()
            .y
    };
    let sequential = run(&sys);
    let parallel = thread::scope(|s| {
        let h: Vec<_> = (0..3).map(|_| s.spawn(|| run(&sys))).collect();
        h.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
    });
    for y in parallel {
        assert_eq!(bits(&y), bits(&sequential));
    }
}

fn bits(v: &State) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn problem() -> LeastSquares {
    let (x, y, _) = random_least_squares(400, 12, 0.1, 7).unwrap();
    LeastSquares::new(&x, &y, 25).unwrap()
}

/// A training job: an optimizer, or the splitting optimizer over local
/// flows of the shared problem (both built in the calling thread and moved
/// into the worker: they are `Send`).
enum Job<'a> {
    Optimizer(Box<dyn Optimizer>),
    Splitting(Box<SplittingOptimizer<'a>>),
}

impl Job<'_> {
    /// One seeded run on `sum`: final θ and the bits of the loss records.
    fn train(&mut self, sum: &LeastSquares, seed: u64) -> (State, Vec<u64>) {
        let mut theta = State::zeros(sum_dim(sum));
        let mut exec = Executor::new(Budget::Epochs(4)).order(PieceOrder::Shuffled { seed });
        let out = match self {
            Job::Optimizer(o) => exec.run_on_sum(o.as_mut(), sum, &mut theta),
            Job::Splitting(s) => exec.run(s.as_mut(), &mut theta, &mut |t: &State| {
                splitflow::objective::Objective::value(&splitflow::objective::Mean(sum), t)
            }),
        }
        .unwrap();
        (
            theta,
            out.records.iter().map(|r| r.loss.to_bits()).collect(),
        )
    }
}

fn sum_dim(sum: &LeastSquares) -> usize {
    use splitflow::objective::FiniteSum;
    sum.dim()
}

/// The optimizers of a run: textbook Adam, an ODE-form heavy ball (RK4) and
/// the splitting optimizer over local flows of the shared problem.
fn jobs(sum: &LeastSquares) -> Vec<Job<'_>> {
    let adam = OptimizerSpec::from_toml("[textbook]\nmethod = \"adam\"\nlr = 0.01\n")
        .unwrap()
        .build()
        .unwrap();
    let heavy_ball = OptimizerSpec::from_toml(
        "[flow]\nkind = \"heavy_ball\"\nfriction = 2.0\n\
         [discretization]\nscheme = \"rk4\"\nh = 0.05\n",
    )
    .unwrap()
    .build()
    .unwrap();
    let pieces: Vec<Box<dyn FlowMap + '_>> = local_flows(sum)
        .into_iter()
        .map(|f| -> Box<dyn FlowMap + '_> {
            Box::new(Integrated::new(
                f,
                Integrator::fixed(Rk4::new(), 2).unwrap(),
            ))
        })
        .collect();
    let split = SplittingOptimizer::new(pieces, 0.01, PieceOrder::Fixed).unwrap();
    vec![
        Job::Optimizer(adam),
        Job::Optimizer(heavy_ball),
        Job::Splitting(Box::new(split)),
        Job::Optimizer(Box::new(GradientDescent::sgd(0.02).unwrap())),
    ]
}

/// Training runs on four threads at once, every thread sharing one problem
/// (so its gradient workspace is used concurrently), each bit-identical to
/// the same run made sequentially.
#[test]
fn parallel_training_on_a_shared_problem_is_bit_identical() {
    let sum = problem();
    let sequential: Vec<_> = jobs(&sum)
        .iter_mut()
        .enumerate()
        .map(|(k, job)| job.train(&sum, 100 + k as u64))
        .collect();
    // Negative control: another seed gives other parameters, so equality
    // below is not vacuous.
    let other = jobs(&sum)[2].train(&sum, 999);
    assert_ne!(bits(&other.0), bits(&sequential[2].0));
    for _round in 0..2 {
        let parallel: Vec<_> = thread::scope(|s| {
            let handles: Vec<_> = jobs(&sum)
                .into_iter()
                .enumerate()
                .map(|(k, mut job)| {
                    let sum = &sum;
                    s.spawn(move || job.train(sum, 100 + k as u64))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (k, (p, q)) in parallel.iter().zip(&sequential).enumerate() {
            assert_eq!(bits(&p.0), bits(&q.0), "job {k}: θ");
            assert_eq!(p.1, q.1, "job {k}: loss records");
        }
    }
}

/// A flow (heavy ball over the shared problem, with its own workspace)
/// integrated from different starts on several threads sharing the flow.
#[test]
fn a_shared_flow_integrates_identically_on_several_threads() {
    let sum = problem();
    let hb = HeavyBall::new(
        splitflow::objective::Mean(&sum),
        splitflow::flows::Friction::Constant(1.5),
    )
    .unwrap();
    let start = |k: usize| State::from_fn(24, |i, _| ((i * 7 + k) % 5) as f64 - 2.0);
    let run = |k: usize| {
        integrate(
            &hb,
            &mut Rk4::new(),
            0.0,
            2.0,
            &start(k),
            &Steps::Fixed(200),
        )
        .unwrap()
        .y
    };
    let sequential: Vec<_> = (0..4).map(run).collect();
    assert_ne!(bits(&sequential[0]), bits(&sequential[1]));
    let parallel: Vec<_> = thread::scope(|s| {
        let h: Vec<_> = (0..4).map(|k| s.spawn(move || run(k))).collect();
        h.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (p, q) in parallel.iter().zip(&sequential) {
        assert_eq!(bits(p), bits(q));
    }
}

/// Order studies (spec files) run on several threads sharing the spec give
/// the same reports, to the bit, as the sequential run.
#[test]
fn parallel_order_studies_are_bit_identical() {
    let dir = format!("{}/examples/specs", env!("CARGO_MANIFEST_DIR"));
    let specs: Vec<OrderSpec> = ["order_strang.toml", "order_rk4.toml", "order_pendulum.toml"]
        .iter()
        .map(|f| OrderSpec::from_toml(&std::fs::read_to_string(format!("{dir}/{f}")).unwrap()))
        .collect::<Result<_, _>>()
        .unwrap();
    let json = |spec: &OrderSpec| serde_json::to_string(&spec.run_all().unwrap()).unwrap();
    let sequential: Vec<String> = specs.iter().map(json).collect();
    let parallel: Vec<String> = thread::scope(|s| {
        let h: Vec<_> = specs
            .iter()
            .chain(&specs)
            .map(|spec| s.spawn(move || json(spec)))
            .collect();
        h.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (k, p) in parallel.iter().enumerate() {
        // serde_json prints f64 in shortest round-trip form: equal text is
        // equal bits.
        assert_eq!(p, &sequential[k % specs.len()], "spec {k}");
    }
}

/// `factorize_all` runs over the batches in parallel (rayon): each batch is
/// factorized by one thread with sequential faer kernels, so the
/// factorizations (R and the eigenpairs; here b ≤ p, so the QR route stores
/// no Q), and every advance after them, are bitwise the same in a
/// one-thread and a two-thread pool.
#[cfg(feature = "rayon")]
#[test]
fn factorize_all_is_bitwise_independent_of_the_thread_count() {
    use splitflow::reduction::{FactorizationMethod, LocalScheme, factorize_all};
    let (x, y, _) = random_least_squares(600, 40, 0.01, 17).unwrap();
    let ls = LeastSquares::new(&x, &y, 20).unwrap();
    let bits = |m: &nalgebra::DMatrix<f64>| m.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for method in [FactorizationMethod::Qr, FactorizationMethod::Gram] {
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut flows = ExactLeastSquaresFlow::for_batches(&ls, method, LocalScheme::Exact);
            pool.install(|| factorize_all(&mut flows)).unwrap();
            let factors: Vec<Vec<Vec<u64>>> = flows
                .iter()
                .map(|f| {
                    let f = f.factorization().unwrap();
                    vec![
                        bits(&f.q),
                        bits(&f.r),
                        f.eigenvalues.iter().map(|v| v.to_bits()).collect(),
                        bits(&f.eigenvectors),
                    ]
                })
                .collect();
            let mut theta = State::zeros(40);
            for f in flows.iter_mut() {
                f.advance(0.0, 2.0, &mut theta).unwrap();
            }
            (
                factors,
                theta.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            )
        };
        let (one, two) = (run(1), run(2));
        assert!(one.0.len() == 30 && one.0[0][2].len() == 20);
        assert_eq!(one, two, "{method:?}");
    }
}
