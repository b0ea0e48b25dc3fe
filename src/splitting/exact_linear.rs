//! The exact flow of a linear system by the matrix exponential.

use nalgebra::DMatrix;

use super::{FlowMap, FlowStats};
use crate::error::{Result, check_dim};
use crate::{LinearSystem, Order, State};

const CACHE: usize = 8;

/// The exact flow of `y' = A·y + c`: `y ← e^{hA}y + (∫₀ʰ e^{sA}ds) c`.
///
/// Propagators are computed by the matrix exponential and cached for the
/// last few distinct step sizes (a Strang or Yoshida step uses 2–3), so a
/// study at fixed h costs one exponential per sub-step size.
///
/// # Example
/// ```
/// use nalgebra::dmatrix;
/// use splitflow::splitting::{ExactLinear, FlowMap};
/// use splitflow::{LinearSystem, State};
/// let mut phi = ExactLinear::new(LinearSystem::new(dmatrix![-2.0], None)?);
/// let mut y = State::from_element(1, 1.0);
/// phi.advance(0.0, 0.5, &mut y)?;
/// assert!((y[0] - (-1.0f64).exp()).abs() < 1e-15);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ExactLinear {
    system: LinearSystem,
    cache: Vec<(f64, DMatrix<f64>)>,
    out: State,
    advances: usize,
}

impl ExactLinear {
    /// The exact flow of `system`.
    pub fn new(system: LinearSystem) -> Self {
        ExactLinear {
            system,
            cache: Vec::new(),
            out: State::zeros(0),
            advances: 0,
        }
    }

    /// The system.
    pub fn system(&self) -> &LinearSystem {
        &self.system
    }
}

impl FlowMap for ExactLinear {
    fn dim(&self) -> usize {
        self.system.matrix().nrows()
    }

    /// `y ← e^{hA}y + (∫₀ʰ e^{sA}ds) c`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) for a
    /// wrong-length `y`; [`Error::InvalidParameter`](crate::Error::InvalidParameter)
    /// for a non-finite `h`; [`Error::NonFinite`](crate::Error::NonFinite)
    /// when `y` holds NaN or ±∞ or the result overflows, `y` unchanged.
    fn advance(&mut self, t: f64, h: f64, y: &mut State) -> Result<()> {
        let n = self.dim();
        check_dim("state y", n, y.len())?;
        if !h.is_finite() {
            return Err(crate::Error::invalid("h", h, "must be finite"));
        }
        if !crate::kernels::all_finite(y.as_slice()) {
            return Err(crate::Error::non_finite_input(
                "state y entering the exact linear flow",
                Some(t),
            ));
        }
        self.advances += 1;
        let idx = match self.cache.iter().position(|(hc, _)| *hc == h) {
            Some(i) => i,
            None => {
                if self.cache.len() == CACHE {
                    self.cache.remove(0);
                }
                self.cache.push((h, self.system.propagator(h)));
                self.cache.len() - 1
            }
        };
        let p = &self.cache[idx].1;
        if self.out.len() != n {
            self.out = State::zeros(n);
        }
        self.out.copy_from(&p.view((0, n), (n, 1)));
        self.out.gemv(1.0, &p.view((0, 0), (n, n)), y, 1.0);
        if !crate::kernels::all_finite(self.out.as_slice()) {
            return Err(crate::Error::non_finite(
                "exact linear flow (overflow)",
                t + h,
            ));
        }
        y.copy_from(&self.out);
        Ok(())
    }

    fn order(&self) -> Order {
        Order::Exact
    }

    fn stats(&self) -> FlowStats {
        FlowStats {
            advances: self.advances,
            f_evals: 0,
        }
    }

    fn name(&self) -> String {
        "exact linear".into()
    }
}
