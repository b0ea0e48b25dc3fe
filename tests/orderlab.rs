//! The order lab: expression problems, several methods per study, unstable
//! levels as data, compositions to any order and custom coefficient tables.

use std::process::Command;

use nalgebra::DMatrix;
use splitflow::convergence::ExclusionReason;
use splitflow::convergence::expr::ExprSystem;
use splitflow::convergence::spec::OrderSpec;
use splitflow::splitting::SplittingCoefficients;
use splitflow::{Error, FnSystem, ImplicitEuler, OdeSystem, Order, State, Steps, integrate};

use crate::common::{BIN, example_spec, least_squares_study};

fn pendulum(methods: &str, steps: &str) -> String {
    format!(
        r#"
[problem]
kind = "expr"
vars = ["q", "p"]
pieces = [["p", "0"], ["0", "-sin(q)"]]
y0 = [1.0, 0.0]
t_end = 2.0
{methods}
[study]
steps = {steps}
"#
    )
}

fn fitted(spec: &str) -> Vec<f64> {
    OrderSpec::from_toml(spec)
        .unwrap()
        .run_all()
        .unwrap()
        .iter()
        .map(|o| o.report.fitted_order)
        .collect()
}

#[test]
fn pendulum_strang_and_triple_jump6_orders() {
    // Each piece's field is constant along its own flow, so one Euler step
    // solves it exactly: the splittings show their own orders.
    let spec = pendulum(
        "[[method]]\nsplitting = \"strang\"\nsub_stepper = \"explicit_euler\"\n\
         [[method]]\nsplitting = \"triple_jump6\"\nsub_stepper = \"explicit_euler\"\n",
        "[8, 16, 32, 64]",
    );
    let p = fitted(&spec);
    assert!((p[0] - 2.0).abs() < 0.15, "strang {}", p[0]);
    assert!((p[1] - 6.0).abs() < 0.15, "triple_jump6 {}", p[1]);
}

#[test]
fn new_schemes_reach_their_orders_on_the_pendulum() {
    for (name, order, steps) in [
        ("suzuki6", 6.0, "[4, 8, 16, 32]"),
        ("blanes_moan4", 4.0, "[8, 16, 32, 64]"),
        ("triple_jump8", 8.0, "[8, 12, 16, 24]"),
        ("kahan_li6", 6.0, "[4, 8, 16, 32]"),
        ("kahan_li8", 8.0, "[4, 6, 8, 12]"),
    ] {
        let spec = pendulum(
            &format!("[method]\nsplitting = \"{name}\"\nsub_stepper = \"explicit_euler\"\n"),
            steps,
        );
        let p = fitted(&spec)[0];
        assert!((p - order).abs() < 0.2, "{name}: fitted {p}");
    }
}

#[test]
fn measured_order_conditions_of_the_schemes() {
    for (name, q) in [
        ("lie", 1.0),
        ("strang", 2.0),
        ("yoshida4", 4.0),
        ("suzuki4", 4.0),
        ("triple_jump6", 6.0),
        ("suzuki6", 6.0),
        ("triple_jump8", 8.0),
        ("blanes_moan4", 4.0),
        ("kahan_li6", 6.0),
        ("kahan_li8", 8.0),
    ] {
        let s = SplittingCoefficients::by_name(name, 2).unwrap();
        let m = s.measured_order();
        // Symmetric schemes have even order: the next term is h^(q+2).
        assert!(m > q - 0.3 && m < q + 1.3, "{name}: measured {m}");
    }
}

#[test]
fn expr_problem_matches_the_rust_builtin() {
    let expr = r#"
[problem]
kind = "expr"
vars = ["x", "y"]
params = { mu = 1.0 }
rhs = ["y", "mu*(1 - x^2)*y - x"]
y0 = [2.0, 0.0]
t_end = 1.0
[method]
stepper = "rk4"
[study]
steps = [8, 16, 32, 64]
"#;
    let builtin = r#"
[problem]
kind = "builtin"
name = "van_der_pol"
params = { mu = 1.0 }
[method]
stepper = "rk4"
[study]
steps = [8, 16, 32, 64]
"#;
    let (a, b) = (fitted(expr)[0], fitted(builtin)[0]);
    assert!((a - 4.0).abs() < 0.2, "expr {a}");
    // The same maths in another order of operations: errors agree far
    // beyond the fit's resolution.
    assert!((a - b).abs() < 1e-3, "expr {a} vs builtin {b}");
}

#[test]
fn implicit_euler_uses_the_symbolic_jacobian() {
    let vars = ["x".to_string(), "y".to_string()];
    let params = [("mu".to_string(), 100.0)];
    let expr = ExprSystem::new(
        "rhs",
        &vars,
        &params,
        &["y".into(), "mu*(1 - x^2)*y - x".into()],
    )
    .unwrap();
    assert!(expr.has_jacobian());
    let f = |_t: f64, z: &State, dz: &mut State| {
        dz[0] = z[1];
        dz[1] = 100.0 * (1.0 - z[0] * z[0]) * z[1] - z[0];
    };
    let exact_jac = FnSystem::new(2, f).with_jacobian(|_t, z: &State, j: &mut DMatrix<f64>| {
        j[(0, 0)] = 0.0;
        j[(0, 1)] = 1.0;
        j[(1, 0)] = -200.0 * z[0] * z[1] - 1.0;
        j[(1, 1)] = 100.0 * (1.0 - z[0] * z[0]);
    });
    let fd = FnSystem::new(2, f);
    let y0 = State::from_vec(vec![2.0, 0.0]);
    let run = |s: &dyn OdeSystem| {
        integrate(
            s,
            &mut ImplicitEuler::new(),
            0.0,
            1.0,
            &y0,
            &Steps::Fixed(200),
        )
        .unwrap()
    };
    let (e, j, d) = (run(&expr), run(&exact_jac), run(&fd));
    assert_eq!(e.stats.f_evals, j.stats.f_evals);
    // Negative control: finite differences cost extra evaluations.
    assert!(d.stats.f_evals > j.stats.f_evals);
    assert!((&e.y - &j.y).norm() < 1e-10 * j.y.norm());
    let spec = std::fs::read_to_string(example_spec("order_van_der_pol_stiff.toml")).unwrap();
    let p = fitted(&spec)[0];
    assert!((p - 1.0).abs() < 0.15, "implicit euler {p}");
}

#[test]
fn custom_tables_are_checked_on_load() {
    let strang = pendulum(
        "[method]\nsplitting = \"custom\"\ncoefficients = [[0.5, 0.5], [1.0, 0.0]]\norder = 2\nsub_stepper = \"explicit_euler\"\n",
        "[8, 16, 32, 64]",
    );
    let p = fitted(&strang)[0];
    assert!((p - 2.0).abs() < 0.15, "custom strang {p}");
    let lie_claimed_2 = pendulum(
        "[method]\nsplitting = \"custom\"\ncoefficients = [[1.0], [1.0]]\norder = 2\nsub_stepper = \"explicit_euler\"\n",
        "[8, 16, 32, 64]",
    );
    let e = OrderSpec::from_toml(&lie_claimed_2)
        .unwrap()
        .run_all()
        .unwrap_err();
    assert!(matches!(e, Error::Spec { .. }), "{e}");
    assert!(e.to_string().contains("order-2 conditions"), "{e}");
}

#[test]
fn hostile_specs_give_errors_or_unstable_levels() {
    let base = |rhs: &str, steps: &str| {
        format!(
            "[problem]\nkind = \"expr\"\nvars = [\"y\"]\nrhs = [{rhs}]\ny0 = [1.0]\nt_end = 1.0\n\
             [method]\nstepper = \"explicit_euler\"\n[study]\nsteps = {steps}\n"
        )
    };
    let e = OrderSpec::from_toml(&base("\"-z*y\"", "[8, 16]")).unwrap_err();
    match &e {
        Error::Spec { message, line } => {
            assert!(message.contains("unknown symbol `z`"), "{message}");
            assert_eq!(*line, Some(4));
        }
        other => panic!("{other}"),
    }
    let e = OrderSpec::from_toml(&base("\"-y\", \"y\"", "[8, 16]")).unwrap_err();
    assert!(e.to_string().contains("2 expression(s), expected 1"), "{e}");
    let e = OrderSpec::from_toml(&base("\"sin(y\"", "[8, 16]")).unwrap_err();
    assert!(e.to_string().contains("problem.rhs[0]"), "{e}");
    let e = OrderSpec::from_toml(&base("\"-y\"", "[8, 1000000000]"))
        .unwrap()
        .run()
        .unwrap_err();
    assert!(e.to_string().contains("cap"), "{e}");
    // A coarse explicit Euler step overshoots to y < -1, where sqrt(1 + y)
    // is NaN: that level is recorded as unstable and the study continues.
    let out = OrderSpec::from_toml(&base("\"-20*y/sqrt(1 + y)\"", "[4, 64, 128, 256, 512]"))
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(out.unstable.len(), 1);
    assert_eq!(out.unstable[0].steps, 4);
    assert!(out.unstable[0].t > 0.0 && out.unstable[0].t <= 1.0);
    assert!(!out.report.fit_levels.contains(&0));
    assert!(out.report.errors[0].is_nan());
}

fn cli_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn sample_pendulum_from_the_cli() {
    let j = cli_json(&["order", &example_spec("order_pendulum.toml"), "--json"]);
    let methods = j["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 2);
    for (m, order) in methods.iter().zip([2.0, 6.0]) {
        for key in [
            "method",
            "problem",
            "reference",
            "steps",
            "errors",
            "fitted_order",
        ] {
            assert!(m.get(key).is_some(), "missing {key} in {m}");
        }
        let p = m["fitted_order"].as_f64().unwrap();
        assert!((p - order).abs() < 0.15, "{}: {p}", m["method"]);
    }
}

#[test]
fn sample_stiff_van_der_pol_from_the_cli() {
    let j = cli_json(&[
        "order",
        &example_spec("order_van_der_pol_stiff.toml"),
        "--json",
    ]);
    assert!(
        j.get("methods").is_none(),
        "single [method] keeps its shape"
    );
    let p = j["fitted_order"].as_f64().unwrap();
    assert!((p - 1.0).abs() < 0.15, "{p}");
}

#[test]
fn sample_kepler_custom_table_from_the_cli() {
    let j = cli_json(&["order", &example_spec("order_kepler_custom.toml"), "--json"]);
    assert_eq!(j["method"], "custom triple jump (order 4)");
    let p = j["fitted_order"].as_f64().unwrap();
    assert!((p - 4.0).abs() < 0.15, "{p}");
}

#[test]
fn method_tables_keep_their_key_errors() {
    for methods in [
        "[method]\nstepr = \"rk4\"\n",
        "[[method]]\nstepr = \"rk4\"\n",
    ] {
        let spec = format!(
            "[problem]\nkind = \"builtin\"\nname = \"harmonic\"\n{methods}[study]\nsteps = [8, 16]\n"
        );
        match OrderSpec::from_toml(&spec).unwrap_err() {
            Error::Spec { message, line } => {
                assert!(message.contains("stepr"), "{message}");
                assert_eq!(line, Some(5), "{message}");
            }
            other => panic!("{other}"),
        }
    }
}

/// The harmonic oscillator written as expressions, with or without its
/// exact solution, studied with RK4 under the given `[study]` extras.
fn harmonic(with_exact: bool, study_extra: &str) -> String {
    let exact = if with_exact {
        "exact = [\"cos(t)\", \"-sin(t)\"]"
    } else {
        ""
    };
    format!(
        "[problem]\nkind = \"expr\"\nvars = [\"x\", \"v\"]\nrhs = [\"v\", \"-x\"]\n{exact}\n\
         y0 = [1.0, 0.0]\nt_end = 2.0\n[method]\nstepper = \"rk4\"\n\
         [study]\nsteps = [8, 16, 32, 64]\n{study_extra}\n"
    )
}

fn outcome(spec: &str) -> splitflow::convergence::spec::OrderOutcome {
    OrderSpec::from_toml(spec).unwrap().run().unwrap()
}

#[test]
fn error_norms_keep_the_order_and_their_identities() {
    let final2 = outcome(&harmonic(true, ""));
    // Every measure of an order-4 method shows order 4.
    for (error, norm) in [
        ("final", "2"),
        ("final", "inf"),
        ("max", "2"),
        ("max", "inf"),
        ("rms", "2"),
        ("rms", "inf"),
    ] {
        let o = outcome(&harmonic(
            true,
            &format!("error = \"{error}\"\nnorm = \"{norm}\""),
        ));
        assert!(
            (o.report.fitted_order - 4.0).abs() < 0.15,
            "{error} {norm}: {}",
            o.report.fitted_order
        );
        assert_eq!(o.error_measure.times.last(), Some(&2.0));
    }
    // Identity: max and rms over the single time t_end are the final-time
    // error, bitwise (the same vector norms, one term).
    for error in ["max", "rms"] {
        let one = outcome(&harmonic(
            true,
            &format!("error = \"{error}\"\ntimes = [2.0]"),
        ));
        assert_eq!(one.report.errors, final2.report.errors, "{error}");
    }
    // Norm identity per level: ‖e‖∞ ≤ ‖e‖₂ ≤ √2 ‖e‖∞.
    let inf = outcome(&harmonic(true, "norm = \"inf\""));
    for (e2, ei) in final2.report.errors.iter().zip(&inf.report.errors) {
        assert!(
            ei <= e2 && *e2 <= 2f64.sqrt() * ei * (1.0 + 1e-12),
            "{e2} {ei}"
        );
    }
    // Over 8 output times (the coarsest grid): rms ≤ max, and, as a
    // negative control, strictly below (the errors differ between times).
    let max = outcome(&harmonic(true, "error = \"max\""));
    let rms = outcome(&harmonic(true, "error = \"rms\""));
    assert_eq!(max.error_measure.times.len(), 8);
    for (m, r) in max.report.errors.iter().zip(&rms.report.errors) {
        assert!(r < m, "rms {r} vs max {m}");
    }
    // The max over times includes t_end.
    for (m, f) in max.report.errors.iter().zip(&final2.report.errors) {
        assert!(m >= f);
    }
}

#[test]
fn output_times_off_the_grid_are_spec_errors() {
    for (extra, needle) in [
        ("error = \"max\"\ntimes = [0.3, 2.0]", "not on the grid"),
        ("error = \"max\"\ntimes = [1.0, 1.5]", "last output time"),
        ("times = [1.0, 2.0]", "needs error"),
        ("norm = \"1\"", "norm"),
    ] {
        let e = OrderSpec::from_toml(&harmonic(true, extra))
            .and_then(|s| s.run())
            .unwrap_err();
        assert!(e.to_string().contains(needle), "{extra}: {e}");
        assert!(e.is_usage_error(), "{extra}: {e}");
    }
}

#[test]
fn independent_reference_matches_the_exact_solution() {
    use splitflow::convergence::measure::ErrorMeasure;
    use splitflow::convergence::reference::independent_reference;
    let exact = outcome(&harmonic(true, ""));
    let free = outcome(&harmonic(false, ""));
    assert_eq!(exact.reference, "exact solution");
    assert!(exact.reference_error.is_none());
    assert!(free.reference.contains("DOP853"), "{}", free.reference);
    let estimate = free.reference_error.unwrap();
    let smallest = free
        .report
        .errors
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    assert!(
        estimate > 0.0 && estimate < 1e-3 * smallest,
        "{estimate} vs {smallest}"
    );
    // The same order with either reference (errors ≥ 1e-8 against a
    // reference good to ~1e-14).
    assert!((free.report.fitted_order - exact.report.fitted_order).abs() < 1e-3);
    // The reference-free Richardson orders agree with the fit.
    assert_eq!(free.richardson_orders.len(), 2);
    for p in &free.richardson_orders {
        assert!((p - 4.0).abs() < 0.2, "richardson {p}");
    }
    // The stated estimate bounds the reference's true error (at a looser
    // tolerance, so that both sit well above round-off).
    let vars = ["x".to_string(), "v".to_string()];
    let sys = ExprSystem::new("rhs", &vars, &[], &["v".into(), "-x".into()]).unwrap();
    let y0 = State::from_vec(vec![1.0, 0.0]);
    let r = independent_reference(&sys, &y0, &ErrorMeasure::final_time(2.0), 1e-8).unwrap();
    let truth = State::from_vec(vec![2f64.cos(), -2f64.sin()]);
    let true_error = (&r.states[0] - &truth).norm();
    assert!(
        true_error <= r.estimated_error.unwrap(),
        "{true_error} vs {:?}",
        r.estimated_error
    );
}

#[test]
fn unstable_levels_are_excluded_as_unstable() {
    let spec = "[problem]\nkind = \"expr\"\nvars = [\"y\"]\nrhs = [\"-20*y/sqrt(1 + y)\"]\n\
                y0 = [1.0]\nt_end = 1.0\n[method]\nstepper = \"explicit_euler\"\n\
                [study]\nsteps = [4, 64, 128, 256, 512]\n";
    let out = outcome(spec);
    let level0: Vec<_> = out
        .report
        .excluded
        .iter()
        .filter(|e| e.level == 0)
        .collect();
    assert_eq!(level0.len(), 1);
    assert_eq!(level0[0].reason, ExclusionReason::Unstable);
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["excluded"][0]["reason"], "unstable");
    assert_eq!(json["unstable"][0]["steps"], 4);
    // Negative control: a stable study excludes nothing as unstable.
    let stable = outcome(&harmonic(true, ""));
    assert!(
        stable
            .report
            .excluded
            .iter()
            .all(|e| e.reason != ExclusionReason::Unstable)
    );
}

#[test]
fn effective_order_counts_sub_flows_that_are_not_exact() {
    // Both pieces are straight-line flows: explicit Euler solves them
    // exactly, and the composition's order is the effective order.
    let straight = pendulum(
        "[[method]]\nsplitting = \"strang\"\nsub_stepper = \"explicit_euler\"\n\
         [[method]]\nsplitting = \"triple_jump6\"\nsub_stepper = \"rk4\"\n\
         [[method]]\nsplitting = \"strang\"\nsub_stepper = \"implicit_euler\"\n",
        "[8, 16, 32, 64]",
    );
    let out = OrderSpec::from_toml(&straight).unwrap().run_all().unwrap();
    assert_eq!(out[0].report.effective_order, Some(Order::Finite(2)));
    assert_eq!(out[1].report.effective_order, Some(Order::Finite(6)));
    // Implicit Euler is not credited (its Newton solve is not exact).
    assert_eq!(out[2].report.effective_order, Some(Order::Finite(1)));
    // A damped kinetic piece (q' = p, p' = -0.5 p) is no straight line: the
    // Euler sub-flow limits Strang to order 1, as the fit shows.
    let damped = "[problem]\nkind = \"expr\"\nvars = [\"q\", \"p\"]\n\
                  pieces = [[\"p\", \"-0.5*p\"], [\"0\", \"-sin(q)\"]]\ny0 = [1.0, 0.0]\nt_end = 2.0\n\
                  [method]\nsplitting = \"strang\"\nsub_stepper = \"explicit_euler\"\n\
                  [study]\nsteps = [16, 32, 64, 128, 256]\n";
    let d = outcome(damped);
    assert_eq!(d.report.effective_order, Some(Order::Finite(1)));
    assert!(
        (d.report.fitted_order - 1.0).abs() < 0.15,
        "{}",
        d.report.fitted_order
    );
}

#[test]
fn work_precision_sample_from_the_cli() {
    let dir = std::env::temp_dir().join(format!("splitflow-wp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (csv, svg) = (dir.join("wp.csv"), dir.join("wp.svg"));
    let spec = example_spec("work_precision_pendulum.toml");
    let j = cli_json(&[
        "work-precision",
        &spec,
        "--json",
        "--csv",
        csv.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    let methods = j["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 4);
    for m in methods {
        let levels = m["levels"].as_array().unwrap();
        let evals: Vec<u64> = levels
            .iter()
            .map(|l| l["f_evals"].as_u64().unwrap())
            .collect();
        assert!(
            evals.windows(2).all(|w| w[1] > w[0]),
            "{}: {evals:?}",
            m["method"]
        );
        for l in levels {
            assert!(l.get("steps").is_some() != l.get("tol").is_some(), "{l}");
            assert!(l["seconds"].as_f64().unwrap() >= 0.0);
        }
        let errors: Vec<f64> = levels
            .iter()
            .map(|l| l["error"].as_f64().unwrap())
            .collect();
        assert!(
            errors.last() < errors.first(),
            "{}: {errors:?}",
            m["method"]
        );
    }
    // Fixed steps cost stages × steps; the diagram's slopes are the orders.
    let slope = |m: &serde_json::Value, a: usize, b: usize| {
        let l = m["levels"].as_array().unwrap();
        let (e, f) = (
            |k: usize| l[k]["error"].as_f64().unwrap(),
            |k: usize| l[k]["f_evals"].as_f64().unwrap(),
        );
        -(e(b) / e(a)).ln() / (f(b) / f(a)).ln()
    };
    assert_eq!(methods[1]["levels"][0]["f_evals"], 4 * 20);
    assert!((slope(&methods[0], 3, 4) - 1.0).abs() < 0.15);
    assert!((slope(&methods[1], 0, 4) - 4.0).abs() < 0.15);
    let table = std::fs::read_to_string(&csv).unwrap();
    assert!(table.starts_with("method,steps,tol,error,f_evals,seconds\n"));
    assert_eq!(table.lines().count(), 1 + 5 + 5 + 4 + 4);
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    std::fs::remove_dir_all(&dir).unwrap();
    // An order study refuses tolerance ladders; outputs are checked first.
    let e = OrderSpec::from_toml(&std::fs::read_to_string(&spec).unwrap())
        .unwrap()
        .run_all()
        .unwrap_err();
    assert!(e.to_string().contains("work-precision"), "{e}");
    let out = Command::new(BIN)
        .args(["work-precision", &spec, "--plot", "/nonexistent-dir/wp.svg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

fn epoch(order: &str, sub: &str) -> String {
    let seed = if order == "shuffled" {
        "seed = 3\n"
    } else {
        ""
    };
    format!(
        "[[method]]\nsplitting = \"lie\"\nsub_stepper = \"{sub}\"\nbatch_order = \"{order}\"\n{seed}"
    )
}

#[test]
fn sgd_epoch_orders_follow_the_batch_order() {
    // docs/theory.md, "SGD epochs as splittings": a one-way sweep leaves
    // ½h²Σ_{i<j}[fᵢ, fⱼ] per epoch (order 1); the palindrome cancels it
    // (order 2 with exact sub-flows); explicit-Euler sub-steps leave
    // −(h²/2)Σ fᵢ′fᵢ (−(h²/4)Σ fᵢ′fᵢ for the palindrome) in any order: order 1.
    let methods: String = [
        epoch("fixed", "exact"),
        epoch("reversed", "exact"),
        epoch("palindromic", "exact"),
        epoch("fixed", "explicit_euler"),
        epoch("palindromic", "explicit_euler"),
        epoch("shuffled", "explicit_euler"),
    ]
    .concat();
    let outcomes = OrderSpec::from_toml(&least_squares_study(&methods, "[8, 16, 32, 64, 128]"))
        .unwrap()
        .run_all()
        .unwrap();
    let p: Vec<f64> = outcomes.iter().map(|o| o.report.fitted_order).collect();
    for (name, p, theory) in [
        ("fixed, exact", p[0], 1.0),
        ("reversed, exact", p[1], 1.0),
        ("palindromic, exact", p[2], 2.0),
        ("fixed, SGD", p[3], 1.0),
        ("palindromic, SGD", p[4], 1.0),
        ("shuffled, SGD", p[5], 1.0),
    ] {
        assert!((p - theory).abs() < 0.2, "{name}: {p}, theory {theory}");
    }
    assert_eq!(outcomes[2].report.effective_order, Some(Order::Finite(2)));
    assert_eq!(outcomes[4].report.effective_order, Some(Order::Finite(1)));
    // The palindrome of Euler sub-steps cancels the commutator terms but
    // keeps the Euler terms (halved per visit, two visits): a smaller
    // constant than the fixed order's, the same order.
    let last = |k: usize| *outcomes[k].report.errors.last().unwrap();
    assert!(
        last(4) < last(3),
        "palindromic SGD {} vs fixed {}",
        last(4),
        last(3)
    );
}

#[test]
fn sgd_epoch_commuting_batches_are_exact() {
    // Negative control: batches whose Grams are diagonal and whose data share
    // one minimiser θ* = (1, 1) give commuting affine fields
    // ([fᵢ, fⱼ] = (AⱼAᵢ − AᵢAⱼ)θ + Aⱼcᵢ − Aᵢcⱼ = 0 with cᵢ = −Aᵢθ*): the Lie
    // epoch with exact sub-flows is the exact flow, every level's error is
    // on the round-off floor, and the study says so instead of fitting.
    let spec = r#"
[problem]
kind = "least_squares"
x = [[1.0, 0.0], [0.0, 2.0], [3.0, 0.0], [0.0, 0.5]]
targets = [1.0, 2.0, 3.0, 0.5]
batch_size = 2
y0 = [0.0, 4.0]
t_end = 1.0
[method]
splitting = "lie"
sub_stepper = "exact"
batch_order = "fixed"
[study]
steps = [4, 8, 16]
"#;
    let err = OrderSpec::from_toml(spec).unwrap().run().unwrap_err();
    assert!(err.to_string().contains("round-off"), "{err}");
    // The same data with non-commuting Grams (a coupling row) is first order.
    let coupled = spec
        .replace("[0.0, 0.5]]", "[1.0, 0.5]]")
        .replace("0.5]\nbatch", "1.5]\nbatch");
    let o = OrderSpec::from_toml(&coupled).unwrap().run().unwrap();
    assert!(
        (o.report.fitted_order - 1.0).abs() < 0.2,
        "{}",
        o.report.fitted_order
    );
}

#[test]
fn shuffled_exact_epochs_have_strong_order_three_halves() {
    // docs/theory.md: with exact sub-flows a shuffled epoch's local error is
    // h²·C_σ + O(h³) with E[C_σ] = 0 over the permutation σ; independent
    // epochs add these like a random walk, so the RMS error over seeds is
    // O(h²·√(T/h)) = O(h^{3/2}). With 64 seeds the RMS at each level has a
    // relative spread of about 0.35/√64 ≈ 4%, which moves a slope fitted over
    // a factor of 64 in h by a few hundredths: ±0.2 is a safe band.
    let steps = [16usize, 32, 64, 128, 256, 512, 1024];
    let seeds = 64;
    let mut sq = vec![0.0; steps.len()];
    for seed in 0..seeds {
        let method = format!(
            "[method]\nsplitting = \"lie\"\nsub_stepper = \"exact\"\nbatch_order = \"shuffled\"\nseed = {seed}\n"
        );
        let spec = least_squares_study(&method, &format!("{steps:?}"));
        let o = OrderSpec::from_toml(&spec).unwrap().run().unwrap();
        for (s, e) in sq.iter_mut().zip(&o.report.errors) {
            *s += e * e / seeds as f64;
        }
    }
    let x: Vec<f64> = steps.iter().map(|&n| (1.0 / n as f64).ln()).collect();
    let y: Vec<f64> = sq.iter().map(|s| 0.5 * s.ln()).collect();
    let (mx, my) = (
        x.iter().sum::<f64>() / x.len() as f64,
        y.iter().sum::<f64>() / y.len() as f64,
    );
    let slope = x
        .iter()
        .zip(&y)
        .map(|(a, b)| (a - mx) * (b - my))
        .sum::<f64>()
        / x.iter().map(|a| (a - mx).powi(2)).sum::<f64>();
    assert!((slope - 1.5).abs() < 0.2, "RMS order over seeds {slope}");
}

#[test]
fn sgd_epoch_sample_from_the_cli() {
    let j = cli_json(&["order", &example_spec("order_sgd_epoch.toml"), "--json"]);
    let methods = j["methods"].as_array().unwrap();
    let theory = [1.0, 1.0, 2.0, 1.0, 1.0, 1.0];
    assert_eq!(methods.len(), theory.len());
    for (m, order) in methods.iter().zip(theory) {
        let p = m["fitted_order"].as_f64().unwrap();
        assert!((p - order).abs() < 0.15, "{}: {p}", m["method"]);
    }
}

#[test]
fn least_squares_specs_name_the_bad_key_and_line() {
    let base = least_squares_study(&epoch("fixed", "exact"), "[8, 16]");
    for (from, to, key) in [
        ("batch_size = 10", "batch_size = 0", "batch_size"),
        ("batch_size = 10", "batch_size = 41", "batch_size"),
        ("batch_size = 10", "batch_sise = 10", "batch_sise"),
        ("cols = 4", "cols = 501", "cols"),
        ("noise = 0.5", "noise = -1.0", "noise"),
        ("t_end = 1.0", "t_end = 1.0\npieces = [[[1.0]]]", "pieces"),
        ("t_end = 1.0", "t_end = 1.0\ny0 = [1.0]", "y0"),
    ] {
        let spec = base.replace(from, to);
        let want = to.lines().last().unwrap();
        let line = spec.lines().position(|l| l == want).unwrap() + 1;
        match OrderSpec::from_toml(&spec) {
            Err(Error::Spec { message, line: l }) => {
                assert!(message.contains(key), "{to}: {message}");
                assert_eq!(l, Some(line), "{to}: {message}");
            }
            other => panic!("{to}: {other:?}"),
        }
    }
    // Method keys: a batch order needs a Lie splitting, a seed a shuffled order.
    for (methods, key) in [
        (
            "[method]\nsplitting = \"strang\"\nsub_stepper = \"exact\"\nbatch_order = \"fixed\"\n",
            "batch_order",
        ),
        (
            "[method]\nsplitting = \"lie\"\nsub_stepper = \"exact\"\nbatch_order = \"fixed\"\nseed = 1\n",
            "seed",
        ),
        (
            "[method]\nsplitting = \"lie\"\nsub_stepper = \"exact\"\nbatch_order = \"sideways\"\n",
            "batch_order",
        ),
    ] {
        let spec = least_squares_study(methods, "[8, 16]");
        let err = OrderSpec::from_toml(&spec).and_then(|s| s.run().map(|_| ()));
        match err {
            Err(Error::Spec { message, .. }) => assert!(message.contains(key), "{message}"),
            other => panic!("{methods}: {other:?}"),
        }
    }
}
