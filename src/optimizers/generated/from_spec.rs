//! The ODE form of an optimizer spec as a generated optimizer: any flow,
//! any stepper or splitting of the flow's pieces.

use super::{FlowKind, GeneratedFlow, GeneratedOptimizer, OracleFlow, Scheme, SubScheme};
use crate::error::{Error, Result};
use crate::flows::Friction;
use crate::optimizers::spec::{DiscretizationSpec, FlowSpec};
use crate::optimizers::{AdamBias, EpsPlacement};
use crate::splitting::SplittingCoefficients;
use crate::{AdaptiveOptions, Integrator, Steps};

/// Whether the classic fused optimizers cover this (flow, scheme) pair.
fn fused(kind: &str, scheme: &str) -> bool {
    match kind {
        "gradient" => matches!(scheme, "explicit_euler" | "implicit_euler" | "rk4"),
        "heavy_ball" => matches!(
            scheme,
            "semi_implicit_euler" | "exact_friction" | "forward_friction" | "nesterov"
        ),
        "rmsprop" | "adam" | "adagrad" => scheme == "explicit_euler",
        _ => true,
    }
}

/// Whether the spec asks for a generated optimizer (a splitting, a stepper
/// the fused optimizers do not use on that flow, or keys only generated
/// flows have).
pub(crate) fn is_generated(f: &FlowSpec, d: &DiscretizationSpec) -> bool {
    d.splitting.is_some()
        || d.pieces.is_some()
        || d.sub_schemes.is_some()
        || d.rtol.is_some()
        || d.atol.is_some()
        || d.t0.is_some()
        || f.hessian_damping.is_some()
        || f.bias.is_some()
        || (f.weight_decay.is_some() && f.kind != "adam")
        || !fused(&f.kind, &d.scheme)
}

fn allowed_flow_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "gradient" => &["kind", "weight_decay"],
        "heavy_ball" => &["kind", "friction", "vanishing_r", "hessian_damping", "weight_decay"],
        "rmsprop" => &["kind", "b", "eps", "eps_placement", "weight_decay"],
        "adam" => &["kind", "a", "b", "eps", "eps_placement", "bias", "weight_decay"],
        _ => &["kind", "eps", "eps_placement", "weight_decay"],
    }
}

fn placement(v: &Option<String>) -> Result<EpsPlacement> {
    match v {
        None => Ok(EpsPlacement::Outside),
        Some(s) => EpsPlacement::from_name(s),
    }
}

fn need(field: &str, v: Option<f64>, kind: &str) -> Result<f64> {
    v.ok_or_else(|| Error::invalid(field, "missing", &format!("the {kind} flow needs `{field}`")))
}

/// The flow of a spec's `[flow]` table.
fn flow_of(f: &FlowSpec) -> Result<GeneratedFlow> {
    let kind = match f.kind.as_str() {
        "gradient" => FlowKind::Gradient,
        "heavy_ball" => FlowKind::HeavyBall {
            friction: match (f.friction, f.vanishing_r) {
                (Some(g), None) => Friction::Constant(g),
                (None, Some(r)) => Friction::Vanishing { r },
                _ => {
                    return Err(Error::invalid(
                        "friction",
                        "missing",
                        "heavy_ball needs exactly one of `friction` (γ) or `vanishing_r` (r/t)",
                    ));
                }
            },
            hessian_damping: f.hessian_damping.unwrap_or(0.0),
        },
        "rmsprop" => FlowKind::RmsProp {
            b: need("b", f.b, "rmsprop")?,
            eps: f.eps.unwrap_or(1e-8),
            placement: placement(&f.eps_placement)?,
        },
        "adam" => FlowKind::Adam {
            a: need("a", f.a, "adam")?,
            b: need("b", f.b, "adam")?,
            eps: f.eps.unwrap_or(1e-8),
            placement: placement(&f.eps_placement)?,
            bias: match f.bias.as_deref() {
                None | Some("discrete") => AdamBias::Discrete,
                Some("continuous") => AdamBias::Continuous,
                Some("none") => AdamBias::None,
                Some(s) => {
                    return Err(Error::invalid(
                        "bias",
                        format!("{s:?}"),
                        "expected \"discrete\", \"continuous\" or \"none\"",
                    ));
                }
            },
        },
        "adagrad" => FlowKind::AdaGrad {
            eps: f.eps.unwrap_or(0.0),
            placement: placement(&f.eps_placement)?,
        },
        other => {
            return Err(Error::invalid(
                "kind",
                format!("{other:?}"),
                "flow kinds: gradient, heavy_ball, rmsprop, adam, adagrad",
            ));
        }
    };
    let flow = GeneratedFlow::new(kind)?;
    match f.weight_decay {
        Some(l) => flow.with_decay(l),
        None => Ok(flow),
    }
}

/// A stepper name as a spec key's value (unknown names name the key).
fn stepper(key: &str, name: &str) -> Result<Box<dyn crate::Stepper>> {
    crate::convergence::spec::stepper_by_name(name).map_err(|e| match e {
        Error::Spec { message, .. } => Error::invalid(key, format!("{name:?}"), &message),
        other => other,
    })
}

/// The generated optimizer of an ODE-form spec.
pub(crate) fn build(f: &FlowSpec, d: &DiscretizationSpec) -> Result<GeneratedOptimizer> {
    crate::optimizers::spec::only_keys(f, allowed_flow_keys(&f.kind), &format!("the {} flow", f.kind))?;
    crate::optimizers::spec::only_keys(
        d,
        &["scheme", "h", "splitting", "pieces", "sub_schemes", "rtol", "atol", "t0"],
        "a generated optimizer's discretization",
    )?;
    let flow = flow_of(f)?;
    let scheme = match &d.splitting {
        None => {
            if d.scheme.is_empty() {
                return Err(Error::invalid(
                    "scheme",
                    "missing",
                    "give `scheme` (a stepper) or `splitting` (with `pieces` and `sub_schemes`)",
                ));
            }
            let s = stepper("scheme", &d.scheme)?;
            let steps = if d.scheme == "rk45" || d.rtol.is_some() || d.atol.is_some() {
                let mut o = AdaptiveOptions::default();
                o.rtol = d.rtol.unwrap_or(o.rtol);
                o.atol = d.atol.unwrap_or(o.atol);
                Steps::Adaptive(o)
            } else {
                Steps::Fixed(1)
            };
            Scheme::Whole(Integrator::new(s, steps)?)
        }
        Some(name) => {
            if !d.scheme.is_empty() {
                return Err(Error::invalid(
                    "scheme",
                    format!("{:?}", d.scheme),
                    "give either `scheme` or `splitting`, not both",
                ));
            }
            let own = flow.pieces();
            if own.len() < 2 {
                return Err(Error::invalid(
                    "splitting",
                    format!("{name:?}"),
                    &format!("the {} flow has a single piece ({}) and cannot be split", f.kind, own[0]),
                ));
            }
            let pieces = d.pieces.clone().unwrap_or(own);
            let subs = match &d.sub_schemes {
                Some(s) => s.clone(),
                None => vec!["explicit_euler".to_string(); pieces.len()],
            };
            if subs.len() != pieces.len() {
                return Err(Error::invalid(
                    "sub_schemes",
                    format!("{subs:?}"),
                    &format!("one sub-scheme per piece ({} pieces)", pieces.len()),
                ));
            }
            let subs = subs
                .iter()
                .map(|s| match s.as_str() {
                    "exact" => Ok(SubScheme::Exact),
                    other => Ok(SubScheme::Integrate(Integrator::new(
                        stepper("sub_schemes", other)?,
                        Steps::Fixed(1),
                    )?)),
                })
                .collect::<Result<Vec<_>>>()?;
            let coefficients = SplittingCoefficients::by_name(name, pieces.len())?;
            let names: Vec<&str> = pieces.iter().map(String::as_str).collect();
            Scheme::splitting(coefficients, &names, subs)?
        }
    };
    GeneratedOptimizer::new(Box::new(flow), scheme, d.h)?.with_start_time(d.t0.unwrap_or(0.0))
}
