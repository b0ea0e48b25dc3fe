//! Variance-reduced stochastic gradient methods: SVRG (a Lie splitting of a
//! re-partitioned gradient flow) and SAG (a gradient table), THEORY §7.

use super::{
    Call, GradientOracle, Optimizer, check_positive, checked_call, commit, ensure_len, gradient_at,
    prepare,
};
use crate::State;
use crate::error::{Error, Result};
use nalgebra::DMatrix;

/// SVRG: explicit Euler on the local fields of a re-partitioned gradient
/// flow, with lr α.
///
/// *Lie splitting (explicit Euler, step α·m per local problem) on
/// θ' = −∇f(θ) = −(1/m) Σᵢ gᵢ(θ), partitioned as*
///
/// $$ g_i(\theta) = \nabla f_i(\theta) - \nabla f_i(\tilde\theta) + \nabla f(\tilde\theta), $$
///
/// *which is SVRG with lr α.* Since Σᵢ(∇fᵢ(θ̃) − ∇f(θ̃)) = 0 the gᵢ add up
/// to the same vector field as the ∇fᵢ (THEORY §7), but they nearly agree
/// near the snapshot θ̃, so their commutators, and with them the splitting
/// error (the noise floor of SGD), shrink. One step with the oracle's
/// current batch i is
///
/// $$ \theta \leftarrow \theta - \alpha\,\bigl(\nabla f_i(\theta) - \nabla f_i(\tilde\theta) + \mu\bigr),
/// \qquad \mu = \nabla f(\tilde\theta). $$
///
/// The snapshot θ̃ ← θ and μ = ∇f(θ̃) (from
/// [`GradientOracle::full_gradient`]) are taken at the first step and then
/// every `snapshot_every` steps (default: the oracle's
/// [`num_batches`](GradientOracle::num_batches), once per epoch), i.e.
/// Johnson & Zhang's option I (the inner loop continues from the last
/// iterate). At a snapshot step θ = θ̃, so the step is θ − αμ (the two
/// batch gradients would cancel exactly; the second one is not evaluated).
///
/// # Example
/// ```
/// use nalgebra::{DMatrix, DVector};
/// use splitflow::objective::QuadraticSum;
/// use splitflow::optimizers::{BatchOracle, Optimizer, Svrg};
///
/// // Consistent least squares with 4 batches: SVRG converges to the solution.
/// let x = DMatrix::from_fn(8, 2, |i, j| ((i * 3 + j * 5) % 7) as f64 - 3.0);
/// let y = &x * DVector::from_vec(vec![1.0, -1.0]);
/// let sum = QuadraticSum::least_squares(&x, &y, 2)?;
/// let mut oracle = BatchOracle::new(&sum);
/// let mut svrg = Svrg::new(0.02)?;
/// let mut theta = DVector::zeros(2);
/// for t in 0..4000 {
///     oracle.set_batch(t % 4)?;
///     svrg.step(&mut theta, &mut oracle)?;
/// }
/// assert!((theta[0] - 1.0).abs() < 1e-8 && (theta[1] + 1.0).abs() < 1e-8);
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// ## Reference
/// R. Johnson, T. Zhang, *Accelerating stochastic gradient descent using
/// predictive variance reduction*, NIPS 2013; THEORY §3 (SGD as a Lie
/// splitting) and §7.
#[derive(Debug, Clone)]
pub struct Svrg {
    lr: f64,
    snapshot_every: Option<usize>,
    snapshot: State,
    mu: State,
    mu_new: State,
    g: State,
    g_snap: State,
    next: State,
    steps: usize,
    has_snapshot: bool,
}

impl Svrg {
    /// SVRG with learning rate `lr` and a snapshot every `snapshot_every`
    /// steps (`None`: every `oracle.num_batches()` steps, once per epoch).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive or non-finite `lr` or
    /// `snapshot_every = Some(0)`.
    pub fn from_splitting(lr: f64, snapshot_every: Option<usize>) -> Result<Self> {
        check_positive("lr", lr)?;
        if snapshot_every == Some(0) {
            return Err(Error::invalid("snapshot_every", 0, "must be at least 1"));
        }
        Ok(Svrg {
            lr,
            snapshot_every,
            snapshot: State::zeros(0),
            mu: State::zeros(0),
            mu_new: State::zeros(0),
            g: State::zeros(0),
            g_snap: State::zeros(0),
            next: State::zeros(0),
            steps: 0,
            has_snapshot: false,
        })
    }

    /// SVRG with learning rate `lr` and one snapshot per epoch.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive or non-finite `lr`.
    pub fn new(lr: f64) -> Result<Self> {
        Self::from_splitting(lr, None)
    }

    /// The learning rate α.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// The snapshot period (`None`: the oracle's number of batches).
    pub fn snapshot_every(&self) -> Option<usize> {
        self.snapshot_every
    }

    /// The snapshot θ̃ (empty before the first step).
    pub fn snapshot(&self) -> &State {
        &self.snapshot
    }
}

impl Optimizer for Svrg {
    fn name(&self) -> &'static str {
        "svrg"
    }

    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        let n = theta.len();
        let k = self.steps + 1;
        let period = self
            .snapshot_every
            .unwrap_or_else(|| oracle.num_batches())
            .max(1);
        let renew =
            !self.has_snapshot || self.snapshot.len() != n || self.steps.is_multiple_of(period);
        prepare(
            theta,
            k,
            &mut [
                &mut self.g,
                &mut self.g_snap,
                &mut self.mu_new,
                &mut self.next,
            ],
        )?;
        // Everything is computed into workspaces before θ, μ or the snapshot
        // changes, so an error leaves all three as they were.
        if renew {
            checked_call(oracle, theta, &mut self.mu_new, k, Call::Full)?;
            // θ̃ = θ: ∇fᵢ(θ) − ∇fᵢ(θ̃) = 0 exactly, the step is θ − αμ.
            crate::kernels::lincomb(
                self.next.as_mut_slice(),
                Some(theta.as_slice()),
                &[(-self.lr, self.mu_new.as_slice())],
            );
            ensure_len(&mut self.snapshot, n);
            // The snapshot is the θ the step starts from: `commit` swaps θ
            // into `next`, which then holds it.
            commit(
                k,
                theta,
                &mut self.next,
                &mut [(&mut self.mu, &mut self.mu_new)],
            )?;
            self.snapshot.copy_from(&self.next);
            self.has_snapshot = true;
        } else {
            gradient_at(oracle, theta, &mut self.g, k)?;
            gradient_at(oracle, &self.snapshot, &mut self.g_snap, k)?;
            let lr = self.lr;
            for ((((tn, ti), gi), si), mi) in self
                .next
                .iter_mut()
                .zip(theta.iter())
                .zip(self.g.iter())
                .zip(self.g_snap.iter())
                .zip(self.mu.iter())
            {
                *tn = ti - lr * ((gi - si) + mi);
            }
            commit(k, theta, &mut self.next, &mut [])?;
        }
        self.steps = k;
        Ok(())
    }

    fn reset(&mut self) {
        self.has_snapshot = false;
        self.steps = 0;
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn hyper_parameters(&self) -> Vec<(&'static str, f64)> {
        let mut hp = vec![("lr", self.lr)];
        if let Some(p) = self.snapshot_every {
            hp.push(("snapshot_every", p as f64));
        }
        hp
    }

    fn derivation(&self) -> String {
        let period = match self.snapshot_every {
            Some(p) => format!("every {p} steps"),
            None => "once per epoch".to_string(),
        };
        format!(
            "Lie splitting with explicit Euler (lr α = {}) on θ' = −(1/m)Σᵢ gᵢ(θ), \
             gᵢ(θ) = ∇fᵢ(θ) − ∇fᵢ(θ̃) + ∇f(θ̃), snapshot θ̃ renewed {period}",
            self.lr
        )
    }
}

/// SAG (stochastic average gradient): explicit Euler with lr α on a lagged
/// approximation of the full gradient flow θ' = −∇f(θ).
///
/// SAG keeps a table yᵢ of the last gradient seen for every batch i (zeros
/// at the start) and their running sum d = Σᵢ yᵢ. A step with the oracle's
/// current batch i (from [`GradientOracle::batch`]) is
///
/// $$ d \leftarrow d - y_i + \nabla f_i(\theta), \quad y_i \leftarrow \nabla f_i(\theta), \quad
/// \theta \leftarrow \theta - \frac{\alpha}{m}\, d, $$
///
/// m = [`num_batches`](GradientOracle::num_batches). There is no clean ODE
/// derivation: d/m is ∇f evaluated with each term at a different past
/// iterate (and the missing terms at zero during the first epoch), so SAG is
/// explicit Euler on the gradient flow with a lagged, stale right-hand side,
/// not a standard scheme on any fixed flow. It is provided for comparison
/// with [`Svrg`].
///
/// # Example
/// ```
/// use nalgebra::{DMatrix, DVector};
/// use splitflow::objective::QuadraticSum;
/// use splitflow::optimizers::{BatchOracle, Optimizer, Sag};
///
/// let x = DMatrix::from_fn(8, 2, |i, j| ((i * 3 + j * 5) % 7) as f64 - 3.0);
/// let y = &x * DVector::from_vec(vec![1.0, -1.0]);
/// let sum = QuadraticSum::least_squares(&x, &y, 2)?;
/// let mut oracle = BatchOracle::new(&sum);
/// let mut sag = Sag::new(0.02)?;
/// let mut theta = DVector::zeros(2);
/// for t in 0..4000 {
///     oracle.set_batch(t % 4)?;
///     sag.step(&mut theta, &mut oracle)?;
/// }
/// assert!((theta[0] - 1.0).abs() < 1e-8 && (theta[1] + 1.0).abs() < 1e-8);
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// ## Reference
/// M. Schmidt, N. Le Roux, F. Bach, *Minimizing finite sums with the
/// stochastic average gradient*, Mathematical Programming 162 (2017);
/// N. Le Roux, M. Schmidt, F. Bach, NIPS 2012; THEORY §7.
#[derive(Debug, Clone)]
pub struct Sag {
    lr: f64,
    table: DMatrix<f64>,
    d: State,
    g: State,
    next: State,
    d_next: State,
    steps: usize,
}

/// The largest gradient table [`Sag`] allocates: 2²⁸ entries (2 GiB of
/// f64), far above any table the crate's problems need (p × m of the paper's
/// experiments is below 10⁷); an oracle reporting more batches is refused
/// with [`Error::InvalidParameter`] instead of aborting on allocation.
pub const SAG_MAX_TABLE_ENTRIES: usize = 1 << 28;

impl Sag {
    /// SAG with learning rate `lr`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive or non-finite `lr`.
    pub fn new(lr: f64) -> Result<Self> {
        check_positive("lr", lr)?;
        Ok(Sag {
            lr,
            table: DMatrix::zeros(0, 0),
            d: State::zeros(0),
            g: State::zeros(0),
            next: State::zeros(0),
            d_next: State::zeros(0),
            steps: 0,
        })
    }

    /// The learning rate α.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// The running sum d of the table's gradients (empty before the first step).
    pub fn gradient_sum(&self) -> &State {
        &self.d
    }
}

impl Optimizer for Sag {
    fn name(&self) -> &'static str {
        "sag"
    }

    /// Advances `theta` by one SAG step with the oracle's current batch.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the oracle reports no batch index
    /// (SAG needs a mini-batch oracle such as
    /// [`BatchOracle`](super::BatchOracle)) or an index ≥ its number of
    /// batches; otherwise as [`Optimizer::step`].
    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        let k = self.steps + 1;
        let i = oracle.batch().ok_or_else(|| {
            Error::invalid(
                "oracle",
                "without batch index",
                "SAG keeps one gradient per batch and needs an oracle that reports its batch (e.g. BatchOracle)",
            )
        })?;
        let m = oracle.num_batches();
        if i >= m {
            return Err(Error::invalid(
                "batch",
                i,
                &format!("the oracle reports {m} batches"),
            ));
        }
        let n = theta.len();
        prepare(theta, k, &mut [&mut self.next, &mut self.d_next])?;
        gradient_at(oracle, theta, &mut self.g, k)?;
        if self.table.shape() != (n, m) || self.d.len() != n {
            // First step (or a new problem shape): the table starts at zeros.
            let entries = n.checked_mul(m).filter(|&e| e <= SAG_MAX_TABLE_ENTRIES);
            if entries.is_none() {
                return Err(Error::invalid(
                    "batches",
                    m,
                    &format!(
                        "SAG's gradient table holds p × m = {n} × {m} entries, above the cap of {SAG_MAX_TABLE_ENTRIES} (= {} GiB of f64)",
                        (SAG_MAX_TABLE_ENTRIES * 8) >> 30
                    ),
                ));
            }
            self.table = DMatrix::zeros(n, m);
            self.d = State::zeros(n);
        }
        let column = self.table.column(i);
        for ((dn, (di, yi)), gi) in self
            .d_next
            .iter_mut()
            .zip(self.d.iter().zip(column.iter()))
            .zip(self.g.iter())
        {
            *dn = di - yi + gi;
        }
        crate::kernels::lincomb(
            self.next.as_mut_slice(),
            Some(theta.as_slice()),
            &[(-self.lr / m as f64, self.d_next.as_slice())],
        );
        commit(
            k,
            theta,
            &mut self.next,
            &mut [(&mut self.d, &mut self.d_next)],
        )?;
        self.table.column_mut(i).copy_from(&self.g);
        self.steps = k;
        Ok(())
    }

    fn reset(&mut self) {
        self.table.fill(0.0);
        self.d.fill(0.0);
        self.steps = 0;
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn hyper_parameters(&self) -> Vec<(&'static str, f64)> {
        vec![("lr", self.lr)]
    }

    fn derivation(&self) -> String {
        format!(
            "explicit Euler (lr α = {}) on a lagged approximation of θ' = −∇f(θ): \
             the table average (1/m)Σᵢ yᵢ of the last gradient of every batch \
             (no clean ODE derivation)",
            self.lr
        )
    }
}

use super::registry::{DefaultValue, MethodEntry};

/// Registry entry of `svrg`.
pub(crate) const SVRG: MethodEntry = MethodEntry {
    name: "svrg",
    keys: &["method", "lr", "snapshot_every"],
    defaults: &[(
        "snapshot_every",
        DefaultValue::Text("the number of batches (once per epoch)"),
    )],
    ode: "a splitting scheme (see `explain`); no ODE-form spec",
    build: |t, e| {
        Ok(Box::new(Svrg::from_splitting(
            e.number(t.lr, "lr")?,
            t.snapshot_every,
        )?))
    },
};

/// Registry entry of `sag`.
pub(crate) const SAG: MethodEntry = MethodEntry {
    name: "sag",
    keys: &["method", "lr"],
    defaults: &[],
    ode: "none: the stated recursion (a gradient table)",
    build: |t, e| Ok(Box::new(Sag::new(e.number(t.lr, "lr")?)?)),
};
