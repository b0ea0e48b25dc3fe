//! The extended state `[θ; aux]` of a generated optimizer as p-blocks, with
//! copy-free transactional writes: the storage of the fast path.
//!
//! A step never writes a committed block in place. The first write of block
//! b in a step goes out of place into a scratch buffer, later writes
//! ping-pong between two scratch buffers, so every write reads the block's
//! current value from one buffer and writes the new value into another (no
//! aliasing, the same memory traffic as an in-place update). At the end the
//! step is committed — the written blocks trade places with the committed
//! ones, O(1) per block — only if every written block is finite; otherwise
//! nothing is committed and θ and the state are as they were. This is the
//! `commit` discipline of the fused optimizers, for any sequence of
//! sub-steps.

use crate::State;

/// The most blocks of a state with scratch buffers (the built-in flows:
/// Adam has θ, m, v); larger states (a user's flow) have committed blocks
/// only and take the generic path.
pub(crate) const MAX_BLOCKS: usize = 3;

/// Where a block's current value lives: 0 committed, 1 and 2 scratch.
type Slot = usize;

/// The extended state as blocks of length p (block 0 is θ).
#[derive(Debug, Default)]
pub(crate) struct BlockState {
    /// `bufs[slot][block]` (the scratch rows are empty beyond [`MAX_BLOCKS`]).
    bufs: [Vec<State>; 3],
    loc: [Slot; MAX_BLOCKS],
    /// Writes of each block in this step.
    writes: [usize; MAX_BLOCKS],
    blocks: usize,
    p: usize,
}

impl BlockState {
    /// Sizes the state for `blocks` blocks of length `p`, with the scratch
    /// buffers of [`write`](Self::write) when `scratch` (the fast path; at
    /// most [`MAX_BLOCKS`] blocks) and without them otherwise (the generic
    /// path reads and writes the committed blocks only); a new shape starts
    /// from zero (the auxiliary variables of a fresh optimizer).
    pub fn fit(&mut self, blocks: usize, p: usize, scratch: bool) {
        if blocks == self.blocks && p == self.p {
            return;
        }
        self.blocks = blocks;
        self.p = p;
        let scratch = if scratch && blocks <= MAX_BLOCKS {
            blocks
        } else {
            0
        };
        for (slot, row) in self.bufs.iter_mut().enumerate() {
            let n = if slot == 0 { blocks } else { scratch };
            *row = (0..n).map(|_| State::zeros(p)).collect();
        }
    }

    /// Zeroes the committed auxiliary blocks.
    pub fn reset(&mut self) {
        for b in self.bufs[0].iter_mut().skip(1) {
            b.fill(0.0);
        }
    }

    /// Whether the state has scratch buffers (sized for the fast path, at
    /// most [`MAX_BLOCKS`] blocks): the condition of [`write`](Self::write).
    pub fn has_scratch(&self) -> bool {
        self.bufs[1].len() == self.blocks
    }

    /// Starts a step: θ's storage moves into block 0 (O(1)). Every `begin`
    /// must be followed by [`end`](Self::end) with the same `theta`.
    pub fn begin(&mut self, theta: &mut State) {
        std::mem::swap(theta, &mut self.bufs[0][0]);
        self.loc = [0; MAX_BLOCKS];
        self.writes = [0; MAX_BLOCKS];
    }

    /// How many times block `b` was written in this step (its value's
    /// version: a memo key).
    pub fn version(&self, b: usize) -> usize {
        self.writes[b]
    }

    /// The current value of block `b`.
    pub fn get(&self, b: usize) -> &State {
        &self.bufs[self.loc[b]][b]
    }

    /// The committed value of block `b ≥ 1` (between steps; block 0 is θ,
    /// which the caller holds).
    pub fn committed(&self, b: usize) -> Option<&State> {
        self.bufs[0].get(b).filter(|_| b > 0)
    }

    /// Whether block `b` was written in this step.
    pub fn written(&self, b: usize) -> bool {
        self.loc[b] != 0
    }

    /// The buffer receiving block `b`'s new value, and the current values of
    /// every block (block `b`'s old value among them); afterwards block `b`'s
    /// current value is the one written. Only for states with scratch
    /// buffers ([`has_scratch`](Self::has_scratch)).
    pub fn write(&mut self, b: usize) -> (&mut [f64], [&[f64]; MAX_BLOCKS]) {
        let (out, _, views) = self.write_blocks(b, None);
        (out, views)
    }

    /// [`write`](Self::write) of two different blocks `b1`, `b2` at once
    /// (a piece that changes both, in one pass).
    pub fn write2(
        &mut self,
        b1: usize,
        b2: usize,
    ) -> (&mut [f64], &mut [f64], [&[f64]; MAX_BLOCKS]) {
        let (out1, out2, views) = self.write_blocks(b1, Some(b2));
        (out1, out2, views)
    }

    fn write_blocks(
        &mut self,
        b1: usize,
        b2: Option<usize>,
    ) -> (&mut [f64], &mut [f64], [&[f64]; MAX_BLOCKS]) {
        let old = self.loc;
        let target = |b: usize| if old[b] == 1 { 2 } else { 1 };
        for b in std::iter::once(b1).chain(b2) {
            self.loc[b] = target(b);
            self.writes[b] += 1;
        }
        let mut out1: &mut [f64] = &mut [];
        let mut out2: &mut [f64] = &mut [];
        let mut views: [&[f64]; MAX_BLOCKS] = [&[]; MAX_BLOCKS];
        for (slot, row) in self.bufs.iter_mut().enumerate() {
            for (c, buf) in row.iter_mut().enumerate() {
                if c == b1 && slot == target(c) {
                    out1 = buf.as_mut_slice();
                } else if Some(c) == b2 && slot == target(c) {
                    out2 = buf.as_mut_slice();
                } else if slot == old[c] {
                    views[c] = buf.as_slice();
                }
            }
        }
        (out1, out2, views)
    }

    /// The first block that is not finite among θ and the written blocks
    /// (`None`: all finite).
    pub fn first_non_finite(&self) -> Option<usize> {
        (0..self.blocks)
            .filter(|&b| b == 0 || self.written(b))
            .find(|&b| !crate::kernels::all_finite(self.get(b).as_slice()))
    }

    /// Ends a step: commits the written blocks when `commit` (O(1) swaps),
    /// and hands block 0 back to `theta`.
    pub fn end(&mut self, theta: &mut State, commit: bool) {
        if commit {
            let (committed, scratch) = self.bufs.split_at_mut(1);
            for b in 0..self.blocks {
                let slot = self.loc[b];
                if slot != 0 {
                    std::mem::swap(&mut committed[0][b], &mut scratch[slot - 1][b]);
                }
            }
        }
        self.loc = [0; MAX_BLOCKS];
        std::mem::swap(theta, &mut self.bufs[0][0]);
    }

    /// Copies `[θ; aux]` (θ from `theta`, aux committed) into `y`.
    pub fn gather(&self, theta: &State, y: &mut State) {
        let p = self.p;
        crate::optimizers::ensure_len(y, self.blocks * p);
        let y = y.as_mut_slice();
        y[..p].copy_from_slice(theta.as_slice());
        for b in 1..self.blocks {
            y[b * p..(b + 1) * p].copy_from_slice(self.bufs[0][b].as_slice());
        }
    }

    /// Copies `y = [θ; aux]` back: θ into `theta`, aux into the committed blocks.
    pub fn scatter(&mut self, y: &State, theta: &mut State) {
        let p = self.p;
        let y = y.as_slice();
        theta.as_mut_slice().copy_from_slice(&y[..p]);
        for b in 1..self.blocks {
            self.bufs[0][b]
                .as_mut_slice()
                .copy_from_slice(&y[b * p..(b + 1) * p]);
        }
    }
}
