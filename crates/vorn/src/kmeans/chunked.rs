//! The chunked labelling pass of Lloyd: every row gets its nearest centroid, in fixed chunks
//! of [`chunk_rows`]`(n)` rows that run in parallel waves of [`WAVE`]; within a chunk, a
//! group of [`group_rows`] rows at a time, either all through the kernel ([`label_chunks`],
//! one [`ROW_BLOCK`] at a time) or first through bounds (`super::pruned`: only the rows the
//! bounds cannot settle reach the kernel). The labels, and so everything after them, are the
//! same at any thread count and group size.
//!
//! History: this pass used to add every chunk's rows into per-cluster f64 partials while they
//! were in cache (the update fused with the assignment, hence `eligible`'s k·d and k bounds).
//! The sums now carry over from iteration to iteration in exact fixed point
//! ([`super::sums`]): the pass gathers their changes while the rows are in cache (every row on
//! a run's first pass, then only the rows whose label changed), so a pruned pass no longer
//! reads the rows it settles: Fashion-MNIST 70k × 784, k = 40, whole fit (`auto`,
//! `examples/fit_file` REPEAT=5, 2 threads) 0.40 → 0.30 s with the same objective and
//! iterations. [`eligible`] still decides where Lloyd labels in chunks and where `auto`
//! prunes (a static function of n, k, d).

use super::pruned::{Prune, PruneScratch};
use super::sums::{Delta, RowTerms, Sums};
use super::Monitor;
use crate::data::MatrixView;
use crate::error::{Error, Result};
use crate::linalg::{assign_rows, BlockScratch, PackedCentroids, ROW_BLOCK};
use crate::metric::Metric;
use crate::simd;
use rayon::prelude::*;

/// Cluster counts up to which the bounds label one row block at a time (see [`group_rows`]).
const GROUP_K_MAX: usize = 32;

/// Chunks per parallel wave (fixed: it must not depend on the thread count).
pub(crate) const WAVE: usize = 8;

/// Rows per chunk: n/32 rounded up to a row block, within [256, 4096].
pub(crate) fn chunk_rows(n: usize) -> usize {
    (n / 32).next_multiple_of(ROW_BLOCK).clamp(256, 4096)
}

/// Whether Lloyd labels in chunks (and `auto` may prune): k·d ≤ 2¹⁸ and k ≤ chunk/8, the
/// bounds under which the pass once fused the update (see the module docs); beyond them the
/// plain assignment pass labels.
pub(crate) fn eligible(n: usize, k: usize, d: usize) -> bool {
    k * d <= 1 << 18 && 8 * k <= chunk_rows(n)
}

/// Bytes of f32 rows a group of [`group_rows`] may span (tuned when the pass also added the
/// rows up, which wanted them still in L2: 512 KiB was no faster on 20 Newsgroups l2
/// k = 40).
const GROUP_BYTES: usize = 256 << 10;

/// Fewest rows per cluster, on average, for which a group of more than a row block paid when
/// the pass added rows up by cluster.
const GROUP_MIN_PER_CLUSTER: usize = 1;

/// Rows the bounds label at a time (their rescans are batched within it), within chunks of
/// `chunk` rows: a row block for k ≤ [`GROUP_K_MAX`]; for larger k, the whole row blocks
/// that fit [`GROUP_BYTES`] (at most a chunk) when they hold at least
/// [`GROUP_MIN_PER_CLUSTER`] rows per cluster on average, else 0 (a row block). It changes
/// no label.
pub(crate) fn group_rows(k: usize, d: usize, chunk: usize) -> usize {
    if k <= GROUP_K_MAX {
        return ROW_BLOCK;
    }
    let rows = (GROUP_BYTES / (4 * d) / ROW_BLOCK * ROW_BLOCK).min(chunk);
    if rows >= GROUP_MIN_PER_CLUSTER * k {
        rows
    } else {
        0
    }
}

/// How a chunked pass labels its rows.
pub(super) enum Mode<'a> {
    /// Every row through the kernel, with its score.
    Dense(&'a PackedCentroids, &'a mut [f32]),
    /// Bounds first (the upper bound of every row and Hamerly's lower bound, or k lower
    /// bounds: `Prune::width`).
    Pruned(&'a Prune<'a>, &'a mut [f32], &'a mut [f32]),
}

/// [`Mode`] for one chunk (its slices of the score or bound buffers).
enum Label<'a> {
    Dense(&'a PackedCentroids, &'a mut [f32]),
    Pruned(&'a Prune<'a>, &'a mut [f32], &'a mut [f32]),
}

/// Labels every row of `x` with its nearest centroid of `c` (k × d, row-major) into `labels`
/// (scores into `scores`), bringing `sums` (when given) to the new labels on the way.
/// Requires [`eligible`]`(n, k, d)`.
pub(crate) fn label_chunks(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    c: &[f32],
    labels: &mut [u32],
    scores: &mut [f32],
    sums: Option<&mut Sums>,
    mon: &dyn Monitor,
) -> Result<()> {
    assert_eq!(scores.len(), labels.len());
    let pc = PackedCentroids::new(c, c.len() / x.d(), x.d(), metric);
    pass_with_sums(sums, norms, |t| {
        chunked_pass(x, norms, c, labels, Mode::Dense(&pc, scores), t, mon, None)
    })?;
    Ok(())
}

/// Runs `pass` with the row terms of `sums` (when given: every row added if the sums are
/// not filled yet, else the moved rows moved) and adds the changes it gathers to `sums`.
/// Returns the rows scanned.
pub(super) fn pass_with_sums(
    sums: Option<&mut Sums>,
    norms: &[f32],
    pass: impl FnOnce(Option<(&RowTerms<'_>, bool)>) -> Result<(usize, Option<Delta>)>,
) -> Result<usize> {
    let Some(sums) = sums else {
        return Ok(pass(None)?.0);
    };
    let fresh = !sums.ready();
    let (scanned, delta) = {
        let t = sums.terms(norms);
        pass(Some((&t, fresh)))?
    };
    sums.add(
        delta.expect("a pass with sums gathers their changes"),
        fresh,
    );
    Ok(scanned)
}

/// The chunked pass: each group of rows is labelled (into `labels` and the mode's buffers),
/// `group` rows at a time (`None`: [`group_rows`]; tests force the others). With `sums`,
/// the pass also gathers, while the rows are in cache, the changes to the cluster sums
/// ([`Delta`]): every row added (`fresh`), or the rows whose label changed moved. Returns
/// the number of rows whose distances were computed, and the changes.
#[allow(clippy::too_many_arguments)]
pub(super) fn chunked_pass(
    x: MatrixView<'_>,
    norms: &[f32],
    c: &[f32],
    labels: &mut [u32],
    mode: Mode<'_>,
    sums: Option<(&RowTerms<'_>, bool)>,
    mon: &dyn Monitor,
    group: Option<usize>,
) -> Result<(usize, Option<Delta>)> {
    let (n, d) = (x.n(), x.d());
    let k = c.len() / d;
    debug_assert!(eligible(n, k, d));
    let isa = simd::active();
    let mut mode = mode;
    let ch = chunk_rows(n);
    let nchunks = n.div_ceil(ch);
    let ctx = Ctx {
        isa,
        x,
        norms,
        group: group.unwrap_or_else(|| group_rows(k, d, ch)),
        sums,
    };
    let mut scanned = 0usize;
    let mut total: Option<Delta> = None;
    for w0 in (0..nchunks).step_by(WAVE) {
        if mon.cancelled() {
            return Err(Error::Interrupted);
        }
        let w1 = (w0 + WAVE).min(nchunks);
        let (a, b) = (w0 * ch, (w1 * ch).min(n));
        // One labelling per chunk of the wave, then the chunks in parallel.
        let labs: Vec<(usize, &mut [u32], Label<'_>)> = match &mut mode {
            Mode::Dense(pc, sc) => labels[a..b]
                .chunks_mut(ch)
                .zip(sc[a..b].chunks_mut(ch))
                .enumerate()
                .map(|(q, (l, s))| (a + q * ch, l, Label::Dense(pc, s)))
                .collect(),
            Mode::Pruned(pr, up, lo) => labels[a..b]
                .chunks_mut(ch)
                .zip(up[a..b].chunks_mut(ch).zip({
                    let w = pr.width();
                    lo[a * w..b * w].chunks_mut(ch * w)
                }))
                .enumerate()
                .map(|(q, (l, (u, w)))| (a + q * ch, l, Label::Pruned(pr, u, w)))
                .collect(),
        };
        let fresh = || (0usize, sums.map(|_| Delta::new(k, d)));
        // At most one fold (one `Delta` of k·d) per thread.
        let per = labs.len().div_ceil(rayon::current_num_threads());
        let (sc, delta) = labs
            .into_par_iter()
            .with_min_len(per)
            .fold(fresh, |(s, mut dl), (c0, lab, how)| {
                (s + ctx.chunk(c0, lab, how, dl.as_mut()), dl)
            })
            .reduce(fresh, |a, b| (a.0 + b.0, merge(a.1, b.1)));
        scanned += sc;
        total = merge(total, delta);
    }
    Ok((scanned, total))
}

fn merge(a: Option<Delta>, b: Option<Delta>) -> Option<Delta> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.merge(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// What every chunk of one pass shares.
struct Ctx<'a> {
    isa: simd::Isa,
    x: MatrixView<'a>,
    norms: &'a [f32],
    /// Rows labelled at a time by the bounds ([`group_rows`]; 0: a row block).
    group: usize,
    /// The sums' row terms, and whether every row is added (else the moved rows are moved).
    sums: Option<(&'a RowTerms<'a>, bool)>,
}

impl Ctx<'_> {
    /// One chunk starting at row `c0`, a group of rows at a time; the changes to the sums
    /// into `delta` (when the pass gathers them).
    fn chunk(
        &self,
        c0: usize,
        lab: &mut [u32],
        mut how: Label<'_>,
        mut delta: Option<&mut Delta>,
    ) -> usize {
        let (x, isa) = (self.x, self.isa);
        let mut bs = BlockScratch::default();
        let (mut scanned, mut pb) = (0usize, PruneScratch::default());
        let step = self.group.max(ROW_BLOCK);
        let mut old = Vec::new();
        for (sb, l) in lab.chunks_mut(step).enumerate() {
            let r0 = c0 + sb * step;
            // The old labels, to find the moved rows (a fresh pass adds every row).
            if delta.is_some() && self.sums.is_some_and(|(_, fresh)| !fresh) {
                old.clear();
                old.extend_from_slice(l);
            }
            match &mut how {
                // Bounds label the whole group at once, so that their rescans fill row blocks.
                Label::Pruned(pr, up, lo) => {
                    let (a, m, w) = (sb * step, l.len(), pr.width());
                    let (u, lw) = (&mut up[a..a + m], &mut lo[a * w..(a + m) * w]);
                    scanned += pr.label_rows(isa, x, self.norms, r0, l, u, lw, &mut bs, &mut pb);
                }
                Label::Dense(pc, sc) => {
                    for (blk, lb) in l.chunks_mut(ROW_BLOCK).enumerate() {
                        let a = sb * step + blk * ROW_BLOCK;
                        let s = &mut sc[a..a + lb.len()];
                        assign_rows(isa, x, pc, r0 + blk * ROW_BLOCK, lb, s, &mut bs);
                        scanned += lb.len();
                    }
                }
            }
            if let (Some(dl), Some((t, fresh))) = (delta.as_deref_mut(), self.sums) {
                if fresh {
                    for (o, &b) in l.iter().enumerate() {
                        dl.row::<false>(t, x.row(r0 + o), r0 + o, b as usize);
                    }
                } else {
                    for (o, (&a, &b)) in old.iter().zip(l.iter()).enumerate() {
                        let i = r0 + o;
                        if a != b {
                            dl.row::<true>(t, x.row(i), i, a as usize);
                            dl.row::<false>(t, x.row(i), i, b as usize);
                        }
                    }
                }
            }
        }
        scanned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::validate;
    use crate::kmeans::sums::Sums;
    use crate::kmeans::Silent;
    use crate::linalg::assign;
    use crate::rng::Rng;

    #[test]
    fn labels_equal_the_plain_pass_at_any_thread_count_and_group() {
        // The chunked pass (any thread count, any group size) gives the labels and scores of
        // the plain assignment pass.
        let mut r = Rng::new(11);
        for &(n, d, k) in &[
            (5000usize, 13usize, 30usize),
            (700, 40, 20),
            (12_000, 12, 40),
            (1, 3, 1),
        ] {
            let data: Vec<f32> = (0..n * d).map(|_| r.normal() as f32).collect();
            let x = MatrixView::new(&data, n, d).unwrap();
            assert!(eligible(n, k, d));
            for metric in [Metric::L2, Metric::Cosine] {
                let norms = validate(x, metric).unwrap();
                let mut c: Vec<f32> = (0..k * d).map(|_| r.normal() as f32).collect();
                if metric == Metric::Cosine {
                    crate::kmeans::init::normalize_rows(&mut c, d);
                }
                let pc = PackedCentroids::new(&c, k, d, metric);
                let mut c2: Vec<f32> = c.iter().map(|&v| v + 0.3 * r.normal() as f32).collect();
                if metric == Metric::Cosine {
                    crate::kmeans::init::normalize_rows(&mut c2, d);
                }
                let pc2 = PackedCentroids::new(&c2, k, d, metric);
                let want = assign(x, &pc2, &|| false).unwrap();
                let pass = |threads: usize, group: Option<usize>| {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    // Two passes gathering the sums: every row, then (other centroids) the
                    // rows that moved.
                    let (mut l, mut s) = (vec![0u32; n], vec![0f32; n]);
                    let mut sums = Sums::new(n, &norms, metric, &c, k);
                    let mut next = vec![0f32; k * d];
                    pool.install(|| {
                        for (cc, pcc, fresh) in [(&c, &pc, true), (&c2, &pc2, false)] {
                            let t = sums.terms(&norms);
                            let m = Mode::Dense(pcc, &mut s);
                            let g = Some((&t, fresh));
                            let (scanned, delta) =
                                chunked_pass(x, &norms, cc, &mut l, m, g, &Silent, group).unwrap();
                            assert_eq!(scanned, n);
                            sums.add(delta.unwrap(), fresh);
                        }
                    });
                    let u = sums.update(x, &norms, &l, &c, &mut next);
                    let mut tracked = Sums::new(n, &norms, metric, &c, k);
                    tracked.track(x, &norms, &l, &l);
                    let mut want = vec![0f32; k * d];
                    let v = tracked.update(x, &norms, &l, &c, &mut want);
                    assert_eq!(next, want);
                    assert_eq!(u.objective.to_bits(), v.objective.to_bits());
                    (l, s.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
                };
                let one = pass(1, None);
                assert_eq!(one.0, want.labels, "{metric:?} n={n}");
                for (t, g) in [
                    (2, None),
                    (3, None),
                    (7, None),
                    (2, Some(ROW_BLOCK)),
                    (3, Some(2 * ROW_BLOCK)),
                    (2, Some(chunk_rows(n))),
                ] {
                    assert_eq!(pass(t, g), one, "{metric:?} threads={t} group={g:?}");
                }
            }
        }
    }

    #[test]
    fn eligibility_is_static_and_bounded() {
        assert_eq!(chunk_rows(100), 256);
        assert_eq!(chunk_rows(1 << 30), 4096);
        assert!(eligible(131072, 256, 64));
        assert!(!eligible(131072, 1024, 64));
        assert!(!eligible(1797, 40, 64));
        assert!(!eligible(1 << 20, 100, 3000));
        // Grouping: a row block up to GROUP_K_MAX; beyond, the blocks of GROUP_BYTES of rows
        // within a chunk while they hold a row per cluster on average, else row by row.
        assert_eq!(group_rows(GROUP_K_MAX, 384, 640), ROW_BLOCK);
        assert_eq!(group_rows(80, 384, 640), 128);
        assert_eq!(group_rows(129, 384, 640), 0);
        assert_eq!(group_rows(256, 50, 4096), 1280);
        assert_eq!(group_rows(64, 768, 4096), 64);
        assert_eq!(group_rows(100, 4, 256), 256);
    }
}
