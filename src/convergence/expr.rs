//! Systems written as expressions: `y' = f(t, y)` with each component of `f`
//! a formula over the state variables, named parameters and the time `t`.
//!
//! Expressions are parsed and compiled once by [exmex](https://docs.rs/exmex)
//! (`+ - * / ^`, `sin`, `cos`, `exp`, `log`, `sqrt`, …); the Jacobian
//! `∂fᵢ/∂yⱼ` is derived symbolically at construction, so implicit steppers get
//! an exact Jacobian instead of finite differences. Evaluation allocates
//! nothing: each compiled expression carries, once for all, the position of
//! each of its symbols among `t`, the parameters and the state, and its
//! values are gathered into a stack buffer.

use exmex::prelude::*;

use super::spec::spec_err;
use crate::error::Result;
use nalgebra::DMatrix;

use crate::{OdeSystem, State};

/// The most distinct symbols one expression may use (the stack buffer size).
pub const MAX_SYMBOLS: usize = 64;

/// Where a symbol's value comes from.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Time,
    Param(usize),
    Var(usize),
}

/// One compiled expression and where its symbols' values live.
#[derive(Debug, Clone)]
struct Compiled {
    expr: FlatEx<f64>,
    gather: Vec<Slot>,
}

impl Compiled {
    fn eval(&self, t: f64, params: &[f64], y: &[f64]) -> f64 {
        let mut values = [0.0; MAX_SYMBOLS];
        for (v, slot) in values.iter_mut().zip(&self.gather) {
            *v = match *slot {
                Slot::Time => t,
                Slot::Param(i) => params[i],
                Slot::Var(i) => y[i],
            };
        }
        // The slice has exactly the expression's symbols, so exmex cannot
        // complain; a failure would still show as a non-finite value.
        self.expr
            .eval(&values[..self.gather.len()])
            .unwrap_or(f64::NAN)
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The symbol table of an expression system: `t`, parameters, variables.
struct Symbols<'a> {
    vars: &'a [String],
    params: &'a [(String, f64)],
}

impl Symbols<'_> {
    /// Parses `text` (the value of `key`) and resolves its symbols; state
    /// variables are allowed only when `allow_vars`.
    fn compile(&self, key: &str, text: &str, allow_vars: bool) -> Result<Compiled> {
        if text.trim().is_empty() {
            return Err(spec_err(format!("{key}: empty expression")));
        }
        let expr = exmex::parse::<f64>(text)
            .map_err(|e| spec_err(format!("{key} = \"{text}\": {}", e.msg())))?;
        let gather = self.resolve(key, text, expr.var_names(), allow_vars)?;
        Ok(Compiled { expr, gather })
    }

    fn resolve(
        &self,
        key: &str,
        text: &str,
        names: &[String],
        allow_vars: bool,
    ) -> Result<Vec<Slot>> {
        if names.len() > MAX_SYMBOLS {
            return Err(spec_err(format!(
                "{key} = \"{text}\": {} distinct symbols (at most {MAX_SYMBOLS})",
                names.len()
            )));
        }
        names
            .iter()
            .map(|name| {
                if name == "t" {
                    Ok(Slot::Time)
                } else if let Some(i) = self.params.iter().position(|(p, _)| p == name) {
                    Ok(Slot::Param(i))
                } else if let Some(i) = self.vars.iter().position(|v| v == name) {
                    if allow_vars {
                        Ok(Slot::Var(i))
                    } else {
                        Err(spec_err(format!(
                            "{key} = \"{text}\": the state variable `{name}` cannot appear here (only t and parameters)"
                        )))
                    }
                } else {
                    Err(spec_err(format!(
                        "{key} = \"{text}\": unknown symbol `{name}` (variables: {}; parameters: {}; and t)",
                        self.vars.join(", "),
                        if self.params.is_empty() {
                            "none".to_string()
                        } else {
                            self.params
                                .iter()
                                .map(|(p, _)| p.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    )))
                }
            })
            .collect()
    }
}

/// A system `y' = f(t, y)` whose components are expressions.
///
/// $$ y_i' = f_i(t, y_1, \dots, y_n; \mu_1, \dots) $$
///
/// with the Jacobian derived symbolically (when every operator used has a
/// derivative in exmex; otherwise [`OdeSystem::jacobian`] returns `false` and
/// implicit steppers fall back to finite differences).
///
/// # Example
/// ```
/// use splitflow::convergence::expr::ExprSystem;
/// use nalgebra::DMatrix;
/// use splitflow::{OdeSystem, State};
/// let vars = ["q".to_string(), "p".to_string()];
/// let params = [("k".to_string(), 2.0)];
/// let pendulum = ExprSystem::new("rhs", &vars, &params, &["p".into(), "-k*sin(q)".into()])?;
/// let y = State::from_vec(vec![0.5, 1.0]);
/// let mut dy = State::zeros(2);
/// pendulum.rhs(0.0, &y, &mut dy);
/// assert_eq!(dy[0], 1.0);
/// assert!((dy[1] + 2.0 * 0.5f64.sin()).abs() < 1e-15);
/// let mut jac = DMatrix::zeros(2, 2);
/// assert!(pendulum.jacobian(0.0, &y, &mut jac));
/// assert!((jac[(1, 0)] + 2.0 * 0.5f64.cos()).abs() < 1e-15);
/// assert_eq!(jac[(0, 1)], 1.0);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ExprSystem {
    params: Vec<f64>,
    texts: Vec<String>,
    rhs: Vec<Compiled>,
    /// Row-major `n × n`; `None` entries are identically zero.
    jacobian: Option<Vec<Option<Compiled>>>,
}

impl ExprSystem {
    /// Compiles `rhs` (one expression per variable) over the variables `vars`
    /// (in state order), the named parameters and `t`; `key` names the source
    /// in error messages (`key[i]`).
    ///
    /// # Errors
    /// [`Error::Spec`](crate::Error::Spec) naming `key[i]` for a malformed expression, an unknown
    /// symbol, a wrong number of expressions, or invalid / duplicate /
    /// non-finite variable and parameter names and values.
    pub fn new(
        key: &str,
        vars: &[String],
        params: &[(String, f64)],
        rhs: &[String],
    ) -> Result<Self> {
        check_names(vars, params)?;
        if rhs.len() != vars.len() {
            return Err(spec_err(format!(
                "{key} has {} expression(s), expected {} (one per variable in vars)",
                rhs.len(),
                vars.len()
            )));
        }
        let symbols = Symbols { vars, params };
        let compiled = rhs
            .iter()
            .enumerate()
            .map(|(i, text)| symbols.compile(&format!("{key}[{i}]"), text, true))
            .collect::<Result<Vec<_>>>()?;
        let jacobian = derive_jacobian(&compiled, vars.len());
        Ok(ExprSystem {
            params: params.iter().map(|(_, v)| *v).collect(),
            texts: rhs.to_vec(),
            rhs: compiled,
            jacobian,
        })
    }

    /// The expressions, as written.
    pub fn expressions(&self) -> &[String] {
        &self.texts
    }

    /// Whether the Jacobian was derived symbolically.
    pub fn has_jacobian(&self) -> bool {
        self.jacobian.is_some()
    }

    /// Whether the field is, by its form, constant along its own
    /// trajectories: autonomous, and no non-zero component depends on a
    /// variable that some non-zero component moves. Then `f′f ≡ 0`, the
    /// flow is the straight line `y + t·f(y)`, and every explicit
    /// Runge–Kutta method (explicit Euler included) is exact on it. A
    /// component counts as zero only when written as a constant zero.
    ///
    /// # Example
    /// ```
    /// use splitflow::convergence::expr::ExprSystem;
    /// let vars = ["q".to_string(), "p".to_string()];
    /// let kinetic = ExprSystem::new("k", &vars, &[], &["p".into(), "0".into()])?;
    /// let potential = ExprSystem::new("v", &vars, &[], &["0".into(), "-sin(q)".into()])?;
    /// let whole = ExprSystem::new("f", &vars, &[], &["p".into(), "-sin(q)".into()])?;
    /// assert!(kinetic.is_straight_line_flow() && potential.is_straight_line_flow());
    /// assert!(!whole.is_straight_line_flow());
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    pub fn is_straight_line_flow(&self) -> bool {
        let zero = |c: &Compiled| c.gather.is_empty() && c.eval(0.0, &[], &[]) == 0.0;
        let moved: Vec<usize> = (0..self.rhs.len())
            .filter(|&i| !zero(&self.rhs[i]))
            .collect();
        moved.iter().all(|&i| {
            self.rhs[i].gather.iter().all(|slot| match *slot {
                Slot::Time => false,
                Slot::Param(_) => true,
                Slot::Var(j) => !moved.contains(&j),
            })
        })
    }
}

fn check_names(vars: &[String], params: &[(String, f64)]) -> Result<()> {
    if vars.is_empty() {
        return Err(spec_err("vars is empty"));
    }
    let mut seen: Vec<&str> = vec!["t"];
    for (key, name) in vars
        .iter()
        .map(|v| ("vars", v.as_str()))
        .chain(params.iter().map(|(p, _)| ("params", p.as_str())))
    {
        if !valid_name(name) {
            return Err(spec_err(format!(
                "{key}: `{name}` is not a valid name (letters, digits, _; not starting with a digit)"
            )));
        }
        if seen.contains(&name) {
            return Err(spec_err(format!(
                "{key}: `{name}` is used twice (t is reserved for time)"
            )));
        }
        seen.push(name);
    }
    if let Some((p, v)) = params.iter().find(|(_, v)| !v.is_finite()) {
        return Err(spec_err(format!("params.{p} = {v} is not finite")));
    }
    Ok(())
}

/// `∂fᵢ/∂yⱼ` for every pair, or `None` when some derivative is unavailable.
fn derive_jacobian(rhs: &[Compiled], n: usize) -> Option<Vec<Option<Compiled>>> {
    let mut jac = Vec::with_capacity(n * n);
    for f in rhs {
        for j in 0..n {
            let position = f
                .gather
                .iter()
                .position(|s| matches!(s, Slot::Var(v) if *v == j));
            jac.push(match position {
                None => None,
                Some(k) => Some(Compiled {
                    expr: f.expr.clone().partial(k).ok()?,
                    gather: f.gather.clone(),
                }),
            });
        }
    }
    Some(jac)
}

impl OdeSystem for ExprSystem {
    fn dim(&self) -> usize {
        self.rhs.len()
    }

    fn rhs(&self, t: f64, y: &State, dy: &mut State) {
        let y = y.as_slice();
        for (d, f) in dy.iter_mut().zip(&self.rhs) {
            *d = f.eval(t, &self.params, y);
        }
    }

    fn jacobian(&self, t: f64, y: &State, jac: &mut DMatrix<f64>) -> bool {
        let Some(entries) = &self.jacobian else {
            return false;
        };
        let n = self.rhs.len();
        let y = y.as_slice();
        for (k, entry) in entries.iter().enumerate() {
            jac[(k / n, k % n)] = entry.as_ref().map_or(0.0, |c| c.eval(t, &self.params, y));
        }
        true
    }
}

/// Expressions in `t` and parameters only (an exact solution), evaluated at
/// chosen times.
///
/// # Example
/// ```
/// use splitflow::convergence::expr::TimeExprs;
/// let exact = TimeExprs::new("exact", &[], &[("w".into(), 2.0)], &["cos(w*t)".into()])?;
/// assert!((exact.at(0.5)[0] - 1f64.cos()).abs() < 1e-15);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TimeExprs {
    params: Vec<f64>,
    exprs: Vec<Compiled>,
}

impl TimeExprs {
    /// Compiles `exprs` over `t` and `params`; the names in `vars` are
    /// refused with a message saying they cannot appear.
    ///
    /// # Errors
    /// [`Error::Spec`](crate::Error::Spec) naming `key[i]`, as [`ExprSystem::new`].
    pub fn new(
        key: &str,
        vars: &[String],
        params: &[(String, f64)],
        exprs: &[String],
    ) -> Result<Self> {
        let symbols = Symbols { vars, params };
        let exprs = exprs
            .iter()
            .enumerate()
            .map(|(i, text)| symbols.compile(&format!("{key}[{i}]"), text, false))
            .collect::<Result<Vec<_>>>()?;
        Ok(TimeExprs {
            params: params.iter().map(|(_, v)| *v).collect(),
            exprs,
        })
    }

    /// The values at time `t`.
    pub fn at(&self, t: f64) -> State {
        State::from_iterator(
            self.exprs.len(),
            self.exprs.iter().map(|e| e.eval(t, &self.params, &[])),
        )
    }
}
