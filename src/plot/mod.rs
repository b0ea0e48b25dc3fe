//! SVG plots of convergence studies, loss curves and learning-rate sweeps
//! (feature `plot`).
//!
//! Every function renders one 800×600 SVG with [plotters]' SVG backend and
//! writes it to `path`. No system font library is involved: the backend
//! writes `<text>` elements and leaves the glyphs to the viewer, so labels
//! are laid out with an estimate of their width.
//!
//! * [`convergence_plot`] — log-log error against step size for a
//!   [`ConvergenceReport`](crate::ConvergenceReport), with the fitted slope and the effective order as
//!   dashed reference lines.
//! * [`loss_curves`] — one line per named series (loss against iteration for
//!   several learning rates or methods), linear or logarithmic `y`.
//! * [`work_precision_plot`] — cost against error, log-log, one line per
//!   method (`splitflow work-precision`).
//! * [`iterations_vs_alpha`] — iterations to the target against the
//!   learning rate for every method of a learning-rate [`Sweep`], diverged
//!   runs marked at the top; [`sweep_vs_alpha`] draws the same sweep's
//!   iterations or wall time to the target ([`Quantity`]).
//!
//! Data are checked before anything is drawn: an empty input, or one with
//! nothing positive to put on a logarithmic axis, is
//! [`Error::InvalidParameter`](crate::Error::InvalidParameter); a file that cannot be written is
//! [`Error::Io`](crate::Error::Io) (and so would be a failure inside plotters itself, which
//! the in-memory SVG backend does not produce). Nothing panics.
//!
//! The module is generic: it draws reports, series and sweeps, and knows
//! nothing of where they come from (the `splitflow paper` command turns its
//! experiments into a [`Sweep`] and loss series). Files: `axis.rs` (linear
//! and log axes, ticks, labels), `legend.rs` (entries, glyphs, placement),
//! `chart.rs` (picture, palette, rendering), and one file per kind of chart
//! (`convergence.rs`, `loss.rs`, `sweep.rs`, `work_precision.rs`).

mod axis;
mod chart;
mod convergence;
mod legend;
mod loss;
mod sweep;
#[cfg(test)]
mod test_support;
mod work_precision;

pub use convergence::{convergence_overlay_plot, convergence_plot};
pub use loss::loss_curves;
pub use sweep::{Quantity, Spread, Sweep, SweepRun, iterations_vs_alpha, sweep_vs_alpha};
pub use work_precision::work_precision_plot;
