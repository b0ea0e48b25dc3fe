//! The data sets shipped in `data/` and embedded in the binary, by name.

use super::Dataset;
use super::csv::{CsvOptions, parse_csv};
use super::prepare::standardize_columns;
use super::wdbc::parse_wdbc;
use crate::error::{Error, Result};

/// The names accepted by [`named`], in the order they are listed in messages.
pub const NAMES: &[&str] = &["digits", "digits01", "wdbc"];

/// Attribution of the shipped data sets, as in `data/README.md`.
pub const ATTRIBUTION: &str = "\
uci-digits.csv.gz: Optical Recognition of Handwritten Digits (UCI), test set: \
8x8 images, pixel counts 0..16; 1797 x 64 features + 1 label (digit 0..9). \
E. Alpaydin, C. Kaynak (1998), UCI Machine Learning Repository, CC BY 4.0.
wdbc-breast-cancer.csv.gz: Breast Cancer Wisconsin (Diagnostic), 30 real-valued \
features of cell nuclei; 569 x 30 features + 1 label (0 = malignant, 1 = benign). \
W. Wolberg, O. Mangasarian, N. Street, W. Street (1993), UCI Machine Learning \
Repository, CC BY 4.0.";

static DIGITS_GZ: &[u8] = include_bytes!("../../../data/uci-digits.csv.gz");
static WDBC_GZ: &[u8] = include_bytes!("../../../data/wdbc-breast-cancer.csv.gz");

/// One of the shipped data sets, by name (see [`NAMES`] and the
/// [module documentation](super) for shapes and scaling).
///
/// * `digits`: all 1797 rows of the UCI digits file, 64 features divided by
///   16 (so in \[0, 1\]), 10 classes.
/// * `digits01`: the 360 rows of that file labelled 0 or 1, in file order,
///   scaled the same way, 2 classes.
/// * `wdbc`: the 569 rows of the WDBC file, each of the 30 columns
///   standardized to mean 0 and *population* standard deviation 1 (divide by
///   `n`, not `n − 1`), 2 classes (0 = malignant, 1 = benign).
///
/// The files are embedded in the binary; nothing is read from disk.
///
/// # Errors
/// [`Error::InvalidParameter`] for an unknown name; the message lists the
/// valid names.
///
/// # Example
/// ```
/// use splitflow::problems::data::named;
///
/// let digits = named("digits")?;
/// assert_eq!((digits.n(), digits.p(), digits.classes), (1797, 64, 10));
/// assert!(digits.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
///
/// let wdbc = named("wdbc")?;
/// assert_eq!((wdbc.n(), wdbc.p(), wdbc.classes), (569, 30, 2));
///
/// assert!(named("iris").unwrap_err().to_string().contains("digits, digits01, wdbc"));
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn named(name: &str) -> Result<Dataset> {
    match name {
        "digits" => digits(),
        "digits01" => {
            let all = digits()?;
            let rows: Vec<usize> = (0..all.n()).filter(|&i| all.labels[i] <= 1).collect();
            let mut d = all.subset(&rows)?;
            d.classes = 2;
            d.name = name.to_string();
            Ok(d)
        }
        "wdbc" => {
            let mut d = parse_wdbc(WDBC_GZ, "wdbc")?;
            standardize_columns(&mut d.x);
            Ok(d)
        }
        _ => Err(Error::invalid(
            "data",
            format!("{name:?}"),
            &format!(
                "unknown built-in data set; valid names are {}",
                NAMES.join(", ")
            ),
        )),
    }
}

fn digits() -> Result<Dataset> {
    let mut d = parse_csv(DIGITS_GZ, "digits", &CsvOptions::default())?;
    d.x /= 16.0;
    Ok(d)
}
