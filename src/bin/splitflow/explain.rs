//! `splitflow explain`: an optimizer spec in both forms.

use std::path::Path;

use serde::Serialize;
use splitflow::optimizers::OptimizerSpec;
use splitflow::{Error, Result};

use crate::{read, say, to_json};

/// A named TOML table: `[name]` and its keys.
fn table<T: Serialize>(name: &str, value: &T) -> Result<String> {
    let body = toml::to_string(value).map_err(|e| Error::Spec {
        message: format!("cannot write [{name}] as TOML: {e}"),
        line: None,
    })?;
    Ok(format!("[{name}]\n{}", body.trim_end()))
}

/// Prints the textbook update, the ODE with its scheme, and the derivation.
pub(crate) fn run(spec: &Path, json: bool) -> Result<()> {
    let e = OptimizerSpec::parse(&read(spec)?)?.explain()?;
    if json {
        say!("{}", to_json(&e)?);
        return Ok(());
    }
    say!("{}", e.summary);
    say!("derivation: {}", e.derivation);
    if let Some(note) = &e.note {
        say!("note: {note}");
    }
    if let Some(update) = &e.update {
        say!("update: {update}");
    }
    if e.textbook.method == "generated" {
        say!("\n# textbook form\nno textbook equivalent");
    } else {
        say!("\n# textbook form\n{}", table("textbook", &e.textbook)?);
    }
    if let (Some(f), Some(d)) = (&e.flow, &e.discretization) {
        say!(
            "\n# ODE form\n{}\n{}",
            table("flow", f)?,
            table("discretization", d)?
        );
    }
    Ok(())
}
