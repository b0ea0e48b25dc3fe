//! `[study] kind = "work_precision"`: `splitflow order` runs the
//! work-precision study of such a spec, with the output of `splitflow
//! work-precision` (table, `--json`, `--csv`, `--plot`).

use splitflow::Error;
use splitflow::convergence::spec::{OrderSpec, StudyKind};

use crate::common::{example_spec, run_splitflow as run};

fn json(args: &[&str]) -> serde_json::Value {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Everything of a work-precision JSON but the wall times.
fn without_seconds(mut v: serde_json::Value) -> serde_json::Value {
    for m in v["methods"].as_array_mut().unwrap() {
        for l in m["levels"].as_array_mut().unwrap() {
            assert!(l["seconds"].as_f64().unwrap() >= 0.0);
            l.as_object_mut().unwrap().remove("seconds");
        }
    }
    v
}

#[test]
fn order_runs_a_work_precision_spec_like_work_precision() {
    let spec = example_spec("work_precision_pendulum.toml");
    let text = std::fs::read_to_string(&spec).unwrap();
    assert_eq!(
        OrderSpec::from_toml(&text).unwrap().kind(),
        StudyKind::WorkPrecision
    );
    // The same study: errors and evaluations agree exactly (deterministic
    // runs), only the wall times differ.
    let by_order = json(&["order", &spec, "--json"]);
    let by_wp = json(&["work-precision", &spec, "--json"]);
    assert_eq!(without_seconds(by_order.clone()), without_seconds(by_wp));
    let methods = by_order["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 4);
    for m in methods {
        assert!(
            m.get("fitted_order").is_none(),
            "a work-precision entry: {m}"
        );
        assert!(!m["levels"].as_array().unwrap().is_empty());
    }
    // The table lists evaluations and time per level; --csv and --plot
    // write the work-precision table and diagram.
    let dir = std::env::temp_dir().join(format!("splitflow-kind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (csv, svg) = (dir.join("wp.csv"), dir.join("wp.svg"));
    let out = run(&[
        "order",
        &spec,
        "--csv",
        csv.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("steps/tol") && table.contains("f_evals") && table.contains("seconds"));
    assert!(!table.contains("fitted order"), "{table}");
    let written = std::fs::read_to_string(&csv).unwrap();
    assert!(written.starts_with("method,steps,tol,error,f_evals,seconds\n"));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn study_kind_order_is_the_default_and_bad_kinds_are_spec_errors() {
    let spec = |kind: &str| {
        format!(
            "[problem]\nkind = \"builtin\"\nname = \"harmonic\"\n[method]\nstepper = \"rk4\"\n[study]\n{kind}steps = [8, 16, 32, 64]\n"
        )
    };
    // kind = "order" spelled out is the default: the same outcome.
    let a = OrderSpec::from_toml(&spec("kind = \"order\"\n")).unwrap();
    let b = OrderSpec::from_toml(&spec("")).unwrap();
    assert_eq!((a.kind(), b.kind()), (StudyKind::Order, StudyKind::Order));
    assert_eq!(
        a.run().unwrap().report.errors,
        b.run().unwrap().report.errors
    );
    // The library's order study refuses a work-precision spec, saying why.
    let wp = OrderSpec::from_toml(&spec("kind = \"work_precision\"\n")).unwrap();
    let e = wp.run_all().unwrap_err();
    assert!(e.to_string().contains("work_precision"), "{e}");
    assert_eq!(wp.work_precision().unwrap().methods[0].levels.len(), 4);
    // An unknown kind is a spec error on its line; the binary exits 2.
    match OrderSpec::from_toml(&spec("kind = \"speed\"\n")) {
        Err(Error::Spec { message, line }) => {
            assert!(message.contains("speed"), "{message}");
            assert_eq!(line, Some(7), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let path = std::env::temp_dir().join(format!("splitflow-kind-{}.toml", std::process::id()));
    std::fs::write(&path, spec("kind = \"speed\"\n")).unwrap();
    let out = run(&["order", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error:") && err.lines().count() == 1,
        "{err}"
    );
    std::fs::remove_file(&path).unwrap();
}
