//! Butcher tableaus as data.

use crate::Order;

/// An explicit Runge–Kutta tableau with `S` stages:
///
/// $$ k_i = f\big(t + c_i h,\; y + h \textstyle\sum_{j<i} a_{ij} k_j\big),\qquad
///    y_{n+1} = y_n + h \textstyle\sum_i b_i k_i. $$
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ButcherTableau<const S: usize> {
    /// Strictly lower-triangular coefficient matrix.
    pub a: [[f64; S]; S],
    /// Weights of the propagated solution.
    pub b: [f64; S],
    /// Nodes.
    pub c: [f64; S],
    /// Weights of the embedded solution, if any.
    pub b_embedded: Option<[f64; S]>,
    /// Order of the propagated solution.
    pub order: u32,
}

impl<const S: usize> ButcherTableau<S> {
    /// Order of the propagated solution as metadata.
    pub fn order(&self) -> Order {
        Order::Finite(self.order)
    }

    /// Checks the row-sum condition `cᵢ = Σⱼ aᵢⱼ` and consistency `Σ bᵢ = 1`
    /// to `tol`.
    pub fn is_consistent(&self, tol: f64) -> bool {
        let rows = (0..S).all(|i| (self.a[i].iter().sum::<f64>() - self.c[i]).abs() <= tol);
        let b = (self.b.iter().sum::<f64>() - 1.0).abs() <= tol;
        let e = self
            .b_embedded
            .is_none_or(|e| (e.iter().sum::<f64>() - 1.0).abs() <= tol);
        rows && b && e
    }
}

/// The classical fourth-order Runge–Kutta method.
pub const RK4: ButcherTableau<4> = ButcherTableau {
    a: [
        [0.0, 0.0, 0.0, 0.0],
        [0.5, 0.0, 0.0, 0.0],
        [0.0, 0.5, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
    ],
    b: [1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
    c: [0.0, 0.5, 0.5, 1.0],
    b_embedded: None,
    order: 4,
};

/// Dormand–Prince 5(4) (Dormand & Prince 1980), 7 stages with FSAL.
pub const DOPRI5: ButcherTableau<7> = ButcherTableau {
    a: [
        [0.0; 7],
        [1.0 / 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0, 0.0],
        [
            19372.0 / 6561.0,
            -25360.0 / 2187.0,
            64448.0 / 6561.0,
            -212.0 / 729.0,
            0.0,
            0.0,
            0.0,
        ],
        [
            9017.0 / 3168.0,
            -355.0 / 33.0,
            46732.0 / 5247.0,
            49.0 / 176.0,
            -5103.0 / 18656.0,
            0.0,
            0.0,
        ],
        [
            35.0 / 384.0,
            0.0,
            500.0 / 1113.0,
            125.0 / 192.0,
            -2187.0 / 6784.0,
            11.0 / 84.0,
            0.0,
        ],
    ],
    b: [
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
        0.0,
    ],
    c: [0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0],
    b_embedded: Some([
        5179.0 / 57600.0,
        0.0,
        7571.0 / 16695.0,
        393.0 / 640.0,
        -92097.0 / 339200.0,
        187.0 / 2100.0,
        1.0 / 40.0,
    ]),
    order: 5,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tableaus_are_consistent() {
        assert!(RK4.is_consistent(1e-15));
        assert!(DOPRI5.is_consistent(1e-14));
    }
}
