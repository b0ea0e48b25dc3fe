//! The registry of textbook methods is the one place the spec parser,
//! its error messages and the docs read: docs/methods.md is the registry's
//! table, every listed default is the one the built optimizer uses, a
//! required key is required, and an unknown method lists the registry.

use splitflow::optimizers::{
    DefaultValue, METHODS, OptimizerSpec, TEXTBOOK_METHODS, method_entry, methods_markdown,
};

#[test]
fn docs_methods_md_is_the_registry_table() {
    let path = format!("{}/docs/methods.md", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(path).unwrap();
    let table = methods_markdown();
    assert!(
        doc.contains(&table),
        "docs/methods.md does not contain the registry's table; regenerate it with \
         `cargo test --release --test main registry -- --ignored --nocapture` and paste:\n{table}"
    );
    assert_eq!(table.lines().count(), METHODS.len() + 2);
}

/// Prints the table for docs/methods.md.
#[test]
#[ignore]
fn print_methods_table() {
    println!("{}", methods_markdown());
}

/// A spec of `method` with only its required keys (values in range for
/// every method).
fn minimal(method: &str) -> String {
    let e = method_entry(method).unwrap();
    let mut toml = format!("[textbook]\nmethod = \"{method}\"\n");
    if method == "nag" {
        // Exactly one of `momentum` and `vanishing_r` (neither has a default).
        toml += "momentum = 0.9\n";
    }
    for key in e.keys.iter().filter(|k| **k != "method") {
        if e.defaults.iter().all(|(d, _)| d != key) {
            let value = match *key {
                "momentum" => "0.9",
                "tau" => "0.5",
                _ => "0.01",
            };
            toml += &format!("{key} = {value}\n");
        }
    }
    toml
}

#[test]
fn every_method_builds_from_its_required_keys_with_the_registry_defaults() {
    assert_eq!(TEXTBOOK_METHODS.len(), METHODS.len());
    // Numeric defaults compared with what explain reports (so the loop
    // below cannot pass by finding nothing to compare).
    let mut compared = 0;
    for e in METHODS {
        let spec = OptimizerSpec::from_toml(&minimal(e.name))
            .unwrap_or_else(|err| panic!("{}: {err}", e.name));
        let opt = spec
            .build()
            .unwrap_or_else(|err| panic!("{}: {err}", e.name));
        // The textbook form `explain` gives lists every hyper-parameter:
        // the numeric defaults there are the registry's.
        let textbook = serde_json::to_value(&spec.explain().unwrap().textbook).unwrap();
        for (key, d) in e.defaults {
            if let DefaultValue::Number(v) = d
                && let Some(given) = textbook.get(*key).and_then(|x| x.as_f64())
            {
                // (explain maps back through the ODE's parameters: equal to
                // round-off, e.g. AdaGrad's ε through ε̃.)
                assert!(
                    approx::relative_eq!(given, *v, max_relative = 1e-12),
                    "{}: default of `{key}`: {given} vs {v}",
                    e.name
                );
                compared += 1;
            }
        }
        assert!(!opt.name().is_empty());
    }
    assert!(compared >= 20, "only {compared} defaults compared");
}

#[test]
fn a_required_key_is_required_and_an_unknown_method_lists_the_registry() {
    for e in METHODS {
        let required: Vec<&str> = e
            .keys
            .iter()
            .copied()
            .filter(|k| *k != "method" && e.defaults.iter().all(|(d, _)| d != k))
            .collect();
        for key in required {
            let toml: String = minimal(e.name)
                .lines()
                .filter(|l| !l.starts_with(&format!("{key} =")))
                .map(|l| format!("{l}\n"))
                .collect();
            let err = OptimizerSpec::from_toml(&toml)
                .and_then(|s| s.build().map(|_| ()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{}: missing `{key}` gave: {err}", e.name);
        }
    }
    // Negative control: a key of another method is refused, naming it.
    let err = OptimizerSpec::from_toml("[textbook]\nmethod = \"sgd\"\nlr = 0.1\nbeta1 = 0.9\n")
        .and_then(|s| s.build().map(|_| ()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("beta1"), "{err}");
    let err = OptimizerSpec::from_toml("[textbook]\nmethod = \"adamm\"\n")
        .and_then(|s| s.build().map(|_| ()))
        .unwrap_err()
        .to_string();
    for name in TEXTBOOK_METHODS {
        assert!(err.contains(name), "{err}");
    }
}
