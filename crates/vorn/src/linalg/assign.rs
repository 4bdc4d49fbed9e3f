//! The tiled assignment pass and the all-distances pass.

use super::{PackedCentroids, INLINE_WORK, ROW_BLOCK};
use crate::data::MatrixView;
use crate::error::{Error, Result};
use crate::simd::{self, Acc, Isa, LaneBest, Tile, LANES, MAX_NP, MR};
use rayon::prelude::*;

/// Per-row result of an assignment pass.
#[derive(Debug, Clone, Default)]
pub struct AssignOutput {
    /// Index of the nearest centroid (ties: lowest id).
    pub labels: Vec<u32>,
    /// Its score `‖c‖² − 2·x·c` (add ‖x‖² for the squared L2 distance).
    pub scores: Vec<f32>,
}

/// Panels per centroid block when the dimension is not chunked: ~384 KiB of L2.
fn panels_per_block(d: usize) -> usize {
    let bytes_per_panel = d * LANES * 4;
    let p = (384 * 1024 / bytes_per_panel.max(1)).max(MAX_NP);
    p - p % MAX_NP
}

/// Rows per cancellation check: ~2³⁰ flops, a few milliseconds.
pub(crate) fn rows_per_poll(k: usize, d: usize) -> usize {
    let per_row = (2 * k * d).max(1);
    let r = ((1usize << 30) / per_row).max(ROW_BLOCK);
    r - r % ROW_BLOCK
}

/// Dimensions up to this are processed in one chunk. Splitting longer rows into [`KC`]-long
/// chunks keeps a panel group in L1, but on the 2-core AMD EPYC (Zen 4, 1 MiB L2 per core)
/// the unsplit pass, whose groups stream from L2, was as fast or faster at every d measured
/// (`examples/assign_gflops`, 2 threads, GFLOP/s split → unsplit, two runs each):
/// 20k × 384, k = 64: 107/122 → 149/154; k = 128: 153/152 → 183/171; 20 Newsgroups
/// (18 846 × 384), k = 80: 82/130/81 → 169/170/145; 100k × 768, k = 256: 195/189 → 199/205;
/// 30k × 1536, k = 128: 160/175 → 184/189; 10k × 2048, k = 128: 176/171 → 187/185;
/// 100k × 256, k = 256: 192/177 → 178/181. Only rows long enough that a group of three
/// panels (192·d bytes) plus a row block (256·d bytes) overflow L2 are split.
const KC_MAX: usize = 4096;
/// Chunk length when the dimension is split.
const KC: usize = 128;
/// Panel groups per centroid block when the dimension is split (bounds the partial sums
/// kept per row block to ROW_BLOCK/MR × GROUPS_PER_BLOCK tiles of 1.5 KiB).
const GROUPS_PER_BLOCK: usize = 6;

/// Per-thread buffers of a row block.
#[derive(Default)]
struct Scratch {
    tail: Vec<f32>,
    accs: Vec<Acc>,
}

/// Splits panels `qb..qe` into kernel groups of 3; a remainder of 1 after a 3 becomes 2 + 2.
fn groups(qb: usize, qe: usize) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut q = qb;
    while q < qe {
        let left = qe - q;
        let np = if left == 4 { 2 } else { left.min(MAX_NP) };
        v.push((q, np));
        q += np;
    }
    v
}

/// Runs `f(tile, micro_tile, partial)` for every (micro-tile, panel group) of the row block
/// `r0..r1` over the last (or only) chunk of the dimension, after the earlier chunks'
/// partial dot products have been accumulated into `partial`.
///
/// Loop order: centroid block → dimension chunk → panel group → micro-tile; see the comment
/// inside.
/// Rows are read in place (strided tiles; a last partial tile is a zero-padded copy).
/// Chunking only pauses each sequential fma chain, so results are identical to one pass.
fn for_each_tile(
    isa: Isa,
    x: MatrixView<'_>,
    c: &PackedCentroids,
    r0: usize,
    r1: usize,
    sc: &mut Scratch,
    mut f: impl FnMut(&Tile<'_>, usize, usize, Option<&Acc>),
) {
    let d = x.d();
    let ntiles = (r1 - r0).div_ceil(MR);
    // Rows are read in place (strided tiles); only a last partial tile is copied, zero-padded.
    // Packing every tile dimension-major first (as earlier versions did) was slower on this
    // Zen 4 VM at every shape measured (`examples/assign_gflops`, 2 threads, GFLOP/s packed →
    // in place, two runs each): 1M × 64, k = 64: 102/113 → 126/134; k = 96: 121/123 → 148/147;
    // k = 256: 156/163 → 168/175; 200k × 128, k = 256: 173/165 → 196/181; 20k × 384,
    // k = 128: 167/173 → 181/184; 100k × 768, k = 256: 203/187 → 205/199; 400k × 64,
    // k = 1024: 195/182 → 193/194 (AVX2 kernels: equal or better in place too).
    let full = (r1 - r0) / MR;
    if full < ntiles {
        sc.tail.clear();
        sc.tail.resize(MR * d, 0.0);
        let a = r0 + full * MR;
        sc.tail[..(r1 - a) * d].copy_from_slice(&x.as_slice()[a * d..r1 * d]);
    }
    let rows = |t: usize, p0: usize, p1: usize| -> &[f32] {
        if t < full {
            let a = r0 + t * MR;
            &x.as_slice()[a * d + p0..(a + MR - 1) * d + p1]
        } else {
            &sc.tail[p0..(MR - 1) * d + p1]
        }
    };
    // One panel group (k ≤ 48): its panels stream from L2 at any d, and splitting the
    // dimension would only make each row's reads jump between chunks (measured with
    // `examples/assign_gflops`, 2 threads: 70k × 784, k = 10: 26 → 17 ms per pass; 100k × 768,
    // k = 32: 121 → 157 GFLOP/s), so the dimension is split only when there are several.
    let (kc, block) = if d <= KC_MAX || c.npanels() <= MAX_NP {
        (d, panels_per_block(d))
    } else {
        (KC, GROUPS_PER_BLOCK * MAX_NP)
    };
    let nchunks = d.div_ceil(kc);
    let accs = &mut sc.accs;
    let mut qb = 0;
    while qb < c.npanels() {
        let qe = (qb + block).min(c.npanels());
        let gs = groups(qb, qe);
        if nchunks > 1 {
            accs.resize(ntiles * gs.len(), [0.0; MR * MAX_NP * LANES]);
        }
        // Panel group → micro-tile: the group's panels over this chunk (≤ 24 KiB chunked,
        // ≤ 36 KiB whole) stay in L1 while the block's micro-tiles pass (chunked, the rows'
        // chunks stream from L2). Measured against micro-tile → group when d > 192 was still
        // chunked, with packed rows (`examples/assign_gflops`, 2 threads): 100k × 768,
        // k = 256: 145–153 → 176–178 GFLOP/s; 30k × 1536, k = 128: 135–144 → 166–168;
        // 100k × 256, k = 256: 140–144 → 164–171. Each tile sees its groups in ascending
        // order (tie rule).
        for ch in 0..nchunks {
            let (p0, p1) = (ch * kc, ((ch + 1) * kc).min(d));
            let last = ch + 1 == nchunks;
            for (t, g) in (0..gs.len()).flat_map(|g| (0..ntiles).map(move |t| (t, g))) {
                let (q, np) = gs[g];
                let tile = Tile {
                    x: rows(t, p0, p1),
                    xs: d,
                    d: p1 - p0,
                    panels: &c.panels(q, q + np)[p0 * LANES..],
                    pstride: d * LANES,
                    cn: c.cn(q, q + np),
                    np,
                    j0: (q * LANES) as u32,
                    half: c.half(q + np),
                };
                let acc = accs.get_mut(t * gs.len() + g);
                if last {
                    // Real rows of tile t: MR, or fewer in the zero-padded last one.
                    let real = (r1 - r0 - t * MR).min(MR);
                    f(
                        &tile,
                        t,
                        real,
                        if nchunks > 1 { acc.map(|a| &*a) } else { None },
                    );
                } else if let Some(acc) = acc {
                    simd::dot_tile(isa, &tile, acc, ch > 0);
                }
            }
        }
        qb = qe;
    }
}

/// Nearest centroid of every row; see [`assign_with`].
pub fn assign(
    x: MatrixView<'_>,
    c: &PackedCentroids,
    cancel: &dyn Fn() -> bool,
) -> Result<AssignOutput> {
    let mut out = AssignOutput {
        labels: vec![0; x.n()],
        scores: vec![0.0; x.n()],
    };
    assign_with(
        simd::active(),
        x,
        c,
        &mut out.labels,
        &mut out.scores,
        cancel,
    )?;
    Ok(out)
}

/// Nearest centroid of every row of `x` into `labels`/`scores` (length n), on `isa`.
/// Runs on the current rayon pool; `cancel` is polled on the calling thread between slabs
/// and turns into [`Error::Interrupted`].
pub fn assign_with(
    isa: Isa,
    x: MatrixView<'_>,
    c: &PackedCentroids,
    labels: &mut [u32],
    scores: &mut [f32],
    cancel: &dyn Fn() -> bool,
) -> Result<()> {
    assert_eq!(x.d(), c.d());
    assert!(labels.len() == x.n() && scores.len() == x.n());
    let slab = rows_per_poll(c.k(), x.d());
    for (s, (lab, sc)) in labels
        .chunks_mut(slab)
        .zip(scores.chunks_mut(slab))
        .enumerate()
    {
        if cancel() {
            return Err(Error::Interrupted);
        }
        let s0 = s * slab;
        let min = min_blocks(lab.len(), c.k(), x.d());
        lab.par_chunks_mut(ROW_BLOCK)
            .zip(sc.par_chunks_mut(ROW_BLOCK))
            .enumerate()
            .with_min_len(min)
            .for_each(|(b, (l, v))| {
                let r0 = s0 + b * ROW_BLOCK;
                assign_block(isa, x, c, r0, l, v, &mut BlockScratch::default());
            });
    }
    if cancel() {
        return Err(Error::Interrupted);
    }
    Ok(())
}

/// Fewest row blocks per parallel task for a pass over `rows` rows: all of them (one task,
/// run in order on the calling thread, no pool involved) when the caller is not a pool
/// worker and the pass is at most [`INLINE_WORK`], else one. On a worker (a fit, a pooled
/// `predict`) forking is cheap and the blocks are shared as usual; from any other thread
/// each fork would be injected into the global pool and waited for.
fn min_blocks(rows: usize, k: usize, d: usize) -> usize {
    if rayon::current_thread_index().is_none()
        && rows.saturating_mul(k).saturating_mul(d) <= INLINE_WORK
    {
        usize::MAX
    } else {
        1
    }
}

/// Reusable buffers of [`assign_rows`] (one per worker).
#[derive(Default)]
pub struct BlockScratch {
    best: Vec<LaneBest>,
    sc: Scratch,
    screen: super::screen::ScreenScratch,
}

/// Labels and scores of rows `r0..r0 + labels.len()` (at most [`ROW_BLOCK`]).
fn assign_block(
    isa: Isa,
    x: MatrixView<'_>,
    c: &PackedCentroids,
    r0: usize,
    labels: &mut [u32],
    scores: &mut [f32],
    bs: &mut BlockScratch,
) {
    // A block of fewer than MR rows (a small predict) keeps the exact kernel, which computes
    // a lone row alone; the screen always computes whole tiles of MR rows.
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && labels.len() >= MR {
        if let Some(sp) = c.screen() {
            if super::screen::screen_block(x, c, sp, r0, labels, scores, None, &mut bs.screen) {
                return;
            }
        }
    }
    let r1 = r0 + labels.len();
    bs.best.clear();
    bs.best.resize((r1 - r0).div_ceil(MR), LaneBest::default());
    let best = &mut bs.best;
    for_each_tile(isa, x, c, r0, r1, &mut bs.sc, |tile, t, real, init| {
        simd::argmin_tile_rows(isa, tile, real, init, &mut best[t])
    });
    for ((bt, lt), vt) in best
        .iter()
        .zip(labels.chunks_mut(MR))
        .zip(scores.chunks_mut(MR))
    {
        simd::finish_rows(isa, bt, lt, vt);
    }
}

/// [`assign_with`] on rows `r0..r0 + labels.len()` of `x`, sequentially on the calling thread
/// (for callers that parallelise over larger units themselves). Same bits as `assign_with`.
pub fn assign_rows(
    isa: Isa,
    x: MatrixView<'_>,
    c: &PackedCentroids,
    r0: usize,
    labels: &mut [u32],
    scores: &mut [f32],
    bs: &mut BlockScratch,
) {
    assert_eq!(x.d(), c.d());
    assert!(scores.len() == labels.len() && r0 + labels.len() <= x.n());
    for (b, (l, v)) in labels
        .chunks_mut(ROW_BLOCK)
        .zip(scores.chunks_mut(ROW_BLOCK))
        .enumerate()
    {
        assign_block(isa, x, c, r0 + b * ROW_BLOCK, l, v, bs);
    }
}

/// All squared distances `max(0, ‖x‖² + ‖c‖² − 2·x·c)` (L2) or `max(0, 1 − x̂·c)`-style scores
/// as computed by `finish(row_norm2, score)`, row-major n × k, into `out`.
pub fn distances<F: Fn(usize, f32) -> f32 + Sync>(
    x: MatrixView<'_>,
    c: &PackedCentroids,
    out: &mut [f32],
    finish: &F,
    cancel: &dyn Fn() -> bool,
) -> Result<()> {
    let k = c.k();
    assert_eq!(out.len(), x.n() * k);
    let isa = simd::active();
    let slab = rows_per_poll(k, x.d());
    for (s, o) in out.chunks_mut(slab * k).enumerate() {
        if cancel() {
            return Err(Error::Interrupted);
        }
        let s0 = s * slab;
        let min = min_blocks(o.len() / k, k, x.d());
        o.par_chunks_mut(ROW_BLOCK * k)
            .enumerate()
            .with_min_len(min)
            .for_each(|(b, ob)| {
                let r0 = s0 + b * ROW_BLOCK;
                let r1 = r0 + ob.len() / k;
                let mut buf = [0f32; MR * MAX_NP * LANES];
                let mut sc = Scratch::default();
                for_each_tile(isa, x, c, r0, r1, &mut sc, |tile, t, _, init| {
                    simd::score_tile(isa, tile, init, &mut buf);
                    let j0 = tile.j0 as usize;
                    let cols = (tile.np * LANES).min(k - j0);
                    for i in 0..MR {
                        let row = t * MR + i;
                        if r0 + row >= r1 {
                            break;
                        }
                        for cix in 0..cols {
                            ob[row * k + j0 + cix] =
                                finish(r0 + row, buf[i * MAX_NP * LANES + cix]);
                        }
                    }
                });
            });
    }
    Ok(())
}

/// Every kernel score `‖c_j‖² − 2·x·c_j` (the norm term of [`PackedCentroids`]) of rows
/// `r0..r0 + out.len() / k` of `x` (at most [`ROW_BLOCK`]) into `out`, row-major, on the
/// calling thread, with the bits the exact arg-min pass compares: the first lowest score of
/// a row is its label in [`assign_with`] (for bound-pruned passes that keep one lower bound
/// per centroid, `kmeans::pruned`).
pub(crate) fn scores_block(
    isa: Isa,
    x: MatrixView<'_>,
    c: &PackedCentroids,
    r0: usize,
    out: &mut [f32],
    bs: &mut BlockScratch,
) {
    let k = c.k();
    let r1 = r0 + out.len() / k;
    debug_assert!(out.len().is_multiple_of(k) && r1 - r0 <= ROW_BLOCK && r1 <= x.n());
    let mut buf = [0f32; MR * MAX_NP * LANES];
    for_each_tile(isa, x, c, r0, r1, &mut bs.sc, |tile, t, _, init| {
        simd::score_tile(isa, tile, init, &mut buf);
        let j0 = tile.j0 as usize;
        let cols = (tile.np * LANES).min(k - j0);
        for i in 0..MR.min(r1 - r0 - t * MR) {
            let row = t * MR + i;
            out[row * k + j0..row * k + j0 + cols]
                .copy_from_slice(&buf[i * MAX_NP * LANES..i * MAX_NP * LANES + cols]);
        }
    });
}

/// Best and second-best scores of every row (for bound-pruned backends): `(label, best,
/// second)` with exactly the bits and the tie rule of [`assign_with`]; second is +∞ if k = 1.
pub fn top2(
    x: MatrixView<'_>,
    c: &PackedCentroids,
    out: &mut [(u32, f32, f32)],
    cancel: &dyn Fn() -> bool,
) -> Result<()> {
    let k = c.k();
    assert_eq!(out.len(), x.n());
    let isa = simd::active();
    let slab = rows_per_poll(k, x.d());
    for (s, o) in out.chunks_mut(slab).enumerate() {
        if cancel() {
            return Err(Error::Interrupted);
        }
        let s0 = s * slab;
        // One scratch per worker (a fresh screen buffer per block would first-touch its pages).
        o.par_chunks_mut(ROW_BLOCK)
            .enumerate()
            .for_each_init(BlockScratch::default, |bs, (b, ob)| {
                top2_block(isa, x, c, s0 + b * ROW_BLOCK, ob, bs)
            });
    }
    Ok(())
}

/// [`top2`] of rows `r0..r0 + out.len()` of `x` (at most [`ROW_BLOCK`]) on the calling
/// thread: (label, best score, second-best score) per row, the bits of [`top2`].
pub(crate) fn top2_block(
    isa: Isa,
    x: MatrixView<'_>,
    c: &PackedCentroids,
    r0: usize,
    ob: &mut [(u32, f32, f32)],
    bs: &mut BlockScratch,
) {
    let k = c.k();
    let r1 = r0 + ob.len();
    debug_assert!(ob.len() <= ROW_BLOCK && r1 <= x.n());
    #[cfg(target_arch = "x86_64")]
    if let (Isa::Avx512, Some(sp), true) = (
        isa,
        c.screen(),
        k >= super::screen::TOP2_MIN_K && ob.len() >= MR,
    ) {
        let mut l = [0u32; ROW_BLOCK];
        let mut v = [0f32; ROW_BLOCK];
        let mut v2 = [0f32; ROW_BLOCK];
        let m = ob.len();
        if super::screen::screen_block(
            x,
            c,
            sp,
            r0,
            &mut l[..m],
            &mut v[..m],
            Some(&mut v2[..m]),
            &mut bs.screen,
        ) {
            for (i, e) in ob.iter_mut().enumerate() {
                *e = (l[i], v[i], v2[i]);
            }
            return;
        }
    }
    bs.best.clear();
    bs.best.resize((r1 - r0).div_ceil(MR), LaneBest::default());
    let best = &mut bs.best;
    for_each_tile(isa, x, c, r0, r1, &mut bs.sc, |tile, t, _, init| {
        simd::argmin2_tile(isa, tile, init, &mut best[t])
    });
    for (i, e) in ob.iter_mut().enumerate() {
        let (b1, id, b2) = best[i / MR].finish2(i % MR);
        *e = (id, b1, b2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::Metric;
    use crate::rng::Rng;

    #[test]
    fn small_passes_run_in_place_only_outside_the_pool() {
        let (k, d) = (256, 64);
        let rows = INLINE_WORK / (k * d);
        // Outside any pool: one task up to INLINE_WORK, split beyond it.
        assert_eq!(rayon::current_thread_index(), None);
        assert_eq!(min_blocks(rows, k, d), usize::MAX);
        assert_eq!(min_blocks(rows + 1, k, d), 1);
        // On a pool worker (inside a fit) forking is cheap: always split.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        assert_eq!(pool.install(|| min_blocks(1, k, d)), 1);
        // The in-place pass gives the pooled pass's bits.
        let mut r = Rng::new(3);
        let x: Vec<f32> = (0..(rows + 1) * d).map(|_| r.normal() as f32).collect();
        let c: Vec<f32> = (0..k * d).map(|_| r.normal() as f32).collect();
        let pc = PackedCentroids::new(&c, k, d, Metric::L2);
        let xv = MatrixView::new(&x, rows + 1, d).unwrap();
        let inline = assign(xv.rows(0, rows), &pc, &|| false).unwrap();
        let pooled = pool.install(|| assign(xv.rows(0, rows), &pc, &|| false).unwrap());
        assert_eq!(inline.labels, pooled.labels);
        assert!(inline
            .scores
            .iter()
            .zip(&pooled.scores)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    fn data(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut r = Rng::new(seed);
        (0..n * d).map(|_| r.normal() as f32).collect()
    }

    #[test]
    fn matches_brute_force_and_is_blocking_invariant() {
        for &(n, d, k) in &[
            (1usize, 1usize, 1usize),
            (7, 3, 5),
            (200, 17, 70),
            (130, 64, 300),
            (77, 200, 100),
            (40, 777, 150),
            (33, 400, 20),
            (9, 5, 48),
            // d > KC_MAX: the dimension is split into chunks.
            (11, 4200, 70),
        ] {
            let xs = data(n, d, 1);
            let cs = data(k, d, 2);
            let x = MatrixView::new(&xs, n, d).unwrap();
            let pc = PackedCentroids::new(&cs, k, d, Metric::L2);
            let out = assign(x, &pc, &|| false).unwrap();
            for i in 0..n {
                let dist = |j: usize| -> f64 {
                    (0..d)
                        .map(|p| ((xs[i * d + p] - cs[j * d + p]) as f64).powi(2))
                        .sum()
                };
                let best = (0..k).map(dist).fold(f64::INFINITY, f64::min);
                let got = dist(out.labels[i] as usize);
                assert!(
                    got <= best + 1e-3 * (1.0 + best),
                    "row {i}: {got} vs {best}"
                );
            }
            // Each row alone gives the same bits as the whole batch.
            for i in (0..n).step_by(7) {
                let one = assign(x.rows(i, i + 1), &pc, &|| false).unwrap();
                assert_eq!(one.labels[0], out.labels[i]);
                assert_eq!(one.scores[0].to_bits(), out.scores[i].to_bits());
            }
            // Every ISA gives the same bits.
            for isa in simd::available() {
                let mut l = vec![0; n];
                let mut s = vec![0.0; n];
                assign_with(isa, x, &pc, &mut l, &mut s, &|| false).unwrap();
                assert_eq!(l, out.labels);
            }
        }
    }

    #[test]
    fn distances_match_assign() {
        let (n, d, k) = (100, 9, 37);
        let xs = data(n, d, 3);
        let cs = data(k, d, 4);
        let x = MatrixView::new(&xs, n, d).unwrap();
        let pc = PackedCentroids::new(&cs, k, d, Metric::L2);
        let mut all = vec![0f32; n * k];
        distances(x, &pc, &mut all, &|_, s| s, &|| false).unwrap();
        let out = assign(x, &pc, &|| false).unwrap();
        for i in 0..n {
            let row = &all[i * k..(i + 1) * k];
            let j = out.labels[i] as usize;
            assert_eq!(row[j].to_bits(), out.scores[i].to_bits());
            assert!(row.iter().all(|&v| v >= row[j]));
        }
    }

    #[test]
    fn top2_matches_distances() {
        let (n, d, k) = (150, 11, 70);
        let xs = data(n, d, 5);
        let cs = data(k, d, 6);
        let x = MatrixView::new(&xs, n, d).unwrap();
        let pc = PackedCentroids::new(&cs, k, d, Metric::L2);
        let mut all = vec![0f32; n * k];
        distances(x, &pc, &mut all, &|_, s| s, &|| false).unwrap();
        let mut t2 = vec![(0, 0.0, 0.0); n];
        top2(x, &pc, &mut t2, &|| false).unwrap();
        for i in 0..n {
            let mut row: Vec<(f32, usize)> =
                all[i * k..(i + 1) * k].iter().cloned().zip(0..).collect();
            row.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            assert_eq!(t2[i], (row[0].1 as u32, row[0].0, row[1].0));
        }
    }

    #[test]
    fn scores_block_first_least_is_the_label_on_every_isa() {
        // The per-centroid pruned passes label rescanned rows by the first least of
        // `scores_block`: it must be the arg-min pass's label and score, bit for bit, on every
        // ISA, with tied centroids (duplicates), a partial last tile, k off the lane width and
        // a split dimension.
        for &(n, d, k) in &[(150usize, 11usize, 70usize), (64, 384, 20), (37, 4200, 9)] {
            let xs = data(n, d, 7);
            let mut cs = data(k, d, 8);
            cs.copy_within(0..d, 3 * d);
            let x = MatrixView::new(&xs, n, d).unwrap();
            let pc = PackedCentroids::new(&cs, k, d, Metric::L2);
            for isa in simd::available() {
                let (mut l, mut s) = (vec![0u32; n], vec![0f32; n]);
                assign_with(isa, x, &pc, &mut l, &mut s, &|| false).unwrap();
                let mut bs = BlockScratch::default();
                for r0 in (0..n).step_by(ROW_BLOCK) {
                    let m = ROW_BLOCK.min(n - r0);
                    let mut out = vec![0f32; m * k];
                    scores_block(isa, x, &pc, r0, &mut out, &mut bs);
                    for (o, row) in out.chunks_exact(k).enumerate() {
                        let j = (0..k).fold(0, |b, j| if row[j] < row[b] { j } else { b });
                        let ctx = format!("{isa:?} {n}x{d} k={k} row {}", r0 + o);
                        assert_eq!(j as u32, l[r0 + o], "{ctx}");
                        assert_eq!(row[j].to_bits(), s[r0 + o].to_bits(), "{ctx}");
                    }
                }
            }
        }
    }

    #[test]
    fn cancel_interrupts() {
        let xs = data(10, 2, 1);
        let pc = PackedCentroids::new(&xs[..4], 2, 2, Metric::L2);
        let r = assign(MatrixView::new(&xs, 10, 2).unwrap(), &pc, &|| true);
        assert!(matches!(r, Err(Error::Interrupted)));
    }
}
