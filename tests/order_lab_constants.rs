//! The order lab's error constants: `error ≈ C·hᵖ` from the same
//! least-squares fit as the order, in the report and in `--json`
//! (`error_constant`), and what they say about SGD epochs
//! (docs/theory.md §8.4).

use std::process::Command;

use splitflow::convergence::spec::OrderSpec;

use crate::common::{BIN, example_spec, least_squares_study};

fn run_cli(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The method of a `{"methods": [...]}` object with this label.
fn by_label<'a>(methods: &'a [serde_json::Value], label: &str) -> &'a serde_json::Value {
    methods
        .iter()
        .find(|m| m["method"] == label)
        .unwrap_or_else(|| panic!("no method `{label}`"))
}

fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn error_constant_is_the_intercept_of_the_order_fit() {
    // C = exp(mean(log e) − p·mean(log h)) over the fitted levels, recomputed
    // from the JSON's own h, errors, fit_levels and fitted_order: the same
    // arithmetic up to the rounding of a few logarithms (1e-12 relative).
    let j: serde_json::Value = serde_json::from_str(&run_cli(&[
        "order",
        &example_spec("order_sgd_epoch.toml"),
        "--json",
    ]))
    .unwrap();
    for m in j["methods"].as_array().unwrap() {
        let (h, e) = (f64s(&m["h"]), f64s(&m["errors"]));
        let fit: Vec<usize> = m["fit_levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_u64().unwrap() as usize)
            .collect();
        let p = m["fitted_order"].as_f64().unwrap();
        let n = fit.len() as f64;
        let mx = fit.iter().map(|&k| h[k].ln()).sum::<f64>() / n;
        let my = fit.iter().map(|&k| e[k].ln()).sum::<f64>() / n;
        let c = m["error_constant"].as_f64().unwrap();
        let want = (my - p * mx).exp();
        assert!(
            (c - want).abs() <= 1e-12 * want,
            "{}: {c} vs {want}",
            m["method"]
        );
    }
}

#[test]
fn palindromic_euler_epoch_has_order_one_and_a_smaller_constant_than_fixed() {
    // Issue 12: the palindromic epoch with exact sub-flows at order 2, with
    // Euler sub-steps at order 1, its error constant beside the fixed
    // order's. Orders within ±0.15 of theory (docs/theory.md §8.4).
    let text = run_cli(&["order", &example_spec("order_sgd_epoch.toml"), "--json"]);
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let methods = j["methods"].as_array().unwrap();
    let order = |label: &str| by_label(methods, label)["fitted_order"].as_f64().unwrap();
    let constant = |label: &str| by_label(methods, label)["error_constant"].as_f64().unwrap();
    for (label, theory) in [
        ("fixed, exact", 1.0),
        ("palindromic, exact", 2.0),
        ("fixed, SGD", 1.0),
        ("palindromic, SGD", 1.0),
    ] {
        let p = order(label);
        assert!((p - theory).abs() <= 0.15, "{label}: {p}, theory {theory}");
    }
    // Same order, so the constants compare the errors at every h: the
    // palindrome keeps half the Euler part and none of the commutator part
    // (theory: C_pal ≤ max(C_fixed, C_reversed)/2, tested below).
    let (pal, fixed) = (constant("palindromic, SGD"), constant("fixed, SGD"));
    assert!(
        pal < fixed,
        "palindromic SGD C = {pal}, fixed SGD C = {fixed}"
    );
    // The text report prints them side by side in its summary.
    let table = run_cli(&["order", &example_spec("order_sgd_epoch.toml")]);
    let summary = table
        .split("summary (error ≈ C·h^p")
        .nth(1)
        .expect("a summary after the per-method tables");
    for label in ["fixed, SGD", "palindromic, SGD"] {
        let line = summary
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{label} in {summary}"));
        let c: f64 = line.split_whitespace().last().unwrap().parse().unwrap();
        assert!((c - constant(label)).abs() <= 1e-4 * c, "{line}");
    }
}

#[test]
fn palindromic_euler_constant_obeys_the_parallelogram_identity() {
    // docs/theory.md §8.4: at leading order the global error is linear in
    // the local-error coefficient, so the error vectors are
    //   fixed SGD  K_e + K_c,   reversed SGD  K_e − K_c,
    //   fixed exact  K_c,       palindromic SGD  K_e/2,
    // and the parallelogram law gives, in the 2-norm,
    //   C_pal² = (C_fixed² + C_reversed²)/8 − C_exact²/4.
    // Each C is e/h extrapolated to h → 0 (Richardson on h and h/2:
    // e/h = C + a·h + O(h²)), leaving O(h²) ≈ 4e-6 relative at h = 1/512:
    // 1e-4 is a safe band for an identity that is exact in the limit.
    let spec = least_squares_study(
        r#"
[[method]]
splitting = "lie"
sub_stepper = "exact"
batch_order = "fixed"
[[method]]
splitting = "lie"
sub_stepper = "explicit_euler"
batch_order = "fixed"
[[method]]
splitting = "lie"
sub_stepper = "explicit_euler"
batch_order = "reversed"
[[method]]
splitting = "lie"
sub_stepper = "explicit_euler"
batch_order = "palindromic""#,
        "[256, 512, 1024]",
    );
    let outcomes = OrderSpec::from_toml(&spec).unwrap().run_all().unwrap();
    let c: Vec<f64> = outcomes
        .iter()
        .map(|o| {
            let k = |i: usize| o.report.errors[i] / o.report.h[i];
            2.0 * k(2) - k(1)
        })
        .collect();
    let (exact, fixed, reversed, pal) = (c[0], c[1], c[2], c[3]);
    let rhs = (fixed * fixed + reversed * reversed) / 8.0 - exact * exact / 4.0;
    assert!(
        (pal * pal - rhs).abs() <= 1e-4 * rhs,
        "C_pal² = {} vs {rhs}",
        pal * pal
    );
    // Negative control: the identity is not vacuous — the fixed order's
    // constant in place of the palindrome's misses it by far.
    assert!((fixed * fixed - rhs).abs() > 0.5 * rhs);
    // Its consequence: the palindrome's constant is at most half the larger
    // one-way constant (and the reported fitted constants agree with the
    // extrapolated ones to the fit's resolution, a few percent).
    assert!(pal <= 0.5 * fixed.max(reversed));
    for (o, want) in outcomes.iter().zip(&c) {
        let got = o.report.error_constant;
        assert!(
            (got / want - 1.0).abs() < 0.05,
            "{}: {got} vs {want}",
            o.method
        );
    }
}
