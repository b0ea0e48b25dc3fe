//! An allocation-free, column-major `out += alpha·A·B` for the small
//! products of the QR-reduced flows ([`gemm_acc`]).
//!
//! Per output entry the products are added one at a time in the order of
//! the inner index, `out[i,j] + (alpha·b[0,j])·a[i,0] + (alpha·b[1,j])·a[i,1] + …`,
//! so results are bitwise those of that naive loop; only the passes over
//! memory are blocked (two output columns, four inner indices per pass).

/// `out ← out + alpha·A·B` for column-major `A` (`m×k`, in `a`), `B`
/// (`k×n`, in `b`) and `out` (`m×n`): two output columns at a time,
/// each updated with four columns of `A` per pass over the rows.
///
/// Allocation-free replacement for nalgebra's `gemm`, which allocates packing
/// buffers on every call for n > 1. (faer's `matmul` does not allocate but
/// returns with the upper halves of the AVX registers dirty, which made the
/// `exp` calls that follow it in the softmax field ~20x slower here.)
pub(crate) fn gemm_acc(out: &mut [f64], a: &[f64], b: &[f64], k: usize, alpha: f64) {
    if k == 0 || a.is_empty() {
        return;
    }
    let m = a.len() / k;
    let n = b.len() / k;
    debug_assert_eq!(out.len(), m * n);
    // Two output columns × four columns of A: 8 coefficients, 4 inputs and
    // 2 accumulators fit the 16 SSE registers of baseline x86-64.
    let mut j0 = 0;
    while j0 < n {
        if n - j0 == 1 {
            column_block::<1>(out, a, b, m, k, j0, alpha);
        } else {
            column_block::<2>(out, a, b, m, k, j0, alpha);
        }
        j0 += 2;
    }
}

/// Output columns `j0 .. j0 + NR` of [`gemm_acc`].
#[inline(always)]
fn column_block<const NR: usize>(
    out: &mut [f64],
    a: &[f64],
    b: &[f64],
    m: usize,
    k: usize,
    j0: usize,
    alpha: f64,
) {
    let mut cols = out[j0 * m..(j0 + NR) * m].chunks_exact_mut(m);
    let mut o: [&mut [f64]; NR] = std::array::from_fn(|_| cols.next().expect("NR columns"));
    let bc: [&[f64]; NR] = std::array::from_fn(|j| &b[(j0 + j) * k..(j0 + j + 1) * k]);
    let mut l = 0;
    while l < k {
        match k - l {
            1 => panel::<NR, 1>(&mut o, a, &bc, m, l, alpha),
            2 => panel::<NR, 2>(&mut o, a, &bc, m, l, alpha),
            3 => panel::<NR, 3>(&mut o, a, &bc, m, l, alpha),
            _ => panel::<NR, 4>(&mut o, a, &bc, m, l, alpha),
        }
        l += 4;
    }
}

/// `o[j] += Σ_q alpha·b[j][l + q]·A[:, l + q]` for `q < KB`, `j < NR`,
/// in that order of operations, one pass over the rows.
#[inline(always)]
fn panel<const NR: usize, const KB: usize>(
    o: &mut [&mut [f64]; NR],
    a: &[f64],
    bc: &[&[f64]; NR],
    m: usize,
    l: usize,
    alpha: f64,
) {
    let ac: [&[f64]; KB] = std::array::from_fn(|q| &a[(l + q) * m..(l + q + 1) * m]);
    let c: [[f64; KB]; NR] = std::array::from_fn(|j| std::array::from_fn(|q| alpha * bc[j][l + q]));
    for oj in o.iter_mut() {
        assert!(oj.len() == m);
    }
    for i in 0..m {
        let x: [f64; KB] = std::array::from_fn(|q| ac[q][i]);
        for j in 0..NR {
            let mut v = o[j][i];
            for q in 0..KB {
                v += c[j][q] * x[q];
            }
            o[j][i] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;

    /// A deterministic, irregular test value.
    fn value(i: usize, salt: f64) -> f64 {
        ((i as f64) * 0.731 + salt).sin() * 1.7 - 0.2
    }

    /// The blocked kernel is bitwise the naive loop that adds
    /// `(alpha·b[l,j])·a[i,l]` for l = 0, 1, … in order, for every shape
    /// around the blocks (1 or 2 output columns per block, 1–4 inner
    /// indices per pass); and that naive loop is the matrix product
    /// (against nalgebra's `gemm` within round-off, so the bitwise check
    /// is not comparing two wrong answers).
    #[test]
    fn gemm_acc_is_bitwise_the_sequential_product() {
        for m in [1, 2, 3, 5, 8, 13] {
            for k in [0, 1, 2, 3, 4, 5, 7, 8, 9] {
                for n in [1, 2, 3, 4, 5] {
                    for alpha in [1.0, -0.37] {
                        let a: Vec<f64> = (0..m * k).map(|i| value(i, 0.1)).collect();
                        let b: Vec<f64> = (0..k * n).map(|i| value(i, 0.7)).collect();
                        let c0: Vec<f64> = (0..m * n).map(|i| value(i, 1.3)).collect();
                        let mut out = c0.clone();
                        gemm_acc(&mut out, &a, &b, k, alpha);
                        let mut want = c0.clone();
                        for j in 0..n {
                            for l in 0..k {
                                let c = alpha * b[l + j * k];
                                for i in 0..m {
                                    want[i + j * m] += c * a[i + l * m];
                                }
                            }
                        }
                        for (q, (o, w)) in out.iter().zip(&want).enumerate() {
                            assert_eq!(o.to_bits(), w.to_bits(), "m={m} k={k} n={n} entry {q}");
                        }
                        let mut reference = DMatrix::from_column_slice(m, n, &c0);
                        reference.gemm(
                            alpha,
                            &DMatrix::from_column_slice(m, k, &a),
                            &DMatrix::from_column_slice(k, n, &b),
                            1.0,
                        );
                        for (o, r) in out.iter().zip(reference.iter()) {
                            assert!(
                                (o - r).abs() <= 1e-14 * (1.0 + r.abs()),
                                "m={m} k={k} n={n}"
                            );
                        }
                    }
                }
            }
        }
    }
}
