//! The protocols of `splitflow paper`: the paper's stated setup (`text`)
//! and the setup of the authors' script (`authors`), with per-flag
//! overrides. This is the one place the settings of every experiment live.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which protocol a sweep follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolName {
    /// The paper's text: noise 0.01, relative residual ≤ 10⁻³ (least squares).
    #[default]
    Text,
    /// The authors' script (REPLICATION-EVIDENCE): noise 0.1, loss ≤ 0.1
    /// checked before each step, the script's 15-point α grid.
    Authors,
}

impl fmt::Display for ProtocolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProtocolName::Text => "text",
            ProtocolName::Authors => "authors",
        })
    }
}

/// The stop rule of a least-squares experiment.
///
/// $$ \text{loss}: \tfrac1n \lVert X\theta - y\rVert^2 \le t, \qquad \text{relres}: \lVert X\theta - y\rVert / \lVert y\rVert \le t $$
///
/// Written `loss:T` or `relres:T` (the `--stop` flag and the JSON).
///
/// # Example
/// ```
/// use splitflow::paper::Stop;
///
/// let s: Stop = "loss:0.1".parse()?;
/// assert_eq!(s, Stop::Loss(0.1));
/// assert_eq!(s.to_string(), "loss:0.1");
/// assert!("relres:-1".parse::<Stop>().is_err() && "rmse:1".parse::<Stop>().is_err());
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Stop {
    /// Mean squared residual `(1/n)‖Xθ − y‖² ≤ t`.
    Loss(f64),
    /// Relative residual `‖Xθ − y‖/‖y‖ ≤ t`.
    RelRes(f64),
}

impl Stop {
    /// The threshold t.
    pub fn threshold(&self) -> f64 {
        match *self {
            Stop::Loss(t) | Stop::RelRes(t) => t,
        }
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Loss(t) => write!(f, "loss:{t}"),
            Stop::RelRes(t) => write!(f, "relres:{t}"),
        }
    }
}

impl FromStr for Stop {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid("--stop", s, why);
        let (kind, value) = s
            .split_once(':')
            .ok_or_else(|| bad("expected loss:T or relres:T"))?;
        let t: f64 = value
            .trim()
            .parse()
            .map_err(|_| bad("the threshold is not a number"))?;
        if !(t.is_finite() && t > 0.0) {
            return Err(bad("the threshold must be positive and finite"));
        }
        match kind.trim() {
            "loss" => Ok(Stop::Loss(t)),
            "relres" => Ok(Stop::RelRes(t)),
            _ => Err(bad("expected loss:T or relres:T")),
        }
    }
}

impl From<Stop> for String {
    fn from(s: Stop) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for Stop {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

/// How iterations to the target are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counting {
    /// Steps taken when the metric is first at or below the target.
    Steps,
    /// As the authors' loop: the stop rule is checked before each step and
    /// the loop index is reported plus one, so a target first met after k
    /// steps counts k + 1.
    StepsPlusOne,
}

impl Counting {
    /// The reported count for a target first met after `k` steps.
    pub fn count(&self, k: usize) -> usize {
        match self {
            Counting::Steps => k,
            Counting::StepsPlusOne => k + 1,
        }
    }
}

/// A protocol and the settings overridden by flags (`None`: the protocol's
/// default for each experiment).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Protocol {
    /// The protocol.
    pub name: ProtocolName,
    /// Noise level of the random least-squares data (`--noise`).
    pub noise: Option<f64>,
    /// Stop rule of the least-squares experiments (`--stop`).
    pub stop: Option<Stop>,
    /// The α grid of every experiment (`--grid`).
    pub grid: Option<Vec<f64>>,
    /// Batch-step cap of every experiment (`--max-iterations`).
    pub max_iterations: Option<usize>,
}

/// The resolved settings of one experiment under a [`Protocol`]: what the
/// report header and the JSON print.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The protocol.
    pub name: ProtocolName,
    /// Noise level of the data (random least squares only).
    pub noise: Option<f64>,
    /// The stop rule (least squares) or `None` (the experiment's own test-error target).
    pub stop: Option<Stop>,
    /// The α grid, ascending.
    pub grid: Vec<f64>,
    /// Batch-step cap of every run.
    pub max_iterations: usize,
    /// How iterations are counted.
    pub counting: Counting,
    /// The initial parameters.
    pub init: String,
}

/// The authors' α grid: `logspace(−3, −1.2, 10) ∪ logspace(−1.2, 8, 6)`,
/// the shared end point 10^−1.2 once (15 points).
///
/// # Example
/// ```
/// let g = splitflow::paper::authors_grid();
/// assert_eq!(g.len(), 15);
/// assert!((g[9] - 10f64.powf(-1.2)).abs() < 1e-15 && (g[10] - 10f64.powf(0.64)).abs() < 1e-12);
/// ```
pub fn authors_grid() -> Vec<f64> {
    let mut g = super::log_grid(1e-3, 10f64.powf(-1.2), 10);
    g.extend(
        super::log_grid(10f64.powf(-1.2), 1e8, 6)
            .into_iter()
            .skip(1),
    );
    g
}

/// Parses a comma-separated α grid (`--grid a,b,c`): positive finite
/// values, returned sorted ascending without duplicates.
///
/// # Errors
/// [`Error::InvalidParameter`] for an empty list, a value that is not a
/// number, or one that is not positive and finite.
///
/// # Example
/// ```
/// assert_eq!(splitflow::paper::parse_grid("1,0.1,1e2,1")?, vec![0.1, 1.0, 100.0]);
/// assert!(splitflow::paper::parse_grid("0.1,,1").is_err());
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn parse_grid(s: &str) -> Result<Vec<f64>> {
    let mut g = Vec::new();
    for part in s.split(',') {
        let a: f64 = part
            .trim()
            .parse()
            .map_err(|_| Error::invalid("--grid", s, &format!("{part:?} is not a number")))?;
        if !(a.is_finite() && a > 0.0) {
            return Err(Error::invalid(
                "--grid",
                s,
                "learning rates must be positive and finite",
            ));
        }
        g.push(a);
    }
    g.sort_by(f64::total_cmp);
    g.dedup();
    Ok(g)
}

/// The experiment-specific defaults a protocol resolves against.
pub(crate) struct Defaults {
    pub noise: Option<f64>,
    pub stop: Option<Stop>,
    pub grid: Vec<f64>,
    pub max_iterations: usize,
    pub counting: Counting,
}

impl Protocol {
    /// Checks the overrides.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative or non-finite noise, an
    /// empty or non-positive grid, a zero iteration cap or a non-positive
    /// stop threshold.
    pub fn validate(&self) -> Result<()> {
        if let Some(n) = self.noise {
            crate::error::check_nonnegative("--noise", n)?;
        }
        if let Some(s) = self.stop {
            s.to_string().parse::<Stop>()?;
        }
        if let Some(g) = &self.grid
            && (g.is_empty() || g.iter().any(|a| !(a.is_finite() && *a > 0.0)))
        {
            return Err(Error::invalid(
                "--grid",
                format!("{g:?}"),
                "learning rates must be positive and finite",
            ));
        }
        if self.max_iterations == Some(0) {
            return Err(Error::invalid("--max-iterations", 0, "must be at least 1"));
        }
        Ok(())
    }

    /// The settings of random least squares with `m` batches.
    pub(crate) fn lls(&self, quick: bool, m: usize) -> Settings {
        let d = match self.name {
            ProtocolName::Text => Defaults {
                noise: Some(0.01),
                stop: Some(Stop::RelRes(1e-3)),
                grid: if quick {
                    super::log_grid(1e-2, 1e8, 6)
                } else {
                    super::log_grid(1e-3, 1e8, 12)
                },
                max_iterations: 40 * m,
                counting: Counting::Steps,
            },
            ProtocolName::Authors => Defaults {
                noise: Some(0.1),
                stop: Some(Stop::Loss(0.1)),
                grid: authors_grid(),
                max_iterations: 40 * m,
                counting: Counting::StepsPlusOne,
            },
        };
        self.resolve(d)
    }

    /// The settings of tomography with `m` batches. `authors`: the paper's
    /// plotted range 0.63–6.3 (15 log-spaced points) and a cap of 60
    /// epochs, above the ≈ 7430 iterations the paper's splitting needed at
    /// α = 0.63.
    pub(crate) fn tomography(&self, quick: bool, m: usize) -> Settings {
        let stop = Some(if quick {
            Stop::RelRes(1e-3)
        } else {
            Stop::Loss(3e-5)
        });
        let d = match self.name {
            ProtocolName::Text => Defaults {
                noise: None,
                stop,
                grid: if quick {
                    super::log_grid(0.2, 6.3, 4)
                } else {
                    super::log_grid(0.1, 6.3, 9)
                },
                max_iterations: if quick { 60 * m } else { 30 * m },
                counting: Counting::Steps,
            },
            ProtocolName::Authors => Defaults {
                noise: None,
                stop,
                grid: if quick {
                    super::log_grid(0.63, 6.3, 4)
                } else {
                    super::log_grid(0.63, 6.3, 15)
                },
                max_iterations: 60 * m,
                counting: Counting::StepsPlusOne,
            },
        };
        self.resolve(d)
    }

    /// The settings of a classification experiment (the same under both
    /// protocols: the authors' scripts for these are not what the evidence
    /// is about). The stop rule is the experiment's test-error target.
    pub(crate) fn classification(&self, grid: Vec<f64>, max_iterations: usize) -> Settings {
        self.resolve(Defaults {
            noise: None,
            stop: None,
            grid,
            max_iterations,
            counting: match self.name {
                ProtocolName::Text => Counting::Steps,
                ProtocolName::Authors => Counting::StepsPlusOne,
            },
        })
    }

    fn resolve(&self, d: Defaults) -> Settings {
        Settings {
            name: self.name,
            noise: d.noise.map(|n| self.noise.unwrap_or(n)),
            stop: d.stop.map(|s| self.stop.unwrap_or(s)),
            grid: self.grid.clone().unwrap_or(d.grid),
            max_iterations: self.max_iterations.unwrap_or(d.max_iterations),
            counting: d.counting,
            init: "U(-1/sqrt(p), 1/sqrt(p)) from seed + 1".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_defaults_and_text_is_todays_setup() {
        let text = Protocol::default().lls(false, 500);
        assert_eq!(text.noise, Some(0.01));
        assert_eq!(text.stop, Some(Stop::RelRes(1e-3)));
        assert_eq!(text.grid, crate::paper::log_grid(1e-3, 1e8, 12));
        assert_eq!(
            (text.max_iterations, text.counting),
            (20000, Counting::Steps)
        );
        let p = Protocol {
            name: ProtocolName::Authors,
            noise: Some(0.5),
            grid: Some(vec![1.0]),
            ..Default::default()
        };
        let a = p.lls(false, 500);
        assert_eq!((a.noise, a.stop), (Some(0.5), Some(Stop::Loss(0.1))));
        assert_eq!(
            (a.grid.as_slice(), a.counting),
            (&[1.0][..], Counting::StepsPlusOne)
        );
        // Tomography has no noise setting to override.
        assert_eq!(p.tomography(false, 213).noise, None);
        assert!(p.tomography(false, 213).max_iterations >= 7430);
    }

    #[test]
    fn stop_round_trips_and_rejects_garbage() {
        for s in ["loss:0.1", "relres:0.001"] {
            assert_eq!(s.parse::<Stop>().unwrap().to_string(), s);
        }
        for s in ["loss", "loss:", "loss:x", "relres:0", "relres:inf", "mse:1"] {
            assert!(s.parse::<Stop>().is_err(), "{s}");
        }
        let json = serde_json::to_string(&Stop::RelRes(1e-3)).unwrap();
        assert_eq!(json, "\"relres:0.001\"");
        assert_eq!(
            serde_json::from_str::<Stop>(&json).unwrap(),
            Stop::RelRes(1e-3)
        );
    }

    #[test]
    fn grid_parsing() {
        assert!(parse_grid("").is_err());
        assert!(parse_grid("1,-1").is_err());
        assert!(parse_grid("1,nan").is_err());
        assert_eq!(parse_grid(" 2, 1 ").unwrap(), vec![1.0, 2.0]);
        let g = authors_grid();
        assert!(g.windows(2).all(|w| w[0] < w[1]));
        // The gap the evidence describes: nothing between 0.063 and 4.37.
        assert!(g.iter().all(|&a| !(0.07..4.3).contains(&a)));
    }
}
