//! SVG plots of convergence studies, loss curves and learning-rate sweeps
//! (feature `plot`).
//!
//! Every function renders one 800×600 SVG with [plotters]' SVG backend and
//! writes it to `path`. No system font library is involved: the backend
//! writes `<text>` elements and leaves the glyphs to the viewer, so labels
//! are laid out with an estimate of their width.
//!
//! * [`convergence_plot`] — log-log error against step size for a
//!   [`ConvergenceReport`], with the fitted slope and the effective order as
//!   dashed reference lines.
//! * [`loss_curves`] — one line per named series (loss against iteration for
//!   several learning rates or methods), linear or logarithmic `y`.
//! * [`iterations_vs_alpha`] — iterations to the target against the
//!   learning rate for every method of a paper [`Experiment`], diverged runs
//!   marked at the top.
//!
//! Data are checked before anything is drawn: an empty input, or one with
//! nothing positive to put on a logarithmic axis, is
//! [`Error::InvalidParameter`]; a file that cannot be written is
//! [`Error::Io`] (and so would be a failure inside plotters itself, which
//! the in-memory SVG backend does not produce). Nothing panics.

use std::io;
use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::Order;
use crate::convergence::{ConvergenceReport, ExclusionReason};
use crate::error::{Error, Result, check_dim};
use crate::paper::Experiment;

/// Picture size in pixels.
const SIZE: (u32, u32) = (800, 600);
/// Font family of every text (the viewer picks the face).
const FONT: &str = "sans-serif";
/// Title, tick-label, axis-label and legend font sizes.
const TITLE_SIZE: u32 = 25;
const TICK_SIZE: u32 = 17;
const DESC_SIZE: u32 = 19;
const LEGEND_SIZE: u32 = 17;
/// Most labelled ticks per axis.
const MAX_LABELS: usize = 8;

/// Ten distinct colours (the "tab10" palette), cycled.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const DARK: RGBColor = RGBColor(60, 60, 60);

type DrawResult<T = ()> = std::result::Result<T, DrawingAreaErrorKind<io::Error>>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Axis, Axis>>;
type Root<'b> = DrawingArea<SVGBackend<'b>, Shift>;

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

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
    check_dim("report.errors", report.h.len(), report.errors.len())?;
    let usable = |k: usize| {
        let (h, e) = (report.h[k], report.errors[k]);
        h.is_finite() && h > 0.0 && e.is_finite() && e > 0.0
    };
    let levels: Vec<usize> = (0..report.h.len()).filter(|&k| usable(k)).collect();
    if levels.is_empty() {
        return Err(Error::invalid(
            "report.errors",
            format!("{:?}", report.errors),
            "no level with a positive, finite step size and error to draw on log axes",
        ));
    }
    let excluded_reason = |k: usize| report.excluded.iter().find(|e| e.level == k);
    let in_fit = |k: usize| report.fit_levels.contains(&k) && excluded_reason(k).is_none();
    let mut by_h = levels.clone();
    by_h.sort_by(|&a, &b| report.h[a].total_cmp(&report.h[b]));
    let measured: Vec<(f64, f64)> = by_h
        .iter()
        .map(|&k| (report.h[k], report.errors[k]))
        .collect();
    let fitted: Vec<(f64, f64)> = by_h
        .iter()
        .filter(|&&k| in_fit(k))
        .map(|&k| (report.h[k], report.errors[k]))
        .collect();
    let excluded: Vec<(f64, f64)> = by_h
        .iter()
        .filter(|&&k| !in_fit(k))
        .map(|&k| (report.h[k], report.errors[k]))
        .collect();
    let mut reasons: Vec<&str> = Vec::new();
    for &k in &by_h {
        let why = match excluded_reason(k).map(|e| e.reason) {
            Some(ExclusionReason::RoundOff) => "round-off",
            Some(ExclusionReason::PreAsymptotic) => "pre-asymptotic",
            Some(ExclusionReason::Stagnation) => "stagnation",
            None if !in_fit(k) => "not fitted",
            None => continue,
        };
        if !reasons.contains(&why) {
            reasons.push(why);
        }
    }

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
        let none = std::iter::empty::<Circle<(f64, f64), i32>>;
        let hollow = ShapeStyle::from(data_colour).stroke_width(2);
        // Legend entries first (data, then references); the data are drawn
        // last so that the reference lines never hide them.
        let label = if excluded.is_empty() {
            "measured error".to_string()
        } else {
            "measured error (fitted levels)".to_string()
        };
        chart
            .draw_series(none())?
            .label(label.clone())
            .legend(move |(px, py)| {
                EmptyElement::at((px, py))
                    + PathElement::new(vec![(0, 0), (24, 0)], data_colour.stroke_width(2))
                    + Circle::new((12, 0), 5, data_colour.filled())
            });
        labels.push(label);
        if !excluded.is_empty() {
            let label = format!("excluded ({})", reasons.join(", "));
            chart
                .draw_series(none())?
                .label(label.clone())
                .legend(move |(px, py)| {
                    EmptyElement::at((px, py))
                        + Circle::new((12, 0), 6, WHITE.filled())
                        + Circle::new((12, 0), 6, hollow)
                });
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
        chart.draw_series(
            fitted
                .iter()
                .map(|&p| Circle::new(p, 5, data_colour.filled())),
        )?;
        chart.draw_series(excluded.iter().map(|&p| {
            EmptyElement::at(p)
                + Circle::new((0, 0), 6, WHITE.filled())
                + Circle::new((0, 0), 6, hollow)
        }))?;
        let pos = legend_position(
            &chart,
            &labels,
            &curves,
            &[
                Corner::UpperLeft,
                Corner::LowerRight,
                Corner::UpperRight,
                Corner::LowerLeft,
            ],
        );
        draw_legend(&mut chart, pos)
    })
}

/// Draws one line per named series of `(x, y)` points, with a legend.
///
/// Typical use: loss (or residual, or test error) against iteration for
/// several learning rates or methods. With `log_y` the `y` axis is
/// logarithmic and points with `y ≤ 0` are skipped; non-finite points are
/// always skipped, and a skipped point breaks the line. Series of at most 40
/// points also get a marker on every point. A series with nothing to draw
/// keeps its legend entry, marked "(nothing to plot)".
///
/// # Errors
/// [`Error::InvalidParameter`] when `series` is empty or no series has a
/// drawable point, [`Error::Io`] when `path` cannot be written.
///
/// # Example
/// ```
/// use splitflow::plot::loss_curves;
///
/// let curve = |rate: f64| -> Vec<(f64, f64)> {
///     (0..50).map(|k| (k as f64, (-rate * k as f64).exp())).collect()
/// };
/// let series = vec![
///     ("α = 0.1".to_string(), curve(0.1)),
///     ("α = 0.3".to_string(), curve(0.3)),
/// ];
/// let path = std::env::temp_dir().join("splitflow_loss_curves_example.svg");
/// loss_curves(&series, "iteration", "loss", true, "Loss against iteration", &path)?;
/// assert!(std::fs::read_to_string(&path)?.contains("α = 0.3"));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn loss_curves(
    series: &[(String, Vec<(f64, f64)>)],
    x_label: &str,
    y_label: &str,
    log_y: bool,
    title: &str,
    path: &Path,
) -> Result<()> {
    if series.is_empty() {
        return Err(Error::invalid("series", "[]", "no series to plot"));
    }
    let drawable = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!log_y || y > 0.0);
    // Each series split into runs of consecutive drawable points.
    let pieces: Vec<Vec<Vec<(f64, f64)>>> = series
        .iter()
        .map(|(_, pts)| {
            let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
            let mut current = Vec::new();
            for p in pts {
                if drawable(p) {
                    current.push(*p);
                } else if !current.is_empty() {
                    runs.push(std::mem::take(&mut current));
                }
            }
            if !current.is_empty() {
                runs.push(current);
            }
            runs
        })
        .collect();
    let all = || pieces.iter().flatten().flatten();
    if all().next().is_none() {
        return Err(Error::invalid(
            "series",
            format!("{} series", series.len()),
            if log_y {
                "no finite point with y > 0 to draw on a log axis"
            } else {
                "no finite point to draw"
            },
        ));
    }
    let x = Axis::linear_around(all().map(|p| p.0), 0.02, true);
    let y = if log_y {
        Axis::log_around(all().map(|p| p.1), 0.05, 1.5)
    } else {
        Axis::linear_around(all().map(|p| p.1), 0.05, true)
    };
    let labels: Vec<String> = series
        .iter()
        .zip(&pieces)
        .map(|((name, _), runs)| {
            if runs.is_empty() {
                format!("{name} (nothing to plot)")
            } else {
                name.clone()
            }
        })
        .collect();

    render(path, |root| {
        let mut chart = build_chart(root, title, x, y, x_label, y_label)?;
        for (i, (runs, label)) in pieces.iter().zip(&labels).enumerate() {
            let c = colour(i);
            let style = c.stroke_width(2);
            // Past the palette's ten colours, the next ten are dashed.
            let dashed = (i / PALETTE.len()) % 2 == 1;
            let markers = runs.iter().map(Vec::len).sum::<usize>() <= 40;
            let radius = if markers { 4 } else { 0 };
            // The entry is an empty series, so that it exists (and comes in
            // order) even for a series with nothing to draw.
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label(label.clone())
                .legend(move |(px, py)| {
                    EmptyElement::at((px, py))
                        + legend_line(dashed, style)
                        + Circle::new((12, 0), radius, c.filled())
                });
            for run in runs {
                if dashed {
                    chart.draw_series(DashedLineSeries::new(run.iter().copied(), 8, 5, style))?;
                } else {
                    chart.draw_series(LineSeries::new(run.iter().copied(), style))?;
                }
                if markers || run.len() == 1 {
                    chart.draw_series(run.iter().map(|&p| Circle::new(p, 4, c.filled())))?;
                }
            }
        }
        let curves: Vec<Vec<(f64, f64)>> = pieces.iter().flatten().cloned().collect();
        let pos = legend_position(
            &chart,
            &labels,
            &curves,
            &[
                Corner::UpperRight,
                Corner::LowerLeft,
                Corner::UpperLeft,
                Corner::LowerRight,
            ],
        );
        draw_legend(&mut chart, pos)
    })
}

/// Draws iterations to the target against the learning rate α (log axis)
/// for every method of a paper experiment.
///
/// Converged runs are joined per method (in the order the methods first
/// appear in [`runs`](Experiment::runs)), the line broken at learning rates
/// where the method did not converge. Runs that diverged are crosses, and
/// runs that stopped without reaching the target hollow triangles, in the
/// method's colour in a band at the top of the axis. The `y` axis is
/// logarithmic when the iteration counts span more than a factor 20. The
/// title names the experiment, its metric and its target.
///
/// # Errors
/// [`Error::InvalidParameter`] when the experiment has no run with a
/// positive, finite α; [`Error::Io`] when `path` cannot be written.
pub fn iterations_vs_alpha(exp: &Experiment, path: &Path) -> Result<()> {
    let runs: Vec<_> = exp
        .runs
        .iter()
        .filter(|r| r.alpha.is_finite() && r.alpha > 0.0)
        .collect();
    if runs.is_empty() {
        return Err(Error::invalid(
            "exp.runs",
            format!("{} runs", exp.runs.len()),
            "no run with a positive, finite learning rate to draw on a log axis",
        ));
    }
    let mut methods: Vec<&str> = Vec::new();
    for r in &runs {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    let reached = |r: &crate::paper::Run| {
        r.converged
            .then_some(r.iterations)
            .flatten()
            .filter(|&k| k > 0)
    };
    let counts: Vec<f64> = runs
        .iter()
        .filter_map(|r| reached(r))
        .map(|k| k as f64)
        .collect();
    let x = Axis::log_around(runs.iter().map(|r| r.alpha), 0.06, 1.3);
    let (lo, hi) = match (
        counts.iter().copied().reduce(f64::min),
        counts.iter().copied().reduce(f64::max),
    ) {
        (Some(lo), Some(hi)) => (lo, hi),
        _ => {
            let most = runs.iter().map(|r| r.iterations_run).max().unwrap_or(0);
            (1.0, (most as f64).max(10.0))
        }
    };
    let diverged = runs.iter().any(|r| r.diverged);
    let unfinished = runs.iter().any(|r| !r.diverged && reached(r).is_none());
    // The top band of the axis (shaded, without ticks) holds the runs that
    // diverged or stopped short of the target, one row per method.
    let band = if diverged || unfinished { 0.14 } else { 0.0 };
    let y = if hi / lo > 20.0 {
        let (a, b) = (lo.log10(), hi.log10());
        let d = (b - a).max(0.3);
        let (bottom, top) = (a - 0.05 * d, b + 0.05 * d);
        Axis::log(
            10f64.powf(bottom),
            10f64.powf(top + (top - bottom) * band / (1.0 - band)),
        )
        .ticks_up_to(10f64.powf(top))
    } else {
        let top = hi * 1.08;
        Axis::linear(0.0, top / (1.0 - band)).ticks_up_to(top)
    };
    let band_row =
        |m: usize| y.inverse(1.0 - band + band * (m + 1) as f64 / (methods.len() + 1) as f64);
    let band_floor = y.inverse(1.0 - band);
    let title = format!(
        "{}: iterations to {} ≤ {}",
        exp.name,
        exp.metric,
        format_value(exp.target, 3)
    );

    render(path, |root| {
        let mut chart = build_chart(
            root,
            &title,
            x,
            y,
            "learning rate α",
            "iterations to target",
        )?;
        if band > 0.0 {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x.lo, band_floor), (x.hi, y.hi)],
                RGBColor(243, 243, 243).filled(),
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x.lo, band_floor), (x.hi, band_floor)],
                RGBColor(170, 170, 170),
            )))?;
        }
        let mut labels: Vec<String> = Vec::new();
        let mut curves: Vec<Vec<(f64, f64)>> = Vec::new();
        for (m, &name) in methods.iter().enumerate() {
            let c = colour(m);
            // The first method drawn wider, so that later ones lying on
            // top of it leave a visible rim.
            let style = c.stroke_width(if m == 0 { 4 } else { 2 });
            let mut mine: Vec<_> = runs.iter().filter(|r| r.method == name).collect();
            mine.sort_by(|a, b| a.alpha.total_cmp(&b.alpha));
            let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for r in &mine {
                match reached(r) {
                    Some(k) => segments.last_mut().unwrap().push((r.alpha, k as f64)),
                    None => segments.push(Vec::new()),
                }
            }
            segments.retain(|s| !s.is_empty());
            let shape = m % 3;
            let legend = move |(px, py): (i32, i32)| {
                EmptyElement::at((px, py))
                    + PathElement::new(vec![(0, 0), (24, 0)], style)
                    + marker((12, 0), shape, c)
            };
            // The first series drawn carries the legend entry, even if empty.
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label(name)
                .legend(legend);
            labels.push(name.to_string());
            for seg in &segments {
                chart.draw_series(LineSeries::new(seg.iter().copied(), style))?;
                chart.draw_series(
                    seg.iter()
                        .map(|&p| EmptyElement::at(p) + marker((0, 0), shape, c)),
                )?;
                curves.push(seg.clone());
            }
            let top = band_row(m);
            let mut band = Vec::new();
            for r in &mine {
                if r.diverged {
                    chart.draw_series(std::iter::once(Cross::new(
                        (r.alpha, top),
                        6,
                        c.stroke_width(3),
                    )))?;
                    band.push((r.alpha, top));
                } else if reached(r).is_none() {
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((r.alpha, top)) + open_triangle((0, 0), c),
                    ))?;
                    band.push((r.alpha, top));
                }
            }
            curves.extend(band.into_iter().map(|p| vec![p]));
        }
        if diverged {
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label("diverged")
                .legend(|(px, py)| Cross::new((px + 12, py), 6, DARK.stroke_width(3)));
            labels.push("diverged".into());
        }
        if unfinished {
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label("target not reached")
                .legend(|(px, py)| open_triangle((px + 12, py), DARK));
            labels.push("target not reached".into());
        }
        let pos = legend_position(
            &chart,
            &labels,
            &curves,
            &[
                Corner::UpperLeft,
                Corner::UpperRight,
                Corner::LowerLeft,
                Corner::LowerRight,
            ],
        );
        draw_legend(&mut chart, pos)
    })
}

// ---------------------------------------------------------------------------
// Drawing helpers
// ---------------------------------------------------------------------------

/// Renders into a string, then writes the file: a failed write leaves no
/// half-drawn picture behind and reports the real I/O error.
fn render(path: &Path, draw: impl FnOnce(&Root<'_>) -> DrawResult) -> Result<()> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present())
            .map_err(|e| Error::Io {
                path: path.display().to_string(),
                source: io::Error::other(format!("drawing failed: {e}")),
            })?;
    }
    std::fs::write(path, svg).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

fn build_chart<'a, 'b>(
    root: &'a Root<'b>,
    title: &str,
    x: Axis,
    y: Axis,
    x_desc: &str,
    y_desc: &str,
) -> DrawResult<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, TITLE_SIZE))
        .margin(14)
        .margin_right(30)
        .x_label_area_size(58)
        .y_label_area_size(92)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(MAX_LABELS)
        .y_labels(MAX_LABELS)
        .label_style((FONT, TICK_SIZE))
        .axis_desc_style((FONT, DESC_SIZE))
        .bold_line_style(RGBColor(208, 208, 208))
        .light_line_style(RGBColor(238, 238, 238))
        .axis_style(DARK)
        .draw()?;
    Ok(chart)
}

fn draw_legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, corner: Corner) -> DrawResult {
    let pos = match corner {
        Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
        Corner::UpperRight => SeriesLabelPosition::UpperRight,
        Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
        Corner::LowerRight => SeriesLabelPosition::LowerRight,
    };
    chart
        .configure_series_labels()
        .position(pos)
        .label_font((FONT, LEGEND_SIZE))
        .legend_area_size(30)
        .background_style(WHITE.mix(0.88))
        .border_style(RGBColor(170, 170, 170))
        .draw()
}

/// A 24-pixel legend line from `(0, 0)`, solid or dashed.
fn legend_line<DB: DrawingBackend>(
    dashed: bool,
    style: ShapeStyle,
) -> DynElement<'static, DB, (i32, i32)> {
    if dashed {
        DashedPathElement::new(vec![(0, 0), (24, 0)], 7, 4, style).into_dyn()
    } else {
        PathElement::new(vec![(0, 0), (24, 0)], style).into_dyn()
    }
}

fn dashed_legend(
    (px, py): (i32, i32),
    style: ShapeStyle,
) -> DashedPathElement<std::vec::IntoIter<(i32, i32)>, i32> {
    DashedPathElement::new(vec![(px, py), (px + 24, py)], 7, 4, style)
}

fn dotted_legend(
    (px, py): (i32, i32),
    style: ShapeStyle,
) -> DashedPathElement<std::vec::IntoIter<(i32, i32)>, i32> {
    DashedPathElement::new(vec![(px, py), (px + 24, py)], 4, 4, style)
}

/// Filled marker `shape` (0 large circle, 1 square, 2 diamond) of colour
/// `c` centred at `at` (backend coordinates, relative inside a composed
/// element).
fn marker<DB: DrawingBackend>(
    at: (i32, i32),
    shape: usize,
    c: RGBColor,
) -> DynElement<'static, DB, (i32, i32)> {
    let (x, y) = at;
    match shape {
        0 => Circle::new(at, 7, c.filled()).into_dyn(),
        1 => Rectangle::new([(x - 5, y - 5), (x + 5, y + 5)], c.filled()).into_dyn(),
        _ => Polygon::new(
            vec![(x, y - 6), (x + 6, y), (x, y + 6), (x - 6, y)],
            c.filled(),
        )
        .into_dyn(),
    }
}

/// An outlined, upward triangle (a run that stopped short of the target).
fn open_triangle(at: (i32, i32), c: RGBColor) -> PathElement<(i32, i32)> {
    let (x, y) = at;
    PathElement::new(
        vec![(x, y - 7), (x + 7, y + 5), (x - 7, y + 5), (x, y - 7)],
        c.stroke_width(2),
    )
}

/// A corner of the plotting area, for the legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Corner {
    UpperLeft,
    UpperRight,
    LowerLeft,
    LowerRight,
}

/// The corner (among `prefer`, in order of preference) whose legend box
/// would cover the fewest samples of the drawn curves.
fn legend_position(
    chart: &Chart<'_, '_>,
    labels: &[String],
    curves: &[Vec<(f64, f64)>],
    prefer: &[Corner],
) -> Corner {
    let mut text = MultiLineText::<_, &str>::new((0, 0), (FONT, LEGEND_SIZE));
    for l in labels {
        text.push_line(l.as_str());
    }
    let (w, h) = text
        .estimate_dimension()
        .unwrap_or((200, 20 * labels.len() as i32));
    let (w, h) = (w + 30 + 20, h + 20);
    let area = chart.plotting_area();
    let (bx, by) = area.get_base_pixel();
    let (aw, ah) = area.dim_in_pixel();
    let (aw, ah) = (aw as i32, ah as i32);
    // Samples every few pixels along each curve, relative to the area.
    let mut samples: Vec<(i32, i32)> = Vec::new();
    for curve in curves {
        let pix: Vec<(i32, i32)> = curve
            .iter()
            .map(|p| {
                let (px, py) = chart.backend_coord(p);
                (px - bx, py - by)
            })
            .collect();
        samples.extend(pix.iter().copied());
        for seg in pix.windows(2) {
            let (dx, dy) = (seg[1].0 - seg[0].0, seg[1].1 - seg[0].1);
            let n = ((dx.abs().max(dy.abs()) / 4) as usize).min(400);
            for i in 1..n {
                let t = i as f64 / n as f64;
                samples.push((
                    seg[0].0 + (t * dx as f64) as i32,
                    seg[0].1 + (t * dy as f64) as i32,
                ));
            }
        }
    }
    let pad = 6;
    let cover = |pos: &Corner| {
        let (x0, y0) = match pos {
            Corner::UpperLeft => (5, 5),
            Corner::UpperRight => (aw - w - 5, 5),
            Corner::LowerLeft => (5, ah - h - 5),
            Corner::LowerRight => (aw - w - 5, ah - h - 5),
        };
        samples
            .iter()
            .filter(|&&(sx, sy)| {
                sx >= x0 - pad && sx <= x0 + w + pad && sy >= y0 - pad && sy <= y0 + h + pad
            })
            .count()
    };
    let mut best = prefer[0];
    let mut best_count = usize::MAX;
    for pos in prefer {
        let c = cover(pos);
        if c < best_count {
            best = *pos;
            best_count = c;
        }
    }
    best
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

// ---------------------------------------------------------------------------
// Axes: linear or logarithmic, with readable ticks
// ---------------------------------------------------------------------------

/// A linear or base-10 logarithmic axis over `lo..hi` with its own ticks
/// (decades and 1-2-5 subdivisions) and labels (`10⁻³`, `2×10⁻³`, `0.05`).
#[derive(Debug, Clone, Copy)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    /// Ticks stop here (the range above is a band of its own).
    tick_hi: f64,
}

impl Axis {
    fn linear(lo: f64, hi: f64) -> Self {
        let (lo, hi) = widen(lo, hi, false);
        Axis {
            lo,
            hi,
            log: false,
            tick_hi: hi,
        }
    }

    fn log(lo: f64, hi: f64) -> Self {
        let (lo, hi) = widen(lo, hi, true);
        Axis {
            lo,
            hi,
            log: true,
            tick_hi: hi,
        }
    }

    /// No ticks above `v`.
    fn ticks_up_to(mut self, v: f64) -> Self {
        self.tick_hi = v.min(self.hi);
        self
    }

    /// A log axis around positive `values`: `frac` of the span in decades
    /// added on each side, and at least a factor `min_factor` overall
    /// (`values` must hold at least one positive number).
    fn log_around(values: impl Iterator<Item = f64>, frac: f64, min_factor: f64) -> Self {
        let (lo, hi) = min_max(values.filter(|v| *v > 0.0)).unwrap_or((1.0, 10.0));
        let (a, b) = (lo.log10(), hi.log10());
        let pad = (frac * (b - a)).max(min_factor.log10() / 2.0);
        Axis::log(10f64.powf(a - pad), 10f64.powf(b + pad))
    }

    /// A linear axis around `values` with `frac` of the span added on each
    /// side; with `keep_sign` a non-negative range does not dip below zero.
    fn linear_around(values: impl Iterator<Item = f64>, frac: f64, keep_sign: bool) -> Self {
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
    fn inverse(&self, t: f64) -> f64 {
        let (a, b) = (self.fwd(self.lo), self.fwd(self.hi));
        let u = a + t * (b - a);
        if self.log { 10f64.powf(u) } else { u }
    }

    fn major_ticks(&self, max: usize) -> Vec<f64> {
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
fn widen(lo: f64, hi: f64, log: bool) -> (f64, f64) {
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

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        })
}

/// A 1-2-5 step giving at most `max` ticks over `lo..hi`.
fn linear_step(lo: f64, hi: f64, max: usize) -> f64 {
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

fn linear_ticks(lo: f64, hi: f64, step: f64) -> Vec<f64> {
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
fn log_ticks(lo: f64, hi: f64, mantissas: &[f64]) -> Vec<f64> {
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
fn format_value(v: f64, sig: usize) -> String {
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
fn scientific(v: f64, sig: usize) -> String {
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

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn superscript(k: i32) -> String {
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
    use crate::convergence::spec::OrderSpec;
    use crate::paper::Run;
    use crate::{ConvergenceStudy, FnSystem, Rk4, State, Steps, integrate};
    use std::path::PathBuf;

    /// A fresh directory under the system temp dir for one test, removed
    /// when dropped.
    struct OutDir(PathBuf);

    impl OutDir {
        fn join(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for OutDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn out_dir(test: &str) -> OutDir {
        let dir =
            std::env::temp_dir().join(format!("splitflow-plot-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        OutDir(dir)
    }

    /// Checks that `svg` is one balanced `<svg>` element and returns the
    /// contents of its `<text>` elements.
    fn well_formed(svg: &str) -> Vec<String> {
        assert!(svg.starts_with("<svg "), "does not start with <svg");
        assert!(
            svg.trim_end().ends_with("</svg>"),
            "does not end with </svg>"
        );
        let mut stack: Vec<&str> = Vec::new();
        let mut texts = Vec::new();
        let mut rest = svg;
        let mut roots = 0;
        while let Some(i) = rest.find('<') {
            assert!(
                !rest[..i].contains('>'),
                "stray '>' in character data: {:?}",
                &rest[..i]
            );
            let j = i + rest[i..].find('>').expect("unterminated tag");
            let tag = &rest[i + 1..j];
            assert!(!tag.contains('<'), "'<' inside a tag: {tag:?}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name.trim()), "mismatched </{name}>");
            } else {
                let name = tag.split_whitespace().next().expect("empty tag");
                assert_eq!(
                    tag.matches('"').count() % 2,
                    0,
                    "unbalanced quotes: {tag:?}"
                );
                if stack.is_empty() {
                    roots += 1;
                }
                if !tag.ends_with('/') {
                    stack.push(name);
                    if name == "text" {
                        let end = rest[j..].find("</text>").expect("unclosed <text>");
                        texts.push(rest[j + 1..j + end].trim().replace("&amp;", "&"));
                    }
                }
            }
            rest = &rest[j + 1..];
        }
        assert!(stack.is_empty(), "unclosed elements: {stack:?}");
        assert_eq!(roots, 1, "more than one root element");
        texts
    }

    fn count(texts: &[String], s: &str) -> usize {
        texts.iter().filter(|t| t.as_str() == s).count()
    }

    /// Distinct stroke colours of `<polyline>` elements.
    fn polyline_colours(svg: &str) -> Vec<String> {
        let mut colours: Vec<String> = svg
            .lines()
            .filter(|l| l.starts_with("<polyline"))
            .filter_map(|l| {
                let at = l.find("stroke=\"")? + 8;
                Some(l[at..at + l[at..].find('"')?].to_string())
            })
            .collect();
        colours.sort();
        colours.dedup();
        colours
    }

    fn hex(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }

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
        let spec = include_str!("../examples/specs/order_strang.toml");
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

    fn three_series() -> Vec<(String, Vec<(f64, f64)>)> {
        (1..=3)
            .map(|i| {
                let rate = 0.05 * i as f64;
                let mut pts: Vec<(f64, f64)> = (0..200)
                    .map(|k| (k as f64, (-rate * k as f64).exp()))
                    .collect();
                if i == 2 {
                    pts[50].1 = 0.0; // skipped on a log axis: the line breaks
                    pts[120].1 = f64::NAN;
                }
                (format!("α = {rate:.2}"), pts)
            })
            .collect()
    }

    #[test]
    fn loss_curves_draws_one_line_and_entry_per_series() {
        let dir = out_dir("loss");
        for log_y in [true, false] {
            let path = dir.join(&format!("loss_{log_y}.svg"));
            loss_curves(&three_series(), "iteration", "loss", log_y, "Loss", &path).unwrap();
            let svg = std::fs::read_to_string(&path).unwrap();
            let texts = well_formed(&svg);
            for name in [
                "α = 0.05",
                "α = 0.10",
                "α = 0.15",
                "iteration",
                "loss",
                "Loss",
            ] {
                assert_eq!(count(&texts, name), 1, "{name}: {texts:?}");
            }
            let colours = polyline_colours(&svg);
            for i in 0..3 {
                assert!(colours.contains(&hex(colour(i))), "{colours:?}");
            }
            assert!(!colours.contains(&hex(colour(3))));
            // The broken series: runs 0..50, 51..120, 121..200 on a log axis
            // (two runs when only the NaN breaks it), plus its legend line.
            let second = svg
                .lines()
                .filter(|l| {
                    l.starts_with("<polyline")
                        && l.contains(&format!("stroke=\"{}\"", hex(colour(1))))
                })
                .count();
            assert_eq!(second, if log_y { 4 } else { 3 });
        }
    }

    #[test]
    fn loss_curves_keeps_an_entry_for_an_empty_series() {
        let mut series = three_series();
        series.push((
            "diverged".into(),
            vec![(0.0, f64::INFINITY), (1.0, f64::NAN)],
        ));
        let dir = out_dir("loss-empty");
        let path = dir.join("loss.svg");
        loss_curves(&series, "iteration", "loss", true, "Loss", &path).unwrap();
        let texts = well_formed(&std::fs::read_to_string(&path).unwrap());
        assert_eq!(count(&texts, "diverged (nothing to plot)"), 1);
    }

    #[test]
    fn loss_curves_errors() {
        let dir = out_dir("loss-errors");
        let path = dir.join("never.svg");
        assert!(matches!(
            loss_curves(&[], "x", "y", false, "t", &path),
            Err(Error::InvalidParameter { .. })
        ));
        let flat = vec![("zero".to_string(), vec![(0.0, 0.0), (1.0, -1.0)])];
        assert!(matches!(
            loss_curves(&flat, "x", "y", true, "t", &path),
            Err(Error::InvalidParameter { .. })
        ));
        // The same data are fine on a linear axis.
        loss_curves(&flat, "x", "y", false, "t", &path).unwrap();
        well_formed(&std::fs::read_to_string(&path).unwrap());

        let missing = dir.join("no-such-directory").join("plot.svg");
        match loss_curves(&three_series(), "x", "y", true, "t", &missing) {
            Err(Error::Io { path, source }) => {
                assert!(path.contains("no-such-directory"));
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("expected Error::Io, got {other:?}"),
        }
        // A directory in place of the file.
        assert!(matches!(
            loss_curves(&three_series(), "x", "y", true, "t", &dir.0),
            Err(Error::Io { .. })
        ));
    }

    fn run(method: &str, alpha: f64, iterations: Option<usize>, diverged: bool) -> Run {
        Run {
            method: method.into(),
            alpha,
            converged: iterations.is_some(),
            diverged,
            iterations,
            seconds: 0.1,
            step_seconds: 0.08,
            eval_seconds: 0.02,
            iterations_run: iterations.unwrap_or(if diverged { 3 } else { 5000 }),
            microseconds_per_iteration: 10.0,
        }
    }

    fn experiment(runs: Vec<Run>) -> Experiment {
        Experiment {
            name: "toy".into(),
            problem: "a toy problem".into(),
            metric: "residual".into(),
            target: 1e-5,
            factorization_seconds: 0.0,
            runs,
            histories: Vec::new(),
        }
    }

    #[test]
    fn iterations_vs_alpha_marks_diverged_and_unfinished_runs() {
        let exp = experiment(vec![
            run("sgd", 0.1, None, false),
            run("splitting", 0.1, None, false),
            run("sgd", 0.5, Some(3500), false),
            run("splitting", 0.5, Some(3900), false),
            run("sgd", 2.0, Some(1200), false),
            run("splitting", 2.0, Some(1500), false),
            run("sgd", 6.0, None, true),
            run("splitting", 6.0, Some(870), false),
        ]);
        let dir = out_dir("iters");
        let path = dir.join("iters.svg");
        iterations_vs_alpha(&exp, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let texts = well_formed(&svg);
        for t in [
            "sgd",
            "splitting",
            "diverged",
            "target not reached",
            "learning rate α",
            "iterations to target",
            "toy: iterations to residual ≤ 10⁻⁵",
        ] {
            assert_eq!(count(&texts, t), 1, "{t}: {texts:?}");
        }
        let colours = polyline_colours(&svg);
        assert!(colours.contains(&hex(colour(0))) && colours.contains(&hex(colour(1))));
        // Ticks stop below the band: nothing labelled above the data's top.
        assert!(texts.iter().any(|t| t == "4000"));
        assert!(!texts.iter().any(|t| t == "5000"), "{texts:?}");
    }

    #[test]
    fn iterations_vs_alpha_without_failures_has_no_band_entries() {
        let exp = experiment(vec![
            run("sgd", 0.01, Some(48), false),
            run("splitting", 0.01, Some(48), false),
            run("sgd", 1.0, Some(4), false),
            run("splitting", 1.0, Some(1), false),
            run("adam", 100.0, Some(16), false),
        ]);
        let dir = out_dir("iters-ok");
        let path = dir.join("iters.svg");
        iterations_vs_alpha(&exp, &path).unwrap();
        let texts = well_formed(&std::fs::read_to_string(&path).unwrap());
        for t in ["sgd", "splitting", "adam"] {
            assert_eq!(count(&texts, t), 1, "{t}");
        }
        assert_eq!(count(&texts, "diverged"), 0);
        assert_eq!(count(&texts, "target not reached"), 0);
        // 1..48 iterations: a log axis with labelled decades.
        assert!(texts.iter().any(|t| t == "10") && texts.iter().any(|t| t == "1"));
    }

    #[test]
    fn iterations_vs_alpha_errors() {
        let dir = out_dir("iters-errors");
        assert!(matches!(
            iterations_vs_alpha(&experiment(Vec::new()), &dir.join("x.svg")),
            Err(Error::InvalidParameter { .. })
        ));
        let bad = experiment(vec![run("sgd", 0.0, Some(3), false)]);
        assert!(matches!(
            iterations_vs_alpha(&bad, &dir.join("x.svg")),
            Err(Error::InvalidParameter { .. })
        ));
        // Nothing converged: still a picture, every run in the band.
        let failed = experiment(vec![
            run("sgd", 1.0, None, true),
            run("sgd", 0.1, None, false),
        ]);
        let path = dir.join("failed.svg");
        iterations_vs_alpha(&failed, &path).unwrap();
        let texts = well_formed(&std::fs::read_to_string(&path).unwrap());
        assert_eq!(count(&texts, "diverged"), 1);
        assert!(matches!(
            iterations_vs_alpha(&failed, &dir.join("missing").join("x.svg")),
            Err(Error::Io { .. })
        ));
    }

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
