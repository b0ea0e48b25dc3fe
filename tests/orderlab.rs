//! The order lab: expression problems, several methods per study, unstable
//! levels as data, compositions to any order and custom coefficient tables.

use std::process::Command;

use nalgebra::DMatrix;
use splitflow::convergence::expr::ExprSystem;
use splitflow::convergence::spec::OrderSpec;
use splitflow::splitting::SplittingCoefficients;
use splitflow::{Error, FnSystem, ImplicitEuler, OdeSystem, State, Steps, integrate};

const BIN: &str = env!("CARGO_BIN_EXE_splitflow");

fn example(name: &str) -> String {
    format!("{}/examples/specs/{name}", env!("CARGO_MANIFEST_DIR"))
}

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
    let spec = std::fs::read_to_string(example("order_van_der_pol_stiff.toml")).unwrap();
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
    let j = cli_json(&["order", &example("order_pendulum.toml"), "--json"]);
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
    let j = cli_json(&["order", &example("order_van_der_pol_stiff.toml"), "--json"]);
    assert!(
        j.get("methods").is_none(),
        "single [method] keeps its shape"
    );
    let p = j["fitted_order"].as_f64().unwrap();
    assert!((p - 1.0).abs() < 0.15, "{p}");
}

#[test]
fn sample_kepler_custom_table_from_the_cli() {
    let j = cli_json(&["order", &example("order_kepler_custom.toml"), "--json"]);
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
