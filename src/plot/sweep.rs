//! Iterations to a target against the learning rate: a learning-rate
//! [`Sweep`] of several methods, with failed runs in a band at the top.

use std::path::Path;

use plotters::prelude::*;

use super::axis::{Axis, format_value};
use super::chart::{Chart, DARK, DrawResult, build_chart, colour, render};
use super::legend::{Corner, legend_entry, marker, open_triangle, place_legend};
use crate::error::{Error, Result};

/// A learning-rate sweep as [`iterations_vs_alpha`] draws it: runs of
/// several methods at several learning rates, each stopped at a target
/// value of a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// Name of the sweep (the title's first word, e.g. `lls`).
    pub name: String,
    /// The stopping quantity (e.g. `residual`).
    pub metric: String,
    /// The target value of the metric.
    pub target: f64,
    /// One entry per method and learning rate.
    pub runs: Vec<SweepRun>,
}

/// One run of a [`Sweep`].
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRun {
    /// The method (one line, colour and legend entry per method).
    pub method: String,
    /// The learning rate α (runs with α ≤ 0 or not finite are left out).
    pub alpha: f64,
    /// Iterations to the target, `None` when it was not reached (a count of
    /// 0 cannot go on the axis and is drawn as not reached).
    pub reached: Option<usize>,
    /// The run diverged (a cross in the top band).
    pub diverged: bool,
    /// Iterations run (sizes the axis when no run reached the target).
    pub iterations_run: usize,
    /// The spread over repeated runs (seeds): the point is drawn at the
    /// mean and a band spans mean ± std. `None`: a single run at `reached`.
    pub spread: Option<Spread>,
    /// Wall time to the target (mean ± std over seeds; std 0 for one run),
    /// drawn by [`Quantity::Seconds`]; `None` when not measured.
    pub seconds: Option<Spread>,
}

/// What the `y` axis of a [`sweep_vs_alpha`] plot shows for the runs that
/// reached the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Iterations to the target ([`SweepRun::reached`], or the mean of
    /// [`SweepRun::spread`]).
    Iterations,
    /// Wall time to the target ([`SweepRun::seconds`]).
    Seconds,
}

impl Quantity {
    /// The `y` axis label.
    fn axis(self) -> &'static str {
        match self {
            Quantity::Iterations => "iterations to target",
            Quantity::Seconds => "seconds to target",
        }
    }

    /// The title's word for the quantity.
    fn title(self) -> &'static str {
        match self {
            Quantity::Iterations => "iterations",
            Quantity::Seconds => "time",
        }
    }
}

/// Mean and standard deviation of a quantity (iterations, seconds) over
/// repeated runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Mean to the target.
    pub mean: f64,
    /// Standard deviation.
    pub std: f64,
}

/// Draws iterations to the target against the learning rate α (log axis)
/// for every method of a learning-rate [`Sweep`].
///
/// Runs that reached the target are joined per method (in the order the
/// methods first appear in [`runs`](Sweep::runs)), the line broken at
/// learning rates where the method did not reach it. Runs that diverged are
/// crosses, and runs that stopped without reaching the target hollow
/// triangles, in the method's colour in a band at the top of the axis. The
/// `y` axis is logarithmic when the iteration counts span more than a
/// factor 20. The title names the sweep, its metric and its target. Runs
/// with a [`Spread`] are drawn at their mean, with a translucent band from
/// mean − std to mean + std in the method's colour.
///
/// # Errors
/// [`Error::InvalidParameter`] when the sweep has no run with a positive,
/// finite α; [`Error::Io`] when `path` cannot be written.
///
/// # Example
/// ```
/// use splitflow::plot::{Sweep, SweepRun, iterations_vs_alpha};
///
/// let run = |method: &str, alpha: f64, reached: Option<usize>| SweepRun {
///     method: method.into(),
///     alpha,
///     reached,
///     diverged: false,
///     iterations_run: reached.unwrap_or(1000),
///     spread: None,
///     seconds: None,
/// };
/// let sweep = Sweep {
///     name: "toy".into(),
///     metric: "residual".into(),
///     target: 1e-5,
///     runs: vec![run("sgd", 0.1, Some(900)), run("sgd", 1.0, Some(120)), run("sgd", 3.0, None)],
/// };
/// let path = std::env::temp_dir().join("splitflow_iterations_vs_alpha_example.svg");
/// iterations_vs_alpha(&sweep, &path)?;
/// assert!(std::fs::read_to_string(&path)?.contains("target not reached"));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn iterations_vs_alpha(sweep: &Sweep, path: &Path) -> Result<()> {
    sweep_vs_alpha(sweep, Quantity::Iterations, path)
}

/// Draws a [`Quantity`] to the target against the learning rate α, as
/// [`iterations_vs_alpha`] draws iterations: with [`Quantity::Seconds`]
/// the runs that reached the target are drawn at their
/// [`seconds`](SweepRun::seconds) (mean, ± std band), runs without a time
/// left out of the lines; failed runs are in the top band as before.
///
/// # Errors
/// As [`iterations_vs_alpha`].
///
/// # Example
/// ```
/// use splitflow::plot::{Quantity, Spread, Sweep, SweepRun, sweep_vs_alpha};
///
/// let run = |alpha: f64, seconds: f64| SweepRun {
///     method: "sgd".into(), alpha, reached: Some(100), diverged: false,
///     iterations_run: 100, spread: None,
///     seconds: Some(Spread { mean: seconds, std: 0.1 * seconds }),
/// };
/// let sweep = Sweep {
///     name: "toy".into(), metric: "residual".into(), target: 1e-5,
///     runs: vec![run(0.1, 0.5), run(1.0, 0.02)],
/// };
/// let path = std::env::temp_dir().join("splitflow_sweep_vs_alpha_example.svg");
/// sweep_vs_alpha(&sweep, Quantity::Seconds, &path)?;
/// assert!(std::fs::read_to_string(&path)?.contains("seconds to target"));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sweep_vs_alpha(sweep: &Sweep, quantity: Quantity, path: &Path) -> Result<()> {
    let runs: Vec<_> = sweep
        .runs
        .iter()
        .filter(|r| r.alpha.is_finite() && r.alpha > 0.0)
        .collect();
    if runs.is_empty() {
        return Err(Error::invalid(
            "sweep.runs",
            format!("{} runs", sweep.runs.len()),
            "no run with a positive, finite learning rate to draw on a log axis",
        ));
    }
    let methods = methods_in_order(&runs);
    let diverged = runs.iter().any(|r| r.diverged);
    let unfinished = runs.iter().any(|r| !r.diverged && reached(r).is_none());
    // The top band of the axis (shaded, without ticks) holds the runs that
    // diverged or stopped short of the target, one row per method.
    let band = if diverged || unfinished { 0.14 } else { 0.0 };
    let x = Axis::log_around(runs.iter().map(|r| r.alpha), 0.06, 1.3);
    let y = value_axis(&runs, quantity, band);
    let title = format!(
        "{}: {} to {} ≤ {}",
        sweep.name,
        quantity.title(),
        sweep.metric,
        format_value(sweep.target, 3)
    );

    render(path, |root| {
        let mut chart = build_chart(root, &title, x, y, "learning rate α", quantity.axis())?;
        if band > 0.0 {
            draw_failure_band(&mut chart, x, y, band)?;
        }
        let mut labels: Vec<String> = Vec::new();
        let mut curves: Vec<Vec<(f64, f64)>> = Vec::new();
        for (m, &name) in methods.iter().enumerate() {
            let mine = method_runs(&runs, name);
            let c = colour(m);
            // The first method drawn wider, so that later ones lying on
            // top of it leave a visible rim.
            let style = c.stroke_width(if m == 0 { 4 } else { 2 });
            let shape = m % 3;
            let (segments, bands) = reached_segments(&mine, quantity, y.lo);
            draw_spread_bands(&mut chart, &bands, c)?;
            // The first series drawn carries the legend entry, even if empty.
            legend_entry(&mut chart, name, move |(px, py)| {
                EmptyElement::at((px, py))
                    + PathElement::new(vec![(0, 0), (24, 0)], style)
                    + marker((12, 0), shape, c)
            })?;
            labels.push(name.to_string());
            for seg in &segments {
                draw_marked_line(&mut chart, seg, style, shape, c)?;
                curves.push(seg.clone());
            }
            let row = y.inverse(1.0 - band + band * (m + 1) as f64 / (methods.len() + 1) as f64);
            let failed = draw_failed_runs(&mut chart, &mine, row, c)?;
            curves.extend(failed.into_iter().map(|p| vec![p]));
        }
        if diverged {
            legend_entry(&mut chart, "diverged", |(px, py)| {
                Cross::new((px + 12, py), 6, DARK.stroke_width(3))
            })?;
            labels.push("diverged".into());
        }
        if unfinished {
            legend_entry(&mut chart, "target not reached", |(px, py)| {
                open_triangle((px + 12, py), DARK)
            })?;
            labels.push("target not reached".into());
        }
        place_legend(
            &mut chart,
            &labels,
            &curves,
            &[
                Corner::UpperLeft,
                Corner::UpperRight,
                Corner::LowerLeft,
                Corner::LowerRight,
            ],
        )
    })
}

/// The methods of `runs`, in the order they first appear.
fn methods_in_order<'r>(runs: &[&'r SweepRun]) -> Vec<&'r str> {
    let mut methods: Vec<&str> = Vec::new();
    for r in runs {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    methods
}

/// The runs of `method`, by increasing learning rate.
fn method_runs<'r>(runs: &[&'r SweepRun], method: &str) -> Vec<&'r SweepRun> {
    let mut mine: Vec<_> = runs
        .iter()
        .copied()
        .filter(|r| r.method == method)
        .collect();
    mine.sort_by(|a, b| a.alpha.total_cmp(&b.alpha));
    mine
}

/// Iterations to the target, when reached (a count of 0 counts as not
/// reached: it cannot go on the axis).
fn reached(r: &SweepRun) -> Option<usize> {
    r.reached.filter(|&k| k > 0)
}

/// The spread over seeds of the drawn quantity.
fn spread(r: &SweepRun, quantity: Quantity) -> Option<Spread> {
    match quantity {
        Quantity::Iterations => r.spread,
        Quantity::Seconds => r.seconds,
    }
}

/// The drawn value: the mean over seeds, or the single run's count.
fn value(r: &SweepRun, quantity: Quantity) -> Option<f64> {
    match quantity {
        Quantity::Iterations => reached(r).map(|k| r.spread.map_or(k as f64, |s| s.mean)),
        Quantity::Seconds => reached(r)
            .and(r.seconds)
            .map(|s| s.mean)
            .filter(|&t| t > 0.0),
    }
}

/// The `y` axis: logarithmic when the drawn values (with their spreads)
/// span more than a factor 20, linear from 0 otherwise; the top fraction
/// `band` of it (without ticks) is left for the failed runs.
fn value_axis(runs: &[&SweepRun], quantity: Quantity, band: f64) -> Axis {
    let mut counts: Vec<f64> = runs.iter().filter_map(|r| value(r, quantity)).collect();
    for r in runs {
        if let (Some(v), Some(s)) = (value(r, quantity), spread(r, quantity)) {
            counts.push(v + s.std);
            if v - s.std > 0.0 {
                counts.push(v - s.std);
            }
        }
    }
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
    if hi / lo > 20.0 {
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
    }
}

/// Line segments of `(α, value)` points.
type Segments = Vec<Vec<(f64, f64)>>;
/// Spread bands of `(α, lo, hi)` points.
type Bands = Vec<Vec<(f64, f64, f64)>>;

/// The runs of one method that reached the target, as line segments
/// (broken where a run did not) and as spread bands `(α, lo, hi)` with `lo`
/// clipped to `floor`.
fn reached_segments(mine: &[&SweepRun], quantity: Quantity, floor: f64) -> (Segments, Bands) {
    let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    let mut bands: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new()];
    for r in mine {
        match value(r, quantity) {
            Some(v) => {
                segments.last_mut().unwrap().push((r.alpha, v));
                if let Some(s) = spread(r, quantity) {
                    let lo = (v - s.std).max(floor);
                    bands.last_mut().unwrap().push((r.alpha, lo, v + s.std));
                }
            }
            None => {
                segments.push(Vec::new());
                bands.push(Vec::new());
            }
        }
    }
    segments.retain(|s| !s.is_empty());
    (segments, bands)
}

/// The shaded top band of the axis (from the fraction `1 − band` up) with
/// its floor line.
fn draw_failure_band(chart: &mut Chart<'_, '_>, x: Axis, y: Axis, band: f64) -> DrawResult {
    let band_floor = y.inverse(1.0 - band);
    chart.draw_series(std::iter::once(Rectangle::new(
        [(x.lo, band_floor), (x.hi, y.hi)],
        RGBColor(243, 243, 243).filled(),
    )))?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(x.lo, band_floor), (x.hi, band_floor)],
        RGBColor(170, 170, 170),
    )))?;
    Ok(())
}

/// Translucent mean ± std bands in colour `c`.
fn draw_spread_bands(
    chart: &mut Chart<'_, '_>,
    bands: &[Vec<(f64, f64, f64)>],
    c: RGBColor,
) -> DrawResult {
    for band in bands.iter().filter(|b| !b.is_empty()) {
        let mut outline: Vec<(f64, f64)> = band.iter().map(|&(a, _, hi)| (a, hi)).collect();
        outline.extend(band.iter().rev().map(|&(a, lo, _)| (a, lo)));
        chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.18).filled())))?;
    }
    Ok(())
}

/// A line through `seg` with a marker of `shape` on every point.
fn draw_marked_line(
    chart: &mut Chart<'_, '_>,
    seg: &[(f64, f64)],
    style: ShapeStyle,
    shape: usize,
    c: RGBColor,
) -> DrawResult {
    chart.draw_series(LineSeries::new(seg.iter().copied(), style))?;
    chart.draw_series(
        seg.iter()
            .map(|&p| EmptyElement::at(p) + marker((0, 0), shape, c)),
    )?;
    Ok(())
}

/// The failed runs of one method in its row of the top band: a cross for a
/// diverged run, an open triangle for one that stopped short of the target.
/// Returns the drawn points.
fn draw_failed_runs(
    chart: &mut Chart<'_, '_>,
    mine: &[&SweepRun],
    row: f64,
    c: RGBColor,
) -> DrawResult<Vec<(f64, f64)>> {
    let mut drawn = Vec::new();
    for r in mine {
        if r.diverged {
            chart.draw_series(std::iter::once(Cross::new(
                (r.alpha, row),
                6,
                c.stroke_width(3),
            )))?;
            drawn.push((r.alpha, row));
        } else if reached(r).is_none() {
            chart.draw_series(std::iter::once(
                EmptyElement::at((r.alpha, row)) + open_triangle((0, 0), c),
            ))?;
            drawn.push((r.alpha, row));
        }
    }
    Ok(drawn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::test_support::{count, hex, out_dir, polyline_colours, well_formed};

    fn run(method: &str, alpha: f64, iterations: Option<usize>, diverged: bool) -> SweepRun {
        SweepRun {
            method: method.into(),
            alpha,
            reached: iterations,
            diverged,
            iterations_run: iterations.unwrap_or(if diverged { 3 } else { 5000 }),
            spread: None,
            seconds: None,
        }
    }

    fn sweep_of(runs: Vec<SweepRun>) -> Sweep {
        Sweep {
            name: "toy".into(),
            metric: "residual".into(),
            target: 1e-5,
            runs,
        }
    }

    #[test]
    fn iterations_vs_alpha_marks_diverged_and_unfinished_runs() {
        let sweep = sweep_of(vec![
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
        iterations_vs_alpha(&sweep, &path).unwrap();
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
        let sweep = sweep_of(vec![
            run("sgd", 0.01, Some(48), false),
            run("splitting", 0.01, Some(48), false),
            run("sgd", 1.0, Some(4), false),
            run("splitting", 1.0, Some(1), false),
            run("adam", 100.0, Some(16), false),
        ]);
        let dir = out_dir("iters-ok");
        let path = dir.join("iters.svg");
        iterations_vs_alpha(&sweep, &path).unwrap();
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
    fn sweep_vs_alpha_draws_seconds_with_their_band() {
        let timed = |method: &str, alpha: f64, seconds: Option<f64>| SweepRun {
            seconds: seconds.map(|mean| Spread {
                mean,
                std: 0.2 * mean,
            }),
            ..run(method, alpha, seconds.map(|_| 100), seconds.is_none())
        };
        let sweep = sweep_of(vec![
            timed("sgd", 0.01, Some(2.0)),
            timed("sgd", 0.1, Some(0.5)),
            timed("sgd", 1.0, None),
            timed("splitting", 0.01, Some(3.0)),
            timed("splitting", 1.0, Some(0.01)),
        ]);
        let dir = out_dir("seconds");
        let path = dir.join("seconds.svg");
        sweep_vs_alpha(&sweep, Quantity::Seconds, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let texts = well_formed(&svg);
        for t in [
            "seconds to target",
            "toy: time to residual ≤ 10⁻⁵",
            "diverged",
        ] {
            assert_eq!(count(&texts, t), 1, "{t}: {texts:?}");
        }
        // 0.01..3 s spans more than a factor 20: a log axis; one band per method.
        assert!(texts.iter().any(|t| t == "1"), "{texts:?}");
        assert_eq!(svg.matches("<polygon").count(), 2);
        // Negative control: the iterations view of the same sweep has no
        // bands (no iteration spread) and its own labels.
        let path = dir.join("iterations.svg");
        sweep_vs_alpha(&sweep, Quantity::Iterations, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert_eq!(svg.matches("<polygon").count(), 0);
        assert_eq!(count(&well_formed(&svg), "iterations to target"), 1);
    }

    #[test]
    fn iterations_vs_alpha_errors() {
        let dir = out_dir("iters-errors");
        assert!(matches!(
            iterations_vs_alpha(&sweep_of(Vec::new()), &dir.join("x.svg")),
            Err(Error::InvalidParameter { .. })
        ));
        let bad = sweep_of(vec![run("sgd", 0.0, Some(3), false)]);
        assert!(matches!(
            iterations_vs_alpha(&bad, &dir.join("x.svg")),
            Err(Error::InvalidParameter { .. })
        ));
        // Nothing converged: still a picture, every run in the band.
        let failed = sweep_of(vec![
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
}
