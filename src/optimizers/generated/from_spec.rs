//! The ODE form of an optimizer spec as a generated optimizer: any flow,
//! any stepper or splitting of the flow's pieces.

use super::{FlowKind, GeneratedFlow, GeneratedOptimizer, OracleFlow, Scheme, SubScheme};
use crate::error::{Error, Result};
use crate::flows::Friction;
use crate::optimizers::spec::{
    DiscretizationSpec, FlowSpec, friction_missing, only_keys, required, unbuilt_flow_kind,
};
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
        "newton" => false,
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
        || d.coefficients.is_some()
        || d.order.is_some()
        || f.hessian_damping.is_some()
        || f.bias.is_some()
        || (f.weight_decay.is_some() && f.kind != "adam")
        || !fused(&f.kind, &d.scheme)
}

fn placement(v: &Option<String>) -> Result<EpsPlacement> {
    match v {
        None => Ok(EpsPlacement::Outside),
        Some(s) => EpsPlacement::from_name(s),
    }
}

/// The flow of a spec's `[flow]` table.
fn flow_of(f: &FlowSpec) -> Result<GeneratedFlow> {
    let kind = match f.kind.as_str() {
        "gradient" => FlowKind::Gradient,
        "heavy_ball" => FlowKind::HeavyBall {
            friction: match (f.friction, f.vanishing_r) {
                (Some(g), None) => Friction::Constant(g),
                (None, Some(r)) => Friction::Vanishing { r },
                _ => return Err(friction_missing()),
            },
            hessian_damping: f.hessian_damping.unwrap_or(0.0),
        },
        "rmsprop" => FlowKind::RmsProp {
            b: required("b", f.b, "the rmsprop flow")?,
            eps: f.eps.unwrap_or(1e-8),
            placement: placement(&f.eps_placement)?,
        },
        "adam" => FlowKind::Adam {
            a: required("a", f.a, "the adam flow")?,
            b: required("b", f.b, "the adam flow")?,
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
        "newton" => FlowKind::Newton {
            regularization: f.regularization.unwrap_or(0.0),
        },
        _ => return Err(unbuilt_flow_kind(&f.kind)),
    };
    let flow = GeneratedFlow::new(kind)?;
    match f.weight_decay {
        Some(l) => flow.with_decay(l),
        None => Ok(flow),
    }
}

/// A stepper name as a spec key's value (unknown names name the key).
fn stepper(key: &str, name: &str) -> Result<Box<dyn crate::Stepper>> {
    crate::steppers::stepper_by_name(name).map_err(|e| match e {
        Error::Spec { message, .. } => Error::invalid(key, format!("{name:?}"), &message),
        other => other,
    })
}

/// The keys of a generated optimizer's `[discretization]`.
const DISCRETIZATION_KEYS: [&str; 10] = [
    "scheme",
    "h",
    "splitting",
    "pieces",
    "sub_schemes",
    "rtol",
    "atol",
    "t0",
    "coefficients",
    "order",
];

/// The generated optimizer of an ODE-form spec: the flow, then one stepper
/// on the whole flow (`scheme`) or a splitting of its pieces (`splitting`).
pub(crate) fn build(f: &FlowSpec, d: &DiscretizationSpec) -> Result<GeneratedOptimizer> {
    only_keys(
        f,
        super::flow::flow_entry(&f.kind)?.keys,
        &format!("the {} flow", f.kind),
    )?;
    only_keys(
        d,
        &DISCRETIZATION_KEYS,
        "a generated optimizer's discretization",
    )?;
    let flow = flow_of(f)?;
    let scheme = match &d.splitting {
        None => whole_scheme(d)?,
        Some(name) => splitting_scheme(f, d, &flow, name)?,
    };
    GeneratedOptimizer::new(Box::new(flow), scheme, d.h)?.with_start_time(d.t0.unwrap_or(0.0))
}

/// One stepper on the whole flow: `scheme`, adaptive for rk45 or with a
/// tolerance, else one step per optimizer step.
fn whole_scheme(d: &DiscretizationSpec) -> Result<Scheme> {
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
    Ok(Scheme::Whole(Integrator::new(s, steps)?))
}

/// The splitting `name` of the flow's pieces (`pieces`, default the flow's
/// order), each advanced by its sub-scheme.
fn splitting_scheme(
    f: &FlowSpec,
    d: &DiscretizationSpec,
    flow: &GeneratedFlow,
    name: &str,
) -> Result<Scheme> {
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
            &format!(
                "the {} flow has a single piece ({}) and cannot be split",
                f.kind, own[0]
            ),
        ));
    }
    let pieces = d.pieces.clone().unwrap_or(own);
    let subs = sub_schemes(d, pieces.len())?;
    let coefficients = coefficients(d, name, pieces.len())?;
    let names: Vec<&str> = pieces.iter().map(String::as_str).collect();
    Scheme::splitting(coefficients, &names, subs)
}

/// `sub_schemes`, one per piece (default explicit Euler): `exact` or a
/// stepper taking one step.
fn sub_schemes(d: &DiscretizationSpec, n_pieces: usize) -> Result<Vec<SubScheme>> {
    let subs = match &d.sub_schemes {
        Some(s) => s.clone(),
        None => vec!["explicit_euler".to_string(); n_pieces],
    };
    if subs.len() != n_pieces {
        return Err(Error::invalid(
            "sub_schemes",
            format!("{subs:?}"),
            &format!("one sub-scheme per piece ({n_pieces} pieces)"),
        ));
    }
    subs.iter()
        .map(|s| match s.as_str() {
            "exact" => Ok(SubScheme::Exact),
            other => Ok(SubScheme::Integrate(Box::new(Integrator::new(
                stepper("sub_schemes", other)?,
                Steps::Fixed(1),
            )?))),
        })
        .collect()
}

/// The coefficients of splitting `name`: a named scheme, or `custom` with
/// `coefficients` and the claimed `order`.
fn coefficients(
    d: &DiscretizationSpec,
    name: &str,
    n_pieces: usize,
) -> Result<SplittingCoefficients> {
    match (name, &d.coefficients, d.order) {
        ("custom", Some(table), Some(order)) => {
            SplittingCoefficients::from_table(table, n_pieces, order)
        }
        ("custom", None, _) => Err(Error::invalid(
            "coefficients",
            "missing",
            "splitting = \"custom\" needs `coefficients` (one list per piece) and `order`",
        )),
        ("custom", Some(_), None) => Err(Error::invalid(
            "order",
            "missing",
            "splitting = \"custom\" needs the claimed `order` (checked on load)",
        )),
        (_, Some(_), _) | (_, _, Some(_)) => Err(Error::invalid(
            if d.coefficients.is_some() {
                "coefficients"
            } else {
                "order"
            },
            "given",
            "only used with splitting = \"custom\"",
        )),
        _ => SplittingCoefficients::by_name(name, n_pieces),
    }
}

fn euler() -> Result<SubScheme> {
    SubScheme::named("explicit_euler")
}

fn lie(pieces: &[&str], subs: Vec<SubScheme>) -> Result<Scheme> {
    Scheme::splitting(SplittingCoefficients::lie(pieces.len())?, pieces, subs)
}

/// The generated optimizer of a classic (fused) ODE-form spec: the flow and
/// scheme that tests/generated.rs proves equal to the fused optimizer.
fn classic(f: &FlowSpec, d: &DiscretizationSpec) -> Result<GeneratedOptimizer> {
    let h = d.h;
    let mut flow_spec = f.clone();
    let mut t0 = 0.0;
    let lookahead = d.gradient_at.as_deref() == Some("lookahead");
    let scheme = match (f.kind.as_str(), d.scheme.as_str()) {
        ("gradient", s) => Scheme::stepper(s)?,
        ("heavy_ball", "nesterov") => {
            let r = f.vanishing_r.unwrap_or(f64::NAN);
            flow_spec.hessian_damping = Some(h);
            t0 = (r - 1.0) * h;
            lie(
                &["friction", "drift", "kick"],
                vec![euler()?, euler()?, euler()?],
            )?
        }
        ("heavy_ball", s) if lookahead => {
            flow_spec.hessian_damping = Some(h);
            let friction = match s {
                "exact_friction" => SubScheme::Exact,
                "semi_implicit_euler" => euler()?,
                _ => {
                    return Err(Error::invalid(
                        "scheme",
                        format!("{s:?}"),
                        "look-ahead (NAG) with forward friction applies the friction factor before the look-ahead and after the kick; no splitting of the heavy ball reproduces it",
                    ));
                }
            };
            lie(
                &["friction", "drift", "kick"],
                vec![friction, euler()?, euler()?],
            )?
        }
        ("heavy_ball", "semi_implicit_euler") => lie(
            &["friction", "kick", "drift"],
            vec![euler()?, euler()?, euler()?],
        )?,
        ("heavy_ball", "exact_friction") => lie(
            &["friction", "kick", "drift"],
            vec![SubScheme::Exact, euler()?, euler()?],
        )?,
        ("heavy_ball", "forward_friction") => lie(
            &["kick", "friction", "drift"],
            vec![euler()?, SubScheme::named("implicit_euler")?, euler()?],
        )?,
        ("adam", _) if f.weight_decay.is_some() => match d.decay_scheme.as_deref() {
            Some("lie_exact") => lie(
                &["moments", "position", "decay"],
                vec![euler()?, euler()?, SubScheme::Exact],
            )?,
            _ => lie(
                &["moments", "decay", "position"],
                vec![euler()?, euler()?, euler()?],
            )?,
        },
        _ => lie(&["moments", "position"], vec![euler()?, euler()?])?,
    };
    GeneratedOptimizer::new(Box::new(flow_of(&flow_spec)?), scheme, h)?.with_start_time(t0)
}

/// The generated optimizer of any ODE-form spec with step `h`: the spec's
/// own (flow, scheme), or for a classic spec the flow and scheme that equal
/// its fused optimizer.
pub(crate) fn generated(
    f: &FlowSpec,
    d: &DiscretizationSpec,
    h: f64,
) -> Result<GeneratedOptimizer> {
    let d = DiscretizationSpec { h, ..d.clone() };
    if is_generated(f, &d) {
        build(f, &d)
    } else {
        crate::optimizers::spec::OptimizerSpec {
            flow: Some(f.clone()),
            discretization: Some(d.clone()),
            textbook: None,
            schedule: None,
        }
        .build()?;
        classic(f, &d)
    }
}
