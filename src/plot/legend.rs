//! Legends: the glyphs of an entry (solid, dashed and dotted lines, filled
//! markers, the open triangle also used for unfinished runs), the legend
//! box, and the choice of the corner where it hides the fewest data.

use plotters::element::{ComposedElement, DashedPathElement};
use plotters::prelude::*;

use super::chart::{Chart, DrawResult, FONT, LEGEND_SIZE};

/// Places the legend in the corner (among `prefer`, in order of preference)
/// that hides the fewest samples of `curves`, and draws it there.
pub(super) fn place_legend<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    labels: &[String],
    curves: &[Vec<(f64, f64)>],
    prefer: &[Corner],
) -> DrawResult {
    let pos = legend_position(chart, labels, curves, prefer);
    draw_legend(chart, pos)
}

/// A legend entry without data: an empty series carrying `label` and the
/// glyph drawn by `glyph` (so that the entry exists, in order, even when
/// nothing of it is drawn).
pub(super) fn legend_entry<'a, 'b: 'a, E, G>(
    chart: &mut Chart<'a, 'b>,
    label: impl Into<String>,
    glyph: G,
) -> DrawResult
where
    E: IntoDynElement<'a, SVGBackend<'b>, (i32, i32)>,
    G: Fn((i32, i32)) -> E + 'a,
{
    chart
        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
        .label(label)
        .legend(glyph);
    Ok(())
}

pub(super) fn draw_legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, corner: Corner) -> DrawResult {
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
pub(super) fn legend_line<DB: DrawingBackend>(
    dashed: bool,
    style: ShapeStyle,
) -> DynElement<'static, DB, (i32, i32)> {
    if dashed {
        DashedPathElement::new(vec![(0, 0), (24, 0)], 7, 4, style).into_dyn()
    } else {
        PathElement::new(vec![(0, 0), (24, 0)], style).into_dyn()
    }
}

pub(super) fn dashed_legend(
    (px, py): (i32, i32),
    style: ShapeStyle,
) -> DashedPathElement<std::vec::IntoIter<(i32, i32)>, i32> {
    DashedPathElement::new(vec![(px, py), (px + 24, py)], 7, 4, style)
}

pub(super) fn dotted_legend(
    (px, py): (i32, i32),
    style: ShapeStyle,
) -> DashedPathElement<std::vec::IntoIter<(i32, i32)>, i32> {
    DashedPathElement::new(vec![(px, py), (px + 24, py)], 4, 4, style)
}

/// Filled marker `shape` (0 large circle, 1 square, 2 diamond) of colour
/// `c` centred at `at` (backend coordinates, relative inside a composed
/// element).
pub(super) fn marker<DB: DrawingBackend>(
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
pub(super) fn open_triangle(at: (i32, i32), c: RGBColor) -> PathElement<(i32, i32)> {
    let (x, y) = at;
    PathElement::new(
        vec![(x, y - 7), (x + 7, y + 5), (x - 7, y + 5), (x, y - 7)],
        c.stroke_width(2),
    )
}

/// A circle in pixel coordinates relative to its element's anchor.
type Dot = Circle<(i32, i32), i32>;

/// An element anchored at a `C` point: a first part `A`, then a [`Dot`].
pub(super) type TwoPart<C, DB, A> = ComposedElement<C, DB, A, Dot>;

/// A hollow circle (white inside, outline of colour `c`) at `at`, offset by
/// `offset` pixels: an excluded level, or its legend glyph.
pub(super) fn hollow_circle<C, DB: DrawingBackend>(
    at: C,
    offset: (i32, i32),
    c: RGBColor,
) -> TwoPart<C, DB, Dot> {
    EmptyElement::at(at)
        + Circle::new(offset, 6, WHITE.filled())
        + Circle::new(offset, 6, ShapeStyle::from(c).stroke_width(2))
}

/// The legend glyph of a measured series: a 24-pixel line of colour `c`
/// with a filled dot in its middle.
pub(super) fn line_and_dot<DB: DrawingBackend>(
    at: (i32, i32),
    c: RGBColor,
) -> TwoPart<(i32, i32), DB, PathElement<(i32, i32)>> {
    EmptyElement::at(at)
        + PathElement::new(vec![(0, 0), (24, 0)], c.stroke_width(2))
        + Circle::new((12, 0), 5, c.filled())
}

/// A corner of the plotting area, for the legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Corner {
    UpperLeft,
    UpperRight,
    LowerLeft,
    LowerRight,
}

/// The corner (among `prefer`, in order of preference) whose legend box
/// would cover the fewest samples of the drawn curves.
pub(super) fn legend_position(
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
