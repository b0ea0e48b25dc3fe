//! Axes: a linear or base-10 logarithmic [`Axis`] with its own ticks
//! (decades and 1-2-5 subdivisions) and tick labels (`10⁻³`, `2×10⁻³`,
//! `0.05`), plugged into plotters as a `Ranged` coordinate.

use std::ops::Range;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};

/// Most labelled ticks per axis.
pub(super) const MAX_LABELS: usize = 8;

/// A linear or base-10 logarithmic axis over `lo..hi` with its own ticks
/// (decades and 1-2-5 subdivisions) and labels (`10⁻³`, `2×10⁻³`, `0.05`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Axis {
    pub(super) lo: f64,
    pub(super) hi: f64,
    log: bool,
    /// Ticks stop here (the range above is a band of its own).
    tick_hi: f64,
}

impl Axis {
    pub(super) fn linear(lo: f64, hi: f64) -> Self {
        let (lo, hi) = widen(lo, hi, false);
        Axis {
            lo,
            hi,
            log: false,
            tick_hi: hi,
        }
    }

    pub(super) fn log(lo: f64, hi: f64) -> Self {
        let (lo, hi) = widen(lo, hi, true);
        Axis {
            lo,
            hi,
            log: true,
            tick_hi: hi,
        }
    }

    /// No ticks above `v`.
    pub(super) fn ticks_up_to(mut self, v: f64) -> Self {
        self.tick_hi = v.min(self.hi);
        self
    }

    /// A log axis around positive `values`: `frac` of the span in decades
    /// added on each side, and at least a factor `min_factor` overall
    /// (`values` must hold at least one positive number).
    pub(super) fn log_around(
        values: impl Iterator<Item = f64>,
        frac: f64,
        min_factor: f64,
    ) -> Self {
        let (lo, hi) = min_max(values.filter(|v| *v > 0.0)).unwrap_or((1.0, 10.0));
        let (a, b) = (lo.log10(), hi.log10());
        let pad = (frac * (b - a)).max(min_factor.log10() / 2.0);
        Axis::log(10f64.powf(a - pad), 10f64.powf(b + pad))
    }

    /// A linear axis around `values` with `frac` of the span added on each
    /// side; with `keep_sign` a non-negative range does not dip below zero.
    pub(super) fn linear_around(
        values: impl Iterator<Item = f64>,
        frac: f64,
        keep_sign: bool,
    ) -> Self {
        let (lo, hi) = min_max(values).unwrap_or((0.0, 1.0));
        let pad = frac * (hi - lo);
        let mut a = lo - pad;
        if keep_sign && lo >= 0.0 && a < 0.0 {
            a = 0.0;
        }
        Axis::linear(a, hi + pad)
    }

    fn fwd(&self, v: f64) -> f64 {
        if self.log { v.log10() } else { v }
    }

    /// The value at fraction `t` (0 = bottom/left, 1 = top/right).
    pub(super) fn inverse(&self, t: f64) -> f64 {
        let (a, b) = (self.fwd(self.lo), self.fwd(self.hi));
        let u = a + t * (b - a);
        if self.log { 10f64.powf(u) } else { u }
    }

    pub(super) fn major_ticks(&self, max: usize) -> Vec<f64> {
        let max = max.max(2);
        if !self.log {
            return linear_ticks(
                self.lo,
                self.tick_hi,
                linear_step(self.lo, self.tick_hi, max),
            );
        }
        let (a, b) = (self.lo.log10(), self.tick_hi.log10());
        let (k0, k1) = ((a - 1e-9).ceil() as i32, (b + 1e-9).floor() as i32);
        let decades = k1 - k0 + 1;
        if decades >= 3 {
            let stride = (decades as usize).div_ceil(max) as i32;
            return (k0..=k1)
                .filter(|k| k.rem_euclid(stride) == 0)
                .map(|k| 10f64.powi(k))
                .collect();
        }
        for mantissas in [
            &[1.0, 2.0, 5.0][..],
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        ] {
            let t = log_ticks(self.lo, self.tick_hi, mantissas);
            if t.len() >= 3 && t.len() <= max {
                return t;
            }
        }
        let t = log_ticks(self.lo, self.tick_hi, &[1.0, 2.0, 5.0]);
        if t.len() >= 2 && t.len() <= max {
            return t;
        }
        // Less than a factor ~2 wide: plain 1-2-5 steps on the values.
        linear_ticks(
            self.lo,
            self.tick_hi,
            linear_step(self.lo, self.tick_hi, max),
        )
    }

    fn minor_ticks(&self, max: usize) -> Vec<f64> {
        let major = self.major_ticks(MAX_LABELS);
        let minor = if self.log {
            if (self.tick_hi / self.lo).log10() <= 8.0 {
                log_ticks(
                    self.lo,
                    self.tick_hi,
                    &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
                )
            } else {
                let (k0, k1) = (
                    self.lo.log10().ceil() as i32,
                    self.tick_hi.log10().floor() as i32,
                );
                (k0..=k1).map(|k| 10f64.powi(k)).collect()
            }
        } else {
            let step = linear_step(self.lo, self.tick_hi, MAX_LABELS);
            let mant = (step / 10f64.powf(step.log10().floor())).round();
            let div = if mant == 2.0 { 4.0 } else { 5.0 };
            linear_ticks(self.lo, self.tick_hi, step / div)
        };
        if minor.len() <= max && minor.len() >= major.len() {
            minor
        } else {
            major
        }
    }
}

/// `(lo, hi)` made finite, ordered and non-degenerate (positive on a log axis).
pub(super) fn widen(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if log {
        if !(lo.is_finite() && lo > 0.0) {
            lo = if hi.is_finite() && hi > 0.0 {
                hi / 10.0
            } else {
                1.0
            };
        }
        if !(hi.is_finite() && hi > lo) {
            hi = lo * 10.0;
        }
    } else {
        if !lo.is_finite() {
            lo = 0.0;
        }
        if !hi.is_finite() {
            hi = lo + 1.0;
        }
        if hi - lo <= 1e-12 * lo.abs().max(hi.abs()) || hi <= lo {
            let d = if lo == 0.0 { 1.0 } else { 0.1 * lo.abs() };
            lo -= d;
            hi += d;
        }
    }
    (lo, hi)
}

pub(super) fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        })
}

/// A 1-2-5 step giving at most `max` ticks over `lo..hi`.
pub(super) fn linear_step(lo: f64, hi: f64, max: usize) -> f64 {
    let raw = (hi - lo) / max.saturating_sub(1).max(1) as f64;
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let nice = if m <= 1.0 + 1e-9 {
        1.0
    } else if m <= 2.0 + 1e-9 {
        2.0
    } else if m <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    nice * p
}

pub(super) fn linear_ticks(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    if !(step.is_finite() && step > 0.0) {
        return vec![lo, hi];
    }
    let k0 = (lo / step - 1e-9).ceil() as i64;
    let k1 = (hi / step + 1e-9).floor() as i64;
    (k0..=k1)
        .take(10_000)
        .map(|k| if k == 0 { 0.0 } else { k as f64 * step })
        .collect()
}

/// Values `m·10ᵏ` for the given mantissas that fall in `lo..=hi`.
pub(super) fn log_ticks(lo: f64, hi: f64, mantissas: &[f64]) -> Vec<f64> {
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let mut t = Vec::new();
    for k in k0..=k1 {
        for m in mantissas {
            let v = m * 10f64.powi(k);
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                t.push(v);
            }
        }
    }
    t
}

impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (a, b) = (self.fwd(self.lo), self.fwd(self.hi));
        let u = self.fwd(*value);
        // Far outside (or −∞ for 0 on a log axis): pinned just off the edge.
        let t = if u.is_nan() {
            0.0
        } else {
            ((u - a) / (b - a)).clamp(-4.0, 5.0)
        };
        let (p0, p1) = (f64::from(limit.0), f64::from(limit.1));
        (p0 + t * (p1 - p0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor_ticks(hint.max_num_points())
        } else {
            self.major_ticks(hint.max_num_points())
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for Axis {
    fn format(value: &f64) -> String {
        format_value(*value, 6)
    }

    fn format_ext(&self, value: &f64) -> String {
        if self.log && (self.lo < 9.99e-4 || self.tick_hi >= 1.0001e5) {
            scientific(*value, 6)
        } else {
            format_value(*value, 6)
        }
    }
}

/// Plain decimals between 10⁻³ and 10⁵, `m×10ᵏ` outside, `sig` significant
/// digits at most, trailing zeros dropped.
pub(super) fn format_value(v: f64, sig: usize) -> String {
    let a = v.abs();
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    if !(9.99e-4..1e5).contains(&a) {
        return scientific(v, sig);
    }
    let k = a.log10().floor() as i32;
    let prec = (sig as i32 - 1 - k).max(0) as usize;
    trim_zeros(format!("{v:.prec$}"))
}

/// `10ᵏ` for a power of ten, else `m×10ᵏ` (mantissa to `sig` digits).
pub(super) fn scientific(v: f64, sig: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    let mut k = (a.log10() + 1e-9).floor() as i32;
    let prec = sig.saturating_sub(1);
    let mut mant = trim_zeros(format!("{:.prec$}", a / 10f64.powi(k)));
    if mant == "10" {
        k += 1;
        mant = "1".into();
    }
    if mant == "1" {
        format!("{sign}10{}", superscript(k))
    } else {
        format!("{sign}{mant}×10{}", superscript(k))
    }
}

pub(super) fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

pub(super) fn superscript(k: i32) -> String {
    k.to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axis_ticks_and_labels() {
        let wide = Axis::log(3e-12, 2e-2);
        let t = wide.major_ticks(MAX_LABELS);
        assert!(t.len() <= MAX_LABELS && t.len() >= 4, "{t:?}");
        assert!(
            t.iter()
                .all(|v| (v.log10() - v.log10().round()).abs() < 1e-9)
        );
        let narrow = Axis::log(0.006, 0.15);
        let t = narrow.major_ticks(MAX_LABELS);
        assert_eq!(t, vec![0.01, 0.02, 0.05, 0.1]);
        assert!(t.iter().all(|v| *v >= 0.006 && *v <= 0.15));
        let tiny = Axis::log(1.1, 1.3);
        assert!(tiny.major_ticks(MAX_LABELS).len() >= 2);
        assert_eq!(wide.format_ext(&1e-3), "10⁻³");
        assert_eq!(wide.format_ext(&2e-5), "2×10⁻⁵");
        assert_eq!(narrow.format_ext(&0.05), "0.05");
        assert_eq!(scientific(9.9999999e-7, 3), "10⁻⁶");
        assert_eq!(format_value(4.478374093289195e-6, 3), "4.48×10⁻⁶");
        assert_eq!(format_value(2500.0, 6), "2500");
        let lin = Axis::linear(0.0, 4600.0);
        assert_eq!(
            lin.major_ticks(MAX_LABELS),
            vec![0.0, 1000.0, 2000.0, 3000.0, 4000.0]
        );
    }
}
