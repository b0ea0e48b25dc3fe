//! Memory caps on sizes that come from input (src/limits.rs): each hostile
//! input is refused before the allocation, with a message stating the size
//! and the limit, in the library and through the binary under a 512 MiB
//! address-space limit.

use std::io::Write;
use std::process::{Command, Output};

use flate2::Compression;
use flate2::write::GzEncoder;
use splitflow::Error;
use splitflow::convergence::spec::OrderSpec;
use splitflow::limits::{MAX_DECOMPRESSED_BYTES, MAX_MATRIX_BYTES, MAX_SPEC_NUMBERS};
use splitflow::optimizers::OptimizerSpec;
use splitflow::problems::data::{CsvOptions, one_hot, parse_csv};
use splitflow::problems::softmax::Softmax;
use splitflow::problems::tomography::{Geometry, TomographyProblem};

use crate::common::{BIN, TempPath, assert_user_error};

/// Runs the binary under `ulimit -v` 512 MiB and a 60 s timeout.
fn run_limited(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 524288 && exec timeout 60 \"$0\" \"$@\"")
        .arg(BIN)
        .args(args)
        .output()
        .expect("run splitflow under sh")
}

/// A gzip stream of `bytes` zero bytes, built in memory (about 1 KiB per MiB).
fn gzip_of_zeros(bytes: usize) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    let chunk = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let k = left.min(chunk.len());
        enc.write_all(&chunk[..k]).unwrap();
        left -= k;
    }
    enc.finish().unwrap()
}

/// A CSV of `rows` rows `0.5,0` with one label 65535 (below MAX_CLASSES).
fn csv_with_one_large_label(rows: usize) -> String {
    let mut s = String::from("0.5,65535\n");
    for _ in 1..rows {
        s.push_str("0.5,0\n");
    }
    s
}

/// A linear order-study spec whose one piece is a k × k zero matrix.
fn order_spec_with_matrix(k: usize) -> String {
    let row = format!("[{}]", vec!["0"; k].join(","));
    let m = format!("[{}]", vec![row.as_str(); k].join(","));
    format!(
        "[problem]\nkind = \"linear\"\npieces = [{m}]\ny0 = [{}]\nt_end = 1.0\n\
         [method]\nsplitting = \"lie\"\nsub_stepper = \"exact\"\n[study]\nsteps = [8, 16]\n",
        vec!["1.0"; k].join(",")
    )
}

#[test]
fn a_gzip_bomb_is_refused_at_the_cap_not_called_invalid() {
    let bomb = gzip_of_zeros(MAX_DECOMPRESSED_BYTES + (1 << 20));
    assert!(
        bomb.len() < 1 << 20,
        "the bomb is small: {} bytes",
        bomb.len()
    );
    let e = parse_csv(&bomb, "bomb.csv.gz", &CsvOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Data { .. }), "{e:?}");
    assert!(!msg.contains("invalid gzip"), "{msg}");
    assert!(
        msg.contains("256.0 MiB") && msg.contains("MAX_DECOMPRESSED_BYTES"),
        "{msg}"
    );
    // Negative control: a small gzip CSV is read, a corrupt one is invalid.
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(b"1.0,0\n2.0,1\n").unwrap();
    let ok = enc.finish().unwrap();
    assert_eq!(
        parse_csv(&ok, "ok.csv.gz", &CsvOptions::default())
            .unwrap()
            .labels,
        [0, 1]
    );
    let cut = &ok[..ok.len() - 6];
    let msg = parse_csv(cut, "cut.csv.gz", &CsvOptions::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("invalid gzip"), "{msg}");
}

#[test]
fn one_large_label_cannot_ask_for_a_huge_one_hot_matrix() {
    let d = parse_csv(
        csv_with_one_large_label(3000).as_bytes(),
        "labels.csv",
        &CsvOptions::default(),
    )
    .unwrap();
    assert_eq!(d.classes, 65536);
    // 3000 × 65536 × 8 bytes = 1.46 GiB > 1 GiB.
    assert!(3000.0 * 65536.0 * 8.0 > MAX_MATRIX_BYTES as f64);
    for msg in [
        one_hot(&d).unwrap_err().to_string(),
        Softmax::new(&d.x, &d.labels, d.classes, 32)
            .unwrap_err()
            .to_string(),
    ] {
        assert!(
            msg.contains("65536") && msg.contains("1.5 GiB") && msg.contains("1.0 GiB"),
            "{msg}"
        );
    }
    // Negative control: the same label over 1000 rows (0.49 GiB) is built.
    let small = parse_csv(
        csv_with_one_large_label(1000).as_bytes(),
        "labels.csv",
        &CsvOptions::default(),
    )
    .unwrap();
    assert_eq!(one_hot(&small).unwrap().shape(), (1000, 65536));
}

#[test]
fn tomography_grids_above_the_memory_cap_are_refused_up_front() {
    for g in [Geometry::Parallel, Geometry::FanLinear] {
        let t = std::time::Instant::now();
        let msg = TomographyProblem::new(g, 1000).unwrap_err().to_string();
        assert!(t.elapsed().as_secs_f64() < 1.0, "refused before the work");
        assert!(
            msg.contains("GiB") && msg.contains("MAX_MATRIX_BYTES"),
            "{msg}"
        );
    }
    // Negative control: a grid well within the cap is built.
    assert!(TomographyProblem::new(Geometry::Parallel, 64).is_ok());
}

#[test]
fn specs_with_too_many_numbers_are_refused_before_parsing() {
    // 1001² > 10⁶ numbers: refused by both spec parsers; 100² accepted.
    let big = order_spec_with_matrix(1001);
    const { assert!(1001 * 1001 > MAX_SPEC_NUMBERS) };
    let msg = OrderSpec::from_toml(&big).unwrap_err().to_string();
    assert!(
        msg.contains("1000000") && msg.contains("MAX_SPEC_NUMBERS"),
        "{msg}"
    );
    let opt = format!(
        "[textbook]\nmethod = \"sgd\"\nlr = 0.1\n# {}\n",
        vec!["1"; MAX_SPEC_NUMBERS + 1].join(" ")
    );
    let msg = OptimizerSpec::from_toml(&opt).unwrap_err().to_string();
    assert!(msg.contains("MAX_SPEC_NUMBERS"), "{msg}");
    assert!(OrderSpec::from_toml(&order_spec_with_matrix(100)).is_ok());
}

#[test]
fn the_cli_refuses_hostile_sizes_under_a_512_mib_limit() {
    // Sanity: the limit leaves room for ordinary work.
    let ok = run_limited(&["tomography", "--n", "20"]);
    assert!(ok.status.success(), "{ok:?}");

    let out = run_limited(&["tomography", "--n", "1000"]);
    assert_user_error("tomography --n 1000", &out, "MAX_MATRIX_BYTES");

    let spec = TempPath::file("big-matrix.toml", &order_spec_with_matrix(2000));
    let out = run_limited(&["order", spec.arg()]);
    assert_user_error("order 2000x2000", &out, "MAX_SPEC_NUMBERS");

    let sgd = TempPath::file("sgd.toml", "[textbook]\nmethod = \"sgd\"\nlr = 0.1\n");
    let labels = TempPath::file("labels.csv", &csv_with_one_large_label(3000));
    let out = run_limited(&["train", sgd.arg(), "--data", labels.arg()]);
    assert_user_error("label 65535", &out, "MAX_MATRIX_BYTES");

    let bomb = TempPath::file(
        "bomb.csv.gz",
        &gzip_of_zeros(MAX_DECOMPRESSED_BYTES + (1 << 20)),
    );
    let out = run_limited(&["train", sgd.arg(), "--data", bomb.arg()]);
    assert_user_error("gzip bomb", &out, "MAX_DECOMPRESSED_BYTES");
}
