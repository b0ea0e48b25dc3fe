//! Order of accuracy as metadata.

use std::fmt;

/// The global order of accuracy of a method or flow map.
///
/// `Exact` ranks above every finite order: an exact flow never limits the
/// order of a splitting that uses it.
///
/// # Example
/// ```
/// use splitflow::Order;
/// assert_eq!(Order::Finite(2).min(Order::Exact), Order::Finite(2));
/// assert_eq!(Order::Finite(4).min(Order::Finite(1)), Order::Finite(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Order {
    /// Global error O(hᵖ).
    Finite(u32),
    /// No discretization error (a closed-form flow).
    Exact,
}

impl Order {
    /// The finite order, or `None` for an exact flow.
    pub fn finite(self) -> Option<u32> {
        match self {
            Order::Finite(p) => Some(p),
            Order::Exact => None,
        }
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Order::Finite(p) => write!(f, "{p}"),
            Order::Exact => write!(f, "exact"),
        }
    }
}
