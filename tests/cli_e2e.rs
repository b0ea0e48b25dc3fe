//! End-to-end runs of the built `splitflow` binary against DESIGN.md's CLI
//! contract: `order`, `tomography`, `explain`, `train` (compared with SGD and
//! momentum re-implemented here), `paper`, plots, and the user-error contract
//! (exit code 2, one `error: …` line on stderr, nothing on stdout, no panic).
//!
//! Every run prints its wall time to stderr (`--nocapture` shows them).

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use approx::{abs_diff_eq, assert_abs_diff_eq, relative_eq};
use nalgebra::{DMatrix, DVector};
use serde_json::Value;
use splitflow::problems::data;

use crate::common::{
    BIN, ORDER_STUDY_KEYS, TOMOGRAPHY_SUMMARY_KEYS, TempPath, assert_runtime_error,
    assert_user_error, compare_trajectories, example_spec, json_numbers,
};

/// Runs the binary and reports its wall time.
fn run(args: &[&str]) -> Output {
    let t = Instant::now();
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run splitflow");
    eprintln!(
        "[{:7.3} s] splitflow {}",
        t.elapsed().as_secs_f64(),
        args.join(" ")
    );
    out
}

/// Runs a command that must succeed, with nothing on stderr.
fn run_ok(args: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{args:?}: {:?}, stderr {stderr}",
        out.status
    );
    assert!(stderr.is_empty(), "{args:?}: stderr {stderr}");
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

/// Runs a `--json` command: stdout must be exactly one JSON object.
fn run_json(args: &[&str]) -> Value {
    let stdout = run_ok(args);
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON value ({e}):\n{stdout}"));
    assert!(v.is_object(), "{args:?}: not an object: {stdout}");
    v
}

fn has_keys(tag: &str, v: &Value, keys: &[&str]) {
    for key in keys {
        assert!(v.get(key).is_some(), "{tag}: key `{key}` missing in {v}");
    }
}

/// The file is an SVG document of some substance.
fn assert_svg(path: &Path) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: not written ({e})", path.display()));
    assert!(text.contains("<svg"), "{}: not SVG", path.display());
    assert!(
        text.trim_end().ends_with("</svg>"),
        "{}: truncated",
        path.display()
    );
    assert!(
        text.len() > 1000,
        "{}: {} bytes",
        path.display(),
        text.len()
    );
}

const HEAVY_BALL: &str = "[flow]\nkind = \"heavy_ball\"\nfriction = 2.0\n[discretization]\nscheme = \"exact_friction\"\nh = 0.1\n";
const SGD: &str = "[textbook]\nmethod = \"sgd\"\nlr = 0.5\n";

// ---------------------------------------------------------------- order

#[test]
fn order_strang_json_and_plot() {
    let spec = example_spec("order_strang.toml");
    let j = run_json(&["order", &spec, "--json"]);
    has_keys("order", &j, &ORDER_STUDY_KEYS);
    has_keys("order", &j, &["excluded"]);
    let steps = json_numbers(&j["steps"]);
    assert_eq!(steps, vec![8.0, 16.0, 32.0, 64.0, 128.0]);
    let h = json_numbers(&j["h"]);
    for (n, h) in steps.iter().zip(&h) {
        assert!(
            abs_diff_eq!(h * n, 1.0, epsilon = 1e-15),
            "h = t_end / steps"
        );
    }
    let errors = json_numbers(&j["errors"]);
    assert_eq!(errors.len(), steps.len());
    assert!(errors.iter().all(|e| e.is_finite() && *e > 0.0));
    assert!(errors.windows(2).all(|w| w[1] < w[0]), "{errors:?}");
    assert_eq!(json_numbers(&j["local_orders"]).len(), steps.len() - 1);
    assert!(j["excluded"].is_array());
    let p = j["fitted_order"].as_f64().expect("fitted_order");
    assert!(
        abs_diff_eq!(p, 2.0, epsilon = 0.2),
        "Strang: fitted order {p}"
    );
    assert_eq!(j["effective_order"].as_f64(), Some(2.0));

    let plot = TempPath::new("order.svg");
    let stdout = run_ok(&["order", &spec, "--plot", plot.arg()]);
    assert!(stdout.contains(plot.arg()), "{stdout}");
    assert_svg(&plot.0);
    // --plot and --json together: still one JSON object, and the plot.
    let plot2 = TempPath::new("order-json.svg");
    let j2 = run_json(&["order", &spec, "--json", "--plot", plot2.arg()]);
    assert_eq!(j2["errors"], j["errors"]);
    assert_svg(&plot2.0);
}

// ----------------------------------------------------------- tomography

#[test]
fn tomography_fanlinear_json() {
    let j = run_json(&["tomography", "--geometry", "fanlinear", "--json"]);
    has_keys("tomography", &j, &TOMOGRAPHY_SUMMARY_KEYS);
    assert_eq!(j["rows"].as_u64(), Some(12780));
    assert_eq!(j["cols"].as_u64(), Some(2500));
    let nnz = j["nnz"].as_u64().unwrap();
    assert!(nnz > 0 && nnz < 12780 * 2500);
    assert!(j["zero_rows"].as_u64().unwrap() < 12780);
    for key in ["sum", "frobenius", "phantom_sum", "rhs_norm"] {
        assert!(j[key].as_f64().is_some_and(|v| v > 0.0), "{key}");
    }
    assert!(j["phantom_nnz"].as_u64().unwrap() <= 2500);
}

// -------------------------------------------------------------- explain

#[test]
fn explain_heavy_ball_exact_friction_json() {
    let spec = TempPath::file("heavy-ball.toml", HEAVY_BALL);
    let j = run_json(&["explain", spec.arg(), "--json"]);
    has_keys("explain", &j, &["textbook", "flow", "discretization"]);
    assert_eq!(
        j["summary"].as_str(),
        Some("momentum: lr = 0.01, momentum = 0.8187")
    );
    let t = &j["textbook"];
    assert_eq!(t["method"].as_str(), Some("momentum"));
    assert_abs_diff_eq!(t["lr"].as_f64().unwrap(), 0.01, epsilon = 1e-15);
    assert_abs_diff_eq!(
        t["momentum"].as_f64().unwrap(),
        (-0.2f64).exp(),
        epsilon = 1e-15
    );
    assert_eq!(j["flow"]["kind"].as_str(), Some("heavy_ball"));
    assert_eq!(j["flow"]["friction"].as_f64(), Some(2.0));
    assert_eq!(
        j["discretization"]["scheme"].as_str(),
        Some("exact_friction")
    );
    assert_eq!(j["discretization"]["h"].as_f64(), Some(0.1));

    // The textbook form, as a JSON spec file, reads back as the same ODE.
    let textbook = TempPath::file(
        "textbook.json",
        &serde_json::json!({ "textbook": t }).to_string(),
    );
    let back = run_json(&["explain", textbook.arg(), "--json"]);
    assert_eq!(back["summary"], j["summary"]);
    assert_eq!(
        back["discretization"]["scheme"],
        j["discretization"]["scheme"]
    );
    assert_abs_diff_eq!(
        back["flow"]["friction"].as_f64().unwrap(),
        2.0,
        epsilon = 1e-12
    );
    assert_abs_diff_eq!(
        back["discretization"]["h"].as_f64().unwrap(),
        0.1,
        epsilon = 1e-13
    );

    // Without --json: the summary and both forms as text.
    let text = run_ok(&["explain", spec.arg()]);
    assert!(text.starts_with("momentum: lr = 0.01, momentum = 0.8187\n"));
    assert!(text.contains("[textbook]") && text.contains("[flow]"));
}

// ---------------------------------------------------------------- train

/// `--dump-params` output: one number per line.
fn read_params(path: &Path) -> Vec<f64> {
    std::fs::read_to_string(path)
        .expect("parameters written")
        .lines()
        .map(|l| {
            l.trim()
                .parse::<f64>()
                .unwrap_or_else(|e| panic!("{l:?}: {e}"))
        })
        .collect()
}

/// Asserts `max |got − expected| ≤ 1e-12 · max |expected|` (a parameter
/// vector against its reference, with [`compare_trajectories`] on one step)
/// and prints the observed relative difference.
fn assert_params_match(tag: &str, got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len(), "{tag}: parameter count");
    assert!(
        expected.iter().any(|v| *v != 0.0),
        "{tag}: the reference moved"
    );
    let g = compare_trajectories(&[got], &[expected], 1e-12, 0.0);
    eprintln!("{tag}: max relative difference {:.2e}", g.worst);
    assert!(g.agree, "{tag}: {:e}", g.worst);
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Consecutive batches `[start, end)` of `batch` rows (a last partial one kept).
fn batches(n: usize, batch: usize) -> Vec<(usize, usize)> {
    (0..n)
        .step_by(batch)
        .map(|s| (s, (s + batch).min(n)))
        .collect()
}

/// SGD on the mean logistic loss from θ = 0, batches in file order:
/// θ ← θ − lr·(1/b)·Xᵢᵀ(σ(Xᵢθ) − yᵢ).
fn reference_logistic_sgd(
    x: &DMatrix<f64>,
    y: &DVector<f64>,
    batch: usize,
    lr: f64,
    epochs: usize,
) -> Vec<f64> {
    let p = x.ncols();
    let mut theta = vec![0.0; p];
    for _ in 0..epochs {
        for (start, end) in batches(x.nrows(), batch) {
            let mut g = vec![0.0; p];
            for r in start..end {
                let z: f64 = (0..p).map(|j| x[(r, j)] * theta[j]).sum();
                let e = sigmoid(z) - y[r];
                for (j, gj) in g.iter_mut().enumerate() {
                    *gj += x[(r, j)] * e;
                }
            }
            let b = (end - start) as f64;
            for (t, gj) in theta.iter_mut().zip(&g) {
                *t -= lr * gj / b;
            }
        }
    }
    theta
}

/// Mean cross-entropy of the batches' means (the reported loss).
fn logistic_loss(x: &DMatrix<f64>, y: &DVector<f64>, batch: usize, theta: &[f64]) -> f64 {
    let bs = batches(x.nrows(), batch);
    bs.iter()
        .map(|&(start, end)| {
            (start..end)
                .map(|r| {
                    let z: f64 = (0..x.ncols()).map(|j| x[(r, j)] * theta[j]).sum();
                    let softplus = if z > 0.0 {
                        z + (-z).exp().ln_1p()
                    } else {
                        z.exp().ln_1p()
                    };
                    softplus - y[r] * z
                })
                .sum::<f64>()
                / (end - start) as f64
        })
        .sum::<f64>()
        / bs.len() as f64
}

/// Polyak momentum (PyTorch's form `v ← μv + g`, `θ ← θ − lr·v`, from
/// v = 0, θ = 0) on softmax regression, Θ ∈ ℝ^{p×c} column-major:
/// g = (1/b)·Xᵢᵀ(softmax(XᵢΘ) − Yᵢ).
fn reference_softmax_momentum(
    x: &DMatrix<f64>,
    labels: &[usize],
    classes: usize,
    batch: usize,
    lr: f64,
    momentum: f64,
    epochs: usize,
) -> Vec<f64> {
    let (p, c) = (x.ncols(), classes);
    let mut theta = vec![0.0; p * c];
    let mut v = vec![0.0; p * c];
    for _ in 0..epochs {
        for (start, end) in batches(x.nrows(), batch) {
            let mut g = vec![0.0; p * c];
            for r in start..end {
                let z: Vec<f64> = (0..c)
                    .map(|k| (0..p).map(|j| x[(r, j)] * theta[j + p * k]).sum())
                    .collect();
                let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = z.iter().map(|zk| (zk - max).exp()).collect();
                let s: f64 = e.iter().sum();
                for k in 0..c {
                    let residual = e[k] / s - if labels[r] == k { 1.0 } else { 0.0 };
                    for j in 0..p {
                        g[j + p * k] += x[(r, j)] * residual;
                    }
                }
            }
            let b = (end - start) as f64;
            for ((t, vi), gi) in theta.iter_mut().zip(v.iter_mut()).zip(&g) {
                *vi = momentum * *vi + gi / b;
                *t -= lr * *vi;
            }
        }
    }
    theta
}

/// `splitflow train SPEC --data DATA --order fixed` followed by `rest`.
fn train_fixed<'a>(spec: &'a str, data: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    [
        &["train", spec, "--data", data, "--order", "fixed"][..],
        rest,
    ]
    .concat()
}

/// The `--json` run compared with the references: zero initialisation, three
/// epochs in fixed order with batches of 20, parameters dumped to `params`.
fn train_reference_run(spec: &str, data: &str, params: &str) -> Value {
    run_json(&train_fixed(
        spec,
        data,
        &[
            "--init",
            "zeros",
            "--epochs",
            "3",
            "--batch-size",
            "20",
            "--dump-params",
            params,
            "--json",
        ],
    ))
}

#[test]
fn train_sgd_logistic_digits01_matches_reference() {
    let spec = TempPath::file("sgd.toml", SGD);
    let params = TempPath::new("sgd-params.txt");
    let j = train_reference_run(spec.arg(), "digits01", params.arg());
    let d = data::named("digits01").unwrap();
    let y = data::binary_targets(&d).unwrap();
    let expected = reference_logistic_sgd(&d.x, &y, 20, 0.5, 3);
    let got = read_params(&params.0);
    assert_params_match("logistic SGD", &got, &expected);

    assert_eq!(j["model"].as_str(), Some("logistic"));
    assert_eq!(j["parameters"].as_u64(), Some(d.p() as u64));
    let m = d.n().div_ceil(20);
    assert_eq!(j["batches"].as_u64(), Some(m as u64));
    assert_eq!(j["iterations"].as_u64(), Some(3 * m as u64));
    assert_eq!(j["diverged"].as_bool(), Some(false));
    let loss = logistic_loss(&d.x, &y, 20, &expected);
    let reported = j["final_loss"].as_f64().unwrap();
    assert!(
        relative_eq!(reported, loss, epsilon = 0.0, max_relative = 1e-12),
        "{reported} vs {loss}"
    );
    assert_abs_diff_eq!(
        j["initial_loss"].as_f64().unwrap(),
        2f64.ln(),
        epsilon = 1e-15
    );
}

#[test]
fn train_momentum_softmax_digits_matches_reference() {
    // Textbook momentum, and the heavy-ball ODE with exact friction (whose
    // Polyak parameters are lr = h², momentum = e^{−γh}).
    let (gamma, h) = (1.0f64, 0.3f64);
    let cases = [
        (
            "textbook momentum",
            "[textbook]\nmethod = \"momentum\"\nlr = 0.1\nmomentum = 0.9\n".to_string(),
            0.1,
            0.9,
        ),
        (
            "heavy ball exact friction",
            format!(
                "[flow]\nkind = \"heavy_ball\"\nfriction = {gamma:?}\n[discretization]\nscheme = \"exact_friction\"\nh = {h:?}\n"
            ),
            h * h,
            (-gamma * h).exp(),
        ),
    ];
    let d = data::named("digits").unwrap();
    for (tag, text, lr, momentum) in cases {
        let spec = TempPath::file("momentum.toml", &text);
        let params = TempPath::new("momentum-params.txt");
        let j = train_reference_run(spec.arg(), "digits", params.arg());
        let expected = reference_softmax_momentum(&d.x, &d.labels, d.classes, 20, lr, momentum, 3);
        let got = read_params(&params.0);
        assert_params_match(&format!("{tag}: softmax momentum"), &got, &expected);
        assert_eq!(j["model"].as_str(), Some("softmax"), "{tag}");
        assert_eq!(j["optimizer"].as_str(), Some("momentum"), "{tag}");
        assert_eq!(j["parameters"].as_u64(), Some(640), "{tag}");
        assert_eq!(j["batches"].as_u64(), Some(90), "{tag}: 89 of 20 + 1 of 17");
        assert_eq!(j["iterations"].as_u64(), Some(270), "{tag}");
        assert!(
            j["final_loss"].as_f64().unwrap() < j["initial_loss"].as_f64().unwrap(),
            "{tag}"
        );
    }
}

#[test]
fn train_plot_writes_svg() {
    let spec = TempPath::file("plot-sgd.toml", SGD);
    let plot = TempPath::new("train.svg");
    let stdout = run_ok(&train_fixed(
        spec.arg(),
        "digits01",
        &["--epochs", "4", "--batch-size", "40", "--plot", plot.arg()],
    ));
    assert!(stdout.contains(plot.arg()), "{stdout}");
    assert_svg(&plot.0);
}

// ---------------------------------------------------------------- paper

/// Checks `paper --json` output against DESIGN.md and the files in `dir`;
/// returns the experiment names.
fn check_paper(j: &Value, dir: &Path) -> Vec<String> {
    let experiments = j["experiments"].as_array().expect("experiments");
    assert!(!experiments.is_empty());
    let mut names = Vec::new();
    for e in experiments {
        let name = e["name"].as_str().expect("name").to_string();
        assert!(e["target"].as_f64().is_some(), "{name}: target");
        let runs = e["runs"].as_array().expect("runs");
        assert!(!runs.is_empty(), "{name}");
        for r in runs {
            has_keys(
                &name,
                r,
                &[
                    "method",
                    "alpha",
                    "converged",
                    "diverged",
                    "iterations",
                    "seconds",
                ],
            );
            assert!(["sgd", "splitting"].contains(&r["method"].as_str().unwrap()));
            assert!(r["alpha"].as_f64().unwrap() > 0.0, "{name}");
            let converged = r["converged"].as_bool().expect("converged");
            let diverged = r["diverged"].as_bool().expect("diverged");
            assert!(!(converged && diverged), "{name}: {r}");
            // iterations: n when converged, null otherwise.
            assert_eq!(r["iterations"].is_u64(), converged, "{name}: {r}");
            assert!(r["iterations"].is_u64() || r["iterations"].is_null());
            assert!(r["seconds"].as_f64().unwrap() >= 0.0);
        }
        for method in ["sgd", "splitting"] {
            assert!(
                runs.iter().any(|r| r["method"] == method),
                "{name}: no {method} run"
            );
        }
        let stem = name.replace('/', "-");
        let csv = std::fs::read_to_string(dir.join(format!("{stem}.csv")))
            .unwrap_or_else(|e| panic!("{name}: CSV ({e})"));
        assert_eq!(csv.lines().count(), runs.len() + 1, "{name}: header + runs");
        for suffix in ["iterations", "curves"] {
            assert_svg(&dir.join(format!("{stem}-{suffix}.svg")));
        }
        // The data behind each plot, beside it as CSV.
        let iterations = std::fs::read_to_string(dir.join(format!("{stem}-iterations.csv")))
            .unwrap_or_else(|e| panic!("{name}: iterations CSV ({e})"));
        assert_eq!(
            iterations, csv,
            "{name}: the iterations plot shows the runs table"
        );
        let curves = std::fs::read_to_string(dir.join(format!("{stem}-curves.csv")))
            .unwrap_or_else(|e| panic!("{name}: curves CSV ({e})"));
        let mut lines = curves.lines();
        assert!(
            lines.next().unwrap().starts_with("series,iteration,"),
            "{name}: {curves}"
        );
        assert!(
            lines.next().is_some(),
            "{name}: no points in the curves CSV"
        );
        names.push(name);
    }
    names
}

fn sgd_diverged(e: &Value) -> bool {
    e["runs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["method"] == "sgd" && r["diverged"] == true)
}

#[test]
fn paper_quick_tomography_json_csv_svg() {
    let dir = TempPath::new("paper-tomography");
    let t = Instant::now();
    let j = run_json(&[
        "paper",
        "--quick",
        "--experiment",
        "tomography",
        "--out",
        dir.arg(),
        "--json",
    ]);
    eprintln!(
        "paper --quick --experiment tomography: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(check_paper(&j, &dir.0), vec!["tomography".to_string()]);
    assert!(
        sgd_diverged(&j["experiments"][0]),
        "the quick grid has an α where SGD diverges"
    );
}

/// The whole `paper --quick`: 4–11 s on this 2-core machine (depending on
/// load), well under a minute, so it runs by default.
#[test]
fn paper_quick_all_experiments() {
    let dir = TempPath::new("paper-all");
    let t = Instant::now();
    let j = run_json(&["paper", "--quick", "--out", dir.arg(), "--json"]);
    let seconds = t.elapsed().as_secs_f64();
    eprintln!("paper --quick (all experiments): {seconds:.2} s");
    let names = check_paper(&j, &dir.0);
    for prefix in ["lls", "tomography", "logistic", "softmax"] {
        assert!(
            names.iter().any(|n| n.starts_with(prefix)),
            "{prefix} missing in {names:?}"
        );
    }
    let experiments = j["experiments"].as_array().unwrap();
    for e in experiments {
        if ["lls", "tomography"].contains(&e["name"].as_str().unwrap()) {
            assert!(sgd_diverged(e), "{}: no divergent SGD run", e["name"]);
        }
    }
}

// --------------------------------------------------------- user errors

#[test]
fn error_unknown_experiment() {
    let dir = TempPath::new("paper-bogus");
    let out = run(&[
        "paper",
        "--experiment",
        "bogus",
        "--quick",
        "--out",
        dir.arg(),
        "--json",
    ]);
    assert_user_error("unknown experiment", &out, "bogus");
}

#[test]
fn error_unknown_data_name() {
    let spec = TempPath::file("data.toml", SGD);
    let out = run(&["train", spec.arg(), "--data", "digits2", "--json"]);
    assert_user_error("unknown data", &out, "digits2");
}

#[test]
fn error_missing_spec_file() {
    let missing = TempPath::new("does-not-exist.toml");
    for cmd in ["explain", "order"] {
        assert_user_error(
            &format!("missing spec ({cmd})"),
            &run(&[cmd, missing.arg(), "--json"]),
            "does-not-exist.toml",
        );
    }
    assert_user_error(
        "missing spec (train)",
        &run(&["train", missing.arg(), "--data", "digits01"]),
        "does-not-exist.toml",
    );
}

#[test]
fn error_malformed_toml() {
    let spec = TempPath::file("malformed.toml", "[textbook\nmethod = \"sgd\"\nlr = 0.5\n");
    assert_user_error(
        "malformed (explain)",
        &run(&["explain", spec.arg(), "--json"]),
        "line 1",
    );
    assert_user_error(
        "malformed (train)",
        &run(&["train", spec.arg(), "--data", "digits01", "--json"]),
        "line 1",
    );
    let order = TempPath::file(
        "malformed-order.toml",
        "[problem]\nkind = \"linear\"\ny0 = [1.0, 0.5\n",
    );
    assert_user_error(
        "malformed (order)",
        &run(&["order", order.arg(), "--json"]),
        "line",
    );
}

#[test]
fn error_order_spec_wrong_length_vector() {
    let spec = TempPath::file(
        "wrong-length.toml",
        "[problem]\nkind = \"linear\"\npieces = [ [[-1.0, 2.0], [0.0, -3.0]] ]\ny0 = [1.0, 0.5, 2.0]\nt_end = 1.0\n[method]\nstepper = \"rk4\"\n[study]\nsteps = [8, 16, 32]\n",
    );
    assert_user_error(
        "wrong-length y0",
        &run(&["order", spec.arg(), "--json"]),
        "expected 3",
    );
}

#[test]
fn error_nan_in_optimizer_spec() {
    let spec = TempPath::file(
        "nan.toml",
        "[flow]\nkind = \"heavy_ball\"\nfriction = nan\n[discretization]\nscheme = \"exact_friction\"\nh = 0.1\n",
    );
    assert_user_error(
        "NaN friction (explain)",
        &run(&["explain", spec.arg(), "--json"]),
        "flow.friction",
    );
    assert_user_error(
        "NaN friction (train)",
        &run(&["train", spec.arg(), "--data", "digits01", "--json"]),
        "flow.friction",
    );
    let lr = TempPath::file("nan-lr.toml", "[textbook]\nmethod = \"adam\"\nlr = nan\n");
    assert_user_error(
        "NaN lr (train)",
        &run(&["train", lr.arg(), "--data", "digits01"]),
        "textbook.lr",
    );
}

#[test]
fn error_zero_steps_in_order_spec() {
    let spec = TempPath::file(
        "zero-steps.toml",
        "[problem]\nkind = \"linear\"\npieces = [ [[-1.0, 2.0], [0.0, -3.0]] ]\ny0 = [1.0, 0.5]\nt_end = 1.0\n[method]\nstepper = \"rk4\"\n[study]\nsteps = [0, 16, 32]\n",
    );
    assert_user_error(
        "zero steps",
        &run(&["order", spec.arg(), "--json"]),
        "steps",
    );
}

#[test]
fn error_negative_learning_rate() {
    let momentum = TempPath::file(
        "negative-lr.toml",
        "[textbook]\nmethod = \"momentum\"\nlr = -0.1\nmomentum = 0.9\n",
    );
    assert_user_error(
        "negative lr (momentum)",
        &run(&["train", momentum.arg(), "--data", "digits01", "--json"]),
        "textbook.lr",
    );
    // sgd's message names `textbook.h` (reported gap); the contract holds.
    let sgd = TempPath::file(
        "negative-lr-sgd.toml",
        "[textbook]\nmethod = \"sgd\"\nlr = -0.5\n",
    );
    assert_user_error(
        "negative lr (sgd)",
        &run(&["train", sgd.arg(), "--data", "digits01", "--json"]),
        "-0.5",
    );
}

/// `train` with valid arguments except the one under test.
fn train_with(tag: &str, extra: &[&str]) -> Output {
    let spec = TempPath::file(tag, SGD);
    let mut args = vec!["train", spec.arg(), "--data", "digits01", "--json"];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn error_order_bogus() {
    assert_user_error(
        "--order bogus",
        &train_with("order-bogus.toml", &["--order", "bogus"]),
        "--order",
    );
}

#[test]
fn error_init_bogus() {
    assert_user_error(
        "--init bogus",
        &train_with("init-bogus.toml", &["--init", "bogus"]),
        "--init",
    );
}

#[test]
fn error_zero_epochs() {
    assert_user_error(
        "--epochs 0",
        &train_with("epochs-zero.toml", &["--epochs", "0"]),
        "--epochs",
    );
}

#[test]
fn error_unknown_flag() {
    assert_user_error(
        "unknown flag",
        &train_with("unknown-flag.toml", &["--frobnicate"]),
        "--frobnicate",
    );
}

// ------------------------------------------- exit codes and hardening

/// Runs the binary with stdin closed, killing it after `seconds` (a hang
/// fails the test instead of blocking the suite).
fn run_within(seconds: u64, args: &[&str]) -> Output {
    use std::process::Stdio;
    let t = Instant::now();
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run splitflow");
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if t.elapsed().as_secs() >= seconds {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "splitflow {}: still running after {seconds} s",
                args.join(" ")
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("collect output");
    eprintln!(
        "[{:7.3} s] splitflow {}",
        t.elapsed().as_secs_f64(),
        args.join(" ")
    );
    out
}

/// A path in a directory that does not exist: no file can be created there.
fn unwritable(tag: &str) -> TempPath {
    let dir = TempPath::new("no-such-dir");
    TempPath(dir.0.join(tag))
}

/// A training run far too long for the test's time limit: an output error
/// reported within the limit was found before the work started.
fn long_train(spec: &TempPath) -> Vec<&str> {
    vec![
        "train",
        spec.arg(),
        "--data",
        "digits01",
        "--epochs",
        "100000000",
        "--batch-size",
        "1",
    ]
}

#[test]
fn train_outputs_checked_before_training() {
    let spec = TempPath::file("long.toml", SGD);
    for flag in ["--dump-params", "--plot"] {
        let path = unwritable(if flag == "--plot" {
            "loss.svg"
        } else {
            "p.txt"
        });
        let mut args = long_train(&spec);
        args.extend([flag, path.arg()]);
        assert_runtime_error(flag, &run_within(20, &args), flag);
    }
    // A directory is not a writable file either.
    let dir = TempPath::new("a-dir");
    std::fs::create_dir_all(&dir.0).unwrap();
    let mut args = long_train(&spec);
    args.extend(["--dump-params", dir.arg()]);
    assert_runtime_error("--dump-params DIR", &run_within(20, &args), "--dump-params");
    // A plot path ending in .csv would be overwritten by its own data.
    let mut args = long_train(&spec);
    args.extend(["--plot", "curve.csv"]);
    assert_user_error("--plot x.csv", &run_within(20, &args), "--plot");
}

#[test]
fn order_outputs_checked_before_the_study() {
    for flag in ["--csv", "--plot"] {
        let path = unwritable("table.svg");
        let out = run_within(
            20,
            &[
                "order",
                &example_spec("order_strang.toml"),
                flag,
                path.arg(),
            ],
        );
        assert_runtime_error(flag, &out, flag);
    }
}

#[test]
fn paper_inputs_and_outputs_checked_before_any_experiment() {
    let dir = TempPath::new("paper-checks");
    let missing = TempPath::new("no-mnist");
    // --mnist with an experiment that uses it: checked first, nothing runs.
    for experiment in ["all", "logistic"] {
        let out = run_within(
            20,
            &[
                "paper",
                "--quick",
                "--experiment",
                experiment,
                "--mnist",
                missing.arg(),
                "-o",
                dir.arg(),
            ],
        );
        assert_user_error(&format!("--mnist ({experiment})"), &out, "--mnist");
    }
    // A directory without the IDX files is refused as well.
    let empty = TempPath::new("empty-mnist");
    std::fs::create_dir_all(&empty.0).unwrap();
    let out = run_within(
        20,
        &[
            "paper",
            "--quick",
            "--fashion-mnist",
            empty.arg(),
            "-o",
            dir.arg(),
        ],
    );
    assert_user_error("--fashion-mnist (empty)", &out, "t");
    // --mnist with an experiment that does not use it: refused, not ignored.
    let out = run_within(
        20,
        &[
            "paper",
            "--quick",
            "--experiment",
            "lls",
            "--mnist",
            missing.arg(),
            "-o",
            dir.arg(),
        ],
    );
    assert_user_error("--mnist (lls)", &out, "applies only");
    // An output directory that cannot be created (a file is in the way).
    let file = TempPath::file("out-is-a-file", "x");
    let out = run_within(
        20,
        &["paper", "--quick", "--experiment", "lls", "-o", file.arg()],
    );
    assert_runtime_error("--out FILE", &out, "--out");
}

#[test]
fn exit_code_two_for_usage_one_for_runtime() {
    // Usage errors: a flag, a spec, data.
    assert_user_error(
        "bad flag value",
        &run(&["tomography", "--geometry", "conical"]),
        "conical",
    );
    let spec = TempPath::file(
        "bad-spec.toml",
        "[textbook]\nmethod = \"sgd\"\nlr = -1e300\n",
    );
    assert_user_error("bad spec", &run(&["explain", spec.arg()]), "1e300");
    let sgd = TempPath::file("usage-sgd.toml", SGD);
    let csv = TempPath::file("bad.csv", "1.0,2.0,0\n1.0,x,1\n");
    assert_user_error(
        "bad data",
        &run(&["train", sgd.arg(), "--data", csv.arg()]),
        "line 2",
    );
    // Runtime failure: an output that cannot be written.
    let path = unwritable("table.csv");
    assert_runtime_error(
        "unwritable --csv",
        &run(&[
            "order",
            &example_spec("order_rk4.toml"),
            "--csv",
            path.arg(),
        ]),
        "No such file",
    );
}

/// Every reporting command, on a stdout that refuses writes (`/dev/full`):
/// exit 1 with one `error:` line, never a silent success.
#[test]
fn write_errors_on_stdout_are_failures() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        eprintln!("no /dev/full here: skipped");
        return;
    }
    let sgd = TempPath::file("full-sgd.toml", SGD);
    let dir = TempPath::new("full-paper");
    let order = example_spec("order_rk4.toml");
    let explain = example_spec("heavy_ball_wdbc.toml");
    let cases: Vec<Vec<&str>> = vec![
        vec!["tomography", "--json"],
        vec!["tomography"],
        vec!["order", &order, "--json"],
        vec!["order", &order],
        vec!["explain", &explain],
        vec!["explain", &explain, "--json"],
        vec!["train", sgd.arg(), "--data", "digits01", "--epochs", "1"],
        vec![
            "train",
            sgd.arg(),
            "--data",
            "digits01",
            "--epochs",
            "1",
            "--json",
        ],
        vec![
            "paper",
            "--quick",
            "--experiment",
            "lls",
            "-o",
            dir.arg(),
            "--json",
        ],
        vec!["completions", "bash"],
    ];
    for args in cases {
        let out = Command::new(BIN)
            .args(&args)
            .stdout(std::fs::File::create(full).expect("open /dev/full"))
            .output()
            .expect("run splitflow");
        assert_runtime_error(&args.join(" "), &out, "standard output");
    }
}

/// A closed pipe on stdout (`splitflow … | head -c0`) is the one write
/// error that is not reported: exit 0, nothing on stderr.
#[test]
fn closed_stdout_pipe_is_not_an_error() {
    use std::process::Stdio;
    for args in [
        vec!["tomography", "-n", "60"],
        vec!["explain", &example_spec("heavy_ball_wdbc.toml")[..]],
    ] {
        let mut child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run splitflow");
        drop(child.stdout.take()); // the reader goes away at once
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{args:?}: {:?}", out.status);
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn missing_command_or_argument_shows_usage() {
    let out = run(&[]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(
        lines[0].contains("subcommand"),
        "says what is missing: {stderr}"
    );
    assert!(
        !stderr.contains("discretized ODEs"),
        "not the about text: {stderr}"
    );
    assert_eq!(lines.iter().filter(|l| l.starts_with("error")).count(), 1);
    assert!(
        lines.iter().any(|l| l.starts_with("Usage: splitflow")),
        "{stderr}"
    );
    let out = run(&["order"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("<SPEC>"),
        "{stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Usage: splitflow order")),
        "{stderr}"
    );
}

#[test]
fn help_lists_closed_value_sets_and_short_flags() {
    let cases: [(&[&str], &[&str]); 3] = [
        (
            &["train", "--help"],
            &["fixed", "shuffled", "zeros", "uniform", "-d, --data"],
        ),
        (
            &["paper", "--help"],
            &[
                "lls",
                "tomography",
                "logistic",
                "softmax",
                "all",
                "-o, --out",
            ],
        ),
        (
            &["tomography", "--help"],
            &["fanlinear", "parallel", "-n, --n"],
        ),
    ];
    for (args, needles) in cases {
        let text = run_ok(args);
        for needle in needles {
            assert!(text.contains(needle), "{args:?} lacks `{needle}`:\n{text}");
        }
    }
    // -n is --n: the same summary.
    assert_eq!(
        run_json(&["tomography", "-n", "12", "--json"]),
        run_json(&["tomography", "--n", "12", "--json"])
    );
}

#[test]
fn shell_completions() {
    for (shell, needle) in [
        ("bash", "_splitflow"),
        ("zsh", "#compdef splitflow"),
        ("fish", "complete -c splitflow"),
    ] {
        let script = run_ok(&["completions", shell]);
        assert!(script.contains(needle), "{shell}: {script}");
        assert!(script.contains("tomography"), "{shell}: subcommands listed");
    }
    assert_user_error("unknown shell", &run(&["completions", "tcsh"]), "tcsh");
}

/// Huge and tiny floats are printed in short form: no run of more than 17
/// digits, and the TOML of `explain` reads back to the same numbers.
#[test]
fn floats_print_short_and_round_trip() {
    let spec = TempPath::file(
        "huge-lr.toml",
        "[textbook]\nmethod = \"momentum\"\nlr = 1e300\nmomentum = 0.5\n",
    );
    let stdout = run_ok(&["explain", spec.arg()]);
    let toml_part = &stdout[stdout.find("# textbook form").expect("textbook form")..];
    let longest = toml_part
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap();
    assert!(longest <= 17, "a {longest}-digit number:\n{toml_part}");
    let text: toml::Table = toml_part.parse().expect("the printed forms are TOML");
    let j = run_json(&["explain", spec.arg(), "--json"]);
    for (table, key) in [
        ("textbook", "lr"),
        ("flow", "friction"),
        ("discretization", "h"),
    ] {
        let printed = text[table][key].as_float().expect("a float");
        let exact = j[table][key].as_f64().expect("a number");
        // serde_json's default float parser may be 1 ulp off (toml's and
        // Rust's are correctly rounded), so the comparison allows 1 ulp.
        let ulps = printed.to_bits().abs_diff(exact.to_bits());
        assert!(ulps <= 1, "{table}.{key}: {printed:e} vs {exact:e}");
        assert!(printed.is_finite() && printed != 0.0, "{table}.{key}");
    }
    // Messages too: a parameter of -1e300 is not written out in 301 digits.
    let bad = TempPath::file(
        "huge-friction.toml",
        "[flow]\nkind = \"heavy_ball\"\nfriction = -1e300\n[discretization]\nscheme = \"exact_friction\"\nh = 0.1\n",
    );
    let out = run(&["explain", bad.arg()]);
    assert_user_error("friction = -1e300", &out, "1e300");
}

#[test]
fn order_csv_and_plot_data() {
    let csv = TempPath::new("order.csv");
    let plot = TempPath::new("order.svg");
    let plot_csv = TempPath(plot.0.with_extension("csv"));
    let j = run_json(&[
        "order",
        &example_spec("order_strang.toml"),
        "--csv",
        csv.arg(),
        "--plot",
        plot.arg(),
        "--json",
    ]);
    let table = std::fs::read_to_string(&csv.0).expect("--csv written");
    let mut lines = table.lines();
    assert_eq!(lines.next(), Some("steps,h,error,local_order,excluded"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let steps = json_numbers(&j["steps"]);
    let errors = json_numbers(&j["errors"]);
    assert_eq!(rows.len(), steps.len());
    for (k, row) in rows.iter().enumerate() {
        assert_eq!(row[0].parse::<f64>().unwrap(), steps[k]);
        assert_eq!(
            row[2].parse::<f64>().unwrap().to_bits(),
            errors[k].to_bits()
        );
    }
    assert_svg(&plot.0);
    assert_eq!(
        std::fs::read_to_string(&plot_csv.0).expect("the plot's data"),
        table
    );
}

#[test]
fn train_plot_data_beside_the_svg() {
    let spec = TempPath::file("plot-data.toml", SGD);
    let plot = TempPath::new("curve.svg");
    let plot_csv = TempPath(plot.0.with_extension("csv"));
    let j = run_json(&train_fixed(
        spec.arg(),
        "digits01",
        &["--epochs", "3", "--plot", plot.arg(), "--json"],
    ));
    assert_svg(&plot.0);
    let text = std::fs::read_to_string(&plot_csv.0).expect("the plot's data");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("iteration,epoch,loss,seconds"));
    let points: Vec<(f64, f64)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect();
    let records = j["history"]["records"].as_array().expect("history records");
    assert_eq!(points.len(), records.len());
    for (p, r) in points.iter().zip(records) {
        assert_eq!(p.0, r["epoch"].as_f64().unwrap());
        assert_eq!(p.1.to_bits(), r["loss"].as_f64().unwrap().to_bits());
    }
}

/// User CSV files through the `csv` crate: a UTF-8 byte-order mark, a
/// header, another delimiter and quoted fields are read; errors keep their
/// line and column; a huge label is reported as written.
#[test]
fn train_csv_header_delimiter_bom_and_labels() {
    let spec = TempPath::file("csv-sgd.toml", SGD);
    let plain = TempPath::file("plain.csv", "1,2,0\n3,4,1\n0.5,1,0\n");
    let fancy = TempPath::file(
        "fancy.csv",
        "\u{feff}x1;x2;label\r\n1;\"2\";0\r\n3;4;1\r\n\r\n0.5; 1 ;0\r\n",
    );
    let base = [
        "--batch-size",
        "1",
        "--order",
        "fixed",
        "--epochs",
        "2",
        "--json",
    ];
    let mut args = vec!["train", spec.arg(), "--data", plain.arg()];
    args.extend(base);
    let a = run_json(&args);
    let mut args = vec![
        "train",
        spec.arg(),
        "-d",
        fancy.arg(),
        "--header",
        "--delimiter",
        ";",
    ];
    args.extend(base);
    let b = run_json(&args);
    assert_eq!((b["n"].as_u64(), b["p"].as_u64()), (Some(3), Some(2)));
    // Same numbers, same training: the losses agree bitwise.
    let losses = |j: &Value| -> Vec<(f64, f64)> {
        j["history"]["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["epoch"].as_f64().unwrap(), r["loss"].as_f64().unwrap()))
            .collect()
    };
    assert_eq!(losses(&a), losses(&b));
    assert!(losses(&a).len() > 1);
    // A BOM without a header is fine too.
    let bom = TempPath::file("bom.csv", "\u{feff}1,2,0\n3,4,1\n");
    let mut args = vec!["train", spec.arg(), "--data", bom.arg()];
    args.extend(base);
    assert_eq!(run_json(&args)["n"].as_u64(), Some(2));
    // Errors: line and column; the label as written.
    let bad = TempPath::file("bad-col.csv", "1,2,0\n3,oops,1\n");
    let out = run(&["train", spec.arg(), "--data", bad.arg()]);
    assert_user_error("bad field", &out, "line 2: column 2");
    let huge = TempPath::file("huge-label.csv", "1,2,0\n3,4,1e300\n");
    let out = run(&["train", spec.arg(), "--data", huge.arg()]);
    assert_user_error("huge label", &out, "label 1e300 is too large");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("18446744073709551615"), "{stderr}");
    // The CSV flags do not apply to the built-in data sets.
    let out = run(&["train", spec.arg(), "--data", "digits01", "--header"]);
    assert_user_error("--header on digits01", &out, "--header");
}
