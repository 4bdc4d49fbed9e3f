//! Lloyd's assignment and update in one pass over the rows.
//!
//! When k·d is small the Lloyd iteration is bound by reading x, and the separate update
//! ([`super::update`]) reads it a second time. Here the rows are cut into fixed chunks of
//! [`chunk_rows`]`(n)` rows; a chunk is labelled one [`ROW_BLOCK`] at a time and each block's
//! rows, still in cache, are added into the chunk's own per-cluster f64 partials, with the
//! same per-element arithmetic as the update:
//!
//! * `S_c[j] = Σ_{i ∈ chunk c, l(i) = j} s_i·x_i` (s_i = 1, or 1/‖x_i‖ for cosine),
//! * `n_c[j]` = member count, and objective lanes `E_c[j]` receiving `(s_i·x_ip − c_jp)²`
//!   ([`simd::vector::accumulate`]).
//!
//! The rows are grouped by cluster and each group is added by
//! [`simd::vector::accumulate_group`], so a cluster's partials are read and written once per
//! group rather than once per row (the f64 partials otherwise made the pass bound by L2
//! traffic: 70k × 784, k = 10 spent ~14 ms of a 34 ms iteration adding rows). With
//! k ≤ [`GROUP_K_MAX`] a group is one row block; with more clusters a block holds too few
//! rows per cluster, so the rows of several blocks are labelled first and then grouped,
//! as many as fit [`GROUP_BYTES`] (still in L2) while they hold at least one row per cluster
//! on average ([`group_rows`]; beyond that, rows are added one by one): 20 Newsgroups
//! 18 846 × 384 Lloyd phase, l2 k = 40: 67/58 → 54/54 ms; cosine k = 80: 156/158/152 →
//! 146/146/144 ms (`examples/fit_file`, 2 threads, min of 5, alternating). While a group is
//! added up, the next one's rows are prefetched into L2 (`ahead` of
//! [`simd::vector::accumulate_group`]), so memory keeps streaming during the additions:
//! Fashion-MNIST k = 5 full passes 17–23 → 15–17 ms, anisotropic 100k × 768 k = 32 fits
//! 0.32–0.37 → 0.25–0.27 s (`examples/fit_file`, alternating runs, same bits). Grouping
//! never changes a sum's bits (each element of a cluster's sum receives its rows in row
//! order either way); only the association of the objective's f64 terms depends on it.
//!
//! Chunks run in waves of [`WAVE`] in parallel; after each wave its partials are added into
//! the totals in chunk order, so `S[j] = (…(S_0[j] + S_1[j]) + …) + S_last[j]` has the same
//! bits at any thread count. The means (or unit directions), the objective
//! J(labels_t, C_t) = Σ_j Σ_lanes E[j] and the empty-cluster repair are then exactly those of
//! the update. The association of the sums differs from the unfused update, so which path
//! runs is a static function of (n, k, d): [`eligible`]. Backends that label rows another way
//! (Hamerly's bounds) add them up with [`update_in_chunks`], the same chunks without the
//! assignment, so at every shape all backends return the same centroids and objective bits.
//! Extra memory: (WAVE + 1)·k·(d + 9) f64, at most ~19 MiB.
//!
//! A pass may also label each group of rows with bounds first (Hamerly's, or one per
//! centroid: `super::pruned`).

use super::pruned::{Prune, PruneScratch};
use super::update::{finish_centroid, inv_norm, repair, Update};
use super::Monitor;
use crate::data::MatrixView;
use crate::error::{Error, Result};
use crate::linalg::{assign_rows, BlockScratch, PackedCentroids, ROW_BLOCK};
use crate::metric::Metric;
use crate::simd::{self, vector::ACC_LANES};
use rayon::prelude::*;

/// Cluster counts up to which a block's rows are grouped by cluster before accumulation.
const GROUP_K_MAX: usize = 32;

/// Chunks per parallel wave (fixed: it must not depend on the thread count).
pub(crate) const WAVE: usize = 8;

/// Rows per chunk: n/32 rounded up to a row block, within [256, 4096].
pub(crate) fn chunk_rows(n: usize) -> usize {
    (n / 32).next_multiple_of(ROW_BLOCK).clamp(256, 4096)
}

/// Whether the fused pass is used: k·d ≤ 2¹⁸ (partials ≤ 2 MiB each) and k ≤ chunk/8, so
/// that merging a chunk's partials costs at most ~1/8 of reading its rows.
pub(crate) fn eligible(n: usize, k: usize, d: usize) -> bool {
    k * d <= 1 << 18 && 8 * k <= chunk_rows(n)
}

/// Bytes of f32 rows a group of [`group_rows`] may span: labelled by the kernel, they are
/// read again to be added up while still in L2 (512 KiB on AMD Zen 2/3). 512 KiB was no
/// faster on 20 Newsgroups l2 k = 40 (Lloyd phase 56/66 ms against 54/54).
const GROUP_BYTES: usize = 256 << 10;

/// Fewest rows per cluster, on average, for which a group of more than a row block pays
/// (one: 20 Newsgroups cosine k = 80, 128-row groups, gains the 6% quoted in the module doc).
const GROUP_MIN_PER_CLUSTER: usize = 1;

/// Rows whose additions are grouped by cluster at a time, within chunks of `chunk` rows: a
/// row block for k ≤ [`GROUP_K_MAX`]; for larger k, the whole row blocks that fit
/// [`GROUP_BYTES`] (at most a chunk) when they hold at least [`GROUP_MIN_PER_CLUSTER`]
/// rows per cluster on average, else 0 (each row added alone; with k above the group's rows
/// most groups would be empty or single rows). A static function of (n, k, d), as the
/// association of the objective's sums depends on it.
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
    /// It does not: the labels are given (an update alone).
    Keep,
    /// Every row through the kernel, with its score.
    Dense(&'a PackedCentroids, &'a mut [f32]),
    /// Bounds first (the upper bound of every row and Hamerly's lower bound, or k lower
    /// bounds: `Prune::width`).
    Pruned(&'a Prune<'a>, &'a mut [f32], &'a mut [f32]),
}

/// [`Mode`] for one chunk (its slices of the score or bound buffers).
enum Label<'a> {
    Keep,
    Dense(&'a PackedCentroids, &'a mut [f32]),
    Pruned(&'a Prune<'a>, &'a mut [f32], &'a mut [f32]),
}

/// Per-chunk (or total) partial sums.
struct Partial {
    sums: Vec<f64>,
    lanes: Vec<[f64; ACC_LANES]>,
    counts: Vec<usize>,
}

impl Partial {
    fn new(k: usize, d: usize) -> Self {
        Partial {
            sums: vec![0.0; k * d],
            lanes: vec![[0.0; ACC_LANES]; k],
            counts: vec![0; k],
        }
    }
    fn clear(&mut self) {
        self.sums.fill(0.0);
        self.lanes.fill([0.0; ACC_LANES]);
        self.counts.fill(0);
    }
    fn add(&mut self, o: &Partial) {
        for (a, b) in self.sums.iter_mut().zip(&o.sums) {
            *a += b;
        }
        for (a, b) in self.lanes.iter_mut().zip(&o.lanes) {
            for l in 0..ACC_LANES {
                a[l] += b[l];
            }
        }
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
    }
}

/// Labels every row of `x` with its nearest centroid of `c` (k × d, row-major) into `labels`
/// (scores into `scores`), and computes the next centroids into `new_c` with the objective of
/// this assignment against `c`. Requires [`eligible`]`(n, k, d)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn assign_update(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    c: &[f32],
    labels: &mut [u32],
    scores: &mut [f32],
    new_c: &mut [f32],
    mon: &dyn Monitor,
) -> Result<Update> {
    assert_eq!(scores.len(), labels.len());
    let pc = PackedCentroids::new(c, c.len() / x.d(), x.d(), metric);
    let (u, _) = chunked_pass(
        x,
        norms,
        metric,
        c,
        labels,
        Mode::Dense(&pc, scores),
        new_c,
        mon,
        None,
    )?;
    Ok(u)
}

/// The update of [`assign_update`] alone, for labels computed by another exact backend
/// (Hamerly's): the same chunks, the same per-element arithmetic and the same order of the
/// sums, so given the same labels it returns the same bits as the fused pass. With it every
/// backend gives Lloyd's centroids bit for bit at the shapes where Lloyd fuses. Requires
/// [`eligible`]`(n, k, d)`.
pub(crate) fn update_in_chunks(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    c: &[f32],
    labels: &mut [u32],
    new_c: &mut [f32],
    mon: &dyn Monitor,
) -> Result<Update> {
    let (u, _) = chunked_pass(x, norms, metric, c, labels, Mode::Keep, new_c, mon, None)?;
    Ok(u)
}

/// The chunked pass: when `scores` is given, each row block is labelled first (into
/// `labels` and `scores`); then its rows are added into the chunk's partials, grouped by
/// cluster `group` rows at a time (`None`: [`group_rows`]; tests force the others).
#[allow(clippy::too_many_arguments)]
pub(super) fn chunked_pass(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    c: &[f32],
    labels: &mut [u32],
    mode: Mode<'_>,
    new_c: &mut [f32],
    mon: &dyn Monitor,
    group: Option<usize>,
) -> Result<(Update, usize)> {
    let (n, d) = (x.n(), x.d());
    let k = c.len() / d;
    debug_assert!(eligible(n, k, d));
    let isa = simd::active();
    let mut mode = mode;
    let c64: Vec<f64> = c.iter().map(|&v| v as f64).collect();
    let ch = chunk_rows(n);
    let nchunks = n.div_ceil(ch);
    let mut total = Partial::new(k, d);
    let mut parts: Vec<Partial> = (0..WAVE.min(nchunks)).map(|_| Partial::new(k, d)).collect();
    let ctx = Ctx {
        isa,
        x,
        norms,
        metric,
        c64: &c64,
        k,
        group: group.unwrap_or_else(|| group_rows(k, d, ch)),
    };
    let mut scanned = 0usize;
    for w0 in (0..nchunks).step_by(WAVE) {
        if mon.cancelled() {
            return Err(Error::Interrupted);
        }
        let w1 = (w0 + WAVE).min(nchunks);
        let (a, b) = (w0 * ch, (w1 * ch).min(n));
        // One labelling per chunk of the wave, then the chunks in parallel.
        let labs: Vec<(usize, &mut [u32], Label<'_>)> = match &mut mode {
            Mode::Keep => labels[a..b]
                .chunks_mut(ch)
                .enumerate()
                .map(|(q, l)| (a + q * ch, l, Label::Keep))
                .collect(),
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
        scanned += labs
            .into_par_iter()
            .zip(parts.par_iter_mut())
            .map(|((c0, lab, how), part)| ctx.chunk(c0, lab, how, part))
            .sum::<usize>();
        for part in &parts[..w1 - w0] {
            total.add(part);
        }
    }
    let mut objective = 0f64;
    for j in 0..k {
        objective += total.lanes[j].iter().sum::<f64>();
        if total.counts[j] > 0 {
            finish_centroid(
                metric,
                total.counts[j],
                &total.sums[j * d..(j + 1) * d],
                &c[j * d..(j + 1) * d],
                &mut new_c[j * d..(j + 1) * d],
            );
        }
    }
    Ok((
        Update {
            objective,
            empty_splits: repair(x, norms, metric, labels, &total.counts, new_c),
        },
        scanned,
    ))
}

/// What every chunk of one pass shares.
struct Ctx<'a> {
    isa: simd::Isa,
    x: MatrixView<'a>,
    norms: &'a [f32],
    metric: Metric,
    c64: &'a [f64],
    k: usize,
    /// Rows grouped by cluster at a time ([`group_rows`]; 0: each row added alone).
    group: usize,
}

impl Ctx<'_> {
    /// One chunk starting at row `c0`: per row block, label it (when `assign` is given),
    /// then add its rows into `part`.
    fn chunk(&self, c0: usize, lab: &mut [u32], mut how: Label<'_>, part: &mut Partial) -> usize {
        let (x, d, k, isa, metric) = (self.x, self.x.d(), self.k, self.isa, self.metric);
        part.clear();
        let mut bs = BlockScratch::default();
        let (mut order, mut scales, mut start) = (Vec::new(), Vec::new(), Vec::new());
        let (mut scanned, mut pb) = (0usize, PruneScratch::default());
        let cosine = metric == Metric::Cosine;
        // Rows labelled, then added up, at a time: a group (see `group_rows`) or, when rows
        // are added one by one, a row block.
        let step = self.group.max(ROW_BLOCK);
        for (sb, l) in lab.chunks_mut(step).enumerate() {
            let r0 = c0 + sb * step;
            // Bounds label the whole group at once, so that their rescans fill row blocks.
            if let Label::Pruned(pr, up, lo) = &mut how {
                let (a, m, w) = (sb * step, l.len(), pr.width());
                let (u, lw) = (&mut up[a..a + m], &mut lo[a * w..(a + m) * w]);
                scanned += pr.label_rows(isa, x, self.norms, r0, l, u, lw, &mut bs, &mut pb);
            }
            for (blk, lb) in l.chunks_mut(ROW_BLOCK).enumerate() {
                let a = sb * step + blk * ROW_BLOCK;
                let rb = r0 + blk * ROW_BLOCK;
                match &mut how {
                    Label::Keep => {}
                    Label::Dense(pc, sc) => {
                        let s = &mut sc[a..a + lb.len()];
                        assign_rows(isa, x, pc, rb, lb, s, &mut bs);
                        scanned += lb.len();
                    }
                    Label::Pruned(..) => {}
                }
            }
            if self.group == 0 {
                for (o, &j) in l.iter().enumerate() {
                    let (i, j) = (r0 + o, j as usize);
                    part.counts[j] += 1;
                    simd::vector::accumulate(
                        isa,
                        x.row(i),
                        inv_norm(metric, self.norms, i),
                        &self.c64[j * d..(j + 1) * d],
                        &mut part.sums[j * d..(j + 1) * d],
                        &mut part.lanes[j],
                    );
                }
                continue;
            }
            // Counting sort by cluster, stable in the row: the same groups in the same order
            // as sorting the (cluster, row) pairs, without the sort (~5% of a digits
            // 1797 × 64, k = 10 fit on one thread).
            start.clear();
            start.resize(k + 1, 0u32);
            for &j in l.iter() {
                start[j as usize + 1] += 1;
            }
            for j in 0..k {
                start[j + 1] += start[j];
            }
            order.resize(l.len(), 0u32);
            for (o, &j) in l.iter().enumerate() {
                let f = &mut start[j as usize];
                order[*f as usize] = (r0 + o) as u32;
                *f += 1;
            }
            // `start[j]` now ends group j (and starts group j + 1).
            let mut g0 = 0;
            for j in 0..k {
                let g1 = start[j] as usize;
                let rows = &order[g0..g1];
                g0 = g1;
                if rows.is_empty() {
                    continue;
                }
                scales.clear();
                if cosine {
                    scales.extend(
                        rows.iter()
                            .map(|&i| inv_norm(metric, self.norms, i as usize)),
                    );
                }
                part.counts[j] += rows.len();
                simd::vector::accumulate_group(
                    isa,
                    x.as_slice(),
                    d,
                    rows,
                    cosine.then_some(&scales[..]),
                    &self.c64[j * d..(j + 1) * d],
                    &mut part.sums[j * d..(j + 1) * d],
                    &mut part.lanes[j],
                    step * d,
                );
            }
        }
        scanned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::validate;
    use crate::kmeans::Silent;
    use crate::linalg::assign;
    use crate::rng::Rng;

    fn run(
        x: MatrixView<'_>,
        norms: &[f32],
        metric: Metric,
        c: &[f32],
        threads: usize,
    ) -> (Vec<u32>, Vec<f32>, u64, usize) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let n = x.n();
        let (mut l, mut s, mut nc) = (vec![0; n], vec![0.0; n], vec![0.0; c.len()]);
        let u = pool
            .install(|| assign_update(x, norms, metric, c, &mut l, &mut s, &mut nc, &Silent))
            .unwrap();
        (l, nc, u.objective.to_bits(), u.empty_splits)
    }

    #[test]
    fn equals_assign_then_naive_means_at_any_thread_count() {
        let mut r = Rng::new(11);
        for &(n, d, k) in &[
            (5000usize, 13usize, 30usize),
            (700, 40, 20),
            (12_000, 9, 40),
            (1, 3, 1),
        ] {
            let data: Vec<f32> = (0..n * d).map(|_| r.normal() as f32).collect();
            let x = MatrixView::new(&data, n, d).unwrap();
            for metric in [Metric::L2, Metric::Cosine] {
                assert!(eligible(n, k, d));
                let norms = validate(x, metric).unwrap();
                let mut c: Vec<f32> = (0..k * d).map(|_| r.normal() as f32).collect();
                if metric == Metric::Cosine {
                    crate::kmeans::init::normalize_rows(&mut c, d);
                } else if k > 1 {
                    // A far centroid stays empty: the repair runs inside the fused path.
                    c[(k - 1) * d..].fill(1e3);
                }
                let one = run(x, &norms, metric, &c, 1);
                assert_eq!(one.3 > 0, metric == Metric::L2 && k > 1);
                for t in [2, 3, 7] {
                    assert_eq!(run(x, &norms, metric, &c, t), one, "{metric:?} threads={t}");
                }
                // Labels equal the plain assignment pass.
                let pc = PackedCentroids::new(&c, k, d, metric);
                assert_eq!(one.0, assign(x, &pc, &|| false).unwrap().labels);
                // Non-empty clusters get the naive mean (L2) / direction (cosine), and the
                // objective is the naive f64 one.
                let mut obj = 0f64;
                for j in 0..k {
                    let m: Vec<usize> = (0..n).filter(|&i| one.0[i] as usize == j).collect();
                    for &i in &m {
                        let s = inv_norm(metric, &norms, i);
                        obj += (0..d)
                            .map(|p| (x.row(i)[p] as f64 * s - c[j * d + p] as f64).powi(2))
                            .sum::<f64>();
                    }
                    if m.is_empty() {
                        continue;
                    }
                    let sum: Vec<f64> = (0..d)
                        .map(|p| {
                            m.iter()
                                .map(|&i| x.row(i)[p] as f64 * inv_norm(metric, &norms, i))
                                .sum()
                        })
                        .collect();
                    let nn = sum.iter().map(|v| v * v).sum::<f64>().sqrt();
                    for p in 0..d {
                        let want = match metric {
                            Metric::L2 => sum[p] / m.len() as f64,
                            Metric::Cosine => sum[p] / nn,
                        };
                        let got = one.1[j * d + p] as f64;
                        assert!((got - want).abs() <= 1e-5 * (1.0 + want.abs()), "{j} {p}");
                    }
                }
                let got = f64::from_bits(one.2);
                assert!((got - obj).abs() <= 1e-9 * obj, "{got} vs {obj}");
            }
        }
    }

    #[test]
    fn grouping_changes_only_the_association_of_the_objective() {
        // Rows added one by one (0), per row block, or in groups of several blocks: the same
        // labels and centroid bits (each element's sum receives a cluster's rows in order),
        // and the objective up to rounding. k = 40 > GROUP_K_MAX, n spans several chunks.
        let (n, d, k) = (12_000usize, 12usize, 40usize);
        let mut r = Rng::new(8);
        let data: Vec<f32> = (0..n * d).map(|_| r.normal() as f32).collect();
        let x = MatrixView::new(&data, n, d).unwrap();
        assert!(eligible(n, k, d));
        assert_eq!(group_rows(k, d, chunk_rows(n)), chunk_rows(n));
        for metric in [Metric::L2, Metric::Cosine] {
            let norms = validate(x, metric).unwrap();
            let mut c: Vec<f32> = (0..k * d).map(|_| r.normal() as f32).collect();
            if metric == Metric::Cosine {
                crate::kmeans::init::normalize_rows(&mut c, d);
            }
            let pass = |group: usize| {
                let (mut l, mut s, mut nc) = (vec![0; n], vec![0.0; n], vec![0.0; k * d]);
                let pc = PackedCentroids::new(&c, k, d, metric);
                let (u, scanned) = chunked_pass(
                    x,
                    &norms,
                    metric,
                    &c,
                    &mut l,
                    Mode::Dense(&pc, &mut s),
                    &mut nc,
                    &Silent,
                    Some(group),
                )
                .unwrap();
                assert_eq!(scanned, n);
                let bits: Vec<u32> = nc.iter().map(|v| v.to_bits()).collect();
                (l, bits, u.objective)
            };
            let one = pass(0);
            for group in [ROW_BLOCK, 2 * ROW_BLOCK, chunk_rows(n)] {
                let g = pass(group);
                assert_eq!((&g.0, &g.1), (&one.0, &one.1), "{metric:?} group={group}");
                assert!(
                    (g.2 - one.2).abs() <= 1e-12 * one.2,
                    "{metric:?} group={group}"
                );
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
