//! `splitflow explain`: an optimizer spec in both forms.

use std::path::Path;

use serde::Serialize;
use splitflow::error::Float;
use splitflow::optimizers::OptimizerSpec;
use splitflow::{Error, Result};

use crate::io::read_input;
use crate::{say, to_json};

/// A named TOML table: `[name]` and its keys, one per line (nested values
/// inline), floats in shortest round-trip or scientific form.
fn table<T: Serialize>(name: &str, value: &T) -> Result<String> {
    let cannot = |e: &dyn std::fmt::Display| Error::Spec {
        message: format!("cannot write [{name}] as TOML: {e}"),
        line: None,
    };
    let toml::Value::Table(t) = toml::Value::try_from(value).map_err(|e| cannot(&e))? else {
        return Err(cannot(&"not a table"));
    };
    let mut text = format!("[{name}]");
    for (k, v) in &t {
        text += &format!("\n{} = {}", key(k), toml_value(v));
    }
    Ok(text)
}

/// A TOML key: bare when it can be, quoted otherwise.
fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        k.to_string()
    } else {
        toml::Value::String(k.to_string()).to_string()
    }
}

/// A TOML value on one line; a float keeps a `.` or exponent so it reads
/// back as a float.
fn toml_value(v: &toml::Value) -> String {
    match v {
        toml::Value::Float(x) if x.is_nan() => "nan".to_string(),
        toml::Value::Float(x) if x.is_infinite() => {
            if *x > 0.0 { "inf" } else { "-inf" }.to_string()
        }
        toml::Value::Float(x) => {
            let s = Float(*x).to_string();
            if s.contains(['.', 'e']) { s } else { s + ".0" }
        }
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(toml_value).collect();
            format!("[{}]", items.join(", "))
        }
        toml::Value::Table(t) => {
            let items: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), toml_value(v)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// Prints the textbook update, the ODE with its scheme, and the derivation.
pub(crate) fn run(spec: &Path, json: bool) -> Result<()> {
    let e = OptimizerSpec::parse(&read_input("SPEC", spec)?)?.explain()?;
    if json {
        return say!("{}", to_json(&e)?);
    }
    say!("{}", e.summary)?;
    say!("derivation: {}", e.derivation)?;
    if let Some(note) = &e.note {
        say!("note: {note}")?;
    }
    if let Some(update) = &e.update {
        say!("update: {update}")?;
    }
    if let Some(s) = &e.schedule {
        say!("schedule: {}\ntextbook: {}", s.h_k, s.lr_k)?;
        for step in &s.steps {
            let mut line = format!("  k = {}: h_k = {}", step.k, Float(step.h));
            if let Some(lr) = step.lr {
                line += &format!(", lr_k = {}", Float(lr));
            }
            if let Some(m) = step.momentum {
                line += &format!(", momentum_k = {}", Float(m));
            }
            say!("{line}")?;
        }
    }
    if let Some(classic) = &e.classic {
        say!("\n# textbook form\n{classic}")?;
    } else if e.textbook.method == "generated" {
        say!("\n# textbook form\nno textbook equivalent")?;
    } else {
        say!("\n# textbook form\n{}", table("textbook", &e.textbook)?)?;
    }
    if let (Some(f), Some(d)) = (&e.flow, &e.discretization) {
        say!(
            "\n# ODE form\n{}\n{}",
            table("flow", f)?,
            table("discretization", d)?
        )?;
    }
    if let Some(s) = &e.schedule {
        say!("{}", table("schedule", &s.spec)?)?;
    }
    Ok(())
}
