//! A reusable dense LU factorisation (faer, partial pivoting) for the
//! Newton matrices of implicit steppers.

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::lu::partial_pivoting::{factor, solve};
use faer::perm::PermRef;
use faer::{Conj, Mat, MatMut, Par};

use crate::State;

/// `PA = LU` of an n×n matrix, factorised in place into storage that is
/// reused from one factorisation to the next: after the first at a given n,
/// [`factor`](Self::factor) and [`solve`](Self::solve) do not allocate.
pub(crate) struct DenseLu {
    lu: Mat<f64>,
    perm: Vec<usize>,
    perm_inv: Vec<usize>,
    buffer: MemBuffer,
    ready: bool,
}

impl Default for DenseLu {
    fn default() -> Self {
        DenseLu {
            lu: Mat::zeros(0, 0),
            perm: Vec::new(),
            perm_inv: Vec::new(),
            buffer: MemBuffer::new(StackReq::EMPTY),
            ready: false,
        }
    }
}

impl std::fmt::Debug for DenseLu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DenseLu")
            .field("n", &self.lu.nrows())
            .field("factored", &self.ready)
            .finish()
    }
}

impl Clone for DenseLu {
    /// A fresh workspace (factorisations are not carried over).
    fn clone(&self) -> Self {
        DenseLu::default()
    }
}

impl DenseLu {
    /// The matrix to factorise, n×n, for the caller to fill (column-major);
    /// invalidates the previous factorisation.
    pub(crate) fn matrix_mut(&mut self, n: usize) -> MatMut<'_, f64> {
        if self.lu.nrows() != n {
            self.lu = Mat::zeros(n, n);
            self.perm = vec![0; n];
            self.perm_inv = vec![0; n];
            let req = factor::lu_in_place_scratch::<usize, f64>(n, n, Par::Seq, Default::default())
                .or(solve::solve_in_place_scratch::<usize, f64>(n, 1, Par::Seq));
            self.buffer = MemBuffer::new(req);
        }
        self.ready = false;
        self.lu.as_mut()
    }

    /// Factorises the matrix filled through [`matrix_mut`](Self::matrix_mut).
    /// Returns `false` when a pivot is exactly zero (singular matrix); NaN
    /// entries pass through to the solution, for the caller's finiteness check.
    pub(crate) fn factor(&mut self) -> bool {
        let stack = MemStack::new(&mut self.buffer);
        factor::lu_in_place(
            self.lu.as_mut(),
            &mut self.perm,
            &mut self.perm_inv,
            Par::Seq,
            stack,
            Default::default(),
        );
        let n = self.lu.nrows();
        self.ready = (0..n).all(|i| self.lu[(i, i)] != 0.0);
        self.ready
    }

    /// Whether a successful factorisation is held.
    pub(crate) fn is_factored(&self) -> bool {
        self.ready
    }

    /// Solves `A x = b` in place (`b` ← `x`) with the held factorisation.
    pub(crate) fn solve(&mut self, b: &mut State) {
        debug_assert!(self.ready);
        let n = self.lu.nrows();
        let perm = PermRef::new_checked(&self.perm, &self.perm_inv, n);
        let rhs = MatMut::from_column_major_slice_mut(b.as_mut_slice(), n, 1);
        let stack = MemStack::new(&mut self.buffer);
        let lu = self.lu.as_ref();
        solve::solve_in_place_with_conj(lu, lu, perm, Conj::No, rhs, Par::Seq, stack);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_and_reuses_storage() {
        let a = [[4.0, 1.0, 0.5], [2.0, -3.0, 1.0], [0.0, 1.0, 5.0]];
        let mut lu = DenseLu::default();
        for round in 0..2 {
            let mut m = lu.matrix_mut(3);
            for i in 0..3 {
                for j in 0..3 {
                    m[(i, j)] = a[i][j] * (1.0 + round as f64);
                }
            }
            assert!(lu.factor());
            let x = State::from_vec(vec![1.0, -2.0, 0.25]);
            let mut b = State::zeros(3);
            for i in 0..3 {
                b[i] = (0..3).map(|j| a[i][j] * (1.0 + round as f64) * x[j]).sum();
            }
            lu.solve(&mut b);
            assert!((b - x).norm() < 1e-14);
        }
        let mut m = lu.matrix_mut(2);
        m.fill(0.0);
        m[(0, 0)] = 1.0;
        assert!(!lu.factor(), "a zero pivot is singular");
    }
}
