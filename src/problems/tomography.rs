//! Tomography test problems (AIR Tools II line model): fan-beam and parallel-beam
//! matrices and the modified Shepp–Logan phantom.
