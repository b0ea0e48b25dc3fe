//! Memory caps on sizes that come from input: a small input (a spec file, a
//! `--n` flag, one CSV label, a gzip stream) must not be able to ask for
//! gigabytes. Each size is estimated before anything is allocated and
//! refused with an error that states the size and the limit.
//!
//! The caps are constants; a program that needs more can call the
//! lower-level constructors directly (they are not capped) or change the
//! constant. The work caps on step counts live with the step rules:
//! [`MAX_STEPS_FROM_SIZE`](crate::integrate::MAX_STEPS_FROM_SIZE) and
//! [`MAX_STEPS_PER_LEVEL`](crate::convergence::spec::MAX_STEPS_PER_LEVEL);
//! class labels are capped by the data loaders' `problems::data::MAX_CLASSES`
//! (an application module, so not linked from this core one).

use crate::error::{Error, Result};

/// The most bytes one matrix sized from input parameters may take (1 GiB):
/// a one-hot label matrix (rows × classes × 8 bytes) and a tomography
/// system matrix (at most rows × 2N entries of 16 bytes, plus the N²
/// image).
pub const MAX_MATRIX_BYTES: usize = 1 << 30;

/// The most bytes a gzip stream may expand to when a data file is read
/// (256 MiB; the largest bundled or supported file, MNIST's training
/// images, is 45 MiB uncompressed).
pub const MAX_DECOMPRESSED_BYTES: usize = 256 << 20;

/// The most numbers a specification file may hold (10⁶, e.g. one 1000 × 1000
/// matrix). Parsing costs about 200 bytes per number before any check can
/// run, so the numbers are counted in the text first.
pub const MAX_SPEC_NUMBERS: usize = 1_000_000;

/// `bytes` in the largest binary unit that keeps it ≥ 1, for messages.
pub(crate) fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v} bytes")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Refuses to build `what` when its estimated size `bytes` (computed in
/// floating point, so it cannot overflow) is above [`MAX_MATRIX_BYTES`].
///
/// # Errors
/// [`Error::InvalidParameter`] naming `name`, its `value`, the estimate and
/// the limit.
pub(crate) fn check_matrix_bytes(
    name: &str,
    value: impl crate::error::ErrorValue,
    what: &str,
    bytes: f64,
) -> Result<()> {
    if bytes > MAX_MATRIX_BYTES as f64 {
        return Err(Error::invalid(
            name,
            value,
            &format!(
                "{what} would need {}, above the limit of {} (splitflow::limits::MAX_MATRIX_BYTES)",
                human_bytes(bytes),
                human_bytes(MAX_MATRIX_BYTES as f64)
            ),
        ));
    }
    Ok(())
}

/// How many numbers a TOML text holds, roughly: maximal runs of digits and
/// number characters (`.`, `e`, `E`, `_`, signs) that contain a digit and do
/// not continue an identifier. Over-counts at most by digits inside names or
/// strings, which is harmless for a cap of a million.
pub(crate) fn count_numbers(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let starts = c.is_ascii_digit()
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
        if starts {
            count += 1;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || matches!(bytes[i], b'.' | b'_' | b'+' | b'-'))
            {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    count
}

/// Refuses a specification text holding more than [`MAX_SPEC_NUMBERS`]
/// numbers, before it is parsed.
///
/// # Errors
/// [`Error::Spec`] stating the count and the limit.
pub(crate) fn check_spec_size(text: &str) -> Result<()> {
    let n = count_numbers(text);
    if n > MAX_SPEC_NUMBERS {
        return Err(Error::Spec {
            message: format!(
                "the file holds about {n} numbers, above the limit of {MAX_SPEC_NUMBERS} \
                 (splitflow::limits::MAX_SPEC_NUMBERS; parsing costs about 200 bytes per number)"
            ),
            line: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_counted_not_names_or_digits_inside_them() {
        assert_eq!(count_numbers("a = [1.0, -2e-3, 3_000]\nx1 = 4\n"), 4);
        assert_eq!(count_numbers("vars = [\"q1\", \"p2\"]\nsteps = [8, 16]"), 2);
        assert_eq!(count_numbers(""), 0);
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_bytes(512.0), "512 bytes");
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
        assert_eq!(human_bytes((1u64 << 30) as f64), "1.0 GiB");
    }

    #[test]
    fn matrix_check_passes_at_the_limit_and_refuses_above() {
        assert!(check_matrix_bytes("n", 1, "x", MAX_MATRIX_BYTES as f64).is_ok());
        let e = check_matrix_bytes("n", 7, "the x", 2.0 * MAX_MATRIX_BYTES as f64)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2.0 GiB") && e.contains("1.0 GiB"), "{e}");
    }
}
