//! Hostile order-lab specs (issue 12, "Done when"): runtime division by
//! zero is an unstable level with the time it blew up, a field that is not
//! finite at the start is a spec error, wrong function arity is a spec
//! error on its line, tolerances below double precision are refused.

use std::process::Command;

use splitflow::Error;
use splitflow::convergence::ExclusionReason;
use splitflow::convergence::spec::OrderSpec;

use crate::common::BIN;

/// `y' = rhs` (or the given pieces) from y(0) = 1 over [0, 1].
fn scalar(field: &str, method: &str, steps: &str) -> String {
    format!(
        "[problem]\nkind = \"expr\"\nvars = [\"y\"]\n{field}\ny0 = [1.0]\nt_end = 1.0\n\
         [method]\n{method}\n[study]\nsteps = {steps}\n"
    )
}

#[test]
fn division_by_zero_at_runtime_is_an_unstable_level_with_its_time() {
    // y' = −2y + (y − y)/y: the second term is 0 while y ≠ 0 and 0/0 = NaN
    // at y = 0. With 2 explicit-Euler steps (h = 1/2) the first step lands
    // on y = 1 − 2·(1/2) = 0 exactly, so the second step's state (t = 1) is
    // NaN; finer ladders never hit 0 ((1 − 2h)^k ≠ 0). Split into the two
    // terms, the Lie step's second piece divides at the end of the first
    // step (t = 1/2).
    let ladder = "[2, 16, 32, 64, 128]";
    for (field, method, t) in [
        (
            "rhs = [\"-2*y + (y - y)/y\"]",
            "stepper = \"explicit_euler\"",
            1.0,
        ),
        (
            "pieces = [[\"-2*y\"], [\"(y - y)/y\"]]",
            "splitting = \"lie\"\nsub_stepper = \"explicit_euler\"",
            0.5,
        ),
    ] {
        let o = OrderSpec::from_toml(&scalar(field, method, ladder))
            .unwrap()
            .run()
            .unwrap();
        assert_eq!(o.unstable.len(), 1, "{method}");
        assert_eq!((o.unstable[0].level, o.unstable[0].steps), (0, 2));
        assert_eq!(o.unstable[0].t, t, "{method}");
        assert!(o.report.errors[0].is_nan());
        assert_eq!(o.report.excluded[0].reason, ExclusionReason::Unstable);
        assert_eq!(o.report.fit_levels, vec![1, 2, 3, 4]);
        // The term is zero on the other levels: explicit Euler's order 1.
        assert!(
            (o.report.fitted_order - 1.0).abs() <= 0.15,
            "{method}: {}",
            o.report.fitted_order
        );
    }
}

#[test]
fn a_field_not_finite_at_the_start_is_a_spec_error() {
    let spec = scalar("rhs = [\"1/(y - 1)\"]", "stepper = \"rk4\"", "[8, 16]");
    let e = OrderSpec::from_toml(&spec).unwrap().run().unwrap_err();
    match &e {
        Error::Spec { message, .. } => {
            assert!(message.contains("not finite at t = 0"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // Through the binary: one error line, exit 2 (a spec error), no hang.
    let path = std::env::temp_dir().join(format!("splitflow-hostile-{}.toml", std::process::id()));
    std::fs::write(&path, &spec).unwrap();
    let out = Command::new(BIN)
        .args(["order", path.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error:") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn wrong_function_arity_is_a_spec_error_on_its_line() {
    for expr in ["sin(y, y)", "atan2(y)", "y(1)", "cos()"] {
        let spec = scalar(
            &format!("rhs = [\"{expr}\"]"),
            "stepper = \"rk4\"",
            "[8, 16]",
        );
        match OrderSpec::from_toml(&spec) {
            Err(Error::Spec { message, line }) => {
                assert!(message.contains("problem.rhs[0]"), "{expr}: {message}");
                assert_eq!(line, Some(4), "{expr}: {message}");
            }
            other => panic!("{expr}: {other:?}"),
        }
    }
}

#[test]
fn sub_steps_count_toward_the_per_level_cap() {
    // 10⁴ outer steps × 10⁵ sub-steps per piece is 10⁹ steps in one level:
    // refused before any run (the cap is 10⁸), naming sub_steps; the same
    // ladder with 10 sub-steps runs.
    let spec = |sub: usize| {
        scalar(
            "pieces = [[\"-y\"], [\"-y\"]]",
            &format!("splitting = \"strang\"\nsub_stepper = \"explicit_euler\"\nsub_steps = {sub}"),
            "[16, 10000]",
        )
    };
    let e = OrderSpec::from_toml(&spec(100_000))
        .unwrap()
        .run()
        .unwrap_err();
    assert!(
        e.to_string().contains("sub_steps") && e.to_string().contains("cap"),
        "{e}"
    );
    assert!(OrderSpec::from_toml(&spec(10)).unwrap().run().is_ok());
}

#[test]
fn tolerances_below_double_precision_are_refused_not_run() {
    let spec = scalar(
        "rhs = [\"-y\"]",
        "stepper = \"rk45\"\ntols = [1e-3, 1e-300]",
        "[8, 16]",
    );
    let e = OrderSpec::from_toml(&spec)
        .unwrap()
        .work_precision()
        .unwrap_err();
    assert!(e.to_string().contains("1e-300"), "{e}");
}
