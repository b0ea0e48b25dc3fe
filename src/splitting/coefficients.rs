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

    /// A scheme by name: `lie`, `strang`, `yoshida4`, `suzuki4`, `mclachlan2`.
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
            other => Err(Error::invalid(
                "splitting",
                other,
                "unknown scheme (expected lie, strang, yoshida4, suzuki4 or mclachlan2)",
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
