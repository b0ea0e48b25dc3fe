//! The registry of textbook methods: the one list that the spec parser, its
//! error messages, `explain` and the docs' method table read.
//!
//! Each optimizer module declares its methods' [`MethodEntry`]s — name,
//! `[textbook]` keys, defaults (PyTorch's where PyTorch has the method),
//! ODE map and builder — next to the optimizer itself; [`METHODS`] lists
//! them. A key with no default is required. docs/methods.md is
//! [`methods_markdown`] (a test keeps the two equal).

use super::Optimizer;
use super::spec::TextbookSpec;
use crate::error::{Error, Result};

/// A default value of a `[textbook]` key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultValue {
    /// A number (used by the builder when the key is absent).
    Number(f64),
    /// A choice or a rule, as text (`"outside"`, `"one epoch"`).
    Text(&'static str),
}

/// A textbook method as the registry declares it.
#[derive(Clone, Copy)]
pub struct MethodEntry {
    /// The `method` value.
    pub name: &'static str,
    /// The `[textbook]` keys it accepts (`method` included).
    pub keys: &'static [&'static str],
    /// Defaults of the optional keys; a key listed in `keys` with no
    /// default (other than `method`) is required, unless the method's
    /// `ode` says otherwise (NAG's `momentum` / `vanishing_r`: exactly one).
    pub defaults: &'static [(&'static str, DefaultValue)],
    /// The ODE and scheme it is (`explain` gives the full map), or why it
    /// has none.
    pub ode: &'static str,
    /// Builds the optimizer from a spec whose keys were checked.
    pub(crate) build: fn(&TextbookSpec, &MethodEntry) -> Result<Box<dyn Optimizer>>,
}

impl std::fmt::Debug for MethodEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MethodEntry")
            .field("name", &self.name)
            .field("keys", &self.keys)
            .field("defaults", &self.defaults)
            .field("ode", &self.ode)
            .finish()
    }
}

impl MethodEntry {
    /// The numeric default of `key`, if it has one.
    pub fn default_number(&self, key: &str) -> Option<f64> {
        self.defaults.iter().find_map(|(k, d)| match d {
            DefaultValue::Number(v) if *k == key => Some(*v),
            _ => None,
        })
    }

    /// `value`, else the default of `key`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `key` when it is missing and has no default.
    pub(crate) fn number(&self, value: Option<f64>, key: &str) -> Result<f64> {
        value
            .or_else(|| self.default_number(key))
            .ok_or_else(|| Error::invalid(key, "missing", &format!("{} needs `{key}`", self.name)))
    }

    /// Builds the method from a `[textbook]` spec.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming a key the method does not use, a
    /// missing required key, or an out-of-range value.
    pub fn build(&self, spec: &TextbookSpec) -> Result<Box<dyn Optimizer>> {
        super::spec::only_keys(spec, self.keys, self.name)?;
        (self.build)(spec, self)
    }
}

/// Every textbook method, in the order the docs list them.
pub const METHODS: [&MethodEntry; 16] = [
    &super::gradient::SGD,
    &super::gradient::IMPLICIT_SGD,
    &super::momentum::MOMENTUM,
    &super::momentum::NAG,
    &super::adaptive::ADAGRAD,
    &super::adaptive::RMSPROP,
    &super::adaptive::ADADELTA,
    &super::adam::ADAM,
    &super::adam::ADAMW,
    &super::adam::ADAMAX,
    &super::adam::AMSGRAD,
    &super::adam::NADAM,
    &super::ssa::SSA1,
    &super::ssa::SSA2,
    &super::variance_reduced::SVRG,
    &super::variance_reduced::SAG,
];

/// The `[textbook] method` names [`OptimizerSpec`](super::OptimizerSpec)
/// accepts (the list its error messages give): the names of [`METHODS`].
pub const TEXTBOOK_METHODS: [&str; 16] = {
    let mut names = [""; 16];
    let mut i = 0;
    while i < names.len() {
        names[i] = METHODS[i].name;
        i += 1;
    }
    names
};

/// The registry entry of a method.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `method` and listing [`TEXTBOOK_METHODS`].
///
/// # Example
/// ```
/// use splitflow::optimizers::method_entry;
/// let adam = method_entry("adam")?;
/// assert_eq!(adam.default_number("beta2"), Some(0.999)); // PyTorch's
/// assert!(method_entry("adamm").is_err());
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn method_entry(method: &str) -> Result<&'static MethodEntry> {
    METHODS
        .iter()
        .copied()
        .find(|e| e.name == method)
        .ok_or_else(|| {
            Error::invalid(
                "method",
                format!("{method:?}"),
                &format!("methods: {}", TEXTBOOK_METHODS.join(", ")),
            )
        })
}

/// The registry as a Markdown table (docs/methods.md): method, keys with
/// their defaults (required keys marked), ODE map.
pub fn methods_markdown() -> String {
    let mut out =
        String::from("| method | keys (default; **required**) | ODE and scheme |\n|---|---|---|\n");
    for e in METHODS {
        let keys: Vec<String> = e
            .keys
            .iter()
            .filter(|k| **k != "method")
            .map(|k| match e.defaults.iter().find(|(d, _)| d == k) {
                Some((_, DefaultValue::Number(v))) => {
                    format!("`{k}` = {}", crate::error::Float(*v))
                }
                Some((_, DefaultValue::Text(t))) => format!("`{k}` = {t}"),
                None => format!("**`{k}`**"),
            })
            .collect();
        out += &format!("| `{}` | {} | {} |\n", e.name, keys.join(", "), e.ode);
    }
    out
}
