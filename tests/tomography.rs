//! Tomography test problems: the phantom and the AIR Tools II line-model
//! matrices (checks from the specification, and derived invariants).

use std::f64::consts::SQRT_2;
use std::sync::OnceLock;
use std::time::Instant;

use nalgebra::{DVector, dvector};
use splitflow::Error;
use splitflow::problems::tomography::{
    FanLinearBeam, Geometry, ParallelBeam, SparseMatrix, TomographyProblem, fanlinear, parallel,
    shepp_logan, summary,
};

use crate::common::TOMOGRAPHY_SUMMARY_KEYS;

const N: usize = 50;

fn fan50() -> &'static SparseMatrix {
    static A: OnceLock<SparseMatrix> = OnceLock::new();
    A.get_or_init(|| fanlinear(N).expect("fanlinear(50)"))
}

fn par50() -> &'static SparseMatrix {
    static A: OnceLock<SparseMatrix> = OnceLock::new();
    A.get_or_init(|| parallel(N).expect("parallel(50)"))
}

fn phantom50() -> &'static DVector<f64> {
    static X: OnceLock<DVector<f64>> = OnceLock::new();
    X.get_or_init(|| shepp_logan(N).expect("shepp_logan(50)"))
}

// ----- independent ray geometry and chord lengths (for the invariants) -----

/// `(cos θ, sin θ)` in degrees, exact at multiples of 90°.
fn cs(theta: f64) -> (f64, f64) {
    match theta.rem_euclid(360.0) {
        0.0 => (1.0, 0.0),
        90.0 => (0.0, 1.0),
        180.0 => (-1.0, 0.0),
        270.0 => (0.0, -1.0),
        _ => ((theta.to_radians()).cos(), (theta.to_radians()).sin()),
    }
}

/// A ray: point, direction, and whether the generator skips it (top/right edge).
struct Ray {
    x0: f64,
    y0: f64,
    a: f64,
    b: f64,
    skipped: bool,
}

fn parallel_rays(n: usize) -> Vec<Ray> {
    let p = (SQRT_2 * n as f64).round() as usize;
    let half = n as f64 / 2.0;
    let mut rays = Vec::new();
    for theta in 0..180 {
        let (c, s) = cs(f64::from(theta));
        for j in 0..p {
            let off = j as f64 - (p as f64 - 1.0) / 2.0;
            let (x0, y0, a, b) = (off * c, off * s, -s, c);
            let skipped =
                (b == 0.0 && (y0 - half).abs() < 1e-15) || (a == 0.0 && (x0 - half).abs() < 1e-15);
            rays.push(Ray {
                x0,
                y0,
                a,
                b,
                skipped,
            });
        }
    }
    rays
}

fn fan_rays(n: usize) -> Vec<Ray> {
    let p = (SQRT_2 * n as f64).round() as usize;
    let nf = n as f64;
    let mut rays = Vec::new();
    for k in 0..180 {
        let (c, s) = cs(f64::from(2 * k));
        let (x0, y0) = (-2.0 * nf * s, 2.0 * nf * c);
        let (cx, cy) = (s, -c); // -S/|S|
        for j in 0..p {
            let u = (j as f64 - (p as f64 - 1.0) / 2.0) * 2.5 * nf / p as f64;
            let w = (u / (3.0 * nf)).atan();
            let (a, b) = (cx * w.cos() - cy * w.sin(), cx * w.sin() + cy * w.cos());
            rays.push(Ray {
                x0,
                y0,
                a,
                b,
                skipped: false,
            });
        }
    }
    rays
}

/// Length of the line (x0, y0) + t·(a, b), t ∈ ℝ, inside [−h, h]²
/// (Liang–Barsky clipping).
fn chord(ray: &Ray, h: f64) -> f64 {
    let (mut t0, mut t1) = (f64::NEG_INFINITY, f64::INFINITY);
    for (p, q) in [
        (-ray.a, ray.x0 + h),
        (ray.a, h - ray.x0),
        (-ray.b, ray.y0 + h),
        (ray.b, h - ray.y0),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return 0.0;
            }
        } else if p < 0.0 {
            t0 = t0.max(q / p);
        } else {
            t1 = t1.min(q / p);
        }
    }
    (t1 - t0).max(0.0) * ray.a.hypot(ray.b)
}

fn row_sum(a: &SparseMatrix, i: usize) -> f64 {
    a.row(i).1.iter().sum()
}

fn check_chords(a: &SparseMatrix, rays: &[Ray], n: usize) {
    assert_eq!(a.nrows(), rays.len());
    let h = n as f64 / 2.0;
    let mut worst = 0.0f64;
    for (i, ray) in rays.iter().enumerate() {
        let expected = if ray.skipped { 0.0 } else { chord(ray, h) };
        let err = (row_sum(a, i) - expected).abs();
        worst = worst.max(err);
        assert!(
            err <= 1e-9,
            "row {i}: total length {} vs chord {expected}",
            row_sum(a, i)
        );
    }
    println!("N = {n}: worst |row length - chord| = {worst:e}");
}

fn check_entries(a: &SparseMatrix) {
    for &v in a.values() {
        assert!(
            v > 0.0 && v <= SQRT_2 + 1e-12,
            "entry {v} outside (0, sqrt 2]"
        );
    }
    for i in 0..a.nrows() {
        let (cols, _) = a.row(i);
        assert!(cols.windows(2).all(|w| w[0] < w[1]), "row {i} not sorted");
        assert!(cols.iter().all(|&c| c < a.ncols()));
    }
}

fn assert_row_is(a: &SparseMatrix, i: usize, cols: Option<&[usize]>, value: f64) {
    let (c, v) = a.row(i);
    assert_eq!(v.len(), 50, "row {i} has {} entries", v.len());
    if let Some(cols) = cols {
        assert_eq!(c, cols);
    }
    for &x in v {
        assert!((x - value).abs() < 1e-12, "row {i}: entry {x} != {value}");
    }
}

// ----- phantom -----

#[test]
fn phantom_n50_matches_the_spec_checks() {
    let x = phantom50();
    assert_eq!(x.len(), 2500);
    let levels = [0.0, 0.1, 0.2, 0.3, 0.4, 1.0];
    for &v in x.iter() {
        assert!(
            levels.iter().any(|l| (v - l).abs() < 1e-12),
            "unexpected phantom value {v}"
        );
    }
    assert!((x.sum() - 302.4).abs() < 1e-9, "sum {}", x.sum());
    assert_eq!(x.iter().filter(|&&v| v != 0.0).count(), 1018);
    assert_eq!(x.iter().position(|&v| v != 0.0), Some(420));
}

#[test]
fn phantom_small_and_invalid_sizes() {
    assert!(matches!(
        shepp_logan(0),
        Err(Error::InvalidParameter { .. })
    ));
    // One pixel at the origin: 1 − 0.8.
    let one = shepp_logan(1).unwrap();
    assert!((one[0] - 0.2).abs() < 1e-12);
    // Values stay in [0, 1]; the corners are outside every ellipse.
    let x = shepp_logan(64).unwrap();
    assert!(x.iter().all(|&v| (0.0..=1.0 + 1e-12).contains(&v)));
    assert_eq!(x[0], 0.0);
    assert_eq!(x[64 * 64 - 1], 0.0);
}

// ----- the matrices -----

#[test]
fn shapes_and_central_rays() {
    let central: Vec<usize> = (1250..1300).collect();
    for a in [fan50(), par50()] {
        assert_eq!((a.nrows(), a.ncols()), (12780, 2500));
        // θ = 0, central ray: x = 0, one unit in each pixel of column 25.
        assert_row_is(a, 35, Some(&central), 1.0);
    }
    // Parallel beam, θ = 45°, central ray: the diagonal, √2 per pixel.
    assert_row_is(par50(), 3230, None, SQRT_2);
    // The line y = −x crosses the pixels (r, c) = (k, k): the image's main
    // diagonal, vector index k·N + k.
    let (cols, _) = par50().row(3230);
    let expected: Vec<usize> = (0..50).map(|c| c * 50 + c).collect();
    assert_eq!(cols, expected);
}

#[test]
fn entries_are_positive_lengths_at_most_sqrt2() {
    check_entries(fan50());
    check_entries(par50());
}

#[test]
fn row_lengths_equal_chords_parallel() {
    check_chords(par50(), &parallel_rays(N), N);
    for n in [1, 2, 7, 13] {
        check_chords(&parallel(n).unwrap(), &parallel_rays(n), n);
    }
}

#[test]
fn row_lengths_equal_chords_fanlinear() {
    check_chords(fan50(), &fan_rays(N), N);
    for n in [1, 2, 7, 13] {
        check_chords(&fanlinear(n).unwrap(), &fan_rays(n), n);
    }
}

#[test]
fn parallel_hits_every_pixel() {
    let a = par50();
    let sums = a
        .tr_mul_vec(&DVector::from_element(a.nrows(), 1.0))
        .unwrap();
    let min = sums.min();
    assert!(min > 0.0, "a pixel is never hit (min column sum {min})");
    // Each angle's rays one unit apart cover every pixel with total length 1
    // per angle, except that rays on the right/top edge are skipped and the
    // outermost rays may miss: 180 angles give sums near 180.
    println!("parallel column sums in [{min}, {}]", sums.max());
}

#[test]
fn zero_rows_are_reported() {
    let fan = fan50();
    let par = par50();
    println!(
        "zero rows: fanlinear {}, parallel {}",
        fan.zero_rows(),
        par.zero_rows()
    );
    assert!(fan.zero_rows() > 0, "some fan rays miss the image");
    // Zero rows are exactly the rays that miss the square (chord 0) or are
    // skipped on the top/right edge.
    let h = N as f64 / 2.0;
    for (a, rays) in [(fan, fan_rays(N)), (par, parallel_rays(N))] {
        let expected = rays
            .iter()
            .filter(|r| r.skipped || chord(r, h) == 0.0)
            .count();
        assert_eq!(a.zero_rows(), expected);
    }
    // Parallel: at θ = 0 the 20 offsets |s| > 25 miss and the ray x = 25 on
    // the right edge is skipped; likewise at θ = 90 with y = 25 on the top.
    for base in [0, 90 * 71] {
        let zero = (base..base + 71)
            .filter(|&i| par.row(i).0.is_empty())
            .count();
        assert_eq!(zero, 21);
    }
}

#[test]
fn rhs_of_the_phantom_is_finite_and_nonzero() {
    for a in [fan50(), par50()] {
        let b = a.mul_vec(phantom50()).unwrap();
        assert!(b.iter().all(|v| v.is_finite()));
        assert!(b.norm() > 0.0);
        // b is A·x computed densely, too.
        let dense = a.to_dense() * phantom50();
        assert!((dense - &b).amax() < 1e-12);
    }
}

#[test]
fn summary_fields_and_values() {
    for g in Geometry::ALL {
        let t = Instant::now();
        let s = summary(g, N).unwrap();
        let elapsed = t.elapsed();
        let json = serde_json::to_value(&s).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        let mut expected = TOMOGRAPHY_SUMMARY_KEYS.to_vec();
        expected.sort();
        let mut keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
        keys.sort();
        assert_eq!(keys, expected);
        println!(
            "{g} (N = {N}, summary in {:.1} ms): {}",
            elapsed.as_secs_f64() * 1e3,
            serde_json::to_string(&s).unwrap()
        );
        let a = g.matrix(N).unwrap();
        assert_eq!((s.rows, s.cols, s.nnz), (12780, 2500, a.nnz()));
        assert_eq!(s.zero_rows, a.zero_rows());
        assert_eq!(s.phantom_nnz, 1018);
        assert!((s.phantom_sum - 302.4).abs() < 1e-9);
        // sum = Σ chords; Frobenius² ≤ sum·√2 (entries ≤ √2) and ≥ sum²/nnz.
        let total: f64 = (0..a.nrows()).map(|i| row_sum(&a, i)).sum();
        assert!((s.sum - total).abs() < 1e-6);
        assert!(s.frobenius.powi(2) <= s.sum * SQRT_2 + 1e-9);
        assert!(s.frobenius.powi(2) >= s.sum * s.sum / s.nnz as f64 - 1e-6);
        assert!(s.rhs_norm > 0.0 && s.rhs_norm.is_finite());
    }
}

#[test]
fn building_is_fast() {
    let t = Instant::now();
    let a = fanlinear(N).unwrap();
    let fan = t.elapsed();
    let t = Instant::now();
    let b = parallel(N).unwrap();
    let par = t.elapsed();
    println!(
        "fanlinear(50): {:.1} ms, parallel(50): {:.1} ms ({} + {} nonzeros)",
        fan.as_secs_f64() * 1e3,
        par.as_secs_f64() * 1e3,
        a.nnz(),
        b.nnz()
    );
    // Generous bound (debug builds, loaded machines); release takes a few ms.
    assert!(fan.as_secs_f64() < 5.0);
}

#[test]
fn geometry_names_and_errors() {
    assert_eq!(
        Geometry::from_name("fanlinear").unwrap(),
        Geometry::FanLinear
    );
    assert_eq!("parallel".parse::<Geometry>().unwrap(), Geometry::Parallel);
    for g in Geometry::ALL {
        assert_eq!(Geometry::from_name(g.name()).unwrap(), g);
        assert_eq!(g.to_string(), g.name());
        assert!(matches!(g.matrix(0), Err(Error::InvalidParameter { .. })));
        assert!(summary(g, 0).is_err());
        assert!(TomographyProblem::new(g, 0).is_err());
    }
    for bad in ["", "Parallel", "fan", "cone"] {
        let err = Geometry::from_name(bad).unwrap_err();
        assert!(err.to_string().contains("geometry"), "{err}");
    }
    assert!(parallel(0).is_err());
    assert!(fanlinear(0).is_err());
}

#[test]
fn invalid_geometry_parameters_are_errors() {
    let invalid = |r: splitflow::Result<SparseMatrix>| {
        assert!(matches!(r, Err(Error::InvalidParameter { .. })), "{r:?}")
    };
    let p = ParallelBeam::new(10);
    invalid(
        ParallelBeam {
            rays: 0,
            ..p.clone()
        }
        .matrix(),
    );
    invalid(
        ParallelBeam {
            angles: vec![],
            ..p.clone()
        }
        .matrix(),
    );
    invalid(
        ParallelBeam {
            angles: vec![0.0, f64::NAN],
            ..p.clone()
        }
        .matrix(),
    );
    invalid(
        ParallelBeam {
            width: -1.0,
            ..p.clone()
        }
        .matrix(),
    );
    invalid(
        ParallelBeam {
            width: f64::INFINITY,
            ..p.clone()
        }
        .matrix(),
    );
    invalid(
        ParallelBeam {
            n: usize::MAX,
            ..p.clone()
        }
        .matrix(),
    );
    let f = FanLinearBeam::new(10);
    invalid(
        FanLinearBeam {
            rays: 0,
            ..f.clone()
        }
        .matrix(),
    );
    invalid(
        FanLinearBeam {
            angles: vec![f64::INFINITY],
            ..f.clone()
        }
        .matrix(),
    );
    invalid(
        FanLinearBeam {
            source_radius: 0.7,
            ..f.clone()
        }
        .matrix(),
    );
    invalid(
        FanLinearBeam {
            source_radius: f64::NAN,
            ..f.clone()
        }
        .matrix(),
    );
    invalid(
        FanLinearBeam {
            detector_width: 0.0,
            ..f.clone()
        }
        .matrix(),
    );
    invalid(
        FanLinearBeam {
            source_detector: -3.0,
            ..f.clone()
        }
        .matrix(),
    );
    // The smallest valid radius works.
    assert!(
        FanLinearBeam {
            source_radius: SQRT_2 / 2.0,
            ..f
        }
        .matrix()
        .is_ok()
    );
}

#[test]
fn custom_geometries() {
    // One parallel angle at 90°: horizontal rays y = s, p = 10 rays over d = 9
    // (s = −4.5 … 4.5 on a 10 × 10 grid): each ray inside one image row.
    let a = ParallelBeam {
        angles: vec![90.0],
        rays: 10,
        width: 9.0,
        n: 10,
    }
    .matrix()
    .unwrap();
    assert_eq!(a.nrows(), 10);
    for i in 0..10 {
        let (cols, vals) = a.row(i);
        assert_eq!(vals.len(), 10);
        assert!(vals.iter().all(|&v| (v - 1.0).abs() < 1e-12));
        // y = i − 4.5 lies in image row r = 9 − i; every column.
        let r = 9 - i;
        assert_eq!(cols, (0..10).map(|c| c * 10 + r).collect::<Vec<_>>());
    }
    // Angles beyond [0, 360) use the same exact trigonometry.
    let a1 = ParallelBeam {
        angles: vec![0.0, 90.0],
        ..ParallelBeam::new(8)
    }
    .matrix()
    .unwrap();
    let a2 = ParallelBeam {
        angles: vec![360.0, -270.0],
        ..ParallelBeam::new(8)
    }
    .matrix()
    .unwrap();
    assert_eq!(a1, a2);
    // Even number of fan rays: no central ray; symmetric about θ's axis.
    let f = FanLinearBeam {
        angles: vec![0.0],
        rays: 8,
        ..FanLinearBeam::new(6)
    }
    .matrix()
    .unwrap();
    for j in 0..4 {
        assert!((row_sum(&f, j) - row_sum(&f, 7 - j)).abs() < 1e-12);
    }
}

// ----- the sparse matrix type -----

#[test]
fn sparse_matrix_from_triplets() {
    let a = SparseMatrix::from_triplets(
        3,
        4,
        &[
            (2, 1, 1.0),
            (0, 3, 2.0),
            (0, 0, 1.0),
            (0, 3, 0.5),
            (2, 1, -1.0),
        ],
    )
    .unwrap();
    assert_eq!((a.nrows(), a.ncols(), a.nnz()), (3, 4, 2));
    assert_eq!(a.row(0), (&[0usize, 3][..], &[1.0, 2.5][..]));
    assert_eq!(a.row(1), (&[][..], &[][..])); // cancelled duplicates are not stored
    assert_eq!(a.row(2), (&[][..], &[][..]));
    assert_eq!(a.zero_rows(), 2);
    assert_eq!(a.row_offsets(), &[0, 2, 2, 2]);
    assert!((a.sum() - 3.5).abs() < 1e-15);
    assert!((a.frobenius_norm() - (1.0f64 + 6.25).sqrt()).abs() < 1e-15);
    for bad in [
        SparseMatrix::from_triplets(3, 4, &[(3, 0, 1.0)]),
        SparseMatrix::from_triplets(3, 4, &[(0, 4, 1.0)]),
        SparseMatrix::from_triplets(3, 4, &[(0, 0, f64::NAN)]),
        SparseMatrix::from_triplets(usize::MAX, 2, &[]),
        SparseMatrix::from_triplets(usize::MAX, 0, &[]),
    ] {
        assert!(matches!(bad, Err(Error::InvalidParameter { .. })));
    }
    let empty = SparseMatrix::from_triplets(0, 0, &[]).unwrap();
    assert_eq!(empty.mul_vec(&DVector::zeros(0)).unwrap().len(), 0);
}

#[test]
fn sparse_matrix_products_batches_and_permutations() {
    let a = par50();
    let dense = a.to_dense();
    let x = DVector::from_fn(a.ncols(), |i, _| ((i * 7919) % 101) as f64 / 101.0 - 0.5);
    let y = DVector::from_fn(a.nrows(), |i, _| ((i * 104729) % 97) as f64 / 97.0 - 0.5);
    assert!((a.mul_vec(&x).unwrap() - &dense * &x).amax() < 1e-11);
    assert!((a.tr_mul_vec(&y).unwrap() - dense.tr_mul(&y)).amax() < 1e-10);
    assert!(matches!(
        a.mul_vec(&DVector::zeros(3)),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(a.tr_mul_vec(&DVector::zeros(3)).is_err());

    // A batch of rows, with a repeat and a zero row.
    let batch = [3230, 35, 0, 3230];
    let d = a.dense_rows(&batch).unwrap();
    assert_eq!(d.shape(), (4, 2500));
    for (k, &i) in batch.iter().enumerate() {
        assert_eq!(d.row(k), dense.row(i));
    }
    assert!(a.dense_rows(&[12780]).is_err());
    assert_eq!(a.dense_rows(&[]).unwrap().shape(), (0, 2500));

    // Reversal permutation: row k of P·A is row n − 1 − k of A.
    let perm: Vec<usize> = (0..a.nrows()).rev().collect();
    let pa = a.permute_rows(&perm).unwrap();
    assert_eq!(pa.nnz(), a.nnz());
    for k in [0, 35, 6000, 12779] {
        assert_eq!(pa.row(k), a.row(perm[k]));
    }
    assert_eq!(pa.permute_rows(&perm).unwrap(), *a);
    assert!(a.permute_rows(&[0, 1]).is_err());
    let mut repeated = perm.clone();
    repeated[0] = repeated[1];
    assert!(matches!(
        a.permute_rows(&repeated),
        Err(Error::InvalidParameter { .. })
    ));

    let small = SparseMatrix::from_triplets(2, 2, &[(0, 1, 2.0), (1, 0, 3.0)]).unwrap();
    assert_eq!(
        small.mul_vec(&dvector![1.0, 1.0]).unwrap(),
        dvector![2.0, 3.0]
    );
    assert_eq!(small.to_dense(), nalgebra::dmatrix![0.0, 2.0; 3.0, 0.0]);
}

#[test]
fn fan_angles_rotate_the_system() {
    // The central ray at θ = 90° runs from S = (−100, 0) along +x on the grid
    // line y = 0 between image rows 24 and 25; the midpoint rule assigns it to
    // row r = N − 1 − floor(0 + N/2) = 24 (y ∈ [0, 1]), one unit per pixel.
    let a = fan50();
    let i = 45 * 71 + 35;
    let (cols, vals) = a.row(i);
    assert_eq!(vals.len(), 50);
    assert!(vals.iter().all(|&v| (v - 1.0).abs() < 1e-12));
    let rows: Vec<usize> = cols.iter().map(|c| c % 50).collect();
    assert!(rows.iter().all(|&r| r == 24), "{rows:?}");
}
