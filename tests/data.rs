//! Data loading: the named sets' shapes and scaling, CSV / WDBC / IDX round
//! trips (plain and gzipped), and structured errors for malformed input.

use std::io::Write;

use crate::common::TempPath;
use flate2::Compression;
use flate2::write::GzEncoder;
use nalgebra::DMatrix;
use splitflow::Error;
use splitflow::problems::data::{
    CsvOptions, Dataset, NAMES, binary_targets, load_mnist, named, one_hot, parse_csv, parse_wdbc,
    permutation, read_csv, read_idx, read_idx_images, read_idx_labels, read_wdbc,
};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).expect("gzip in memory");
    enc.finish().expect("gzip in memory")
}

/// The `line` of an `Error::Data`, panicking with the error otherwise.
fn data_line(r: splitflow::Result<impl std::fmt::Debug>) -> (Option<usize>, String) {
    match r {
        Err(ref e @ Error::Data { line, .. }) => (line, e.to_string()),
        other => panic!("expected Error::Data, got {other:?}"),
    }
}

fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3];
    for d in [count, rows, cols] {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(pixels);
    b
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 1];
    b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    b.extend_from_slice(labels);
    b
}

fn column_mean_std(x: &DMatrix<f64>, j: usize) -> (f64, f64) {
    let n = x.nrows() as f64;
    let col = x.column(j);
    let mean = col.sum() / n;
    let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

// ---------------------------------------------------------------------------
// Named data sets
// ---------------------------------------------------------------------------

#[test]
fn digits_shape_classes_and_scaling() {
    let d = named("digits").unwrap();
    assert_eq!((d.n(), d.p(), d.classes), (1797, 64, 10));
    assert_eq!(d.labels.len(), 1797);
    assert_eq!(d.name, "digits");
    assert!(d.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
    // Pixel counts 0..16 divided by 16: both ends are reached.
    assert_eq!(d.x.max(), 1.0);
    assert_eq!(d.x.min(), 0.0);
    assert!(d.x.iter().all(|&v| (v * 16.0).fract() == 0.0));
    let counts = d.class_counts();
    assert_eq!(counts.len(), 10);
    assert_eq!(counts.iter().sum::<usize>(), 1797);
    assert!(
        counts.iter().all(|&c| (170..=190).contains(&c)),
        "{counts:?}"
    );
    // First row of the file: 0,0,5,13,… with label 0.
    assert_eq!(d.labels[0], 0);
    assert_eq!(d.x[(0, 2)], 5.0 / 16.0);
}

#[test]
fn digits01_is_the_zero_and_one_rows_in_file_order() {
    let all = named("digits").unwrap();
    let d = named("digits01").unwrap();
    let rows: Vec<usize> = (0..all.n()).filter(|&i| all.labels[i] <= 1).collect();
    assert_eq!(rows.len(), 360);
    assert_eq!((d.n(), d.p(), d.classes), (rows.len(), 64, 2));
    assert!(d.labels.iter().all(|&l| l <= 1));
    assert_eq!(d.class_counts(), vec![178, 182]);
    for (k, &i) in rows.iter().enumerate() {
        assert_eq!(d.labels[k], all.labels[i]);
        assert_eq!(d.x.row(k), all.x.row(i));
    }
    let y = binary_targets(&d).unwrap();
    assert_eq!(y.sum(), 182.0);
}

#[test]
fn wdbc_shape_classes_and_standardization() {
    let d = named("wdbc").unwrap();
    assert_eq!((d.n(), d.p(), d.classes), (569, 30, 2));
    assert!(d.labels.iter().all(|&l| l <= 1));
    let counts = d.class_counts();
    assert_eq!(counts.iter().sum::<usize>(), 569);
    assert_eq!(counts, vec![212, 357]); // malignant, benign
    for j in 0..d.p() {
        let (mean, std) = column_mean_std(&d.x, j);
        assert!(mean.abs() < 1e-12, "column {j}: mean {mean:e}");
        assert!((std - 1.0).abs() < 1e-12, "column {j}: std {std}");
    }
}

#[test]
fn names_constant_lists_every_loadable_set() {
    for name in NAMES {
        let d = named(name).unwrap();
        assert_eq!(d.name, *name);
        assert_eq!(one_hot(&d).unwrap().shape(), (d.n(), d.classes));
    }
}

#[test]
fn unknown_named_set_lists_the_valid_names() {
    match named("mnist") {
        Err(ref e @ Error::InvalidParameter { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("mnist"), "{msg}");
            for name in NAMES {
                assert!(msg.contains(name), "{msg}");
            }
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Targets, helpers
// ---------------------------------------------------------------------------

#[test]
fn binary_targets_rejects_labels_outside_zero_one() {
    let d = Dataset::new(DMatrix::zeros(3, 1), vec![0, 2, 1], 3, "toy").unwrap();
    match binary_targets(&d) {
        Err(ref e @ Error::InvalidParameter { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("row 1") && msg.contains('2'), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    assert!(binary_targets(&named("digits").unwrap()).is_err());
    let ok = Dataset::new(DMatrix::zeros(3, 1), vec![0, 1, 1], 2, "toy").unwrap();
    assert_eq!(binary_targets(&ok).unwrap().as_slice(), &[0.0, 1.0, 1.0]);
}

#[test]
fn one_hot_has_one_unit_per_row_in_the_label_column() {
    let d = named("digits").unwrap();
    let y = one_hot(&d).unwrap();
    assert_eq!(y.shape(), (1797, 10));
    for i in 0..d.n() {
        assert_eq!(y.row(i).sum(), 1.0);
        assert_eq!(y[(i, d.labels[i])], 1.0);
    }
}

/// A hand-edited data set whose label is not below its class count is an
/// error naming the row, not a panic (the fields are public).
#[test]
fn one_hot_of_a_label_beyond_the_classes_is_an_error() {
    let mut d = Dataset::new(DMatrix::zeros(3, 1), vec![0, 1, 1], 2, "toy").unwrap();
    assert!(one_hot(&d).is_ok(), "negative control");
    d.labels[2] = 2;
    let (line, msg) = data_line(one_hot(&d));
    assert_eq!(line, Some(3), "{msg}");
    assert!(
        msg.contains("toy, line 3") && msg.contains("label 2"),
        "{msg}"
    );
}

#[test]
fn dataset_new_subset_permute_split() {
    let x = DMatrix::from_fn(5, 2, |i, j| (10 * i + j) as f64);
    assert!(Dataset::new(x.clone(), vec![0, 1], 2, "bad").is_err());
    assert!(Dataset::new(x.clone(), vec![0, 1, 2, 0, 1], 2, "bad").is_err());
    let d = Dataset::new(x, vec![0, 1, 0, 1, 1], 2, "toy").unwrap();

    let s = d.subset(&[4, 0, 4]).unwrap();
    assert_eq!(s.labels, vec![1, 0, 1]);
    assert_eq!(s.x.row(0)[1], 41.0);
    assert_eq!(s.x.row(1)[0], 0.0);
    assert!(d.subset(&[5]).is_err());

    let perm = permutation(5, 3);
    let p = d.permute_rows(&perm).unwrap();
    for (i, &r) in perm.iter().enumerate() {
        assert_eq!(p.x.row(i), d.x.row(r));
        assert_eq!(p.labels[i], d.labels[r]);
    }
    assert!(d.permute_rows(&[0, 1, 2, 3]).is_err());
    assert!(d.permute_rows(&[0, 1, 2, 3, 3]).is_err());
    assert!(d.permute_rows(&[0, 1, 2, 3, 5]).is_err());

    let (train, test) = d.split(3).unwrap();
    assert_eq!((train.n(), test.n()), (3, 2));
    assert_eq!(test.x.row(0), d.x.row(3));
    assert_eq!(test.labels, vec![1, 1]);
    let (all, none) = d.split(5).unwrap();
    assert_eq!((all.n(), none.n(), none.p()), (5, 0, 2));
    assert!(matches!(
        d.split(6),
        Err(Error::InvalidParameter { ref name, .. }) if name == "n_train"
    ));
}

#[test]
fn permutation_is_seeded_and_a_permutation() {
    let a = permutation(100, 1);
    assert_eq!(a, permutation(100, 1));
    assert_ne!(a, permutation(100, 2));
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    assert!(permutation(0, 1).is_empty());
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

const CSV: &str = "f1,f2,f3,label\n0.5,-1.25,3e2,2\n1,2,3,0\r\n\n-0.0,1e-3,7.5,1\n";

fn check_small_csv(d: &Dataset) {
    assert_eq!((d.n(), d.p(), d.classes), (3, 3, 3));
    assert_eq!(d.labels, vec![2, 0, 1]);
    assert_eq!(
        d.x.row(0).iter().copied().collect::<Vec<_>>(),
        vec![0.5, -1.25, 300.0]
    );
    assert_eq!(
        d.x.row(1).iter().copied().collect::<Vec<_>>(),
        vec![1.0, 2.0, 3.0]
    );
    assert_eq!(
        d.x.row(2).iter().copied().collect::<Vec<_>>(),
        vec![-0.0, 1e-3, 7.5]
    );
}

#[test]
fn csv_round_trips_through_a_file() {
    let d = Dataset::new(
        DMatrix::from_fn(7, 4, |i, j| (i as f64 + 0.1) * (j as f64 - 1.7) / 3.0),
        vec![0, 3, 1, 1, 2, 0, 3],
        4,
        "written",
    )
    .unwrap();
    let mut text = String::new();
    for i in 0..d.n() {
        for j in 0..d.p() {
            text.push_str(&format!("{:e},", d.x[(i, j)]));
        }
        text.push_str(&format!("{}\n", d.labels[i]));
    }
    let file = TempPath::file("roundtrip.csv", text.as_bytes());
    let back = read_csv(&file.0, &CsvOptions::default()).unwrap();
    assert_eq!(back.x, d.x); // `{:e}` prints the shortest exact form
    assert_eq!(back.labels, d.labels);
    assert_eq!(back.classes, 4);
    assert_eq!(back.name, file.0.display().to_string());

    let with_header = TempPath::file("header.csv", CSV.as_bytes());
    check_small_csv(&read_csv(&with_header.0, &CsvOptions::with_header()).unwrap());
}

#[test]
fn gzipped_csv_reads_the_same_whatever_its_name() {
    let plain = TempPath::file("plain.csv", CSV.as_bytes());
    // No .gz extension: gzip is recognised by its magic bytes.
    let packed = TempPath::file("packed.csv", &gzip(CSV.as_bytes()));
    let a = read_csv(&plain.0, &CsvOptions::with_header()).unwrap();
    let b = read_csv(&packed.0, &CsvOptions::with_header()).unwrap();
    check_small_csv(&b);
    assert_eq!((a.x, a.labels, a.classes), (b.x, b.labels, b.classes));
}

#[test]
fn csv_delimiter_and_integral_float_labels() {
    let opts = CsvOptions {
        header: false,
        delimiter: ';',
    };
    let d = parse_csv(b" 1 ; 2 ; 1.0 \n3;4;0\n", "semi", &opts).unwrap();
    assert_eq!(d.labels, vec![1, 0]);
    assert_eq!(d.x[(0, 1)], 2.0);
}

#[test]
fn ragged_row_names_its_line() {
    let (line, msg) = data_line(parse_csv(
        b"1,2,3,0\n4,5,6,1\n\n7,8,1\n",
        "ragged",
        &CsvOptions::default(),
    ));
    assert_eq!(line, Some(4), "{msg}");
    assert!(
        msg.contains("expected 4") && msg.contains("found 3"),
        "{msg}"
    );
    assert!(msg.starts_with("ragged, line 4"), "{msg}");

    // Line numbers count the header; a too-long row is ragged too.
    let (line, _) = data_line(parse_csv(
        b"a,b,c\n1,2,0\n1,2,3,0\n",
        "ragged",
        &CsvOptions::with_header(),
    ));
    assert_eq!(line, Some(3));

    // Through a file, the error names the path.
    let f = TempPath::file("ragged.csv", b"1,2,0\n1,0\n");
    match read_csv(&f.0, &CsvOptions::default()) {
        Err(Error::Data {
            source_name, line, ..
        }) => {
            assert_eq!(line, Some(2));
            assert_eq!(source_name, f.0.display().to_string());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_numeric_value_names_line_and_column() {
    let (line, msg) = data_line(parse_csv(
        b"1,2,0\n1,two,1\n",
        "words",
        &CsvOptions::default(),
    ));
    assert_eq!(line, Some(2));
    assert!(msg.contains("column 2") && msg.contains("two"), "{msg}");

    let (line, msg) = data_line(parse_csv(b"1,,0\n", "empty", &CsvOptions::default()));
    assert_eq!(line, Some(1));
    assert!(msg.contains("column 2") && msg.contains("empty"), "{msg}");

    // An unexpected header is just a non-numeric first line.
    let (line, _) = data_line(parse_csv(
        b"x,y,label\n1,2,0\n",
        "h",
        &CsvOptions::default(),
    ));
    assert_eq!(line, Some(1));
}

#[test]
fn nan_and_infinite_values_are_rejected() {
    for bad in ["NaN", "nan", "inf", "-inf", "infinity", "1e999"] {
        let text = format!("1,2,0\n3,{bad},1\n");
        let (line, msg) = data_line(parse_csv(text.as_bytes(), "nan", &CsvOptions::default()));
        assert_eq!(line, Some(2), "{bad}: {msg}");
        assert!(msg.contains("column 2"), "{bad}: {msg}");
    }
}

#[test]
fn labels_must_be_non_negative_integers() {
    for bad in ["-1", "0.5", "one", "NaN", "", "1e300", "70000"] {
        let text = format!("1,2,0\n3,4,{bad}\n");
        let (line, msg) = data_line(parse_csv(text.as_bytes(), "lab", &CsvOptions::default()));
        assert_eq!(line, Some(2), "{bad:?}: {msg}");
        assert!(msg.contains("label"), "{bad:?}: {msg}");
    }
}

#[test]
fn degenerate_csv_inputs_are_errors() {
    let opts = CsvOptions::default();
    assert!(matches!(
        parse_csv(b"", "e", &opts),
        Err(Error::Data { .. })
    ));
    assert!(matches!(
        parse_csv(b"\n\n", "e", &opts),
        Err(Error::Data { .. })
    ));
    assert!(matches!(
        parse_csv(b"a,b\n", "e", &CsvOptions::with_header()),
        Err(Error::Data { .. })
    ));
    // A label alone is not a row.
    assert_eq!(data_line(parse_csv(b"\n1\n", "e", &opts)).0, Some(2));
    // Invalid UTF-8 and broken gzip.
    assert_eq!(
        data_line(parse_csv(b"1,2,0\n\xff,2,0\n", "e", &opts)).0,
        Some(2)
    );
    let mut broken = gzip(b"1,2,0\n");
    broken.truncate(broken.len() / 2);
    let (_, msg) = data_line(parse_csv(&broken, "e", &opts));
    assert!(msg.contains("gzip"), "{msg}");
}

#[test]
fn missing_file_is_an_io_error() {
    let missing = TempPath::new("does-not-exist.csv");
    match read_csv(&missing.0, &CsvOptions::default()) {
        Err(Error::Io { path, source }) => {
            assert_eq!(path, missing.0.display().to_string());
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(read_wdbc(&missing.0), Err(Error::Io { .. })));
    assert!(matches!(read_idx_images(&missing.0), Err(Error::Io { .. })));
    assert!(matches!(read_idx_labels(&missing.0), Err(Error::Io { .. })));
    assert!(matches!(
        load_mnist(&missing.0, true),
        Err(Error::Io { .. })
    ));
}

// ---------------------------------------------------------------------------
// WDBC format
// ---------------------------------------------------------------------------

#[test]
fn wdbc_format_checks_the_declared_counts() {
    let good = "3,2,malignant,benign\n1.5,2,0\n3,4.25,1\n5,6,1\n";
    let d = parse_wdbc(good.as_bytes(), "w").unwrap();
    assert_eq!((d.n(), d.p(), d.classes), (3, 2, 2));
    assert_eq!(d.x[(1, 1)], 4.25);
    let f = TempPath::file("wdbc.gz", &gzip(good.as_bytes()));
    assert_eq!(read_wdbc(&f.0).unwrap().x, d.x);

    // Fewer rows than declared: the header line.
    let (line, msg) = data_line(parse_wdbc(b"3,2,a,b\n1,2,0\n3,4,1\n", "w"));
    assert_eq!(line, Some(1));
    assert!(msg.contains('3') && msg.contains('2'), "{msg}");
    // More rows: the first extra line.
    assert_eq!(
        data_line(parse_wdbc(b"1,2,a,b\n1,2,0\n\n3,4,1\n", "w")).0,
        Some(4)
    );
    // Rows with another feature count than declared.
    let (line, msg) = data_line(parse_wdbc(b"1,3,a,b\n1,2,0\n", "w"));
    assert_eq!(line, Some(2));
    assert!(msg.contains("expected 4"), "{msg}");
    // Label without a class name.
    assert_eq!(
        data_line(parse_wdbc(b"2,1,a,b\n1,0\n2,2\n", "w")).0,
        Some(3)
    );
    // Malformed headers.
    for bad in ["", "569,30", "x,30,a,b", "569,-1,a,b", "569,0,a,b"] {
        let text = format!("{bad}\n1,0\n");
        assert_eq!(
            data_line(parse_wdbc(text.as_bytes(), "w")).0,
            Some(1),
            "{bad:?}"
        );
    }
    // NaN in the data.
    assert_eq!(data_line(parse_wdbc(b"1,2,a,b\n1,NaN,0\n", "w")).0, Some(2));
}

// ---------------------------------------------------------------------------
// IDX
// ---------------------------------------------------------------------------

const PIXELS: [u8; 12] = [0, 255, 51, 102, 1, 2, 3, 4, 250, 5, 6, 7];

#[test]
fn idx_pair_round_trips_plain_and_gzipped() {
    let images = idx_images(3, 2, 2, &PIXELS);
    let labels = idx_labels(&[7, 0, 3]);
    for gz in [false, true] {
        let pack = |b: &[u8]| if gz { gzip(b) } else { b.to_vec() };
        let fi = TempPath::file("images", &pack(&images));
        let fl = TempPath::file("labels", &pack(&labels));

        let im = read_idx_images(&fi.0).unwrap();
        assert_eq!((im.count(), im.rows(), im.cols()), (3, 2, 2));
        assert_eq!(im.pixels(), &PIXELS);
        assert_eq!(im.image(2), Some(&PIXELS[8..12]));
        assert_eq!(im.image(3), None);
        assert_eq!(read_idx_labels(&fl.0).unwrap(), vec![7, 0, 3]);

        let d = read_idx(&fi.0, &fl.0).unwrap();
        assert_eq!((d.n(), d.p(), d.classes), (3, 4, 8));
        assert_eq!(d.labels, vec![7, 0, 3]);
        for i in 0..3 {
            for j in 0..4 {
                assert_eq!(d.x[(i, j)], f64::from(PIXELS[4 * i + j]) / 255.0);
            }
        }
    }
}

#[test]
fn load_mnist_reads_the_standard_names() {
    let dir = TempPath::new("mnist-dir");
    std::fs::create_dir_all(&dir.0).unwrap();
    // Training files gzipped, test files plain.
    std::fs::write(
        dir.0.join("train-images-idx3-ubyte.gz"),
        gzip(&idx_images(3, 2, 2, &PIXELS)),
    )
    .unwrap();
    std::fs::write(
        dir.0.join("train-labels-idx1-ubyte.gz"),
        gzip(&idx_labels(&[1, 2, 3])),
    )
    .unwrap();
    std::fs::write(
        dir.0.join("t10k-images-idx3-ubyte"),
        idx_images(1, 2, 2, &PIXELS[..4]),
    )
    .unwrap();
    std::fs::write(dir.0.join("t10k-labels-idx1-ubyte"), idx_labels(&[12])).unwrap();

    let train = load_mnist(&dir.0, true).unwrap();
    assert_eq!((train.n(), train.p(), train.classes), (3, 4, 10));
    assert_eq!(train.labels, vec![1, 2, 3]);
    assert_eq!(train.x[(0, 1)], 1.0);
    // Label 12 is not a digit.
    let (_, msg) = data_line(load_mnist(&dir.0, false));
    assert!(msg.contains("12"), "{msg}");
    // A missing label file names the expected file.
    std::fs::remove_file(dir.0.join("t10k-labels-idx1-ubyte")).unwrap();
    match load_mnist(&dir.0, false) {
        Err(Error::Io { path, .. }) => assert!(path.ends_with("t10k-labels-idx1-ubyte"), "{path}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_idx_is_an_error_naming_expected_and_found() {
    let images = idx_images(3, 2, 2, &PIXELS);
    // Truncated pixel block.
    let f = TempPath::file("short-images", &images[..images.len() - 1]);
    let (line, msg) = data_line(read_idx_images(&f.0));
    assert_eq!(line, None, "binary formats have no lines");
    assert!(!msg.contains("line"), "{msg}");
    assert!(
        msg.contains("expected 12") && msg.contains("found 11"),
        "{msg}"
    );
    // Truncated header.
    let f = TempPath::file("short-header", &images[..10]);
    let (_, msg) = data_line(read_idx_images(&f.0));
    assert!(
        msg.contains("expected 16") && msg.contains("found 10"),
        "{msg}"
    );
    // Shorter than the magic number, and empty.
    for len in [0, 3] {
        assert!(matches!(
            read_idx_images(&TempPath::file("tiny", &images[..len]).0),
            Err(Error::Data { .. })
        ));
    }
    // Truncated labels, gzipped.
    let labels = idx_labels(&[1, 2, 3]);
    let f = TempPath::file("short-labels", &gzip(&labels[..labels.len() - 2]));
    let (_, msg) = data_line(read_idx_labels(&f.0));
    assert!(
        msg.contains("expected 3") && msg.contains("found 1"),
        "{msg}"
    );
    // Trailing bytes are an error too.
    let mut long = labels.clone();
    long.push(0);
    let f = TempPath::file("long-labels", &long);
    assert!(matches!(read_idx_labels(&f.0), Err(Error::Data { .. })));
    // Dimensions whose product overflows (or simply exceeds the file).
    let huge = idx_images(u32::MAX, u32::MAX, u32::MAX, &[]);
    assert!(matches!(
        read_idx_images(&TempPath::file("huge", &huge).0),
        Err(Error::Data { .. })
    ));
}

#[test]
fn bad_idx_magic_is_an_error() {
    let mut images = idx_images(3, 2, 2, &PIXELS);
    images[3] = 0x04;
    let f = TempPath::file("bad-magic", &images);
    let (_, msg) = data_line(read_idx_images(&f.0));
    assert!(
        msg.contains("0x00000804") && msg.contains("0x00000803"),
        "{msg}"
    );
    // Swapped files: a label file where images are expected and vice versa.
    let labels = TempPath::file("labels", &idx_labels(&[1, 2, 3]));
    let images = TempPath::file("images", &idx_images(3, 2, 2, &PIXELS));
    assert!(matches!(
        read_idx_images(&labels.0),
        Err(Error::Data { .. })
    ));
    assert!(matches!(
        read_idx_labels(&images.0),
        Err(Error::Data { .. })
    ));
    assert!(read_idx(&labels.0, &images.0).is_err());
    // Text is not IDX.
    let text = TempPath::file("text", b"1,2,3,0\n");
    assert!(matches!(read_idx_images(&text.0), Err(Error::Data { .. })));
}

#[test]
fn idx_image_label_count_mismatch_is_an_error() {
    let images = TempPath::file("images", &idx_images(3, 2, 2, &PIXELS));
    let labels = TempPath::file("labels", &idx_labels(&[1, 2]));
    match read_idx(&images.0, &labels.0) {
        Err(
            ref e @ Error::Data {
                ref source_name, ..
            },
        ) => {
            assert_eq!(*source_name, labels.0.display().to_string());
            let msg = e.to_string();
            assert!(
                msg.contains("2 labels") && msg.contains("3 images"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
}
