//! The IDX files of MNIST and Fashion-MNIST: images, labels, both as a
//! [`Dataset`], and a directory's standard file names.

use std::path::{Path, PathBuf};

use nalgebra::DMatrix;

use super::Dataset;
use super::source::{data_error, gunzip, read_file};
use crate::error::{Error, Result};

const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// The images of an IDX image file (magic `0x00000803`): `count` images of
/// `rows × cols` unsigned bytes, stored image after image, row-major.
///
/// # Example
/// ```
/// use splitflow::problems::data::parse_idx_images;
///
/// // Two 1 × 2 images.
/// let bytes = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 51, 102];
/// let images = parse_idx_images(&bytes, "inline")?;
/// assert_eq!((images.count(), images.rows(), images.cols()), (2, 1, 2));
/// assert_eq!(images.image(1), Some(&[51u8, 102][..]));
/// assert_eq!(images.to_matrix()[(0, 1)], 1.0);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    count: usize,
    rows: usize,
    cols: usize,
    pixels: Vec<u8>,
}

impl IdxImages {
    /// Number of images.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Pixel rows per image.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Pixel columns per image.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// All pixels, `count · rows · cols` bytes, image after image, each
    /// image row-major.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The pixels of image `i` (row-major), or `None` if `i >= count()`.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let d = self.rows * self.cols;
        if i < self.count {
            self.pixels.get(i * d..(i + 1) * d)
        } else {
            None
        }
    }

    /// The images as a `count × (rows · cols)` matrix, one image per row
    /// (pixels row-major), scaled by 1/255 to \[0, 1\].
    pub fn to_matrix(&self) -> DMatrix<f64> {
        let d = self.rows * self.cols;
        DMatrix::from_fn(self.count, d, |i, j| {
            f64::from(self.pixels[i * d + j]) / 255.0
        })
    }
}

/// Reads an IDX image file (magic `0x00000803`: unsigned bytes, three
/// dimensions `count × rows × cols`), plain or gzipped (recognised by its
/// magic bytes).
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Data`] (no line) for a
/// bad magic number, a truncated header or pixel block (the message gives
/// the expected and found byte counts), trailing bytes, or invalid gzip data.
///
/// # Example
/// ```
/// use splitflow::problems::data::read_idx_images;
///
/// let path = std::env::temp_dir().join(format!("splitflow-doc-idx3-{}", std::process::id()));
/// std::fs::write(&path, [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4]).unwrap();
/// let images = read_idx_images(&path)?;
/// std::fs::remove_file(&path).unwrap();
/// assert_eq!(images.pixels(), &[1, 2, 3, 4]);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<IdxImages> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    parse_idx_images(&bytes, &path.display().to_string())
}

/// [`read_idx_images`] on bytes already in memory (plain or gzip).
///
/// # Errors
/// As [`read_idx_images`], without the [`Error::Io`] case.
///
/// # Example
/// ```
/// use splitflow::problems::data::parse_idx_images;
///
/// let err = parse_idx_images(&[0, 0, 8, 3, 0, 0, 0, 1], "inline").unwrap_err();
/// assert!(err.to_string().contains("expected 16"));
/// ```
pub fn parse_idx_images(bytes: &[u8], source_name: &str) -> Result<IdxImages> {
    let bytes = gunzip(bytes, source_name)?;
    let (dims, data) = parse_idx(&bytes, source_name, IDX_IMAGES_MAGIC)?;
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels: data.to_vec(),
    })
}

/// Reads an IDX label file (magic `0x00000801`: unsigned bytes, one
/// dimension), plain or gzipped (recognised by its magic bytes).
///
/// # Errors
/// As [`read_idx_images`].
///
/// # Example
/// ```
/// use splitflow::problems::data::read_idx_labels;
///
/// let path = std::env::temp_dir().join(format!("splitflow-doc-idx1-{}", std::process::id()));
/// std::fs::write(&path, [0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9]).unwrap();
/// let labels = read_idx_labels(&path)?;
/// std::fs::remove_file(&path).unwrap();
/// assert_eq!(labels, vec![7, 0, 9]);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    parse_idx_labels(&bytes, &path.display().to_string())
}

/// [`read_idx_labels`] on bytes already in memory (plain or gzip).
///
/// # Errors
/// As [`read_idx_labels`], without the [`Error::Io`] case.
///
/// # Example
/// ```
/// use splitflow::problems::data::parse_idx_labels;
///
/// assert_eq!(parse_idx_labels(&[0, 0, 8, 1, 0, 0, 0, 2, 4, 2], "inline")?, vec![4, 2]);
/// // An image file is not a label file.
/// assert!(parse_idx_labels(&[0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1], "inline").is_err());
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn parse_idx_labels(bytes: &[u8], source_name: &str) -> Result<Vec<u8>> {
    let bytes = gunzip(bytes, source_name)?;
    let (_, data) = parse_idx(&bytes, source_name, IDX_LABELS_MAGIC)?;
    Ok(data.to_vec())
}

/// Checks the magic number, reads the dimensions, and returns them with the
/// data block, whose length is checked against their product.
fn parse_idx<'a>(bytes: &'a [u8], source_name: &str, magic: u32) -> Result<(Vec<usize>, &'a [u8])> {
    let err = |message: String| data_error(source_name, None, message);
    let what = |m: u32| match m {
        IDX_IMAGES_MAGIC => "an IDX image file",
        IDX_LABELS_MAGIC => "an IDX label file",
        _ => "not an IDX file of unsigned bytes with 1 or 3 dimensions",
    };
    let ndims = if magic == IDX_IMAGES_MAGIC { 3 } else { 1 };
    let header_len = 4 + 4 * ndims;
    let word = |k: usize| {
        let b = &bytes[4 * k..4 * k + 4];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    };
    if bytes.len() < 4 {
        return Err(err(format!(
            "truncated IDX header: expected {header_len} bytes, found {}",
            bytes.len()
        )));
    }
    let found = word(0);
    if found != magic {
        return Err(err(format!(
            "bad IDX magic number 0x{found:08x}: expected 0x{magic:08x} ({}); 0x{found:08x} is {}",
            what(magic),
            what(found)
        )));
    }
    if bytes.len() < header_len {
        return Err(err(format!(
            "truncated IDX header: expected {header_len} bytes, found {}",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = (1..=ndims).map(|k| word(k) as usize).collect();
    let unit = if ndims == 3 {
        "pixel bytes"
    } else {
        "label bytes"
    };
    let shape = dims
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" × ");
    let total = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| err(format!("IDX dimensions {shape} overflow")))?;
    let data = &bytes[header_len..];
    if data.len() != total {
        let kind = if data.len() < total {
            "truncated IDX data"
        } else {
            "trailing bytes after the IDX data"
        };
        return Err(err(format!(
            "{kind}: expected {total} {unit} ({shape}) after the {header_len}-byte header, found {}",
            data.len()
        )));
    }
    Ok((dims, data))
}

/// Reads an IDX image file and its label file into a [`Dataset`]: pixels
/// scaled by 1/255 (one image per row, row-major), labels as read,
/// `classes = 1 + the largest label`, named after the image file.
///
/// # Errors
/// As [`read_idx_images`] and [`read_idx_labels`], and [`Error::Data`] naming
/// the label file if the two files hold different numbers of items.
///
/// # Example
/// ```
/// use splitflow::problems::data::read_idx;
///
/// let dir = std::env::temp_dir();
/// let images = dir.join(format!("splitflow-doc-pair-images-{}", std::process::id()));
/// let labels = dir.join(format!("splitflow-doc-pair-labels-{}", std::process::id()));
/// std::fs::write(&images, [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 255]).unwrap();
/// std::fs::write(&labels, [0, 0, 8, 1, 0, 0, 0, 2, 3, 1]).unwrap();
/// let d = read_idx(&images, &labels)?;
/// std::fs::remove_file(&images).unwrap();
/// std::fs::remove_file(&labels).unwrap();
/// assert_eq!((d.n(), d.p(), d.classes), (2, 1, 4));
/// assert_eq!((d.x[(1, 0)], d.labels[1]), (1.0, 1));
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn read_idx(images_path: impl AsRef<Path>, labels_path: impl AsRef<Path>) -> Result<Dataset> {
    let (images_path, labels_path) = (images_path.as_ref(), labels_path.as_ref());
    let images = read_idx_images(images_path)?;
    let labels = read_idx_labels(labels_path)?;
    if labels.len() != images.count() {
        return Err(data_error(
            &labels_path.display().to_string(),
            None,
            format!(
                "{} labels, but the image file {} holds {} images",
                labels.len(),
                images_path.display(),
                images.count()
            ),
        ));
    }
    let labels: Vec<usize> = labels.into_iter().map(usize::from).collect();
    let classes = labels.iter().max().map_or(0, |&m| m + 1);
    Ok(Dataset {
        x: images.to_matrix(),
        labels,
        classes,
        name: images_path.display().to_string(),
    })
}

/// Loads MNIST or Fashion-MNIST from the directory `dir`: the training set
/// (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`) if `train`, else
/// the test set (`t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`). Each
/// file may carry a `.gz` suffix (and the `train-images.idx3-ubyte` spelling
/// is accepted too); the plain name is tried first. Pixels are scaled by
/// 1/255 (784 features for 28 × 28 images); `classes` is 10.
///
/// # Errors
/// [`Error::Io`] (kind `NotFound`) naming the expected file if none of its
/// spellings exists; otherwise as [`read_idx`], plus [`Error::Data`] for a
/// label above 9.
///
/// # Example
/// ```
/// use splitflow::problems::data::load_mnist;
///
/// // A tiny stand-in for the MNIST test set: two 2 × 2 images.
/// let dir = std::env::temp_dir().join(format!("splitflow-doc-mnist-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("t10k-images-idx3-ubyte"),
///                [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 255, 255, 255, 255])
///     .unwrap();
/// std::fs::write(dir.join("t10k-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 2, 0, 9]).unwrap();
/// let test = load_mnist(&dir, false)?;
/// assert!(load_mnist(&dir, true).is_err()); // no training files here
/// std::fs::remove_dir_all(&dir).unwrap();
/// assert_eq!((test.n(), test.p(), test.classes), (2, 4, 10));
/// assert_eq!(test.labels, vec![0, 9]);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn load_mnist(dir: impl AsRef<Path>, train: bool) -> Result<Dataset> {
    let dir = dir.as_ref();
    let prefix = if train { "train" } else { "t10k" };
    let images = find_idx_file(dir, prefix, "images", 3)?;
    let labels = find_idx_file(dir, prefix, "labels", 1)?;
    let mut d = read_idx(&images, &labels)?;
    if let Some((i, &l)) = d.labels.iter().enumerate().find(|(_, l)| **l > 9) {
        return Err(data_error(
            &labels.display().to_string(),
            None,
            format!("label {l} at index {i}: MNIST labels are digits 0..9"),
        ));
    }
    d.classes = 10;
    Ok(d)
}

fn find_idx_file(dir: &Path, prefix: &str, what: &str, ndims: usize) -> Result<PathBuf> {
    let names = [
        format!("{prefix}-{what}-idx{ndims}-ubyte"),
        format!("{prefix}-{what}-idx{ndims}-ubyte.gz"),
        format!("{prefix}-{what}.idx{ndims}-ubyte"),
        format!("{prefix}-{what}.idx{ndims}-ubyte.gz"),
    ];
    names
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| Error::Io {
            path: dir.join(&names[0]).display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no such file (also tried {})", names[1..].join(", ")),
            ),
        })
}
