//! Distances from seeding rows to a few candidate centres: the kernels behind each step of
//! k-means++ ([`super::init`]) and each batch of local search ([`super::local_search`]).
//!
//! Three ways to the same n × T matrix of squared distances, by shape: the assignment kernel
//! with the candidates as its 16-wide panels; the lane-along-d dots kernel for T ≤ 8 from
//! d = 128 on ([`crate::simd::dots`]); and, for seedings of at least [`ROWS_MIN_STEPS`] steps
//! or where the candidates would pad the panels, the assignment kernel with the rows packed as
//! its panels ([`super::row_panels`]). Potentials (Σ min(D², d²) per candidate) are fixed-order
//! sums over 4096-row chunks, so every result has the same bits at any thread count.

use super::reduce::CHUNK;
use super::row_panels::{Cands, RowPanels};
use crate::data::MatrixView;
use crate::linalg::{norm_term_of, PackedCentroids};
use crate::metric::Metric;
use crate::simd::{self, dots, Tile, LANES, MAX_NP, MR};
use rayon::prelude::*;

/// [`score_to_dist`](super::init::score_to_dist) over one row's scores, the metric and the
/// row's root hoisted out of the loop (the same operations per element, so the same bits).
#[inline]
fn to_dists(metric: Metric, norm2: f32, scores: &[f32], out: &mut [f32]) {
    match metric {
        Metric::L2 => {
            for (o, &s) in out.iter_mut().zip(scores) {
                *o = (norm2 + s).max(0.0);
            }
        }
        Metric::Cosine => {
            let root = norm2.sqrt();
            for (o, &s) in out.iter_mut().zip(scores) {
                *o = (2.0 - (1.0 - s) / root).max(0.0);
            }
        }
    }
}

/// The seeding rows with their norms: each k-means++ step costs one tiled pass over T
/// candidates instead of T row-by-row passes. Rows are read in place (strided micro-tiles;
/// the kernel gives the same bits as on packed rows), except by the scorer of a long
/// seeding or of one whose candidates would pad the panels, which packs them as panels
/// ([`Scorer::for_seeding`]).
pub(super) struct Scorer<'a> {
    pub(super) x: MatrixView<'a>,
    pub(super) norms: &'a [f32],
    pub(super) metric: Metric,
    /// The rows packed as panels, when made ([`Scorer::for_seeding`]).
    packed: Option<RowPanels>,
}

/// Micro-tiles per parallel task.
const TILES_PER_TASK: usize = 64;

/// Candidates laid out for one of the two distance kernels of [`Scorer`].
enum Prepared {
    /// 16-wide centroid panels for [`simd::score_tile`].
    Panels(Box<PackedCentroids>),
    /// The candidates as the kernel's rows against [`Scorer::packed`].
    Rows(Cands),
    /// Balanced groups of at most [`dots::MAX_CANDS`] candidates for [`dots::dots_upto`]:
    /// per group its first and end column and the norm terms, padded with zeros.
    Few(Vec<(usize, usize, [f64; dots::MAX_CANDS])>),
}

impl<'a> Scorer<'a> {
    pub(super) fn new(x: MatrixView<'a>, norms: &'a [f32], metric: Metric) -> Self {
        Scorer {
            x,
            norms,
            metric,
            packed: None,
        }
    }

    /// A scorer for the `steps` steps of a seeding with `trials` candidates each that computes
    /// candidate distances with the rows as the kernel's panels ([`super::row_panels`]), at the
    /// cost of a packed copy of the rows, while the copy stays within
    /// [`super::row_panels::MAX_BYTES`] and either the seeding is long (from [`ROWS_MIN_STEPS`]
    /// steps on) or the candidates would otherwise fill only part of the 16-wide candidate
    /// panels (any T that does not take the dots kernel, see [`few`]); else a plain scorer. The
    /// second case: digits (1797 × 64), k = 5, T = 3 (11 of 16 lanes padding), k-means++ and
    /// local search on one packed copy instead of candidate panels, same bits, whole fits with
    /// `max_iter=1` (`examples/fit_file`, 2 threads, min of 60, two alternating rounds):
    /// 0.48–0.49 → 0.44–0.45 ms; k = 10 0.96–0.99 → 0.84–0.86 ms; k = 20 1.81–1.83 → 1.51 ms;
    /// k = 40 (two runs) 4.20–4.22 → 3.87–3.88 ms; whole fits (three alternating rounds, min of
    /// 200 at k = 5, else 60): k = 5 0.82–0.84 → 0.78–0.80 ms, k = 10 1.75–1.78 → 1.60 ms,
    /// k = 20 3.11 → 2.75 ms, k = 40 5.77–5.82 → 5.36–5.39 ms. GloVe-50 (cosine, k = 64 and
    /// 256) and uniform 1M × 64 (k = 64 and 256): the same within noise (37.3–37.7 ms, 128–129
    /// ms, 73–74 ms, 247–258 ms either way), their seeding being a small part of a pass over
    /// 400k or 1M rows.
    pub(super) fn for_seeding(&self, steps: usize, trials: usize) -> Scorer<'a> {
        let (n, d) = (self.x.n(), self.x.d());
        let pack = steps >= ROWS_MIN_STEPS || !few(trials, d);
        let packed = (pack && RowPanels::fits(n, d))
            .then(|| RowPanels::new(self.x, self.norms, self.metric));
        Scorer {
            packed,
            ..Scorer::new(self.x, self.norms, self.metric)
        }
    }

    /// Whether every candidate distance has the bits of the assignment kernel's for the same
    /// (row, centre) pair, whatever the candidate count: the rows are packed as panels, or
    /// d is below the dots kernel's range (which sums in another order).
    pub(super) fn assignment_bits(&self) -> bool {
        self.packed.is_some() || self.x.d() < FEW_MIN_D
    }

    /// Whether the rows are packed as panels.
    #[cfg(test)]
    pub(super) fn is_packed(&self) -> bool {
        self.packed.is_some()
    }

    /// This scorer without its packed rows (freed), if it had them.
    pub(super) fn unpacked(self) -> Scorer<'a> {
        Scorer {
            packed: None,
            ..self
        }
    }

    /// D² from every row to each of the `t` candidates, row-major `n × t`.
    pub(super) fn d2(&self, cands: &[f32], t: usize) -> Vec<f32> {
        let mut out = Vec::new();
        self.d2_into(cands, t, &mut out);
        out
    }

    /// [`Scorer::d2`] into `out`, resized to `n × t`; every element is overwritten, so a
    /// buffer kept across k-means++ steps is neither zeroed nor reallocated (a fresh
    /// `n × t` buffer per step was ~2% of a k = 2048 seeding in `memset` alone, plus the
    /// page faults of a fresh mapping each time).
    pub(super) fn d2_into(&self, cands: &[f32], t: usize, out: &mut Vec<f32>) {
        out.resize(self.x.n() * t, 0.0);
        let prep = self.prepare(cands, t);
        out.par_chunks_mut(TILES_PER_TASK * MR * t)
            .enumerate()
            .for_each(|(task, o)| self.rows(&prep, cands, t, task * TILES_PER_TASK * MR, o));
    }

    /// [`Scorer::d2_into`] and, per [`CHUNK`] of rows, Σ min(`mind`ᵢ, D²ᵢᵤ) in f64 for each
    /// candidate u, in row order ([`potentials`]): one task computes a chunk's distances and
    /// then sums them while they are in cache, one parallel pass per k-means++ step instead
    /// of two. Same bits as the two passes. With fewer than four chunks per thread the two
    /// passes are kept, as their 512-row distance tasks balance the threads better.
    pub(super) fn d2_potentials(
        &self,
        cands: &[f32],
        t: usize,
        mind: &[f32],
        out: &mut Vec<f32>,
    ) -> Vec<Vec<f64>> {
        let n = self.x.n();
        if n.div_ceil(CHUNK) < 4 * rayon::current_num_threads() {
            self.d2_into(cands, t, out);
            return (0..n.div_ceil(CHUNK))
                .into_par_iter()
                .map(|ch| potentials(mind, out, t, ch * CHUNK..((ch + 1) * CHUNK).min(n)))
                .collect();
        }
        out.resize(n * t, 0.0);
        let prep = self.prepare(cands, t);
        out.par_chunks_mut(CHUNK * t)
            .enumerate()
            .map(|(ch, o)| {
                let r0 = ch * CHUNK;
                self.rows(&prep, cands, t, r0, o);
                potentials(&mind[r0..], o, t, 0..o.len() / t)
            })
            .collect()
    }

    /// The kernel for `t` candidates: the rows as panels when packed, else [`Prepared::Few`]
    /// for at most [`FEW_MAX`] of them from [`FEW_MIN_D`] dimensions on, else candidate
    /// panels.
    fn prepare(&self, cands: &[f32], t: usize) -> Prepared {
        let d = self.x.d();
        if self.packed.is_some() {
            return Prepared::Rows(Cands::new(cands, t, d, self.metric));
        }
        if few(t, d) {
            // Balanced groups of at most MAX_CANDS (t = 7: 3 + 4; t = 8: 4 + 4).
            let ng = t.div_ceil(dots::MAX_CANDS);
            Prepared::Few(
                (0..ng)
                    .map(|g| {
                        let (g0, g1) = (g * t / ng, (g + 1) * t / ng);
                        let mut cn = [0f64; dots::MAX_CANDS];
                        for (v, c) in cn.iter_mut().zip(cands[g0 * d..g1 * d].chunks(d)) {
                            *v = norm_term_of(self.metric, c) as f64;
                        }
                        (g0, g1, cn)
                    })
                    .collect(),
            )
        } else {
            Prepared::Panels(Box::new(PackedCentroids::new_exact(
                cands,
                t,
                d,
                self.metric,
            )))
        }
    }

    /// D² of rows `r0 .. r0 + o.len() / t` into `o` (row-major, `t` per row).
    fn rows(&self, prep: &Prepared, cands: &[f32], t: usize, r0: usize, o: &mut [f32]) {
        match prep {
            Prepared::Panels(pc) => self.rows_panels(pc, t, r0, o),
            Prepared::Few(groups) => self.rows_few(groups, cands, t, r0, o),
            Prepared::Rows(c) => {
                let packed = self
                    .packed
                    .as_ref()
                    .expect("rows prepared without packed rows");
                packed.rows(c, t, self.metric, self.norms, r0, o)
            }
        }
    }

    /// [`Scorer::rows`] with the tiled panel kernel (the assignment's).
    fn rows_panels(&self, pc: &PackedCentroids, t: usize, r0: usize, o: &mut [f32]) {
        let (n, d) = (self.x.n(), self.x.d());
        let isa = simd::active();
        let mut buf = [0f32; MR * MAX_NP * LANES];
        let mut pad = Vec::new();
        let rows = o.len() / t;
        let all = self.x.as_slice();
        for tt in 0..rows.div_ceil(MR) {
            let a = r0 + tt * MR;
            let m = MR.min(n - a);
            let xs: &[f32] = if m == MR {
                &all[a * d..(a + MR) * d]
            } else {
                // Last partial tile: zero-padded copy of its rows.
                pad.resize(MR * d, 0.0);
                pad[..m * d].copy_from_slice(&all[a * d..(a + m) * d]);
                &pad
            };
            let mut q = 0;
            while q < pc.npanels() {
                let np = (pc.npanels() - q).min(MAX_NP);
                let tile = Tile {
                    xs: d,
                    x: xs,
                    d,
                    panels: pc.panels(q, q + np),
                    pstride: d * LANES,
                    cn: pc.cn(q, q + np),
                    np,
                    j0: (q * LANES) as u32,
                    half: pc.half(q + np),
                };
                simd::score_tile(isa, &tile, None, &mut buf);
                let cols = (np * LANES).min(t - q * LANES);
                for i in 0..MR.min(rows - tt * MR) {
                    let row = tt * MR + i;
                    let dst = &mut o[row * t + q * LANES..][..cols];
                    let src = &buf[i * MAX_NP * LANES..][..cols];
                    to_dists(self.metric, self.norms[r0 + row], src, dst);
                }
                q += np;
            }
        }
    }

    /// [`Scorer::rows`] for at most [`FEW_MAX`] candidates: dot products with the lanes
    /// along the dimension ([`simd::dots`], four rows × up to six candidates per call), so
    /// no lane is padding; the 16-wide centroid panels would be ≥ half empty. The distances
    /// are deterministic (fixed lane order, the same bits in any grouping) but not bit-equal
    /// to the panel kernel's, which only ever compares them with each other or up to
    /// rounding.
    fn rows_few(
        &self,
        groups: &[(usize, usize, [f64; dots::MAX_CANDS])],
        cands: &[f32],
        t: usize,
        r0: usize,
        o: &mut [f32],
    ) {
        let d = self.x.d();
        let isa = simd::active();
        let all = self.x.as_slice();
        let rows = o.len() / t;
        let mut prods = [[0f32; dots::MAX_CANDS]; dots::ROWS];
        for a in (0..rows).step_by(dots::ROWS) {
            // Rows a.. of the range; a short last block repeats its last row.
            let m = dots::ROWS.min(rows - a);
            let xr: [&[f32]; dots::ROWS] = std::array::from_fn(|u| {
                let i = r0 + a + u.min(m - 1);
                &all[i * d..(i + 1) * d]
            });
            for &(g0, g1, ref cng) in groups {
                dots::dots_upto(isa, xr, &cands[g0 * d..g1 * d], g1 - g0, &mut prods);
                for (u, pr) in prods.iter().enumerate().take(m) {
                    let i = a + u;
                    let dist = block_dists(self.metric, self.norms[r0 + i], pr, cng);
                    o[i * t + g0..i * t + g1].copy_from_slice(&dist[..g1 - g0]);
                }
            }
        }
    }
}

/// The distances of one row to a block of candidates from their dot products `pr` and norm
/// terms `cn`: [`score_to_dist`](super::init::score_to_dist) of the score `cn − 2·pr` (f64, rounded to f32), with the
/// metric and the row's root hoisted and the block's full width computed (lanes past the
/// block are ignored), so the compiler can vectorise it; the same operations per element,
/// hence the same bits.
#[inline(always)]
fn block_dists(
    metric: Metric,
    norm2: f32,
    pr: &[f32; dots::MAX_CANDS],
    cn: &[f64; dots::MAX_CANDS],
) -> [f32; dots::MAX_CANDS] {
    let mut score = [0f32; dots::MAX_CANDS];
    for j in 0..dots::MAX_CANDS {
        score[j] = (cn[j] - 2.0 * pr[j] as f64) as f32;
    }
    let mut out = [0f32; dots::MAX_CANDS];
    to_dists(metric, norm2, &score, &mut out);
    out
}

/// Whether `t` candidates in `d` dimensions take [`Scorer::rows_few`].
fn few(t: usize, d: usize) -> bool {
    t <= FEW_MAX && d >= FEW_MIN_D
}

/// Candidate counts up to this use [`Scorer::rows_few`] ...
const FEW_MAX: usize = 8;
/// ... from this dimension on (below it the per-output lane reduction costs more than the
/// padding lanes of the panel kernel).
const FEW_MIN_D: usize = 128;

/// k-means++ seedings of at least this many steps pack their rows as panels even where the dots
/// kernel would serve ([`Scorer::for_seeding`]): the copy costs about one step's distances, and
/// below this k the whole seeding is a few milliseconds. k-means++ alone (no local search, 2
/// threads, `examples/fit_file ... max_iter=1 ls=0`, seconds of kmeans++ / of the init phase,
/// two or three runs each, dots kernel → row panels): blobs 200k × 128 k = 1024 (T = 8, 16 384
/// rows) 0.53–0.64 → 0.34–0.37 (init phase); k = 256 0.066–0.069 → 0.043–0.048; Fashion-MNIST
/// k = 256 (d = 784) 0.163–0.179 → 0.119–0.127; anisotropic 100k × 768 k = 256 0.164–0.174 →
/// 0.129–0.165. At k = 40 (Fashion-MNIST) the copy did not pay: 0.032–0.049 → 0.038–0.064.
/// Where the candidate-panel kernel served (d < 128, or T > 8) the row panels give the same
/// bits and about the same time (GloVe-50 k = 1024: 0.24–0.25 → 0.25–0.29 s; blobs k = 2048,
/// T = 9, where each step streams the 16 MB sample from memory: 1.9–2.1 → 1.8–2.4 s).
pub(super) const ROWS_MIN_STEPS: usize = 128;

/// Σ over `rows` of min(`mind[i]`, `d2[i·t + u]`) in f64 for each candidate u < t, each sum in
/// row order. The common counts (t ≤ 8) run with t known at compile time, so the t
/// independent sums of a row are added side by side in vector registers (same bits: each
/// sum's order is unchanged). Blobs 200k × 128, k = 1024 (16 384 seeding rows, 1023 steps
/// of t = 8): 126–130 → 42–54 ms of potentials per seeding (2 threads).
fn potentials(mind: &[f32], d2: &[f32], t: usize, rows: std::ops::Range<usize>) -> Vec<f64> {
    fn fixed<const T: usize>(mind: &[f32], d2: &[f32], rows: std::ops::Range<usize>) -> Vec<f64> {
        let mut p = [0f64; T];
        for (m, row) in mind[rows.clone()]
            .iter()
            .zip(d2[rows.start * T..rows.end * T].chunks_exact(T))
        {
            for u in 0..T {
                p[u] += m.min(row[u]) as f64;
            }
        }
        p.to_vec()
    }
    match t {
        1 => fixed::<1>(mind, d2, rows),
        2 => fixed::<2>(mind, d2, rows),
        3 => fixed::<3>(mind, d2, rows),
        4 => fixed::<4>(mind, d2, rows),
        5 => fixed::<5>(mind, d2, rows),
        6 => fixed::<6>(mind, d2, rows),
        7 => fixed::<7>(mind, d2, rows),
        8 => fixed::<8>(mind, d2, rows),
        9 => fixed::<9>(mind, d2, rows),
        10 => fixed::<10>(mind, d2, rows),
        11 => fixed::<11>(mind, d2, rows),
        12 => fixed::<12>(mind, d2, rows),
        _ => {
            let mut p = vec![0f64; t];
            for i in rows {
                for u in 0..t {
                    p[u] += mind[i].min(d2[i * t + u]) as f64;
                }
            }
            p
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kmeans::init::{row_as_centroid, score_to_dist};
    use crate::rng::Rng;

    #[test]
    fn few_candidate_distances_match_naive_f64() {
        // d ≥ FEW_MIN_D and t ≤ FEW_MAX take `rows_few`; odd n leaves a row paired with itself.
        let (n, d) = (37, 130);
        let mut r = Rng::new(5);
        let data: Vec<f32> = (0..n * d).map(|_| r.normal() as f32 + 0.5).collect();
        let x = MatrixView::new(&data, n, d).unwrap();
        for metric in [Metric::L2, Metric::Cosine] {
            let norms = crate::data::validate(x, metric).unwrap();
            let scorer = Scorer::new(x, &norms, metric);
            for t in 1..=FEW_MAX {
                let mut cands = vec![0f32; t * d];
                for (u, c) in cands.chunks_mut(d).enumerate() {
                    row_as_centroid(x, &norms, metric, (7 * u + 3) % n, c);
                }
                let got = scorer.d2(&cands, t);
                for i in 0..n {
                    // Bit for bit: the score_to_dist of cn − 2·(the scalar twin's product).
                    for (u, c) in cands.chunks(d).enumerate() {
                        let mut pr = [[0f32; 1]; dots::ROWS];
                        dots::dots_scalar::<1>([x.row(i); dots::ROWS], c, &mut pr);
                        let cn = norm_term_of(metric, c) as f64;
                        let score = (cn - 2.0 * pr[0][0] as f64) as f32;
                        let want = score_to_dist(metric, norms[i], score);
                        assert_eq!(got[i * t + u].to_bits(), want.to_bits(), "t={t} row {i}");
                    }
                    let s = match metric {
                        Metric::L2 => 1.0,
                        Metric::Cosine => 1.0 / (norms[i] as f64).sqrt(),
                    };
                    for (u, c) in cands.chunks(d).enumerate() {
                        let want: f64 = (0..d)
                            .map(|p| (x.row(i)[p] as f64 * s - c[p] as f64).powi(2))
                            .sum();
                        let g = got[i * t + u] as f64;
                        let tol = 1e-4 * (1.0 + norms[i] as f64 * s * s);
                        assert!(
                            (g - want).abs() <= tol,
                            "{metric:?} t={t} row {i}: {g} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn fused_distances_and_potentials_match_the_two_passes_at_any_thread_count() {
        // 9 chunks and a partial one: fused with 1 or 2 threads, two passes with 3; with the
        // candidate-panel, dots and row-panel kernels.
        let n = 9 * CHUNK + 17;
        let mut r = Rng::new(11);
        for (d, t) in [(20, 9), (130, 7)] {
            let data: Vec<f32> = (0..n * d).map(|_| r.normal() as f32).collect();
            let x = MatrixView::new(&data, n, d).unwrap();
            let norms = crate::data::validate(x, Metric::L2).unwrap();
            let plain = Scorer::new(x, &norms, Metric::L2);
            let mut cands = vec![0f32; t * d];
            for (u, c) in cands.chunks_mut(d).enumerate() {
                row_as_centroid(x, &norms, Metric::L2, 101 * u + 5, c);
            }
            let mind: Vec<f32> = (0..n).map(|_| r.normal().abs() as f32 * 50.0).collect();
            for scorer in [&plain, &plain.for_seeding(ROWS_MIN_STEPS, t)] {
                let want_d2 = scorer.d2(&cands, t);
                let want: Vec<Vec<u64>> = (0..n.div_ceil(CHUNK))
                    .map(|ch| {
                        let rows = ch * CHUNK..((ch + 1) * CHUNK).min(n);
                        potentials(&mind, &want_d2, t, rows)
                            .iter()
                            .map(|v| v.to_bits())
                            .collect()
                    })
                    .collect();
                for threads in [1, 2, 3] {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    let mut out = vec![7.0; 3];
                    let got = pool.install(|| scorer.d2_potentials(&cands, t, &mind, &mut out));
                    let got: Vec<Vec<u64>> = got
                        .iter()
                        .map(|p| p.iter().map(|v| v.to_bits()).collect())
                        .collect();
                    assert_eq!(got, want, "d={d} t={t} threads={threads}");
                    assert!(out
                        .iter()
                        .zip(&want_d2)
                        .all(|(a, b)| a.to_bits() == b.to_bits()));
                }
            }
        }
    }

    #[test]
    fn row_panel_distances_have_the_candidate_panel_bits_and_the_naive_values() {
        // n = 2 chunks + 37 rows: a partial last panel and a partial last panel group.
        let n = 2 * CHUNK + 37;
        let mut r = Rng::new(21);
        for (d, t) in [(20, 9), (50, 8), (64, 1), (33, 17), (130, 7), (130, 12)] {
            let data: Vec<f32> = (0..n * d).map(|_| r.normal() as f32 + 0.3).collect();
            let x = MatrixView::new(&data, n, d).unwrap();
            for metric in [Metric::L2, Metric::Cosine] {
                let norms = crate::data::validate(x, metric).unwrap();
                let plain = Scorer::new(x, &norms, metric);
                let packed = plain.for_seeding(ROWS_MIN_STEPS, t);
                assert!(packed.packed.is_some());
                // A short seeding packs only where the candidates would pad the panels.
                assert_eq!(plain.for_seeding(3, t).packed.is_some(), !few(t, d));
                assert!(plain.for_seeding(3, t).unpacked().packed.is_none());
                let mut cands = vec![0f32; t * d];
                for (u, c) in cands.chunks_mut(d).enumerate() {
                    row_as_centroid(x, &norms, metric, (577 * u + 11) % n, c);
                }
                let got = packed.d2(&cands, t);
                let want = plain.d2(&cands, t);
                if !few(t, d) {
                    // The candidate-panel kernel served the plain scorer: the same bits.
                    let same = got
                        .iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{metric:?} d={d} t={t}");
                }
                for i in (0..n).step_by(97).chain(n - 20..n) {
                    let s = match metric {
                        Metric::L2 => 1.0,
                        Metric::Cosine => 1.0 / (norms[i] as f64).sqrt(),
                    };
                    for (u, c) in cands.chunks(d).enumerate() {
                        let naive: f64 = (0..d)
                            .map(|p| (x.row(i)[p] as f64 * s - c[p] as f64).powi(2))
                            .sum();
                        let g = got[i * t + u] as f64;
                        let tol = 1e-4 * (1.0 + norms[i] as f64 * s * s);
                        assert!((g - naive).abs() <= tol, "{metric:?} d={d} t={t} row {i}");
                    }
                }
            }
        }
    }

    #[test]
    fn potentials_are_the_row_order_sums_for_every_candidate_count() {
        let mut r = Rng::new(9);
        let n = 300;
        let mind: Vec<f32> = (0..n).map(|_| r.normal().abs() as f32).collect();
        for t in 1..=10 {
            let d2: Vec<f32> = (0..n * t).map(|_| r.normal().abs() as f32).collect();
            let got = potentials(&mind, &d2, t, 7..n);
            for u in 0..t {
                let mut want = 0f64;
                for i in 7..n {
                    want += mind[i].min(d2[i * t + u]) as f64;
                }
                assert_eq!(got[u].to_bits(), want.to_bits(), "t={t} u={u}");
            }
        }
    }
}
