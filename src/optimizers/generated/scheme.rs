//! How a generated optimizer advances its flow by one step h: one
//! integrator on the whole flow, or a splitting of the flow's named pieces
//! with a sub-scheme per piece.

use crate::error::{Error, Result};
use crate::splitting::{PieceOrder, SplittingCoefficients};
use crate::{Integrator, Order, Steps};

/// The sub-scheme of one piece of a splitting.
#[derive(Debug)]
pub enum SubScheme {
    /// The piece's exact sub-flow (friction e^{−γh}, decay e^{−λh}).
    Exact,
    /// An integrator (stepper + steps) on the piece's field.
    Integrate(Box<Integrator>),
}

impl SubScheme {
    /// `"exact"`, or a stepper name (one step per sub-flow).
    ///
    /// # Errors
    /// [`Error::Spec`] for an unknown stepper name.
    pub fn named(name: &str) -> Result<Self> {
        if name == "exact" {
            return Ok(SubScheme::Exact);
        }
        Ok(SubScheme::Integrate(Box::new(Integrator::new(
            crate::steppers::stepper_by_name(name)?,
            Steps::Fixed(1),
        )?)))
    }

    /// The order of the sub-flow approximation.
    pub fn order(&self) -> Order {
        match self {
            SubScheme::Exact => Order::Exact,
            SubScheme::Integrate(i) => i.order(),
        }
    }

    /// `"exact"` or the integrator's label.
    pub fn label(&self) -> String {
        match self {
            SubScheme::Exact => "exact".into(),
            SubScheme::Integrate(i) => i.label(),
        }
    }
}

/// A scheme: what one optimizer step of size h does to the flow.
///
/// # Example
/// ```
/// use splitflow::optimizers::{Scheme, SubScheme};
/// use splitflow::splitting::SplittingCoefficients;
/// // Strang: exact friction half-steps around kick and drift (each explicit Euler).
/// let s = Scheme::splitting(
///     SplittingCoefficients::strang(3)?,
///     &["friction", "kick", "drift"],
///     vec![SubScheme::Exact, SubScheme::named("explicit_euler")?, SubScheme::named("explicit_euler")?],
/// )?;
/// assert_eq!(s.label(), "strang splitting [friction: exact, kick: explicit_euler x1, drift: explicit_euler x1]");
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug)]
pub enum Scheme {
    /// One integrator on the whole flow.
    Whole(Integrator),
    /// A splitting of the flow's pieces.
    Split {
        /// Coefficients over the listed pieces (piece k of the coefficients is `pieces[k]`).
        coefficients: SplittingCoefficients,
        /// Piece names, in the scheme's order.
        pieces: Vec<String>,
        /// Sub-scheme of each listed piece.
        subs: Vec<SubScheme>,
        /// Piece-order policy.
        order: PieceOrder,
    },
}

impl Scheme {
    /// One step of the named stepper on the whole flow per optimizer step.
    ///
    /// # Errors
    /// [`Error::Spec`] for an unknown name.
    pub fn stepper(name: &str) -> Result<Self> {
        match SubScheme::named(name)? {
            SubScheme::Integrate(i) => Ok(Scheme::Whole(*i)),
            SubScheme::Exact => Err(Error::invalid(
                "scheme",
                name,
                "`exact` is a sub-scheme of a splitting piece, not a scheme of a whole flow",
            )),
        }
    }

    /// A splitting of the named pieces with one sub-scheme each.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the number of pieces, sub-schemes and
    /// coefficient pieces differ.
    pub fn splitting(
        coefficients: SplittingCoefficients,
        pieces: &[&str],
        subs: Vec<SubScheme>,
    ) -> Result<Self> {
        if subs.len() != pieces.len() {
            return Err(Error::invalid(
                "sub_schemes",
                subs.len(),
                &format!("one sub-scheme per piece ({} pieces)", pieces.len()),
            ));
        }
        if coefficients.pieces() != pieces.len() {
            return Err(Error::invalid(
                "splitting",
                coefficients.name(),
                &format!(
                    "coefficients for {} pieces, but {} pieces are listed",
                    coefficients.pieces(),
                    pieces.len()
                ),
            ));
        }
        Ok(Scheme::Split {
            coefficients,
            pieces: pieces.iter().map(|s| s.to_string()).collect(),
            subs,
            order: PieceOrder::Fixed,
        })
    }

    /// Sets the piece-order policy of a splitting (no effect on a whole-flow scheme).
    pub fn with_piece_order(mut self, policy: PieceOrder) -> Self {
        if let Scheme::Split { order, .. } = &mut self {
            *order = policy;
        }
        self
    }

    /// The order of one step as an approximation of the flow: the
    /// integrator's, or min(splitting order, every sub-scheme's order).
    pub fn order(&self) -> Order {
        match self {
            Scheme::Whole(i) => i.order(),
            Scheme::Split {
                coefficients, subs, ..
            } => subs
                .iter()
                .map(SubScheme::order)
                .fold(Order::Finite(coefficients.order()), Order::min),
        }
    }

    /// A short description.
    pub fn label(&self) -> String {
        match self {
            Scheme::Whole(i) => i.label(),
            Scheme::Split {
                coefficients,
                pieces,
                subs,
                ..
            } => {
                let parts: Vec<String> = pieces
                    .iter()
                    .zip(subs)
                    .map(|(p, s)| format!("{p}: {}", s.label()))
                    .collect();
                format!("{} splitting [{}]", coefficients.name(), parts.join(", "))
            }
        }
    }
}
