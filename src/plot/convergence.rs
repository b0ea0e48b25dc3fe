//! The log-log convergence plot of a [`ConvergenceReport`].

use std::path::Path;

use plotters::prelude::*;

use super::axis::Axis;
use super::chart::{Chart, DrawResult, build_chart, colour, render};
use super::legend::{
    Corner, dashed_legend, dotted_legend, hollow_circle, legend_entry, line_and_dot, place_legend,
};
use crate::Order;
use crate::convergence::{ConvergenceReport, ExclusionReason};
use crate::error::{Error, Result, check_dim};

/// Draws a convergence study as a log-log plot of error against step size.
///
/// The measured errors are joined by a line; levels used in the fit are
/// filled circles, excluded levels (round-off floor, pre-asymptotic,
/// stagnation) hollow circles. A dashed line of slope
/// [`fitted_order`](ConvergenceReport::fitted_order) runs through the fitted
/// levels, and when the report knows a finite
/// [`effective_order`](ConvergenceReport::effective_order) a second dashed
/// line of that slope runs parallel below the data. Levels whose error is
/// zero or not finite cannot be placed on a log axis and are left out.
///
/// # Errors
/// [`Error::DimensionMismatch`] when `h` and `errors` differ in length,
/// [`Error::InvalidParameter`] when no level has a positive, finite step and
/// error, [`Error::Io`] when `path` cannot be written.
pub fn convergence_plot(report: &ConvergenceReport, title: &str, path: &Path) -> Result<()> {
    let levels = Levels::of(report)?;
    if levels.measured.is_empty() {
        return Err(Error::invalid(
            "report.errors",
            format!("{:?}", report.errors),
            "no level with a positive, finite step size and error to draw on log axes",
        ));
    }
    let reasons = exclusion_reasons(report, &levels.by_h);
    let Levels {
        measured,
        fitted,
        excluded,
        ..
    } = levels;

    let x = Axis::log_around(measured.iter().map(|p| p.0), 0.06, 1.25);
    let y = Axis::log_around(measured.iter().map(|p| p.1), 0.08, 2.0);
    // Reference lines in log10 coordinates: log e = c + p log h.
    let anchor_pts = if fitted.is_empty() {
        &measured
    } else {
        &fitted
    };
    let (mean_lh, mean_le) = mean_log(anchor_pts);
    let p_fit = report.fitted_order;
    let fit_line = p_fit
        .is_finite()
        .then(|| clip_power_line(&x, &y, mean_le - p_fit * mean_lh, p_fit))
        .flatten();
    let effective = match report.effective_order {
        Some(Order::Finite(q)) => Some(q),
        _ => None,
    };
    // Parallel to the data, a factor 4 below, so it does not hide the fit.
    let eff_line = effective.and_then(|q| {
        let q = f64::from(q);
        clip_power_line(&x, &y, mean_le - 4f64.log10() - q * mean_lh, q)
    });

    let data_colour = colour(0);
    let fit_colour = colour(1);
    let eff_colour = colour(2);
    render(path, |root| {
        let mut chart = build_chart(root, title, x, y, "step size h", "error")?;
        let mut labels: Vec<String> = Vec::new();
        let mut curves: Vec<Vec<(f64, f64)>> = vec![measured.clone()];
        // Legend entries first (data, then references); the data are drawn
        // last so that the reference lines never hide them.
        let label = if excluded.is_empty() {
            "measured error".to_string()
        } else {
            "measured error (fitted levels)".to_string()
        };
        legend_entry(&mut chart, label.clone(), move |(px, py)| {
            line_and_dot((px, py), data_colour)
        })?;
        labels.push(label);
        if !excluded.is_empty() {
            let label = format!("excluded ({})", reasons.join(", "));
            legend_entry(&mut chart, label.clone(), move |(px, py)| {
                hollow_circle((px, py), (12, 0), data_colour)
            })?;
            labels.push(label);
        }
        if let Some(line) = &fit_line {
            let style = fit_colour.stroke_width(2);
            let label = format!("fitted slope {p_fit:.2}");
            chart
                .draw_series(DashedLineSeries::new(line.iter().copied(), 9, 6, style))?
                .label(label.clone())
                .legend(move |(px, py)| dashed_legend((px, py), style));
            labels.push(label);
            curves.push(line.clone());
        }
        if let (Some(line), Some(q)) = (&eff_line, effective) {
            let style = eff_colour.stroke_width(2);
            let label = format!("slope {q} (effective order)");
            chart
                .draw_series(DashedLineSeries::new(line.iter().copied(), 4, 4, style))?
                .label(label.clone())
                .legend(move |(px, py)| dotted_legend((px, py), style));
            labels.push(label);
            curves.push(line.clone());
        }
        chart.draw_series(LineSeries::new(
            measured.iter().copied(),
            data_colour.stroke_width(2),
        ))?;
        draw_level_markers(&mut chart, &fitted, &excluded, data_colour)?;
        place_legend(&mut chart, &labels, &curves, &PREFER)
    })
}

/// Legend corners of the convergence plots, in order of preference.
const PREFER: [Corner; 4] = [
    Corner::UpperLeft,
    Corner::LowerRight,
    Corner::UpperRight,
    Corner::LowerLeft,
];

/// The drawable levels of a report (positive, finite step and error), by
/// increasing step size: their indices, all of them, those in the fit, and the others.
struct Levels {
    by_h: Vec<usize>,
    measured: Vec<(f64, f64)>,
    fitted: Vec<(f64, f64)>,
    excluded: Vec<(f64, f64)>,
}

impl Levels {
    /// Splits the levels of `report`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `h` and `errors` differ in length.
    fn of(report: &ConvergenceReport) -> Result<Self> {
        check_dim("report.errors", report.h.len(), report.errors.len())?;
        let mut levels: Vec<usize> = (0..report.h.len())
            .filter(|&k| {
                let (h, e) = (report.h[k], report.errors[k]);
                h.is_finite() && h > 0.0 && e.is_finite() && e > 0.0
            })
            .collect();
        levels.sort_by(|&a, &b| report.h[a].total_cmp(&report.h[b]));
        let point = |&k: &usize| (report.h[k], report.errors[k]);
        Ok(Levels {
            by_h: levels.clone(),
            measured: levels.iter().map(point).collect(),
            fitted: levels
                .iter()
                .filter(|k| in_fit(report, **k))
                .map(point)
                .collect(),
            excluded: levels
                .iter()
                .filter(|k| !in_fit(report, **k))
                .map(point)
                .collect(),
        })
    }
}

/// Level `k` is in the fit and not excluded.
fn in_fit(report: &ConvergenceReport, k: usize) -> bool {
    report.fit_levels.contains(&k) && !report.excluded.iter().any(|e| e.level == k)
}

/// The distinct reasons (in order of increasing step size) why the
/// drawable levels `by_h` are not in the fit.
fn exclusion_reasons(report: &ConvergenceReport, by_h: &[usize]) -> Vec<&'static str> {
    let mut reasons: Vec<&str> = Vec::new();
    for &k in by_h {
        let why = match report
            .excluded
            .iter()
            .find(|e| e.level == k)
            .map(|e| e.reason)
        {
            Some(ExclusionReason::RoundOff) => "round-off",
            Some(ExclusionReason::PreAsymptotic) => "pre-asymptotic",
            Some(ExclusionReason::Stagnation) => "stagnation",
            Some(ExclusionReason::Unstable) => "unstable",
            None if !in_fit(report, k) => "not fitted",
            None => continue,
        };
        if !reasons.contains(&why) {
            reasons.push(why);
        }
    }
    reasons
}

/// Filled circles on the fitted levels, hollow ones on the excluded.
fn draw_level_markers(
    chart: &mut Chart<'_, '_>,
    fitted: &[(f64, f64)],
    excluded: &[(f64, f64)],
    c: RGBColor,
) -> DrawResult {
    chart.draw_series(fitted.iter().map(|&p| Circle::new(p, 5, c.filled())))?;
    chart.draw_series(excluded.iter().map(|&p| hollow_circle(p, (0, 0), c)))?;
    Ok(())
}

/// Draws several convergence studies of the same problem on one log-log plot
/// of error against step size: each method in its own colour, its measured
/// errors joined by a line (fitted levels filled, excluded levels hollow),
/// and a dashed reference line of its fitted slope through its fitted
/// levels; the legend names each method with its fitted order. Levels whose
/// error is zero or not finite are left out.
///
/// # Errors
/// [`Error::InvalidParameter`] for no report or no drawable level,
/// [`Error::DimensionMismatch`] as [`convergence_plot`], [`Error::Io`] when
/// `path` cannot be written.
pub fn convergence_overlay_plot(
    reports: &[(&str, &ConvergenceReport)],
    title: &str,
    path: &Path,
) -> Result<()> {
    struct Series {
        label: String,
        levels: Levels,
        slope: f64,
    }
    let mut series = Vec::new();
    for (name, report) in reports {
        series.push(Series {
            label: format!("{name} (fitted {:.2})", report.fitted_order),
            levels: Levels::of(report)?,
            slope: report.fitted_order,
        });
    }
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.levels.measured.clone())
        .collect();
    if all.is_empty() {
        return Err(Error::invalid(
            "reports",
            reports.len(),
            "no level with a positive, finite step size and error to draw on log axes",
        ));
    }
    let x = Axis::log_around(all.iter().map(|p| p.0), 0.06, 1.25);
    let y = Axis::log_around(all.iter().map(|p| p.1), 0.08, 2.0);
    let lines: Vec<Option<Vec<(f64, f64)>>> = series
        .iter()
        .map(|s| {
            if s.levels.fitted.is_empty() || !s.slope.is_finite() {
                return None;
            }
            let (mean_lh, mean_le) = mean_log(&s.levels.fitted);
            clip_power_line(&x, &y, mean_le - s.slope * mean_lh, s.slope)
        })
        .collect();
    render(path, |root| {
        let mut chart = build_chart(root, title, x, y, "step size h", "error")?;
        let mut labels = Vec::new();
        let mut curves = Vec::new();
        for (i, (s, line)) in series.iter().zip(&lines).enumerate() {
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(
                    s.levels.measured.iter().copied(),
                    c.stroke_width(2),
                ))?
                .label(s.label.clone())
                .legend(move |(px, py)| line_and_dot((px, py), c));
            labels.push(s.label.clone());
            curves.push(s.levels.measured.clone());
            if let Some(line) = line {
                chart.draw_series(DashedLineSeries::new(
                    line.iter().copied(),
                    9,
                    6,
                    c.stroke_width(1),
                ))?;
                curves.push(line.clone());
            }
            draw_level_markers(&mut chart, &s.levels.fitted, &s.levels.excluded, c)?;
        }
        place_legend(&mut chart, &labels, &curves, &PREFER)
    })
}

/// Mean of `log10 x` and of `log10 y`.
fn mean_log(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len().max(1) as f64;
    let sx: f64 = points.iter().map(|p| p.0.log10()).sum();
    let sy: f64 = points.iter().map(|p| p.1.log10()).sum();
    (sx / n, sy / n)
}

/// The line `log10 y = c + p·log10 x` clipped to the box of two log axes,
/// as its two end points (`None` when it misses the box).
fn clip_power_line(x: &Axis, y: &Axis, c: f64, p: f64) -> Option<Vec<(f64, f64)>> {
    let (mut u0, mut u1) = (x.lo.log10(), x.hi.log10());
    let (v0, v1) = (y.lo.log10(), y.hi.log10());
    if p.abs() < 1e-12 {
        if c < v0 || c > v1 {
            return None;
        }
    } else {
        let (a, b) = ((v0 - c) / p, (v1 - c) / p);
        u0 = u0.max(a.min(b));
        u1 = u1.min(a.max(b));
    }
    (u1 > u0).then(|| {
        [u0, u1]
            .iter()
            .map(|&u| (10f64.powf(u), 10f64.powf(c + p * u)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convergence::spec::OrderSpec;
    use crate::plot::test_support::{count, hex, out_dir, well_formed};
    use crate::{ConvergenceStudy, FnSystem, Rk4, State, Steps, integrate};

    fn rk4_decay_report() -> ConvergenceReport {
        let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
        let y0 = State::from_element(1, 1.0);
        let exact = State::from_element(1, (-1.0f64).exp());
        ConvergenceStudy::geometric(2, 2.0, 12, 1.0)
            .unwrap()
            .with_effective_order(Order::Finite(4))
            .run(&exact, |n| {
                Ok(integrate(&decay, &mut Rk4::new(), 0.0, 1.0, &y0, &Steps::Fixed(n))?.y)
            })
            .unwrap()
    }

    #[test]
    fn convergence_plot_of_a_strang_study() {
        let spec = include_str!("../../examples/specs/order_strang.toml");
        let outcome = OrderSpec::from_toml(spec).unwrap().run().unwrap();
        let report = &outcome.report;
        assert!(report.excluded.is_empty());
        let dir = out_dir("strang");
        let path = dir.join("strang.svg");
        convergence_plot(report, "Strang splitting", &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let texts = well_formed(&svg);
        for t in ["Strang splitting", "step size h", "error", "measured error"] {
            assert_eq!(count(&texts, t), 1, "{t}: {texts:?}");
        }
        let fitted = format!("fitted slope {:.2}", report.fitted_order);
        assert_eq!(count(&texts, &fitted), 1);
        assert_eq!(count(&texts, "slope 2 (effective order)"), 1);
        assert!(!texts.iter().any(|t| t.starts_with("excluded")));
        // One filled marker per level, drawn as circles of the data colour.
        let data = hex(colour(0));
        let markers = svg
            .lines()
            .filter(|l| l.starts_with("<circle") && l.contains(&format!("fill=\"{data}\"")))
            .count();
        assert_eq!(
            markers,
            report.steps.len() + 1,
            "levels plus the legend's marker"
        );
        // Decade labels on the error axis.
        assert!(texts.iter().any(|t| t == "10⁻³"), "{texts:?}");
    }

    #[test]
    fn convergence_plot_marks_excluded_levels() {
        let report = rk4_decay_report();
        assert!(
            report
                .excluded
                .iter()
                .any(|e| e.reason == ExclusionReason::RoundOff)
        );
        let dir = out_dir("roundoff");
        let path = dir.join("rk4.svg");
        convergence_plot(&report, "RK4", &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let texts = well_formed(&svg);
        assert_eq!(count(&texts, "measured error (fitted levels)"), 1);
        assert_eq!(count(&texts, "excluded (round-off)"), 1);
        assert_eq!(count(&texts, "slope 4 (effective order)"), 1);
        assert_eq!(
            texts
                .iter()
                .filter(|t| t.starts_with("fitted slope 4."))
                .count(),
            1
        );
        // Hollow markers: white-filled circles, one per excluded level + legend.
        let hollow = svg
            .lines()
            .filter(|l| l.starts_with("<circle") && l.contains("fill=\"#FFFFFF\""))
            .count();
        assert_eq!(hollow, report.excluded.len() + 1);
    }

    #[test]
    fn convergence_plot_rejects_unplottable_reports() {
        let mut report = rk4_decay_report();
        report.errors.iter_mut().for_each(|e| *e = 0.0);
        let dir = out_dir("zero");
        let path = dir.join("zero.svg");
        assert!(matches!(
            convergence_plot(&report, "zero", &path),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(!path.exists());
        report.errors.pop();
        assert!(matches!(
            convergence_plot(&report, "short", &path),
            Err(Error::DimensionMismatch { .. })
        ));
    }
}
