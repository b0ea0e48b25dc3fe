//! The `splitflow order` command: JSON output and the one-line user-error
//! contract (exit code 2, one `error: …` line on stderr, nothing on stdout).

use crate::common::{
    ORDER_STUDY_KEYS, TempPath, assert_user_error, json_numbers, run_splitflow as run,
};

/// Runs `splitflow order SPEC --json` on `text` and parses stdout.
fn order_json(tag: &str, text: &str) -> serde_json::Value {
    let spec = TempPath::file(&format!("{tag}.toml"), text);
    let out = run(&["order", spec.0.to_str().unwrap(), "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{tag}: exit {:?}, stderr {stderr}",
        out.status
    );
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 stdout");
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{tag}: not one JSON object ({e}):\n{stdout}"))
}

/// Checks the keys promised by the CLI contract and their consistency, and
/// that the fitted order is within ±0.15 of `expected`.
fn check_report(tag: &str, j: &serde_json::Value, expected: f64) {
    for key in ORDER_STUDY_KEYS.iter().chain(&["excluded"]) {
        assert!(j.get(key).is_some(), "{tag}: key `{key}` missing in {j}");
    }
    let steps = json_numbers(&j["steps"]);
    let h = json_numbers(&j["h"]);
    let errors = json_numbers(&j["errors"]);
    let local = json_numbers(&j["local_orders"]);
    assert_eq!(h.len(), steps.len(), "{tag}");
    assert_eq!(errors.len(), steps.len(), "{tag}");
    assert_eq!(local.len(), steps.len() - 1, "{tag}");
    assert!(j["excluded"].is_array(), "{tag}");
    assert!(
        errors.iter().all(|e| e.is_finite() && *e > 0.0),
        "{tag}: {errors:?}"
    );
    // Errors fall as the steps are refined.
    assert!(errors.windows(2).all(|w| w[1] < w[0]), "{tag}: {errors:?}");
    assert_eq!(j["effective_order"].as_f64(), Some(expected), "{tag}");
    let p = j["fitted_order"]
        .as_f64()
        .expect("fitted_order is a number");
    eprintln!("{tag}: fitted order {p:.3}, local orders {local:.3?}");
    assert!((p - expected).abs() <= 0.15, "{tag}: fitted order {p}");
}

#[test]
fn order_json_linear_rk4() {
    let j = order_json(
        "linear-rk4",
        r#"
[problem]
kind = "linear"
pieces = [ [[-1.0, 2.0], [0.0, -3.0]] ]
y0 = [1.0, 0.5]
t_end = 1.0

[method]
stepper = "rk4"

[study]
steps = [8, 16, 32, 64, 128]
"#,
    );
    check_report("linear rk4", &j, 4.0);
    assert_eq!(
        json_numbers(&j["steps"]),
        vec![8.0, 16.0, 32.0, 64.0, 128.0]
    );
    let h = json_numbers(&j["h"]);
    assert_eq!(h[0], 1.0 / 8.0);
    assert!(j["reference"].as_str().unwrap().contains("exact"));
}

/// Lorenz from (1, 1, 1) has a fast transient: over [0, 1] RK4's h⁴ and h⁵
/// error terms nearly cancel and the pairwise order wanders between 3.6 and
/// 5.4 down to h ≈ 3·10⁻⁴; over [0, 0.5] the asymptotic regime starts at
/// h ≈ 10⁻².
#[test]
fn order_json_builtin_lorenz_rk4() {
    let j = order_json(
        "lorenz-rk4",
        r#"
[problem]
kind = "builtin"
name = "lorenz"
t_end = 0.5

[method]
stepper = "rk4"

[study]
steps = [64, 128, 256, 512, 1024]
"#,
    );
    check_report("lorenz rk4", &j, 4.0);
    assert!(
        j["reference"].as_str().unwrap().contains("DOP853"),
        "{}",
        j["reference"]
    );
}

#[test]
fn order_json_builtin_van_der_pol_explicit_euler() {
    let j = order_json(
        "vdp-euler",
        r#"
[problem]
kind = "builtin"
name = "van_der_pol"

[method]
stepper = "explicit_euler"

[study]
steps = [100, 200, 400, 800, 1600]
"#,
    );
    check_report("van der Pol explicit Euler", &j, 1.0);
}

/// Runs `order` on a spec text and checks the user-error contract.
fn assert_spec_error(tag: &str, text: &str, needle: &str) {
    let spec = TempPath::file(&format!("{tag}.toml"), text);
    for json in [false, true] {
        let mut args = vec!["order", spec.0.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        assert_user_error(tag, &run(&args), needle);
    }
}

const LINEAR_HEAD: &str = r#"
[problem]
kind = "linear"
pieces = [ [[-1.0, 2.0], [0.0, -3.0]] ]
t_end = 1.0
"#;

/// A linear problem with `y0` and the given `[method]` and `[study]` bodies.
fn linear_spec(y0: &str, method: &str, steps: &str) -> String {
    format!("{LINEAR_HEAD}y0 = {y0}\n\n[method]\n{method}\n\n[study]\nsteps = {steps}\n")
}

#[test]
fn missing_spec_file() {
    let path = std::env::temp_dir().join(format!(
        "splitflow-cli-test-{}-does-not-exist.toml",
        std::process::id()
    ));
    let out = run(&["order", path.to_str().unwrap(), "--json"]);
    assert_user_error("missing file", &out, "does-not-exist.toml");
}

#[test]
fn malformed_toml() {
    assert_spec_error("malformed", "[problem\nkind = \"linear\"\n", "line 1");
    assert_spec_error(
        "malformed-value",
        &linear_spec("[1.0, 0.5", "stepper = \"rk4\"", "[8, 16, 32]"),
        "line",
    );
}

#[test]
fn unknown_stepper() {
    assert_spec_error(
        "unknown-stepper",
        &linear_spec("[1.0, 0.5]", "stepper = \"rk5\"", "[8, 16, 32]"),
        "rk5",
    );
}

#[test]
fn unknown_key() {
    assert_spec_error(
        "unknown-key",
        &linear_spec(
            "[1.0, 0.5]",
            "stepper = \"rk4\"\nsubsteps = 3",
            "[8, 16, 32]",
        ),
        "substeps",
    );
}

#[test]
fn wrong_length_y0() {
    assert_spec_error(
        "wrong-y0",
        &linear_spec("[1.0, 0.5, 2.0]", "stepper = \"rk4\"", "[8, 16, 32]"),
        "expected 3",
    );
}

#[test]
fn nan_in_spec() {
    assert_spec_error(
        "nan-y0",
        &linear_spec("[nan, 0.5]", "stepper = \"rk4\"", "[8, 16, 32]"),
        "y0",
    );
    let text = r#"
[problem]
kind = "linear"
pieces = [ [[-1.0, inf], [0.0, -3.0]] ]
y0 = [1.0, 0.5]
t_end = 1.0
[method]
stepper = "rk4"
[study]
steps = [8, 16, 32]
"#;
    assert_spec_error("inf-matrix", text, "pieces");
    let text = r#"
[problem]
kind = "builtin"
name = "lorenz"
params = { sigma = nan }
[method]
stepper = "rk4"
[study]
steps = [8, 16, 32]
"#;
    assert_spec_error("nan-param", text, "sigma");
    assert_spec_error(
        "nan-t-end",
        &linear_spec("[1.0, 0.5]", "stepper = \"rk4\"", "[8, 16, 32]")
            .replace("t_end = 1.0", "t_end = nan"),
        "t_end",
    );
}

#[test]
fn zero_steps() {
    assert_spec_error(
        "zero-steps",
        &linear_spec("[1.0, 0.5]", "stepper = \"rk4\"", "[0, 8, 16, 32]"),
        "steps",
    );
}

#[test]
fn non_increasing_steps() {
    for (tag, steps) in [
        ("equal-steps", "[8, 8, 16]"),
        ("decreasing-steps", "[32, 16, 8]"),
        ("single-step", "[8]"),
    ] {
        assert_spec_error(
            tag,
            &linear_spec("[1.0, 0.5]", "stepper = \"rk4\"", steps),
            "steps",
        );
    }
}

#[test]
fn unknown_builtin() {
    let text = r#"
[problem]
kind = "builtin"
name = "lorentz"
[method]
stepper = "rk4"
[study]
steps = [8, 16, 32]
"#;
    assert_spec_error("unknown-builtin", text, "lorentz");
}

#[test]
fn unknown_cli_flag_and_command() {
    let spec = TempPath::file(
        "flag.toml",
        &linear_spec("[1.0, 0.5]", "stepper = \"rk4\"", "[8, 16, 32]"),
    );
    let out = run(&["order", spec.0.to_str().unwrap(), "--frobnicate"]);
    assert_user_error("unknown flag", &out, "--frobnicate");
    let out = run(&["integrate-everything"]);
    assert_user_error("unknown command", &out, "integrate-everything");
    let out = run(&["order"]);
    assert_eq!(out.status.code(), Some(2), "missing argument");
    // The same spec without the bad flag is fine: the flag caused the error.
    let out = run(&["order", spec.0.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("fitted order"));
}

#[test]
fn order_strang_splitting_spec() {
    let j = order_json(
        "strang",
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/specs/order_strang.toml"
        ))
        .expect("read the sample spec"),
    );
    check_report("strang", &j, 2.0);
    assert_eq!(j["effective_order"].as_u64(), Some(2));
}

#[test]
fn tomography_json_summary() {
    let out = run(&[
        "tomography",
        "--geometry",
        "fanlinear",
        "--n",
        "50",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(j["rows"].as_u64(), Some(12780));
    assert_eq!(j["cols"].as_u64(), Some(2500));
    assert!((j["phantom_sum"].as_f64().unwrap() - 302.4).abs() < 1e-9);
    assert_eq!(j["phantom_nnz"].as_u64(), Some(1018));
    for key in ["nnz", "zero_rows", "sum", "frobenius", "rhs_norm"] {
        assert!(j[key].as_f64().is_some_and(|v| v > 0.0), "{key}");
    }
    assert_user_error(
        "geometry",
        &run(&["tomography", "--geometry", "cone"]),
        "cone",
    );
    assert_user_error("n = 0", &run(&["tomography", "--n", "0"]), "");
}

#[test]
fn paper_quick_logistic_json_and_csv() {
    let dir = std::env::temp_dir().join(format!("splitflow-paper-test-{}", std::process::id()));
    let out = run(&[
        "paper",
        "--experiment",
        "logistic",
        "--quick",
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let experiments = j["experiments"].as_array().expect("experiments");
    assert_eq!(experiments.len(), 2);
    for e in experiments {
        let name = e["name"].as_str().unwrap();
        assert!(e["target"].as_f64().is_some());
        let runs = e["runs"].as_array().unwrap();
        assert!(!runs.is_empty());
        for r in runs {
            assert!(["sgd", "splitting"].contains(&r["method"].as_str().unwrap()));
            assert!(r["alpha"].as_f64().unwrap() > 0.0);
            let converged = r["converged"].as_bool().unwrap();
            assert_eq!(
                converged,
                r["iterations"].is_u64(),
                "{name}: iterations iff converged"
            );
            assert!(r["diverged"].is_boolean() && r["seconds"].as_f64().unwrap() >= 0.0);
        }
        let csv = std::fs::read_to_string(dir.join(format!("{}.csv", name.replace('/', "-"))))
            .expect("CSV written");
        assert_eq!(csv.lines().count(), runs.len() + 1);
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_user_error(
        "experiment",
        &run(&["paper", "--experiment", "bogus"]),
        "bogus",
    );
}
