//! Fused linear combinations `out = base + Σ cⱼ·kⱼ` (the stage sums of the
//! Runge–Kutta steppers and the Euler update) and the vectorised non-finite
//! probe that rides along with them ([`lincomb_checked`], [`all_finite`]).
//!
//! The arithmetic is sequential per entry — `base + c₀k₀ + c₁k₁ + …`, left to
//! right — so results are bitwise those of the naive loop; only the memory
//! passes are fused (four terms per pass) and the probe is spread over
//! independent lanes so that it vectorises.

/// `out = base + Σ cⱼ·kⱼ` (or `out += Σ cⱼ·kⱼ` when `base` is `None`), fused
/// four terms at a time (one pass over memory per four terms).
pub(crate) fn lincomb(out: &mut [f64], base: Option<&[f64]>, terms: &[(f64, &[f64])]) {
    combine::<false>(out, base, terms);
}

/// [`lincomb`] that also returns `0.0` when every output entry is finite and
/// NaN otherwise. The probe accumulates `x·0` (NaN exactly for NaN or ±∞
/// entries) in independent lanes so that it vectorises; the combination
/// itself is computed exactly as by [`lincomb`].
pub(crate) fn lincomb_checked(
    out: &mut [f64],
    base: Option<&[f64]>,
    terms: &[(f64, &[f64])],
) -> f64 {
    combine::<true>(out, base, terms)
}

fn combine<const PROBE: bool>(
    out: &mut [f64],
    base: Option<&[f64]>,
    terms: &[(f64, &[f64])],
) -> f64 {
    let mut probe = 0.0;
    let mut base = base;
    let mut rest = terms;
    loop {
        let (chunk, tail) = rest.split_at(rest.len().min(4));
        rest = tail;
        // Only the last pass writes final values: probe it alone.
        let last = rest.is_empty();
        probe += match (chunk.len(), PROBE && last) {
            (0, p) => {
                if let Some(b) = base {
                    out.copy_from_slice(b);
                }
                if p { probe_lanes(out) } else { 0.0 }
            }
            (1, false) => fused::<1, false>(out, base, chunk),
            (1, true) => fused::<1, true>(out, base, chunk),
            (2, false) => fused::<2, false>(out, base, chunk),
            (2, true) => fused::<2, true>(out, base, chunk),
            (3, false) => fused::<3, false>(out, base, chunk),
            (3, true) => fused::<3, true>(out, base, chunk),
            (_, false) => fused::<4, false>(out, base, chunk),
            (_, true) => fused::<4, true>(out, base, chunk),
        };
        base = None;
        if last {
            return probe;
        }
    }
}

/// Whether every entry of `v` is finite: the non-finite probe of
/// [`lincomb_checked`] on its own (vectorises, unlike a short-circuiting
/// `iter().all(is_finite)`).
pub(crate) fn all_finite(v: &[f64]) -> bool {
    !probe_lanes(v).is_nan()
}

/// Independent accumulators of the non-finite probe (a single running sum is
/// a serial dependency chain that neither vectorises nor pipelines).
/// Sixteen lanes keep enough additions in flight that the probe runs at
/// memory speed (4 lanes cost SGD's step at p = 1e5 about 25 µs; see
/// docs/benchmarks.md).
const LANES: usize = 16;

fn probe_lanes(out: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let mut chunks = out.chunks_exact(LANES);
    for c in chunks.by_ref() {
        for l in 0..LANES {
            acc[l] += c[l] * 0.0;
        }
    }
    for &v in chunks.remainder() {
        acc[0] += v * 0.0;
    }
    acc.iter().sum()
}

#[inline(always)]
fn fused<const K: usize, const PROBE: bool>(
    out: &mut [f64],
    base: Option<&[f64]>,
    terms: &[(f64, &[f64])],
) -> f64 {
    let n = out.len();
    let c: [f64; K] = std::array::from_fn(|j| terms[j].0);
    let k: [&[f64]; K] = std::array::from_fn(|j| &terms[j].1[..n]);
    match base {
        Some(b) => kernel::<K, PROBE, true>(out, &b[..n], c, k),
        None => kernel::<K, PROBE, false>(out, &[], c, k),
    }
}

/// `out[i] = (BASE ? base[i] : out[i]) + c₀k₀[i] + c₁k₁[i] + …`, in that
/// order of operations; with the probe, in blocks of [`LANES`] entries (one
/// probe accumulator per lane) so that the loop still vectorises.
#[inline(always)]
fn kernel<const K: usize, const PROBE: bool, const BASE: bool>(
    out: &mut [f64],
    base: &[f64],
    c: [f64; K],
    k: [&[f64]; K],
) -> f64 {
    if !PROBE {
        // Without the probe a plain indexed loop vectorises best.
        let base = if BASE { &base[..out.len()] } else { &[] };
        for i in 0..out.len() {
            let mut v = if BASE { base[i] } else { out[i] };
            for j in 0..K {
                v += c[j] * k[j][i];
            }
            out[i] = v;
        }
        return 0.0;
    }
    let (blocks, tail) = out.as_chunks_mut::<LANES>();
    let nb = blocks.len();
    let kb: [&[[f64; LANES]]; K] = std::array::from_fn(|j| &k[j].as_chunks::<LANES>().0[..nb]);
    let bb = if BASE {
        &base.as_chunks::<LANES>().0[..nb]
    } else {
        &[]
    };
    let mut acc = [0.0; LANES];
    for (i, o) in blocks.iter_mut().enumerate() {
        let mut v = if BASE { bb[i] } else { *o };
        for j in 0..K {
            for l in 0..LANES {
                v[l] += c[j] * kb[j][i][l];
            }
        }
        *o = v;
        if PROBE {
            for l in 0..LANES {
                acc[l] += v[l] * 0.0;
            }
        }
    }
    let off = nb * LANES;
    for (i, o) in tail.iter_mut().enumerate() {
        let idx = off + i;
        let mut v = if BASE { base[idx] } else { *o };
        for j in 0..K {
            v += c[j] * k[j][idx];
        }
        *o = v;
        if PROBE {
            acc[0] += v * 0.0;
        }
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lincomb_matches_direct_sum_and_flags_nan() {
        let y = [1.0, 2.0, 3.0];
        let ks: Vec<[f64; 3]> = (0..6).map(|j| [j as f64, 1.0, -(j as f64)]).collect();
        let terms: Vec<(f64, &[f64])> = ks
            .iter()
            .enumerate()
            .map(|(j, k)| (0.5 + j as f64, &k[..]))
            .collect();
        let mut out = [0.0; 3];
        assert_eq!(lincomb_checked(&mut out, Some(&y), &terms), 0.0);
        for i in 0..3 {
            let direct: f64 = y[i] + terms.iter().map(|(c, k)| c * k[i]).sum::<f64>();
            assert!((out[i] - direct).abs() < 1e-13);
        }
        let bad = [f64::NAN, 0.0, 0.0];
        assert!(lincomb_checked(&mut out, Some(&y), &[(1.0, &bad[..])]).is_nan());
        let mut acc = [1.0, 1.0, 1.0];
        lincomb(&mut acc, None, &[(2.0, &y[..])]);
        assert_eq!(acc, [3.0, 5.0, 7.0]);
    }

    #[test]
    fn all_finite_flags_nan_and_infinities_in_every_lane() {
        for n in 0..=40 {
            let v: Vec<f64> = (0..n).map(|i| i as f64 - 3.5).collect();
            assert!(all_finite(&v));
            for k in 0..n {
                for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                    let mut w = v.clone();
                    w[k] = bad;
                    assert!(!all_finite(&w), "n={n} k={k} {bad}");
                }
            }
        }
    }

    /// The blocked kernel keeps the sequential order of operations (bitwise
    /// equal to `base + c₀k₀ + c₁k₁ + …` evaluated left to right) and its
    /// lane-wise probe catches a non-finite entry anywhere, tail included.
    #[test]
    fn lincomb_is_bitwise_sequential_and_probe_covers_every_lane() {
        for n in 0..=11 {
            let y: Vec<f64> = (0..n).map(|i| 0.1 * i as f64 - 0.37).collect();
            let ks: Vec<Vec<f64>> = (0..7)
                .map(|j| (0..n).map(|i| ((i * 7 + j * 3) % 5) as f64 / 3.0).collect())
                .collect();
            for m in 0..=7 {
                let terms: Vec<(f64, &[f64])> = ks[..m]
                    .iter()
                    .enumerate()
                    .map(|(j, k)| (0.3 / (j + 1) as f64, &k[..]))
                    .collect();
                let mut out = vec![0.0; n];
                assert_eq!(lincomb_checked(&mut out, Some(&y), &terms), 0.0);
                for i in 0..n {
                    let mut v = y[i];
                    for (c, k) in &terms {
                        v += c * k[i];
                    }
                    assert_eq!(out[i].to_bits(), v.to_bits(), "n={n} m={m} i={i}");
                }
                for bad_at in 0..n {
                    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                        let mut k0 = ks[0].clone();
                        k0[bad_at] = bad;
                        let mut t = terms.clone();
                        t.insert(0, (1.0, &k0[..]));
                        assert!(lincomb_checked(&mut out, Some(&y), &t).is_nan());
                        let mut acc = y.clone();
                        assert!(lincomb_checked(&mut acc, None, &t).is_nan());
                    }
                }
            }
        }
    }
}
