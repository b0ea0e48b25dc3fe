//! Splitting schemes as data: a sequence of (piece, fraction of h) sub-flows.

use crate::error::{Error, Result};

/// A composition method over N pieces, stored as data: the sequence of
/// sub-flows `(piece j, fraction a)` applied left to right, so that one step
/// of size h is `φ^{j_K}_{a_K h} ∘ … ∘ φ^{j_1}_{a_1 h}`.
///
/// This is the sequential special case of SUNDIALS' splitting coefficients
/// (one sequential method, weight 1); adjacent sub-flows of the same piece are
/// merged (`φ_a ∘ φ_b = φ_{a+b}` for exact flows).
///
/// | constructor | one step | order |
/// |---|---|---|
/// | [`lie`](Self::lie) | φᴺ_h ∘ … ∘ φ¹_h | 1 |
/// | [`strang`](Self::strang) | φ¹_{h/2} ∘ … ∘ φᴺ_h ∘ … ∘ φ¹_{h/2} | 2 |
/// | [`yoshida4`](Self::yoshida4) | S(γ₁h) S(γ₀h) S(γ₁h), γ₁ = 1/(2 − 2^{1/3}) | 4 |
/// | [`suzuki4`](Self::suzuki4) | S(ph)² S((1−4p)h) S(ph)², p = 1/(4 − 4^{1/3}) | 4 |
/// | [`mclachlan2`](Self::mclachlan2) | φ¹_{ah} φᴮ_{h/2} φ¹_{(1−2a)h} φᴮ_{h/2} φ¹_{ah} | 2 |
///
/// (S = Strang; φᴮ = Strang over pieces 2..N; a = 0.1931833275037836,
/// McLachlan's minimum-error two-stage scheme.)
///
/// # Reference
/// H. Yoshida, *Construction of higher order symplectic integrators*, Phys.
/// Lett. A 150 (1990); M. Suzuki, *Fractal decomposition of exponential
/// operators*, Phys. Lett. A 146 (1990); R. I. McLachlan, *On the numerical
/// integration of ODEs by symmetric composition methods*, SIAM J. Sci.
/// Comput. 16 (1995).
///
/// # Example
/// ```
/// use splitflow::splitting::SplittingCoefficients;
/// let s = SplittingCoefficients::strang(3)?;
/// assert_eq!(s.sequence(), &[(0, 0.5), (1, 0.5), (2, 1.0), (1, 0.5), (0, 0.5)]);
/// assert_eq!(s.order(), 2);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SplittingCoefficients {
    name: String,
    order: u32,
    pieces: usize,
    sequence: Vec<(usize, f64)>,
}

/// The names [`SplittingCoefficients::by_name`] knows (besides `custom`
/// tables, built with [`SplittingCoefficients::from_table`]).
pub const SCHEME_NAMES: [&str; 11] = [
    "lie",
    "strang",
    "yoshida4",
    "suzuki4",
    "mclachlan2",
    "triple_jump6",
    "triple_jump8",
    "suzuki6",
    "blanes_moan4",
    "kahan_li6",
    "kahan_li8",
];

fn need_pieces(n: usize) -> Result<()> {
    if n == 0 {
        Err(Error::invalid(
            "pieces",
            0,
            "a splitting needs at least one piece",
        ))
    } else {
        Ok(())
    }
}

impl SplittingCoefficients {
    /// A user-defined scheme, validated: at least one sub-flow, piece indices
    /// below `pieces`, finite fractions, every piece present, and each piece's
    /// fractions summing to 1 (consistency) to 1e-12. The claimed `order` is
    /// metadata (measure it with a [`ConvergenceStudy`](crate::ConvergenceStudy)).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the inconsistency.
    pub fn custom(
        name: &str,
        pieces: usize,
        order: u32,
        sequence: Vec<(usize, f64)>,
    ) -> Result<Self> {
        need_pieces(pieces)?;
        if order == 0 {
            return Err(Error::invalid(
                "order",
                0,
                "a consistent scheme has order ≥ 1",
            ));
        }
        if sequence.is_empty() {
            return Err(Error::invalid(
                "sequence",
                "[]",
                "needs at least one sub-flow",
            ));
        }
        let mut sums = vec![0.0; pieces];
        for (k, &(j, a)) in sequence.iter().enumerate() {
            if j >= pieces {
                return Err(Error::invalid(
                    &format!("sequence[{k}].piece"),
                    j,
                    &format!("must be below the number of pieces {pieces}"),
                ));
            }
            if !a.is_finite() {
                return Err(Error::invalid(
                    &format!("sequence[{k}].fraction"),
                    a,
                    "must be finite",
                ));
            }
            sums[j] += a;
        }
        for (j, s) in sums.iter().enumerate() {
            if (s - 1.0).abs() > 1e-12 {
                return Err(Error::invalid(
                    &format!("fractions of piece {j}"),
                    s,
                    "must sum to 1 (consistency)",
                ));
            }
        }
        let mut merged: Vec<(usize, f64)> = Vec::with_capacity(sequence.len());
        for (j, a) in sequence {
            match merged.last_mut() {
                Some(last) if last.0 == j => last.1 += a,
                _ => merged.push((j, a)),
            }
        }
        merged.retain(|&(_, a)| a != 0.0);
        Ok(SplittingCoefficients {
            name: name.to_string(),
            order,
            pieces,
            sequence: merged,
        })
    }

    /// Lie–Trotter: each piece once, in order (order 1).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero pieces.
    pub fn lie(pieces: usize) -> Result<Self> {
        need_pieces(pieces)?;
        Self::custom("lie", pieces, 1, (0..pieces).map(|j| (j, 1.0)).collect())
    }

    fn strang_sequence(first: usize, pieces: usize, scale: f64) -> Vec<(usize, f64)> {
        let mut s: Vec<(usize, f64)> = (first..pieces - 1).map(|j| (j, 0.5 * scale)).collect();
        s.push((pieces - 1, scale));
        s.extend((first..pieces - 1).rev().map(|j| (j, 0.5 * scale)));
        s
    }

    /// Symmetric N-term Strang (order 2).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero pieces.
    pub fn strang(pieces: usize) -> Result<Self> {
        need_pieces(pieces)?;
        Self::custom("strang", pieces, 2, Self::strang_sequence(0, pieces, 1.0))
    }

    fn compose_strang(name: &str, pieces: usize, order: u32, gammas: &[f64]) -> Result<Self> {
        need_pieces(pieces)?;
        let seq = gammas
            .iter()
            .flat_map(|&g| Self::strang_sequence(0, pieces, g))
            .collect();
        Self::custom(name, pieces, order, seq)
    }

    /// The Strang-stage fractions of a fractal recursion from Strang (order
    /// 2) to `order`: starting from `[1]`, each level `q = 4, 6, …, order`
    /// replaces the fractions `γ` by `(wᵢ·γⱼ)ᵢⱼ`, the level's weights
    /// `w = level(q)` (summing to 1) outermost.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an order that is not an even number ≥ 4.
    fn fractal_gammas(order: u32, level: impl Fn(u32) -> Vec<f64>) -> Result<Vec<f64>> {
        if order < 4 || !order.is_multiple_of(2) {
            return Err(Error::invalid(
                "order",
                order,
                "must be even and at least 4",
            ));
        }
        let mut gammas = vec![1.0];
        for q in (4..=order).step_by(2) {
            gammas = level(q)
                .iter()
                .flat_map(|&g| gammas.iter().map(move |&x| g * x))
                .collect();
        }
        Ok(gammas)
    }

    /// Yoshida's fourth-order triple jump of Strang (has a backward sub-step).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero pieces.
    pub fn yoshida4(pieces: usize) -> Result<Self> {
        let g1 = 1.0 / (2.0 - 2f64.cbrt());
        Self::compose_strang("yoshida4", pieces, 4, &[g1, 1.0 - 2.0 * g1, g1])
    }

    /// Suzuki's fourth-order five-stage fractal of Strang (has a backward sub-step).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero pieces.
    pub fn suzuki4(pieces: usize) -> Result<Self> {
        let p = 1.0 / (4.0 - 4f64.cbrt());
        Self::compose_strang("suzuki4", pieces, 4, &[p, p, 1.0 - 4.0 * p, p, p])
    }

    /// McLachlan's minimum-error second-order scheme (all fractions positive).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero pieces.
    pub fn mclachlan2(pieces: usize) -> Result<Self> {
        need_pieces(pieces)?;
        if pieces == 1 {
            return Self::custom("mclachlan2", 1, 2, vec![(0, 1.0)]);
        }
        let a = 0.193_183_327_503_783_6;
        let mut s = vec![(0, a)];
        s.extend(Self::strang_sequence(1, pieces, 0.5));
        s.push((0, 1.0 - 2.0 * a));
        s.extend(Self::strang_sequence(1, pieces, 0.5));
        s.push((0, a));
        Self::custom("mclachlan2", pieces, 2, s)
    }

    /// Yoshida's triple-jump recursion from Strang to order `order` (4, 6, 8, …):
    ///
    /// $$ S_{2k+2}(h) = S_{2k}(\gamma_1 h)\\, S_{2k}(\gamma_0 h)\\, S_{2k}(\gamma_1 h), \quad \gamma_1 = \frac{1}{2 - 2^{1/(2k+1)}}, \quad \gamma_0 = 1 - 2\gamma_1, $$
    ///
    /// `3^{k−1}` Strang stages for order `2k` (has backward sub-steps).
    ///
    /// # Example
    /// ```
    /// use splitflow::splitting::SplittingCoefficients;
    /// let s = SplittingCoefficients::triple_jump(2, 6)?;
    /// assert_eq!(s.order(), 6);
    /// assert!(s.measured_order() > 5.5);
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero pieces or an order that is not an even number ≥ 4.
    pub fn triple_jump(pieces: usize, order: u32) -> Result<Self> {
        let gammas = Self::fractal_gammas(order, |q| {
            let k = q - 2;
            let g1 = 1.0 / (2.0 - 2f64.powf(1.0 / (k as f64 + 1.0)));
            vec![g1, 1.0 - 2.0 * g1, g1]
        })?;
        let name = if order == 4 {
            "yoshida4".to_string()
        } else {
            format!("triple_jump{order}")
        };
        Self::compose_strang(&name, pieces, order, &gammas)
    }

    /// Suzuki's fractal recursion from Strang to order `order` (4, 6, …):
    ///
    /// $$ S_{2k}(h) = S_{2k-2}(p h)^2\\, S_{2k-2}((1-4p) h)\\, S_{2k-2}(p h)^2, \quad p = \frac{1}{4 - 4^{1/(2k-1)}}, $$
    ///
    /// `5^{k−1}` Strang stages for order `2k` (has backward sub-steps).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero pieces or an order that is not an even number ≥ 4.
    pub fn suzuki_fractal(pieces: usize, order: u32) -> Result<Self> {
        let gammas = Self::fractal_gammas(order, |q| {
            let k = q / 2;
            let p = 1.0 / (4.0 - 4f64.powf(1.0 / (2.0 * k as f64 - 1.0)));
            vec![p, p, 1.0 - 4.0 * p, p, p]
        })?;
        Self::compose_strang(&format!("suzuki{order}"), pieces, order, &gammas)
    }

    /// Blanes–Moan's optimized fourth-order scheme S₆ for two pieces (six
    /// stages of the second piece, symmetric, `BAB…` form with piece 1 first):
    /// a₁…a₄ and b₁…b₃ of Blanes & Moan (2002), Table 2; with more than two
    /// pieces, piece 2 is the Strang flow of pieces 2..N.
    ///
    /// # Reference
    /// S. Blanes, P. C. Moan, *Practical symplectic partitioned Runge–Kutta
    /// and Runge–Kutta–Nyström methods*, J. Comput. Appl. Math. 142 (2002).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for fewer than two pieces.
    pub fn blanes_moan4(pieces: usize) -> Result<Self> {
        if pieces < 2 {
            return Err(Error::invalid(
                "pieces",
                pieces,
                "blanes_moan4 needs at least 2 pieces",
            ));
        }
        // Checked against the paper's Table 2 and against several
        // independent public implementations of this scheme (the "SIA46" /
        // "BM4" coefficient sets agree to every digit); the measured order
        // is 4 (tests/orderlab.rs).
        let a1 = 0.079_203_696_431_195_7;
        let a2 = 0.353_172_906_049_774;
        let a3 = -0.042_065_080_357_719_5;
        let a4 = 1.0 - 2.0 * (a1 + a2 + a3);
        let b1 = 0.209_515_106_613_362;
        let b2 = -0.143_851_773_179_818;
        let b3 = 0.5 - (b1 + b2);
        let a = [a1, a2, a3, a4, a3, a2, a1];
        let b = [b1, b2, b3, b3, b2, b1];
        let mut s = Vec::new();
        for (j, &aj) in a.iter().enumerate() {
            s.push((0, aj));
            if let Some(&bj) = b.get(j) {
                s.extend(Self::strang_sequence(1, pieces, bj));
            }
        }
        Self::custom("blanes_moan4", pieces, 4, s)
    }

    /// Kahan–Li's symmetric compositions of Strang steps of order 6 (9
    /// stages, `s9odr6a`) and 8 (17 stages, `s17odr8a`):
    ///
    /// $$ \Psi(h) = S(\gamma_1 h) \cdots S(\gamma_s h), \quad \gamma_{s+1-i} = \gamma_i, $$
    ///
    /// with the γᵢ of Kahan & Li (1997), as shipped by OrdinaryDiffEq.jl
    /// (`src/tableaus/symplectic_tableaus.jl`, `KahanLi6ConstantCache` and
    /// `KahanLi8ConstantCache`, whose drift coefficients are these γᵢ); they
    /// have far smaller error constants than the triple jump of the same order.
    ///
    /// # Reference
    /// W. Kahan, R.-C. Li, *Composition constants for raising the orders of
    /// unconventional schemes for ordinary differential equations*, Math.
    /// Comp. 66 (1997) 1089–1099.
    ///
    /// # Example
    /// ```
    /// use splitflow::splitting::SplittingCoefficients;
    /// let s = SplittingCoefficients::kahan_li(2, 6)?;
    /// assert_eq!(s.order(), 6);
    /// assert!(s.measured_order() > 5.5);
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero pieces or an order other than 6 or 8.
    pub fn kahan_li(pieces: usize, order: u32) -> Result<Self> {
        let half: &[f64] = match order {
            6 => &[
                0.392_161_444_007_314_1,
                0.332_599_136_789_359_44,
                -0.706_246_172_557_639_4,
                0.082_213_596_293_550_8,
                0.798_543_990_934_83,
            ],
            8 => &[
                0.130_202_483_088_890_08,
                0.561_162_981_775_108_4,
                -0.389_474_962_644_847_3,
                0.158_841_906_555_155_6,
                -0.395_903_894_133_237_6,
                0.184_539_640_978_315_7,
                0.258_374_387_686_322_05,
                0.295_011_723_609_310_3,
                -0.605_508_533_830_034_5,
            ],
            other => {
                return Err(Error::invalid(
                    "order",
                    other,
                    "Kahan–Li compositions exist here for orders 6 and 8",
                ));
            }
        };
        // The middle weight is the last entry; the rest is mirrored.
        let (middle, outer) = half.split_last().expect("non-empty");
        let gammas: Vec<f64> = outer
            .iter()
            .chain(std::iter::once(middle))
            .chain(outer.iter().rev())
            .copied()
            .collect();
        Self::compose_strang(&format!("kahan_li{order}"), pieces, order, &gammas)
    }

    /// A table written as one list of fractions per piece: stage j applies
    /// piece 1 for `table[0][j]·h`, then piece 2 for `table[1][j]·h`, …
    /// (Strang is `[[0.5, 0.5], [1.0, 0.0]]`). The claimed `order` is checked
    /// against the order conditions with [`measured_order`](Self::measured_order)
    /// and a table falling short is refused.
    ///
    /// # Example
    /// ```
    /// use splitflow::splitting::SplittingCoefficients;
    /// let strang = SplittingCoefficients::from_table(&[vec![0.5, 0.5], vec![1.0, 0.0]], 2, 2)?;
    /// assert_eq!(strang.sequence(), SplittingCoefficients::strang(2)?.sequence());
    /// assert!(SplittingCoefficients::from_table(&[vec![1.0], vec![1.0]], 2, 2).is_err());
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a table whose number of lists is not
    /// `pieces`, lists of different lengths, inconsistent fractions (see
    /// [`custom`](Self::custom)), or a claimed order above the measured one
    /// (naming the first failing order's conditions).
    pub fn from_table(table: &[Vec<f64>], pieces: usize, order: u32) -> Result<Self> {
        if table.len() != pieces {
            return Err(Error::invalid(
                "coefficients",
                format!("{} list(s)", table.len()),
                &format!("need one list per piece ({pieces})"),
            ));
        }
        let stages = table.first().map_or(0, Vec::len);
        if let Some(p) = table.iter().position(|l| l.len() != stages) {
            return Err(Error::invalid(
                &format!("coefficients[{p}]"),
                format!("{} entries", table[p].len()),
                &format!("every list needs the same number of stages ({stages})"),
            ));
        }
        let sequence = (0..stages)
            .flat_map(|j| (0..pieces).map(move |p| (p, table[p][j])))
            .collect();
        let scheme = Self::custom("custom", pieces, order, sequence)?;
        let measured = scheme.measured_order();
        if measured < order as f64 - 0.5 {
            let reached = (measured.round() as u32).max(1);
            return Err(Error::invalid(
                "order",
                order,
                &format!(
                    "the table fails the order-{} conditions (local error exponent {:.2}, so order {reached})",
                    reached + 1,
                    measured + 1.0
                ),
            ));
        }
        Ok(scheme)
    }

    /// The order measured on the order conditions: the composition of
    /// `exp(aⱼ h Aₚ)` for fixed pseudo-random 4×4 matrices `Aₚ` is compared
    /// with `exp(h ΣAₚ)` at `h = 0.4·2⁻ᵏ`; the local error behaves as
    /// `C h^{q+1}`, and the exponent of the finest pair above round-off,
    /// minus one, is returned (`f64::INFINITY` for one piece, or when every
    /// error is at round-off).
    pub fn measured_order(&self) -> f64 {
        use nalgebra::DMatrix;
        if self.pieces < 2 {
            return f64::INFINITY;
        }
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        let mats: Vec<DMatrix<f64>> = (0..self.pieces)
            .map(|_| DMatrix::from_fn(4, 4, |_, _| next()))
            .collect();
        let total = mats.iter().fold(DMatrix::zeros(4, 4), |acc, m| acc + m);
        let local_error = |h: f64| {
            let mut prod = DMatrix::<f64>::identity(4, 4);
            for &(p, a) in &self.sequence {
                prod = (&mats[p] * (a * h)).exp() * prod;
            }
            (prod - (&total * h).exp()).norm()
        };
        let errors: Vec<f64> = (0..7).map(|k| local_error(0.4 / 2f64.powi(k))).collect();
        let mut measured = f64::INFINITY;
        for w in errors.windows(2) {
            if w[0] > 1e-11 && w[1] > 1e-11 {
                measured = (w[0] / w[1]).log2() - 1.0;
            }
        }
        measured
    }

    /// A scheme by name: `lie`, `strang`, `yoshida4`, `suzuki4`,
    /// `mclachlan2`, `triple_jump6`, `triple_jump8`, `suzuki6`, `blanes_moan4`,
    /// `kahan_li6`, `kahan_li8`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an unknown name or zero pieces.
    pub fn by_name(name: &str, pieces: usize) -> Result<Self> {
        match name {
            "lie" => Self::lie(pieces),
            "strang" => Self::strang(pieces),
            "yoshida4" => Self::yoshida4(pieces),
            "suzuki4" => Self::suzuki4(pieces),
            "mclachlan2" => Self::mclachlan2(pieces),
            "triple_jump6" => Self::triple_jump(pieces, 6),
            "triple_jump8" => Self::triple_jump(pieces, 8),
            "suzuki6" => Self::suzuki_fractal(pieces, 6),
            "blanes_moan4" => Self::blanes_moan4(pieces),
            "kahan_li6" => Self::kahan_li(pieces, 6),
            "kahan_li8" => Self::kahan_li(pieces, 8),
            other => Err(Error::invalid(
                "splitting",
                other,
                &format!(
                    "unknown scheme (expected one of {})",
                    SCHEME_NAMES.join(", ")
                ),
            )),
        }
    }

    /// The scheme's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scheme's order (with exact sub-flows).
    pub fn order(&self) -> u32 {
        self.order
    }

    /// Number of pieces.
    pub fn pieces(&self) -> usize {
        self.pieces
    }

    /// The sub-flow sequence `(piece, fraction)`, applied left to right.
    pub fn sequence(&self) -> &[(usize, f64)] {
        &self.sequence
    }

    /// Whether some sub-flow runs backward in time.
    pub fn has_backward_steps(&self) -> bool {
        self.sequence.iter().any(|&(_, a)| a < 0.0)
    }
}
