//! The QR-reduced local flow of a softmax-regression batch.

use std::cell::RefCell;

use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut};

use super::reduced::ReducedCore;
use crate::error::{Result, check_dim};
use crate::objective::FiniteSum;
use crate::problems::softmax::{Softmax, softmax_rows};
use crate::splitting::{FlowMap, FlowStats};
use crate::{AdaptiveOptions, OdeSystem, Order, State, Stats};

/// The reduced ODE `H' = −c R(s(RᵀH) − Y)` on H ∈ ℝ^{k×c}, flattened column-major.
struct ReducedSoftmax<'r> {
    r: &'r DMatrix<f64>,
    y: &'r DMatrix<f64>,
    c: f64,
    z: RefCell<DMatrix<f64>>,
}

impl OdeSystem for ReducedSoftmax<'_> {
    fn dim(&self) -> usize {
        self.r.nrows() * self.y.ncols()
    }
    fn rhs(&self, _t: f64, eta: &State, d: &mut State) {
        let (k, classes) = (self.r.nrows(), self.y.ncols());
        let h = DMatrixView::from_slice(eta.as_slice(), k, classes);
        let mut z = self.z.borrow_mut();
        z.gemm_tr(1.0, self.r, &h, 0.0);
        softmax_rows(&mut z);
        *z -= self.y;
        let mut dm = DMatrixViewMut::from_slice(d.as_mut_slice(), k, classes);
        dm.gemm(-self.c, self.r, &z, 0.0);
    }
}

/// The local problem of a softmax-regression batch,
/// `Θ' = −c Xᵀ(s(XΘ) − Y)` with `c = 1/(m·b)`, integrated in the reduced
/// coordinates `H = QᵀΘ ∈ ℝ^{k×c}` (`Xᵀ = QR`):
///
/// $$ H' = −c\,R\,(s(R^\top H) − Y), \qquad Θ(h) = Θ_0 + Q(H(h) − H(0)), $$
///
/// by adaptive Dormand–Prince (default `rtol = atol = 1e-8`). Θ is flattened
/// column-major (p×c).
pub struct ReducedSoftmaxFlow<'a> {
    x: &'a DMatrix<f64>,
    y: &'a DMatrix<f64>,
    c: f64,
    r: DMatrix<f64>,
    core: ReducedCore,
}

impl<'a> ReducedSoftmaxFlow<'a> {
    /// The reduced flow of batch `(x, y one-hot)` with scale `c` and tolerances.
    ///
    /// # Errors
    /// Dimension mismatch of `y`, `c ≤ 0`, invalid tolerances.
    pub fn new(
        x: &'a DMatrix<f64>,
        y: &'a DMatrix<f64>,
        c: f64,
        options: AdaptiveOptions,
    ) -> Result<Self> {
        check_dim("batch labels", x.nrows(), y.nrows())?;
        crate::error::check_positive("c", c)?;
        options.tolerance().validate()?;
        Ok(ReducedSoftmaxFlow {
            x,
            y,
            c,
            r: DMatrix::zeros(0, 0),
            core: ReducedCore::new(options),
        })
    }

    /// The reduced flows of every batch (`c = 1/(m·bᵢ)`).
    pub fn for_batches(problem: &'a Softmax, options: AdaptiveOptions) -> Result<Vec<Self>> {
        let m = problem.num_batches();
        (0..m)
            .map(|i| {
                let (x, y) = problem.batch(i);
                Self::new(x, y, 1.0 / (m * x.nrows()) as f64, options)
            })
            .collect()
    }

    /// Solver counters accumulated over all advances.
    pub fn solver_stats(&self) -> Stats {
        self.core.solver_stats()
    }
}

impl FlowMap for ReducedSoftmaxFlow<'_> {
    fn dim(&self) -> usize {
        self.x.ncols() * self.y.ncols()
    }

    fn advance(&mut self, t: f64, h: f64, theta: &mut State) -> Result<()> {
        check_dim("parameters Θ", self.dim(), theta.len())?;
        let classes = self.y.ncols();
        if let Some(r) = self.core.factorize(self.x, classes) {
            self.r = r;
        }
        self.core.project(theta, classes);
        let system = ReducedSoftmax {
            r: &self.r,
            y: self.y,
            c: self.c,
            z: RefCell::new(DMatrix::zeros(self.y.nrows(), classes)),
        };
        self.core.integrate_and_lift(&system, t, h, theta, classes)
    }

    fn order(&self) -> Order {
        Order::Exact
    }

    fn is_dissipative(&self) -> bool {
        true
    }

    fn stats(&self) -> FlowStats {
        self.core.flow_stats()
    }

    fn name(&self) -> String {
        "reduced softmax flow (rk45)".into()
    }
}
