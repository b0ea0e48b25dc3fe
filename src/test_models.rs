//! Problems with exact solutions, shared by tests, order studies and
//! benchmarks, plus classic nonlinear systems without one (Lorenz, van der
//! Pol, Kepler) that use a fine reference run.

use nalgebra::{DMatrix, DVector, dmatrix};
use rand_distr::{Distribution, StandardNormal};

use crate::system::Linearity;
use crate::{LinearSystem, OdeSystem, State};

/// A system with a known solution from a fixed initial state at `t = 0`.
pub trait ExactProblem: OdeSystem {
    /// Initial state at `t = 0`.
    fn initial(&self) -> State;
    /// Exact solution at time `t`.
    fn exact(&self, t: f64) -> State;
}

/// `y' = λy`, `y(0) = 1`: `y(t) = e^{λt}`.
#[derive(Debug, Clone, Copy)]
pub struct LinearDecay {
    /// The rate λ.
    pub lambda: f64,
}

impl OdeSystem for LinearDecay {
    fn dim(&self) -> usize {
        1
    }
    fn rhs(&self, _t: f64, y: &State, dy: &mut State) {
        dy[0] = self.lambda * y[0];
    }
    fn jacobian(&self, _t: f64, _y: &State, jac: &mut DMatrix<f64>) -> bool {
        jac[(0, 0)] = self.lambda;
        true
    }
    fn linearity(&self) -> Linearity {
        Linearity::AffineConstantJacobian
    }
}

impl ExactProblem for LinearDecay {
    fn initial(&self) -> State {
        State::from_element(1, 1.0)
    }
    fn exact(&self, t: f64) -> State {
        State::from_element(1, (self.lambda * t).exp())
    }
}

/// `x'' = −ω²x` as `[x, v]`, from `(1, 0)`: `x = cos ωt`, `v = −ω sin ωt`.
#[derive(Debug, Clone, Copy)]
pub struct HarmonicOscillator {
    /// Angular frequency ω.
    pub omega: f64,
}

impl OdeSystem for HarmonicOscillator {
    fn dim(&self) -> usize {
        2
    }
    fn rhs(&self, _t: f64, y: &State, dy: &mut State) {
        dy[0] = y[1];
        dy[1] = -self.omega * self.omega * y[0];
    }
    fn jacobian(&self, _t: f64, _y: &State, jac: &mut DMatrix<f64>) -> bool {
        jac[(0, 0)] = 0.0;
        jac[(0, 1)] = 1.0;
        jac[(1, 0)] = -self.omega * self.omega;
        jac[(1, 1)] = 0.0;
        true
    }
    fn linearity(&self) -> Linearity {
        Linearity::AffineConstantJacobian
    }
}

impl ExactProblem for HarmonicOscillator {
    fn initial(&self) -> State {
        State::from_vec(vec![1.0, 0.0])
    }
    fn exact(&self, t: f64) -> State {
        let w = self.omega;
        State::from_vec(vec![(w * t).cos(), -w * (w * t).sin()])
    }
}

/// A non-normal linear system `y' = Ay` (upper-triangular `A` with strong
/// coupling), exact by the matrix exponential.
#[derive(Debug, Clone)]
pub struct NonNormalLinear {
    system: LinearSystem,
}

impl Default for NonNormalLinear {
    fn default() -> Self {
        let a = dmatrix![-1.0, 10.0, 0.0; 0.0, -2.0, 10.0; 0.0, 0.0, -3.0];
        NonNormalLinear {
            system: LinearSystem::new(a, None).expect("a square finite matrix"),
        }
    }
}

impl OdeSystem for NonNormalLinear {
    fn dim(&self) -> usize {
        3
    }
    fn rhs(&self, t: f64, y: &State, dy: &mut State) {
        self.system.rhs(t, y, dy)
    }
    fn jacobian(&self, t: f64, y: &State, jac: &mut DMatrix<f64>) -> bool {
        self.system.jacobian(t, y, jac)
    }
    fn linearity(&self) -> Linearity {
        Linearity::AffineConstantJacobian
    }
}

impl ExactProblem for NonNormalLinear {
    fn initial(&self) -> State {
        State::from_vec(vec![1.0, 1.0, 1.0])
    }
    fn exact(&self, t: f64) -> State {
        self.system
            .exact(t, &self.initial())
            .expect("dimensions match")
    }
}

/// Logistic growth `y' = r·y·(1 − y/K)`: `y(t) = K / (1 + (K/y₀ − 1)e^{−rt})`.
#[derive(Debug, Clone, Copy)]
pub struct LogisticGrowth {
    /// Rate r.
    pub r: f64,
    /// Carrying capacity K.
    pub k: f64,
    /// Initial value y₀.
    pub y0: f64,
}

impl Default for LogisticGrowth {
    fn default() -> Self {
        LogisticGrowth {
            r: 1.0,
            k: 10.0,
            y0: 0.5,
        }
    }
}

impl OdeSystem for LogisticGrowth {
    fn dim(&self) -> usize {
        1
    }
    fn rhs(&self, _t: f64, y: &State, dy: &mut State) {
        dy[0] = self.r * y[0] * (1.0 - y[0] / self.k);
    }
    fn jacobian(&self, _t: f64, y: &State, jac: &mut DMatrix<f64>) -> bool {
        jac[(0, 0)] = self.r * (1.0 - 2.0 * y[0] / self.k);
        true
    }
}

impl ExactProblem for LogisticGrowth {
    fn initial(&self) -> State {
        State::from_element(1, self.y0)
    }
    fn exact(&self, t: f64) -> State {
        State::from_element(
            1,
            self.k / (1.0 + (self.k / self.y0 - 1.0) * (-self.r * t).exp()),
        )
    }
}

/// The gradient flow of `f(θ) = ½θᵀAθ − bᵀθ` with symmetric positive
/// definite `A = V diag(λ) Vᵀ` (eigenvalues log-spaced in `[λ_min, λ_max]`,
/// `V` a seeded random orthogonal matrix):
///
/// $$ θ' = b − Aθ, \qquad θ(t) = θ^* + V e^{−Λt} V^\top(θ_0 − θ^*). $$
#[derive(Debug, Clone)]
pub struct QuadraticGradientFlow {
    a: DMatrix<f64>,
    b: DVector<f64>,
    v: DMatrix<f64>,
    lambda: DVector<f64>,
    theta_star: DVector<f64>,
    theta0: DVector<f64>,
}

impl QuadraticGradientFlow {
    /// A random instance of dimension `n` with eigenvalues in `[lambda_min, lambda_max]`.
    pub fn new(n: usize, lambda_min: f64, lambda_max: f64, seed: u64) -> Self {
        let mut rng = crate::random::seeded_rng(seed);
        let g: DMatrix<f64> = DMatrix::from_fn(n, n, |_, _| StandardNormal.sample(&mut rng));
        let v = g.qr().q();
        let lambda = DVector::from_fn(n, |i, _| {
            let s = if n > 1 {
                i as f64 / (n - 1) as f64
            } else {
                0.0
            };
            lambda_min * (lambda_max / lambda_min).powf(s)
        });
        let a = &v * DMatrix::from_diagonal(&lambda) * v.transpose();
        let a = (&a + a.transpose()) * 0.5;
        let theta_star: DVector<f64> = DVector::from_fn(n, |_, _| StandardNormal.sample(&mut rng));
        let b = &a * &theta_star;
        let theta0: DVector<f64> = DVector::from_fn(n, |_, _| StandardNormal.sample(&mut rng));
        QuadraticGradientFlow {
            a,
            b,
            v,
            lambda,
            theta_star,
            theta0,
        }
    }

    /// The 500-dimensional instance used by tests and benches
    /// (eigenvalues in [0.1, 10], seed 500).
    pub fn standard() -> Self {
        Self::new(500, 0.1, 10.0, 500)
    }

    /// The Hessian `A`.
    pub fn hessian(&self) -> &DMatrix<f64> {
        &self.a
    }

    /// The minimiser θ*.
    pub fn minimizer(&self) -> &DVector<f64> {
        &self.theta_star
    }
}

impl OdeSystem for QuadraticGradientFlow {
    fn dim(&self) -> usize {
        self.b.len()
    }
    fn rhs(&self, _t: f64, y: &State, dy: &mut State) {
        dy.copy_from(&self.b);
        dy.gemv(-1.0, &self.a, y, 1.0);
    }
    fn jacobian(&self, _t: f64, _y: &State, jac: &mut DMatrix<f64>) -> bool {
        jac.copy_from(&self.a);
        jac.neg_mut();
        true
    }
    fn linearity(&self) -> Linearity {
        Linearity::AffineConstantJacobian
    }
}

impl ExactProblem for QuadraticGradientFlow {
    fn initial(&self) -> State {
        self.theta0.clone()
    }
    fn exact(&self, t: f64) -> State {
        let mut c = self.v.tr_mul(&(&self.theta0 - &self.theta_star));
        for i in 0..c.len() {
            c[i] *= (-self.lambda[i] * t).exp();
        }
        &self.theta_star + &self.v * c
    }
}

/// The Lorenz system `x' = σ(y − x)`, `y' = x(ρ − z) − y`, `z' = xy − βz`.
#[derive(Debug, Clone, Copy)]
pub struct Lorenz {
    /// σ.
    pub sigma: f64,
    /// ρ.
    pub rho: f64,
    /// β.
    pub beta: f64,
}

impl Default for Lorenz {
    /// The classic chaotic parameters σ = 10, ρ = 28, β = 8/3.
    fn default() -> Self {
        Lorenz {
            sigma: 10.0,
            rho: 28.0,
            beta: 8.0 / 3.0,
        }
    }
}

impl Lorenz {
    /// The field `(σ(y − x), x(ρ − z) − y, xy − βz)` at `(x, y, z)`.
    #[inline(always)]
    pub fn field(&self, [x, y, z]: [f64; 3]) -> [f64; 3] {
        [
            self.sigma * (y - x),
            x * (self.rho - z) - y,
            x * y - self.beta * z,
        ]
    }
}

/// Lorenz as a [`SmallSystem`](crate::SmallSystem): the same field on a
/// stack state, for [`SmallRk`](crate::SmallRk).
impl crate::SmallSystem<3> for Lorenz {
    #[inline(always)]
    fn rhs(&self, _t: f64, y: &[f64; 3], dy: &mut [f64; 3]) {
        *dy = self.field(*y);
    }
}

impl OdeSystem for Lorenz {
    fn dim(&self) -> usize {
        3
    }
    fn rhs(&self, _t: f64, y: &State, dy: &mut State) {
        let f = self.field([y[0], y[1], y[2]]);
        dy.copy_from_slice(&f);
    }
    fn jacobian(&self, _t: f64, y: &State, jac: &mut DMatrix<f64>) -> bool {
        // Entry by entry: no temporary matrix (the stepper's Newton loop
        // must not allocate).
        let rows = [
            [-self.sigma, self.sigma, 0.0],
            [self.rho - y[2], -1.0, -y[0]],
            [y[1], y[0], -self.beta],
        ];
        for (i, row) in rows.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                jac[(i, j)] = *v;
            }
        }
        true
    }
}

/// Van der Pol's oscillator `x' = v`, `v' = μ(1 − x²)v − x`.
#[derive(Debug, Clone, Copy)]
pub struct VanDerPol {
    /// μ (stiff for large values).
    pub mu: f64,
}

impl OdeSystem for VanDerPol {
    fn dim(&self) -> usize {
        2
    }
    fn rhs(&self, _t: f64, y: &State, dy: &mut State) {
        dy[0] = y[1];
        dy[1] = self.mu * (1.0 - y[0] * y[0]) * y[1] - y[0];
    }
    fn jacobian(&self, _t: f64, y: &State, jac: &mut DMatrix<f64>) -> bool {
        jac.copy_from(&dmatrix![
            0.0, 1.0;
            -2.0 * self.mu * y[0] * y[1] - 1.0, self.mu * (1.0 - y[0] * y[0])
        ]);
        true
    }
}

/// The Kepler problem `q'' = −q/|q|³` as `[q₁, q₂, p₁, p₂]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kepler;

impl Kepler {
    /// The standard initial state of eccentricity `e` (period 2π).
    pub fn initial(e: f64) -> State {
        State::from_vec(vec![1.0 - e, 0.0, 0.0, ((1.0 + e) / (1.0 - e)).sqrt()])
    }
}

impl OdeSystem for Kepler {
    fn dim(&self) -> usize {
        4
    }
    fn rhs(&self, _t: f64, y: &State, dy: &mut State) {
        let r3 = (y[0] * y[0] + y[1] * y[1]).powf(1.5);
        dy[0] = y[2];
        dy[1] = y[3];
        dy[2] = -y[0] / r3;
        dy[3] = -y[1] / r3;
    }
}
