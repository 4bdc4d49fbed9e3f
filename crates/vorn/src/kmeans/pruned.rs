//! Bound-pruned Lloyd passes: Hamerly's (or Elkan's) tests per group of rows inside the
//! chunked labelling pass.
//!
//! In [`label_pruned`] each group of rows of the chunked pass (`super::chunked`) is
//! labelled with Hamerly's bounds (`super::hamerly` has the maths and the proof that the
//! labels are Lloyd's): a row whose bounds, moved by the centroids' drift, prove that its label stays
//! costs a bound test; the others are tightened with one exact distance and, if still
//! undecided, copied into a small buffer and rescanned by the kernel's top-2 pass, which
//! //! renews their bounds: the labels of the dense pass, and a settled row is not read at all
//! (the cluster sums move only the rows that changed cluster, `super::sums`). Extra memory:
//! two f32 bounds per row and the previous centroids.
//!
//! With a lower bound per row and centroid (Elkan's, C. Elkan, "Using the triangle
//! inequality to accelerate k-means", ICML 2003; [`Bounds::new`]), l_ij ≤ ‖x_i − c_j‖ drops
//! by c_j's own drift δ_j instead of the largest one (`simd::bounds` has the rounding), the
//! row keeps its label when min_{j≠a} l_ij (with 2s_a − u_i, as in Hamerly's test) beats
//! u_i by the same margin, and a rescanned row gets all k kernel scores (`scores_block`),
//! whose first least is Lloyd's label and each of which, widened by the margin, renews
//! its bound. Rows are tested a group at a time, those the moved bounds leave open are
//! tightened in a second loop that prefetches the next such row (these distances are 27% of
//! a Fashion-MNIST k = 40 fit, `perf`, now that nothing else reads those rows; the prefetch
//! took a warm fit from 338 to 330 ms, one pair of runs). A row they still leave open whose
//! bounds exclude all but one or two other centroids gets those distances alone (Elkan's
//! step, [`settle`]): with a margin between the nearest and the rest it is settled without
//! the kernel, and the computed distances renew those bounds. The others, and near ties,
//! are rescanned in row blocks. Extra memory: 4·n·k bytes
//! (`super::lloyd::PER_CENTROID_BYTES` bounds it).
//!
//! Used by `auto`'s Lloyd from `super::lloyd::PRUNE_MIN_D` dimensions and by the named
//! Hamerly wherever Lloyd labels in chunks; `super::lloyd::run` backs off to dense passes when the
//! bounds stop pruning.

use super::chunked::{chunked_pass, pass_with_sums, Mode};
use super::hamerly::{beats, bounds_from_scores, dist, margin, margin_terms, rel_err, Drift};
use super::sums::Sums;
use super::Monitor;
use crate::data::MatrixView;
use crate::error::Result;
use crate::linalg::{scores_block, top2_block, BlockScratch, PackedCentroids, ROW_BLOCK};
use crate::metric::Metric;
use crate::simd::{self, bounds, Isa};

/// Hamerly's bounds between the pruned passes of one run ([`label_pruned`]): per row,
/// an upper bound on the distance to its centroid and a lower bound on the distance to every
/// other, valid for the centroids `prev` of the last pass (none before the first).
///
/// Or, from [`Bounds::new`]`(true)`, a lower bound per row and centroid (Elkan's, k per row,
/// +∞ at the row's own label).
#[derive(Default)]
pub(crate) struct Bounds {
    upper: Vec<f32>,
    lower: Vec<f32>,
    prev: Vec<f32>,
    per_centroid: bool,
}

impl Bounds {
    /// Empty bounds that will keep a lower bound per centroid (Elkan's) when `per_centroid`,
    /// else Hamerly's one.
    pub fn new(per_centroid: bool) -> Self {
        Bounds {
            per_centroid,
            ..Bounds::default()
        }
    }

    /// Whether the next pass computes the bounds afresh (every row scanned).
    pub fn fresh(&self) -> bool {
        self.prev.is_empty()
    }

    /// Drops the bounds: the next pass scans every row.
    pub fn reset(&mut self) {
        self.prev.clear();
    }
}

/// What the pruned labelling of one pass shares (see `super::hamerly` for the maths).
pub(super) struct Prune<'a> {
    pc: &'a PackedCentroids,
    /// Row-major centroids (for the tightening distances).
    c: &'a [f32],
    /// Movement since the bounds were computed; `None` on the first pass (no bounds yet:
    /// every row is scanned).
    drift: Option<Drift>,
    maxc: f64,
    cdefect: f64,
    eps: f64,
    /// Per-centroid lower bounds (k per row): the drift of each, as f32 rounded up.
    per: Option<Vec<f32>>,
}

/// Per-worker buffers of [`Prune::label_rows`].
#[derive(Default)]
pub(super) struct PruneScratch {
    todo: Vec<usize>,
    /// Rows to tighten (with their least other bound), per-centroid bounds.
    pending: Vec<(u32, f32)>,
    rows: Vec<f32>,
    res: Vec<(u32, f32, f32)>,
    scores: Vec<f32>,
    /// Distances to the centroids a row's bounds leave open ([`settle`]).
    near: Vec<(u32, f64)>,
}

/// Most centroids a row's bounds may leave open for [`settle`] to compute their distances
/// one by one; with more the row is rescanned (all k kernel scores, all bounds renewed).
/// Measured (`examples/fit_file`, 2 threads, 25 iterations, median of 5 of the summed
/// per-pass times, without → with at most 1 / 2 / 3 open): 20 Newsgroups l2 k = 80 118.5 ms
/// → 114.4 / 109.5 / 111.2, cosine k = 80 111.1 → 104.2 / 103.0 / 99.5, cosine k = 40
/// 55.5 → 50.3 / 48.8 / 50.9, Fashion-MNIST l2 k = 40 161.7 → 154.6 / 143.6 / 160.9,
/// cosine k = 40 291.7 → 261.0 / 253.5 / 250.4, anisotropic k = 64 212.6 → 200.9 / 211.5 /
/// 210.9. Up to k/4 open (an earlier round) lost: 20 Newsgroups l2 k = 80 117.4 → 121.1,
/// cosine k = 80 127.9 → 149.5, anisotropic k = 64 219.1 → 238.6; a settled row keeps loose
/// bounds on the others and fails again soon (3.7× the failing rows on 20 Newsgroups l2
/// k = 80).
const SETTLE_MAX: usize = 2;

impl Prune<'_> {
    /// Lower bounds kept per row: k (per centroid) or 1.
    pub(super) fn width(&self) -> usize {
        if self.per.is_some() {
            self.pc.k()
        } else {
            1
        }
    }

    /// Labels rows `r0..r0 + lab.len()` (`lab` holds their previous labels) and renews their
    /// bounds `up`, `lo` (`Prune::width` per row). A row keeps its label when its bounds,
    /// moved by the drift, prove that every other centroid's kernel score exceeds its own
    /// centroid's (also after tightening the upper bound with one exact distance); the other
    /// rows are gathered, [`ROW_BLOCK`] at a time, and get their label and new bounds from
    /// the kernel (top-2 scores, or every score with per-centroid bounds): Lloyd's labels
    /// either way. The rows to rescan are collected over all of `lab` (a group of
    /// `super::chunked::group_rows` rows) before any kernel runs, so the kernel reads the
    /// centroid panels once per block of up to [`ROW_BLOCK`] failing rows, not once per
    /// handful of them (20 Newsgroups l2 k = 80, per-centroid bounds, iterations, min of 5:
    /// 127–129 → 124–126 ms). Returns the number of rows scanned.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn label_rows(
        &self,
        isa: Isa,
        x: MatrixView<'_>,
        norms: &[f32],
        r0: usize,
        lab: &mut [u32],
        up: &mut [f32],
        lo: &mut [f32],
        bs: &mut BlockScratch,
        ps: &mut PruneScratch,
    ) -> usize {
        let (d, k, m, w) = (x.d(), self.pc.k(), lab.len(), self.width());
        let e_of = |i: usize| margin(d, norms[i], self.maxc, self.cdefect);
        ps.todo.clear();
        match (&self.drift, &self.per) {
            (None, _) => ps.todo.extend(0..m),
            (Some(dr), None) => {
                for o in 0..m {
                    let (i, a) = (r0 + o, lab[o] as usize);
                    let ca = &self.c[a * d..(a + 1) * d];
                    let tighten = || dist(x.row(i), ca) * (1.0 + self.eps);
                    if !dr.keeps_label(a, e_of(i), &mut up[o], &mut lo[o], tighten) {
                        ps.todo.push(o);
                    }
                }
            }
            (Some(dr), Some(moved)) => {
                // Each bound drops by its own centroid's drift, so a centroid that moved far
                // weakens only its own bound (Hamerly's single bound drops by the largest
                // drift of all); +∞, the own label's slot, stays +∞. Rows the moved bounds
                // do not settle are tightened in a second loop that prefetches the next
                // such row while it computes a distance (they are read from memory: the
                // settled rows are not read at all).
                ps.pending.clear();
                for o in 0..m {
                    let a = lab[o] as usize;
                    let least = bounds::drop_bounds(isa, &mut lo[o * k..(o + 1) * k], moved);
                    if !dr.keeps_before_tightening(a, e_of(r0 + o), &mut up[o], least as f64) {
                        ps.pending.push((o as u32, least));
                    }
                }
                let pend = &ps.pending;
                for (q, &(o, least)) in pend.iter().enumerate() {
                    if let Some(&(nx, _)) = pend.get(q + 2) {
                        simd::prefetch(x.row(r0 + nx as usize));
                    }
                    let (o, i) = (o as usize, r0 + o as usize);
                    let a = lab[o] as usize;
                    let uu = dist(x.row(i), &self.c[a * d..(a + 1) * d]) * (1.0 + self.eps);
                    let e = e_of(i);
                    if !dr.keeps_after_tightening(a, e, &mut up[o], least as f64, uu) {
                        let lo_row = &mut lo[o * k..(o + 1) * k];
                        let (c, eps) = (self.c, self.eps);
                        match settle(c, eps, x.row(i), a, uu, e, lo_row, &mut ps.near) {
                            Some((b, ub)) => {
                                lab[o] = b as u32;
                                up[o] = ub;
                            }
                            None => ps.todo.push(o),
                        }
                    }
                }
            }
        }
        let t = ps.todo.len();
        let PruneScratch {
            todo,
            rows,
            res,
            scores,
            ..
        } = ps;
        for batch in todo.chunks(ROW_BLOCK) {
            let b = batch.len();
            // A run of consecutive rows is read in place, the others are gathered.
            let (g, g0) = if batch[b - 1] - batch[0] + 1 == b {
                (x, r0 + batch[0])
            } else {
                rows.clear();
                for &o in batch {
                    rows.extend_from_slice(x.row(r0 + o));
                }
                (MatrixView::new(rows, b, d).expect("b rows of d"), 0)
            };
            if self.per.is_none() {
                res.resize(b, (0, 0.0, 0.0));
                top2_block(isa, g, self.pc, g0, res, bs);
                for (&o, r) in batch.iter().zip(res.iter()) {
                    lab[o] = r.0;
                    let (u, l) = bounds_from_scores(norms[r0 + o], r.1, r.2, e_of(r0 + o));
                    up[o] = u;
                    lo[o] = l;
                }
                continue;
            }
            // Every score: the first least is Lloyd's label, each score a lower bound.
            scores.resize(b * k, 0.0);
            scores_block(isa, g, self.pc, g0, scores, bs);
            for (&o, s) in batch.iter().zip(scores.chunks_exact(k)) {
                let i = r0 + o;
                let (mut best, mut a) = (s[0], 0usize);
                for (j, &v) in s.iter().enumerate().skip(1) {
                    if v < best {
                        best = v;
                        a = j;
                    }
                }
                lab[o] = a as u32;
                let (e, n2) = (e_of(i), norms[i]);
                up[o] = (((n2 as f64 + best as f64 + e).max(0.0)).sqrt() as f32).next_up();
                let row = &mut lo[o * w..(o + 1) * w];
                bounds::bounds_from_scores(isa, s, n2, (e as f32).next_up(), row);
                row[a] = f32::INFINITY;
            }
        }
        t
    }
}

/// Elkan's step for a row (label `a`, tightened upper bound `uu`, margin `e`) whose
/// per-centroid bounds `lo` left it open: the distances to the centroids j those bounds do
/// not exclude (l_j ≤ √(uu² + 2e)) are computed one by one, each within `dist · (1 ± eps)`
/// of the true one (`c`: row-major centroids). When the least upper bound u_b beats every
/// other lower bound l by the margin (l > u_b and l² − u_b² > 2e, the test that keeps a
/// label), every other kernel score exceeds c_b's, so b is the dense pass's label: returns
/// b and u_b (rounded up) and stores the computed lower bounds in `lo` (the others stay,
/// still valid; +∞ at b). Returns `None`, `lo` untouched, when more than [`SETTLE_MAX`]
/// centroids are open or two are within the margin (a near tie that only the kernel's
/// scores decide): the row is then rescanned.
#[allow(clippy::too_many_arguments)]
fn settle(
    c: &[f32],
    eps: f64,
    xi: &[f32],
    a: usize,
    uu: f64,
    e: f64,
    lo: &mut [f32],
    near: &mut Vec<(u32, f64)>,
) -> Option<(usize, f32)> {
    let d = xi.len();
    let open = ((uu * uu + 2.0 * e).sqrt() as f32).next_up();
    near.clear();
    for (j, &l) in lo.iter().enumerate() {
        if l <= open && j != a {
            if near.len() == SETTLE_MAX {
                return None;
            }
            near.push((j as u32, 0.0));
        }
    }
    // The own centroid's distance lies in [uu·(1 − eps)/(1 + eps), uu].
    let (mut b, mut ub) = (a, uu);
    for (j, v) in near.iter_mut() {
        let cj = &c[*j as usize * d..(*j as usize + 1) * d];
        *v = dist(xi, cj);
        if *v * (1.0 + eps) < ub {
            (b, ub) = (*j as usize, *v * (1.0 + eps));
        }
    }
    let low_a = uu * (1.0 - eps) / (1.0 + eps);
    if (b != a && !beats(low_a, ub, e))
        || near
            .iter()
            .any(|&(j, v)| j as usize != b && !beats(v * (1.0 - eps), ub, e))
    {
        return None;
    }
    let down = |l: f64| (l as f32).next_down().max(0.0);
    for &(j, v) in near.iter() {
        lo[j as usize] = down(v * (1.0 - eps));
    }
    if b != a {
        lo[a] = down(low_a);
    }
    lo[b] = f32::INFINITY;
    Some((b, (ub as f32).next_up()))
}

/// [`super::chunked::label_chunks`] with Hamerly's bounds: rows whose bounds prove that their label cannot
/// change keep it without a distance, the others are rescanned (see [`Bounds`]); the same
/// labels, centroids and objective as `label_chunks`, bit for bit. Returns the update and
/// the number of rescanned rows. `bounds` carries the state from pass to pass of one run.
#[allow(clippy::too_many_arguments)]
pub(crate) fn label_pruned(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    c: &[f32],
    labels: &mut [u32],
    bounds: &mut Bounds,
    sums: Option<&mut Sums>,
    mon: &dyn Monitor,
) -> Result<usize> {
    let (n, d) = (x.n(), x.d());
    let k = c.len() / d;
    let pc = PackedCentroids::new(c, k, d, metric);
    let first = bounds.prev.len() != c.len() || bounds.upper.len() != n;
    let w = if bounds.per_centroid { k } else { 1 };
    bounds.upper.resize(n, 0.0);
    bounds.lower.resize(n * w, 0.0);
    let eps = rel_err(d);
    let (maxc, cdefect) = margin_terms(c, d, metric);
    let drift = (!first).then(|| Drift::new(c, &bounds.prev, d, eps));
    let per = bounds.per_centroid.then(|| match &drift {
        Some(dr) => dr.delta.iter().map(|&v| (v as f32).next_up()).collect(),
        None => Vec::new(),
    });
    let pr = Prune {
        pc: &pc,
        c,
        drift,
        maxc,
        cdefect,
        eps,
        per,
    };
    let (upper, lower) = (&mut bounds.upper, &mut bounds.lower);
    let res = pass_with_sums(sums, norms, |t| {
        chunked_pass(
            x,
            norms,
            c,
            labels,
            Mode::Pruned(&pr, upper, lower),
            t,
            mon,
            None,
        )
    })?;
    bounds.prev.clear();
    bounds.prev.extend_from_slice(c);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::validate;
    use crate::kmeans::chunked::{eligible, label_chunks};
    use crate::kmeans::sums::Sums;
    use crate::kmeans::Silent;
    use crate::rng::Rng;

    /// Gaussian blobs: `k` centres spread ~10 apart, unit noise.
    fn blobs(r: &mut Rng, n: usize, d: usize, k: usize) -> Vec<f32> {
        let centres: Vec<f32> = (0..k * d).map(|_| 3.0 * r.normal() as f32).collect();
        (0..n)
            .flat_map(|i| {
                let j = i % k;
                (0..d)
                    .map(|p| centres[j * d + p] + r.normal() as f32)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn settle_gives_the_dense_label_or_declines() {
        // Blobs rows with valid per-centroid lower bounds, some tight and some loose, labelled
        // with their nearest or their second-nearest centroid: whenever `settle` settles a
        // row, its label is the dense pass's and the upper bound and the lower bounds it
        // wrote hold against f64 distances; when it declines, the bounds are untouched. Rows
        // halfway between two centroids (a near tie) are always declined.
        let mut r = Rng::new(5);
        let (n, d, k) = (3001usize, 24usize, 12usize);
        let mut data = blobs(&mut r, n, d, k);
        for metric in [Metric::L2, Metric::Cosine] {
            let mut c = data[k * d..2 * k * d].to_vec();
            if metric == Metric::Cosine {
                crate::kmeans::init::normalize_rows(&mut c, d);
            }
            for (t, row) in data.chunks_mut(d).take(4).enumerate() {
                for (p, v) in row.iter_mut().enumerate() {
                    *v = 0.5 * (c[t * d + p] + c[(t + 1) * d + p]);
                }
            }
            let x = MatrixView::new(&data, n, d).unwrap();
            let norms = validate(x, metric).unwrap();
            let (mut lab, mut sc) = (vec![0u32; n], vec![0f32; n]);
            label_chunks(x, &norms, metric, &c, &mut lab, &mut sc, None, &Silent).unwrap();
            let eps = rel_err(d);
            let (maxc, cdefect) = margin_terms(&c, d, metric);
            let (mut settled, mut switched, mut declined) = (0, 0, 0);
            let mut near = Vec::new();
            for i in 0..n {
                let exact: Vec<f64> = c
                    .chunks(d)
                    .map(|cj| {
                        let sq = x.row(i).iter().zip(cj).map(|(&u, &v)| {
                            let t = u as f64 - v as f64;
                            t * t
                        });
                        sq.sum::<f64>().sqrt()
                    })
                    .collect();
                let mut order: Vec<usize> = (0..k).collect();
                order.sort_by(|&p, &q| exact[p].total_cmp(&exact[q]));
                let a = if i < 4 || i % 3 != 0 {
                    order[0]
                } else {
                    order[1]
                };
                let uu = dist(x.row(i), &c[a * d..(a + 1) * d]) * (1.0 + eps);
                let e = margin(d, norms[i], maxc, cdefect);
                let mut lo: Vec<f32> = (0..k)
                    .map(|j| match (j == a, r.below(3)) {
                        (true, _) => f32::INFINITY,
                        (false, 0) => (0.5 * exact[j]) as f32,
                        _ => ((exact[j] * (1.0 - 1e-6)) as f32).next_down(),
                    })
                    .collect();
                let before = lo.clone();
                let got = settle(&c, eps, x.row(i), a, uu, e, &mut lo, &mut near);
                let ctx = format!("{metric:?} row {i} label {a}");
                match got {
                    Some((b, ub)) => {
                        assert!(i >= 4, "{ctx}: a near tie was settled");
                        assert_eq!(b as u32, lab[i], "{ctx}");
                        assert!(ub as f64 >= exact[b], "{ctx}");
                        assert_eq!(lo[b], f32::INFINITY, "{ctx}");
                        for j in (0..k).filter(|&j| j != b) {
                            assert!(lo[j] as f64 <= exact[j], "{ctx}: bound {j}");
                        }
                        settled += 1;
                        switched += usize::from(b != a);
                    }
                    None => {
                        assert_eq!(lo, before, "{ctx}");
                        declined += 1;
                    }
                }
            }
            assert!(
                settled > n / 10 && switched > n / 60 && declined > n / 10,
                "{metric:?}: settled {settled}, switched {switched}, declined {declined}"
            );
        }
    }

    #[test]
    fn pruned_passes_equal_dense_passes_at_any_thread_count() {
        // Lloyd passes run twice on the same centroids, dense (`label_chunks`) and pruned by
        // Hamerly's or per-centroid bounds (`label_pruned`, the bounds carried from
        // pass to pass): the same labels at every iteration, with 1 and 3 threads. Blobs
        // (the bounds prune) and pure noise (they prune little); k above and below
        // GROUP_K_MAX; n not a multiple of a row block; an empty cluster whose centroid the
        // repair moves far (its drift must keep the bounds valid).
        let mut r = Rng::new(21);
        for &(n, d, k, noise) in &[
            (3001usize, 24usize, 12usize, false),
            (12_000, 16, 40, false),
            (2500, 20, 10, true),
        ] {
            let data: Vec<f32> = if noise {
                (0..n * d).map(|_| r.normal() as f32).collect()
            } else {
                blobs(&mut r, n, d, k)
            };
            let x = MatrixView::new(&data, n, d).unwrap();
            assert!(eligible(n, k, d));
            for metric in [Metric::L2, Metric::Cosine] {
                let norms = validate(x, metric).unwrap();
                let mut c0: Vec<f32> = data[..k * d].to_vec();
                if metric == Metric::Cosine {
                    crate::kmeans::init::normalize_rows(&mut c0, d);
                } else {
                    c0[(k - 1) * d..].fill(1e3);
                }
                let mut scans = Vec::new();
                for (threads, per) in [(1, false), (3, false), (1, true), (3, true)] {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    pool.install(|| {
                        let (mut c, mut bounds) = (c0.clone(), Bounds::new(per));
                        let (mut ld, mut lp) = (vec![0u32; n], vec![0u32; n]);
                        let mut prev = vec![u32::MAX; n];
                        let mut s = vec![0f32; n];
                        let mut next = vec![0f32; k * d];
                        let mut sums = Sums::new(n, &norms, metric, &c0, k);
                        // The same sums gathered inside the pruned passes.
                        let mut sp = Sums::new(n, &norms, metric, &c0, k);
                        let mut scanned = Vec::new();
                        for t in 0..12 {
                            label_chunks(x, &norms, metric, &c, &mut ld, &mut s, None, &Silent)
                                .unwrap();
                            let (b, sq) = (&mut bounds, Some(&mut sp));
                            let sc = label_pruned(x, &norms, metric, &c, &mut lp, b, sq, &Silent)
                                .unwrap();
                            let ctx =
                                format!("{n}x{d} k={k} {metric:?} t={t} threads={threads} {per}");
                            assert_eq!(ld, lp, "{ctx}");
                            if t == 0 {
                                assert_eq!(sc, n, "{ctx}: the first pass scans every row");
                            }
                            scanned.push(sc);
                            sums.track(x, &norms, &prev, &ld);
                            let u = sums.update(x, &norms, &ld, &c, &mut next);
                            let mut alt = vec![0f32; k * d];
                            let v = sp.update(x, &norms, &lp, &c, &mut alt);
                            assert_eq!(u.objective.to_bits(), v.objective.to_bits(), "{ctx}");
                            assert_eq!(next, alt, "{ctx}");
                            prev.copy_from_slice(&ld);
                            c.copy_from_slice(&next);
                        }
                        scans.push(scanned);
                    });
                }
                for (a, b) in [(0, 1), (2, 3)] {
                    assert_eq!(
                        scans[a], scans[b],
                        "rows scanned depend on the thread count"
                    );
                }
                // Per-centroid bounds are at least as tight: never more rescans in total.
                let total = |s: &Vec<usize>| s.iter().sum::<usize>();
                assert!(total(&scans[2]) <= total(&scans[0]), "{scans:?}");
                for s in [&scans[0], &scans[2]] {
                    let least = *s.iter().min().unwrap();
                    if !noise {
                        assert!(
                            least * 4 < n,
                            "{n}x{d} k={k} {metric:?}: bounds pruned little: {scans:?}"
                        );
                    }
                }
            }
        }
    }
}
