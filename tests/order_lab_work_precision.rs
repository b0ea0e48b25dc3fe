//! The work-precision diagram's slopes (issue 12, "Done when"): fixed-step
//! methods at their orders, adaptive ones at least at theirs.

use splitflow::convergence::spec::OrderSpec;

#[test]
fn work_precision_slopes_of_the_sample() {
    let text = std::fs::read_to_string(format!(
        "{}/examples/specs/work_precision_pendulum.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let report = OrderSpec::from_toml(&text)
        .unwrap()
        .work_precision()
        .unwrap();
    // −d log e / d log(f_evals) over a method's whole ladder.
    let slope = |k: usize| {
        let l = &report.methods[k].levels;
        let (a, b) = (&l[0], &l[l.len() - 1]);
        -(b.error / a.error).ln() / (b.f_evals.unwrap() as f64 / a.f_evals.unwrap() as f64).ln()
    };
    // Fixed steps: cost = stages × steps ∝ 1/h, error ∝ h^p: slope p.
    assert!(
        (slope(0) - 1.0).abs() <= 0.15,
        "explicit Euler {}",
        slope(0)
    );
    assert!((slope(1) - 4.0).abs() <= 0.15, "RK4 {}", slope(1));
    // Adaptive steps: in the asymptotic range error ∝ h̄^p at cost ∝ 1/h̄,
    // slope p; the controller's fixed overhead (initial-step selection,
    // rejections) weighs most at coarse tolerances and only steepens the
    // measured slope, so p − 0.15 is a lower bound (not a pin).
    assert!(slope(2) >= 5.0 - 0.15, "rk45 {}", slope(2));
    assert!(slope(3) >= 8.0 - 0.15, "dop853 {}", slope(3));
    // The diagram's ranking: the higher order wins at the fine end.
    let finest = |k: usize| report.methods[k].levels.last().unwrap().error;
    assert!(finest(3) < finest(2) && finest(2) < finest(0));
}
