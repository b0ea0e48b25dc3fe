//! The two passes of a least-squares gradient over a row-major block of
//! rows, `r = Xθ − y` ([`residual`]) and `g = (alpha·Xᵀr)·s` ([`gradient`]),
//! each summed in exactly the order of nalgebra's `gemv` / `gemv_tr` on the
//! column-major block, so results are bitwise those of nalgebra while every
//! pass streams over whole contiguous rows.

/// `r = Xθ − y` for a row-major block `x` of `r.len()` rows of length `p`,
/// each row summed in the order of nalgebra's `gemv`,
/// `rₖ = ((xₖ₀θ₀ − yₖ) + xₖ₁θ₁) + …`, so results are bitwise those of
/// `r.gemv(1.0, X, θ, −1.0)` on `r = y`. Eight rows at a time (eight
/// independent sums, eight streams through memory), then four, then one.
pub(crate) fn residual(x: &[f64], p: usize, theta: &[f64], y: &[f64], r: &mut [f64]) {
    let (&t0, ts) = theta[..p].split_first().expect("p ≥ 1");
    let x = &x[..r.len() * p];
    let mut x8s = x.chunks_exact(8 * p);
    let mut r8s = r.chunks_exact_mut(8);
    let mut y8s = y.chunks_exact(8);
    for ((x8, r8), y8) in x8s.by_ref().zip(r8s.by_ref()).zip(y8s.by_ref()) {
        let row: [&[f64]; 8] = std::array::from_fn(|l| &x8[l * p..(l + 1) * p]);
        let mut a: [f64; 8] = std::array::from_fn(|l| row[l][0] * t0 - y8[l]);
        for ((((((((&t, &u0), &u1), &u2), &u3), &u4), &u5), &u6), &u7) in ts
            .iter()
            .zip(&row[0][1..])
            .zip(&row[1][1..])
            .zip(&row[2][1..])
            .zip(&row[3][1..])
            .zip(&row[4][1..])
            .zip(&row[5][1..])
            .zip(&row[6][1..])
            .zip(&row[7][1..])
        {
            a[0] += u0 * t;
            a[1] += u1 * t;
            a[2] += u2 * t;
            a[3] += u3 * t;
            a[4] += u4 * t;
            a[5] += u5 * t;
            a[6] += u6 * t;
            a[7] += u7 * t;
        }
        r8.copy_from_slice(&a);
    }
    let mut x4s = x8s.remainder().chunks_exact(4 * p);
    let mut r4s = r8s.into_remainder().chunks_exact_mut(4);
    let mut y4s = y8s.remainder().chunks_exact(4);
    for ((x4, r4), y4) in x4s.by_ref().zip(r4s.by_ref()).zip(y4s.by_ref()) {
        let row: [&[f64]; 4] = std::array::from_fn(|l| &x4[l * p..(l + 1) * p]);
        let mut a: [f64; 4] = std::array::from_fn(|l| row[l][0] * t0 - y4[l]);
        for ((((&t, &u0), &u1), &u2), &u3) in ts
            .iter()
            .zip(&row[0][1..])
            .zip(&row[1][1..])
            .zip(&row[2][1..])
            .zip(&row[3][1..])
        {
            a[0] += u0 * t;
            a[1] += u1 * t;
            a[2] += u2 * t;
            a[3] += u3 * t;
        }
        r4.copy_from_slice(&a);
    }
    let rest = x4s.remainder().chunks_exact(p);
    for ((row, rk), &yk) in rest.zip(r4s.into_remainder()).zip(y4s.remainder()) {
        let mut a = row[0] * t0 - yk;
        for (&t, &u) in ts.iter().zip(&row[1..]) {
            a += u * t;
        }
        *rk = a;
    }
}

/// `gⱼ = (alpha·(xⱼ·r))·s` for a row-major block `x` of `b = r.len()` rows
/// of length `p`, where the dot product over the column `xⱼ` is summed in the
/// order of nalgebra's `dot` — eight lanes `lₖ = Σ x₍₈ᵦ₊ₖ₎ⱼ r₍₈ᵦ₊ₖ₎` over the
/// blocks β of eight rows, combined as `0 + (l₀+l₄) + (l₁+l₅) + (l₂+l₆) +
/// (l₃+l₇)`, then the remaining `b mod 8` products one by one — so `g` is
/// bitwise `alpha·s`-scaled nalgebra `gemv_tr`, and `s = 1` gives it exactly.
///
/// Every column is summed at once: each pass runs over whole rows, lane pair
/// (k, k + 4) by lane pair, `g` holding the running sums (and `lanes`, 2p
/// entries, the lane sums when there are three blocks or more). Leaving out
/// nalgebra's initial `0 +` in each lane changes at most the sign of a zero,
/// which the leading `0 +` of the combination removes.
pub(crate) fn gradient(
    x: &[f64],
    p: usize,
    r: &[f64],
    alpha: f64,
    s: f64,
    g: &mut [f64],
    lanes: &mut [f64],
) {
    let b = r.len();
    let blocks = b / 8;
    let g = &mut g[..p];
    let row = |k: usize| &x[k * p..(k + 1) * p];
    g.fill(0.0);
    match blocks {
        0 => {}
        1 => {
            for l in 0..4 {
                let (x0, x4, r0, r4) = (row(l), row(l + 4), r[l], r[l + 4]);
                for ((gj, &u0), &u4) in g.iter_mut().zip(x0).zip(x4) {
                    *gj += u0 * r0 + u4 * r4;
                }
            }
        }
        2 => {
            for l in 0..4 {
                let (x0, x4, x8, x12) = (row(l), row(l + 4), row(l + 8), row(l + 12));
                let (r0, r4, r8, r12) = (r[l], r[l + 4], r[l + 8], r[l + 12]);
                for ((((gj, &u0), &u4), &u8), &u12) in g.iter_mut().zip(x0).zip(x4).zip(x8).zip(x12)
                {
                    *gj += (u0 * r0 + u8 * r8) + (u4 * r4 + u12 * r12);
                }
            }
        }
        _ => {
            let (a, c) = lanes[..2 * p].split_at_mut(p);
            let last = 8 * (blocks - 1);
            for l in 0..4 {
                let (x0, x4, x8, x12) = (row(l), row(l + 4), row(l + 8), row(l + 12));
                let (r0, r4, r8, r12) = (r[l], r[l + 4], r[l + 8], r[l + 12]);
                for ((((aj, cj), (&u0, &u4)), &u8), &u12) in a
                    .iter_mut()
                    .zip(c.iter_mut())
                    .zip(x0.iter().zip(x4))
                    .zip(x8)
                    .zip(x12)
                {
                    *aj = u0 * r0 + u8 * r8;
                    *cj = u4 * r4 + u12 * r12;
                }
                for k in (16..last).step_by(8).map(|k| k + l) {
                    let (x0, x4, r0, r4) = (row(k), row(k + 4), r[k], r[k + 4]);
                    for (((aj, cj), &u0), &u4) in a.iter_mut().zip(c.iter_mut()).zip(x0).zip(x4) {
                        *aj += u0 * r0;
                        *cj += u4 * r4;
                    }
                }
                let k = last + l;
                let (x0, x4, r0, r4) = (row(k), row(k + 4), r[k], r[k + 4]);
                for ((((gj, &aj), &cj), &u0), &u4) in
                    g.iter_mut().zip(a.iter()).zip(c.iter()).zip(x0).zip(x4)
                {
                    *gj += (aj + u0 * r0) + (cj + u4 * r4);
                }
            }
        }
    }
    // The b mod 8 remaining rows, four per pass, then one by one.
    let mut k = 8 * blocks;
    while k + 4 <= b {
        let (x0, x1, x2, x3) = (row(k), row(k + 1), row(k + 2), row(k + 3));
        let (r0, r1, r2, r3) = (r[k], r[k + 1], r[k + 2], r[k + 3]);
        for ((((gj, &u0), &u1), &u2), &u3) in g.iter_mut().zip(x0).zip(x1).zip(x2).zip(x3) {
            *gj = (((*gj + u0 * r0) + u1 * r1) + u2 * r2) + u3 * r3;
        }
        k += 4;
    }
    for (x0, &r0) in x[k * p..b * p].chunks_exact(p).zip(&r[k..]) {
        for (gj, &u0) in g.iter_mut().zip(x0) {
            *gj += u0 * r0;
        }
    }
    for gj in g.iter_mut() {
        *gj = alpha * *gj * s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{DMatrix, DVector};
    use rand_distr::{Distribution, StandardNormal};

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// `x` (column-major) copied row-major.
    fn row_major(x: &DMatrix<f64>) -> Vec<f64> {
        let p = x.ncols();
        let mut rows = vec![0.0; x.nrows() * p];
        for (j, col) in x.column_iter().enumerate() {
            for (k, &v) in col.iter().enumerate() {
                rows[k * p + j] = v;
            }
        }
        rows
    }

    /// Runs both kernels on rows `start .. start + b` of `x` and compares
    /// them bit for bit with nalgebra's `gemv` / `gemv_tr` on the
    /// column-major block, unscaled and with the fused scale `s`.
    fn check_block(
        x: &DMatrix<f64>,
        y: &DVector<f64>,
        theta: &DVector<f64>,
        start: usize,
        b: usize,
    ) {
        let p = x.ncols();
        let rows = row_major(x);
        let block = &rows[start * p..(start + b) * p];
        let (xi, yi) = (x.rows(start, b).into_owned(), y.rows(start, b).into_owned());
        let mut want_r = yi.clone();
        want_r.gemv(1.0, &xi, theta, -1.0);
        let mut r = vec![0.0; b];
        residual(block, p, theta.as_slice(), yi.as_slice(), &mut r);
        assert_eq!(bits(&r), bits(want_r.as_slice()), "residual p={p} b={b}");
        let mut lanes = vec![0.0; 2 * p];
        for s in [1.0, -1.0 / 7.0] {
            let mut want = DVector::zeros(p);
            want.gemv_tr(1.0 / b as f64, &xi, &want_r, 0.0);
            want *= s;
            let mut g = vec![f64::NAN; p];
            gradient(block, p, &r, 1.0 / b as f64, s, &mut g, &mut lanes);
            assert_eq!(
                bits(&g),
                bits(want.as_slice()),
                "gradient p={p} b={b} s={s}"
            );
        }
    }

    /// Both kernels reproduce nalgebra bit for bit for blocks below, at and
    /// around the 8-lane blocks (0 to 5 blocks with 0 to 7 remaining rows),
    /// partial last batches, and dimensions not divisible by 4; the fused
    /// scale equals a second pass.
    #[test]
    fn kernels_are_bitwise_nalgebra_gemv() {
        let mut rng = crate::random::seeded_rng(11);
        for (n, p, bs) in [
            (7, 1, 7),
            (30, 3, 4),
            (50, 5, 8),
            (61, 6, 20),
            (70, 9, 17),
            (40, 13, 40),
            (75, 2, 24),
            (60, 7, 29),
            (100, 11, 47),
            (64, 16, 32),
        ] {
            let x = DMatrix::from_fn(n, p, |_, _| StandardNormal.sample(&mut rng));
            let y = DVector::from_fn(n, |_, _| StandardNormal.sample(&mut rng));
            let theta = DVector::from_fn(p, |j, _| 0.25 * j as f64 - 0.8);
            for start in (0..n).step_by(bs) {
                check_block(&x, &y, &theta, start, bs.min(n - start));
            }
            // The whole matrix as one block (the residual norm's pass).
            check_block(&x, &y, &theta, 0, n);
        }
    }

    /// Signed zeros: zero rows, zero targets and θ = −0 give the same zero
    /// signs as nalgebra (the lanes' omitted `0 +` only flips signs of zeros
    /// that the combination then normalises).
    #[test]
    fn kernels_keep_nalgebras_signed_zeros() {
        for (n, p) in [(16, 3), (40, 3), (12, 2)] {
            let x = DMatrix::from_fn(n, p, |k, j| match (k + j) % 3 {
                0 => 0.0,
                1 => -0.0,
                _ => (k as f64 - 4.5) * (j as f64 + 1.0),
            });
            let y = DVector::from_fn(n, |k, _| if k % 2 == 0 { 0.0 } else { -0.0 });
            for theta in [
                DVector::from_element(p, -0.0),
                DVector::from_element(p, 0.0),
                DVector::from_fn(p, |j, _| if j == 0 { 0.0 } else { -1.5 }),
            ] {
                check_block(&x, &y, &theta, 0, n);
            }
        }
    }
}
