//! Scratch buffers used behind `&self` ([`Workspace`]), thread-safe so that
//! the types holding them (problems, flows, reduced flows) are `Send + Sync`.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A scratch buffer that methods taking `&self` (an ODE right-hand side, a
/// batch gradient) fill and read, allocated once at construction.
///
/// It replaces a `RefCell`: the buffer sits behind a [`Mutex`], so its owner
/// is `Sync` and may be shared between threads. An uncontended lock is one
/// atomic operation (3–6 ns in `benches/ratios/workspace_ratios`: about 8 %
/// of the smallest least-squares gradients, which therefore keep their
/// residual on the stack instead) and the arithmetic done in the buffer is
/// unchanged, so results are bitwise those of the `RefCell` version.
/// Threads sharing one owner take turns on its buffer (their results stay
/// exact); for parallel speed give every thread its own clone, or, where
/// the owner offers one, its own scratch
/// (`LeastSquares::batch_gradient_scaled_with`). A poisoned lock (a panic while the
/// buffer was in use) is recovered: the buffer holds scratch values only,
/// which every user overwrites before reading.
#[derive(Default)]
pub(crate) struct Workspace<T>(Mutex<T>);

impl<T> Workspace<T> {
    /// A workspace holding `value`.
    pub(crate) fn new(value: T) -> Self {
        Workspace(Mutex::new(value))
    }

    /// Exclusive access to the buffer until the guard is dropped.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: Clone> Clone for Workspace<T> {
    fn clone(&self) -> Self {
        Workspace::new(self.lock().clone())
    }
}

impl<T: fmt::Debug> fmt::Debug for Workspace<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.try_lock() {
            Ok(guard) => f.debug_tuple("Workspace").field(&*guard).finish(),
            Err(_) => f.write_str("Workspace(<in use>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Workspace;

    #[test]
    fn lock_gives_the_buffer_and_clone_copies_it() {
        let w = Workspace::new(vec![1.0, 2.0]);
        w.lock()[0] = 5.0;
        let c = w.clone();
        w.lock()[1] = 7.0;
        assert_eq!(*c.lock(), vec![5.0, 2.0]);
        assert_eq!(*w.lock(), vec![5.0, 7.0]);
        assert_eq!(format!("{w:?}"), "Workspace([5.0, 7.0])");
        let _held = w.lock();
        assert_eq!(format!("{w:?}"), "Workspace(<in use>)");
    }

    #[test]
    fn a_poisoned_workspace_is_recovered() {
        let w = Workspace::new(0_u32);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = w.lock();
            panic!("inside");
        }));
        assert!(r.is_err());
        *w.lock() = 3;
        assert_eq!(*w.lock(), 3);
    }
}
