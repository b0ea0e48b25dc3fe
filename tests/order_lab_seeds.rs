//! Seed averaging of shuffled batch orders (`method.seeds`): every level's
//! error is the RMS over the seeds `seed, …, seed + N − 1`, stated in the
//! report and in `--json` (`"seeds": N`).

use std::process::Command;

use splitflow::Error;
use splitflow::convergence::spec::OrderSpec;

use crate::common::{BIN, least_squares_study};

/// The random least-squares study of the SGD-epoch sample with one
/// `[method]` table and a step ladder.
fn least_squares(method: &str, steps: &str) -> String {
    least_squares_study(&format!("[method]\n{method}"), steps)
}

fn shuffled(sub: &str, seed: u64, seeds: Option<usize>) -> String {
    let seeds = seeds.map(|n| format!("seeds = {n}\n")).unwrap_or_default();
    format!(
        "splitting = \"lie\"\nsub_stepper = \"{sub}\"\nbatch_order = \"shuffled\"\nseed = {seed}\n{seeds}"
    )
}

fn errors(spec: &str) -> Vec<f64> {
    OrderSpec::from_toml(spec)
        .unwrap()
        .run()
        .unwrap()
        .report
        .errors
}

#[test]
fn seeds_average_the_single_seed_errors_in_rms() {
    // The same runs in the same order: the averaged error is bitwise the
    // RMS of the single-seed studies' errors at every level.
    let steps = "[8, 16, 32, 64]";
    let (first, n) = (5u64, 4usize);
    let averaged = OrderSpec::from_toml(&least_squares(
        &shuffled("explicit_euler", first, Some(n)),
        steps,
    ))
    .unwrap()
    .run()
    .unwrap();
    let singles: Vec<Vec<f64>> = (0..n as u64)
        .map(|r| {
            errors(&least_squares(
                &shuffled("explicit_euler", first + r, None),
                steps,
            ))
        })
        .collect();
    for (k, &e) in averaged.report.errors.iter().enumerate() {
        let mut sum_sq = 0.0;
        for s in &singles {
            sum_sq += s[k] * s[k];
        }
        assert_eq!(e, (sum_sq / n as f64).sqrt(), "level {k}");
    }
    // Negative control: the seeds differ, so the average is not one seed's.
    assert!(singles[0] != singles[1]);
    assert!(averaged.report.errors != singles[0]);
    // Stated in the outcome: the seed range, the count, no Richardson
    // orders (two random runs' difference is not an order measurement).
    assert_eq!(averaged.seeds, Some(n));
    assert!(
        averaged
            .method
            .contains("seeds 5..=8, RMS error over 4 seeds"),
        "{}",
        averaged.method
    );
    assert!(averaged.richardson_orders.is_empty());
    // SGD sub-steps: the deterministic Euler term dominates, order 1.
    assert!(
        (averaged.report.fitted_order - 1.0).abs() <= 0.15,
        "{}",
        averaged.report.fitted_order
    );
}

#[test]
fn one_seed_is_the_unaveraged_study() {
    let steps = "[8, 16, 32, 64]";
    let one = OrderSpec::from_toml(&least_squares(&shuffled("exact", 3, Some(1)), steps))
        .unwrap()
        .run()
        .unwrap();
    let plain = OrderSpec::from_toml(&least_squares(&shuffled("exact", 3, None), steps))
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(one.report.errors, plain.report.errors);
    assert_eq!(one.seeds, None);
    assert_eq!(one.method, plain.method);
}

#[test]
fn seed_averaged_exact_epochs_show_strong_order_three_halves() {
    // docs/theory.md §8.4: a shuffled exact epoch's O(h²) local errors have
    // mean zero and add like a random walk over T/h epochs, so the RMS over
    // seeds is O(h^{3/2}). With 64 seeds each level's RMS has a relative
    // spread of about 0.35/√64 ≈ 4%, which moves a slope fitted over a
    // factor of 64 in h by a few hundredths: ±0.2 is a safe band. Through
    // the CLI, which states the averaging.
    let spec = least_squares(
        &shuffled("exact", 0, Some(64)),
        "[16, 32, 64, 128, 256, 512, 1024]",
    );
    let path = std::env::temp_dir().join(format!("splitflow-seeds-{}.toml", std::process::id()));
    std::fs::write(&path, &spec).unwrap();
    let run = |json: bool| {
        let mut args = vec!["order", path.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let j: serde_json::Value = serde_json::from_str(&run(true)).unwrap();
    assert_eq!(j["seeds"], 64);
    let p = j["fitted_order"].as_f64().unwrap();
    assert!((p - 1.5).abs() <= 0.2, "RMS order over 64 seeds {p}");
    let text = run(false);
    assert!(
        text.contains("every level's error is the RMS over 64 seeds"),
        "{text}"
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn work_precision_counts_one_run_per_level() {
    // f_evals of a seed-averaged level are one run's (every seed does the
    // same work), so the diagram's cost axis does not grow with N.
    let spec =
        |seeds: Option<usize>| least_squares(&shuffled("explicit_euler", 2, seeds), "[8, 16, 32]");
    let wp = |s: &str| OrderSpec::from_toml(s).unwrap().work_precision().unwrap();
    let (one, avg) = (wp(&spec(None)), wp(&spec(Some(6))));
    let evals = |r: &splitflow::convergence::work_precision::WorkPrecisionReport| {
        r.methods[0]
            .levels
            .iter()
            .map(|l| l.f_evals)
            .collect::<Vec<_>>()
    };
    assert_eq!(evals(&one), evals(&avg));
    assert_eq!(avg.methods[0].seeds, Some(6));
    assert_eq!(one.methods[0].seeds, None);
    assert!(avg.to_string().contains("RMS over 6 seeds"), "{avg}");
}

#[test]
fn bad_seed_counts_are_spec_errors_naming_seeds() {
    let lie = "splitting = \"lie\"\nsub_stepper = \"exact\"\n";
    for (method, steps, want) in [
        (shuffled("exact", 0, Some(0)), "[8, 16]", "at least 1"),
        (shuffled("exact", 0, Some(10_001)), "[8, 16]", "cap"),
        // seeds × finest steps above the per-level cap of 1e8 steps.
        (shuffled("exact", 0, Some(10_000)), "[8, 20000]", "cap"),
        (
            format!("{lie}batch_order = \"fixed\"\nseeds = 4\n"),
            "[8, 16]",
            "shuffled",
        ),
        (format!("{lie}seeds = 4\n"), "[8, 16]", "shuffled"),
        (
            "stepper = \"rk4\"\nseeds = 4\n".to_string(),
            "[8, 16]",
            "splitting",
        ),
    ] {
        let spec = least_squares(&method, steps);
        match OrderSpec::from_toml(&spec).and_then(|s| s.run().map(|_| ())) {
            Err(Error::Spec { message, .. }) => {
                assert!(message.contains("seeds"), "{method}: {message}");
                assert!(message.contains(want), "{method}: {message}");
            }
            other => panic!("{method}: {other:?}"),
        }
    }
    // A batch order (or seed) on a whole-system stepper is refused too.
    let spec = least_squares("stepper = \"rk4\"\nbatch_order = \"shuffled\"\n", "[8, 16]");
    let e = OrderSpec::from_toml(&spec).unwrap().run().unwrap_err();
    assert!(e.to_string().contains("batch_order"), "{e}");
}
