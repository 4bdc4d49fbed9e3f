//! Staged training for `auto`: Lloyd first on uniform subsets of the training rows, then
//! from those centroids on all of them ([`staged`]), on `auto`'s training sample
//! ([`sample_stages`]) and, when `auto` trains on all rows, in the regimes of [`warm_rows`].

use super::fit::assigner;
use super::lloyd::{run, RunResult};
use super::{KMeansParams, Monitor};
use crate::cluster::Algorithm;
use crate::data::MatrixView;
use crate::error::Result;

/// One stage of [`staged`]: its rows (a uniform subset of the next stage's, or all training
/// rows), their norms, and the iteration count at which it ends at the latest.
pub(super) type Stage<'a> = (MatrixView<'a>, &'a [f32], usize);

/// Staged training for `auto`: Lloyd on the rows of each stage in turn, each from the
/// centroids of the one before (the first from `c0`), stage i running until the fit's
/// iteration count reaches its end `stages[i].2` (the last stage's end is `max_iter`); each
/// stage stops on its own tolerance or fixed point, and what it leaves unused passes to the
/// next. The early stages do most of the moving at a fraction of the cost per iteration.
/// Iteration statistics are numbered across the stages; the result is the last stage's.
///
/// Every run of a fit goes through here: (1) on `auto`'s training sample of m rows, the
/// stages of [`sample_stages`] (prefixes of the sample, gathered in the order that makes them
/// uniform subsets); (2) the warm starts of [`warm_rows`]: a copied subset, then all rows;
/// (3) otherwise one stage on the training rows, which is Lloyd's `run` itself.
pub(super) fn staged(
    stages: &[Stage<'_>],
    p: &KMeansParams,
    algorithm: Algorithm,
    c0: Vec<f32>,
    r: usize,
    mon: &dyn Monitor,
) -> Result<RunResult> {
    debug_assert!(stages.windows(2).all(|w| w[0].2 < w[1].2));
    debug_assert_eq!(stages.last().map(|s| s.2), Some(p.max_iter));
    let mut c = c0;
    let mut stats = Vec::new();
    let mut used = 0;
    for (i, &(x, norms, end)) in stages.iter().enumerate() {
        let mut ps = p.clone();
        // Ends increase strictly and `used` never passes the previous end: ≥ 1 iteration.
        ps.max_iter = end - used;
        let mut res = run(x, norms, &ps, c, assigner(algorithm, p).as_mut(), r, mon)?;
        stats.extend(res.stats.drain(..).map(|mut s| {
            s.iter += used;
            s
        }));
        used += res.n_iter;
        if i + 1 == stages.len() {
            res.stats = stats;
            res.n_iter = used;
            return Ok(res);
        }
        c = res.centroids;
    }
    unreachable!("at least one stage")
}

/// Fewest rows per centre of the first stage for [`sample_stages`] to train in three stages.
const QUARTER_ROWS_PER_CENTRE: usize = 128;

/// The stages of `auto`'s training on its sample of m rows: (rows, last iteration) each,
/// rows being prefixes of the sample gathered in [`stage_order`].
///
/// Three stages when a quarter of the sample keeps ≥ [`QUARTER_ROWS_PER_CENTRE`] rows per
/// centre (every sample `auto` draws by itself: m ≥ 512·k): ⌈m/4⌉ rows up to iteration
/// ⌊max_iter/3⌋, ⌈m/2⌉ rows up to ⌊3·max_iter/4⌋, then all m (25 iterations: 8, 10, 7).
/// Otherwise two: ⌈m/2⌉ rows up to ⌊max_iter/2⌋, then all m; or one, when half the sample
/// (a caller's `sample_size` below 2·k) would leave centres without rows. A pass costs its rows, and
/// the centroids' last moves need few passes on the whole sample once the smaller stages
/// have placed them. Measured with `examples/fit_file` (25 iterations, 2 threads, AVX-512,
/// seeds 0–2, two stages of 12 + 13 → three of 8 + 10 + 7): uniform 1M × 64, k = 256
/// (m = 131 072): 0.70/0.71/0.72 s → 0.58/0.61/0.56 s, MSE 4.67621/4.67648/4.67653 →
/// 4.67655/4.67695/4.67665 (+0.01%); k = 64 (m = 65 536): 0.154/0.147/0.142 s →
/// 0.142/0.131/0.134 s, MSE +0.02/+0.01/+0.01%; GloVe 400k × 50 cosine, k = 256:
/// 0.478/0.484/0.483 s → 0.380/0.373/0.397 s, mean cosine −0.02/+0.04/−0.06%; k = 64:
/// 0.107/0.102/0.098 s → 0.083/0.082/0.084 s, mean cosine +0.12/−0.04/−0.07%. Forced AVX2
/// (`VORN_SIMD=avx2`), uniform k = 256: 0.70/0.70/0.70 s → 0.58/0.58/0.58 s. Shorter
/// last stages gained little more time for a larger loss (5 iterations on the whole
/// sample: uniform k = 256 MSE +0.02%). The two stages had been measured against one stage
/// on the m rows (seeds 0–2): uniform k = 256 MSE +0.007% to +0.03%, GloVe k = 256 mean
/// cosine −0.02% to −0.06%, for 25–35% less wall time; keeping only 5 iterations for
/// their second stage lost 0.1% on GloVe.
pub(super) fn sample_stages(m: usize, k: usize, max_iter: usize) -> Vec<(usize, usize)> {
    let (half, quarter) = (m.div_ceil(2), m.div_ceil(4));
    if max_iter >= 4 && quarter >= QUARTER_ROWS_PER_CENTRE.saturating_mul(k) {
        vec![
            (quarter, max_iter / 3),
            (half, 3 * max_iter / 4),
            (m, max_iter),
        ]
    } else if max_iter >= 2 && half >= k {
        vec![(half, max_iter / 2), (m, max_iter)]
    } else {
        vec![(m, max_iter)]
    }
}

/// `idx` (the sampled rows, in input order) in the gather order of `stages` nested stages:
/// every 2^(stages−1)-th entry from the first, then for j = stages − 1 down to 1 the entries
/// at 2^(j−1) + multiples of 2^j (two stages: the even positions, then the odd ones; three:
/// 0, 4, 8, …, then 2, 6, 10, …, then the odd ones). Every prefix that is a stage of
/// [`sample_stages`] (⌈m/4⌉, ⌈m/2⌉ rows) then holds every fourth (second) sampled row: a
/// uniform subset spread over the input like the sample itself, and no copy is needed.
pub(super) fn stage_order<T: Copy>(idx: &[T], stages: usize) -> Vec<T> {
    let top = stages.max(1) - 1;
    let mut out = Vec::with_capacity(idx.len());
    out.extend(idx.iter().step_by(1 << top));
    for j in (1..=top).rev() {
        out.extend(idx.iter().skip(1 << (j - 1)).step_by(1 << j));
    }
    out
}

/// Largest k for the memory-bound warm start of [`warm_rows`].
const WARM_K_MAX: usize = 64;
/// Size of the warm-start subset of [`warm_rows`] (a copy: within the 64 MiB working budget).
const WARM_BYTES: usize = 32 << 20;
/// Fewest subset rows per centre of the compute-bound warm start of [`warm_rows`].
const WARM_HEAVY_ROWS_PER_CENTRE: usize = 64;
/// Least data for the mid-size warm start of [`warm_rows`] (16 MiB: a pass of ≥ ~1 ms).
const WARM_MID_BYTES: usize = 16 << 20;
/// Fewest subset rows per centre of the mid-size warm start of [`warm_rows`].
const WARM_MID_ROWS_PER_CENTRE: usize = 64;
/// Least n·k·d of one pass for the compute-bound warm start of [`warm_rows`] (2·n·k·d ≈ 4
/// GFLOP, ≥ 20 ms on 2 cores: the passes, not seeding or per-iteration costs, are the fit).
const WARM_HEAVY_WORK: usize = 1 << 31;

/// Rows of the warm-start subset when `auto` trains on all n rows, or `None`.
///
/// `auto` then trains in two stages ([`staged`]): a first stage of up to
/// [`warm_first_iters`] iterations on a uniform subset of s = min(n/4, 32 MiB / (4d)) rows (a
/// copy within the working budget), then the remaining iterations on all rows from those
/// centroids. Never for named algorithms, when the caller set a sample size, or when `auto`
/// already samples. Three regimes qualify:
///
/// * **Memory-bound passes**: k ≤ 64, data ≥ 4 × 32 MiB, s ≥ 256 rows per centre. At k ≤ 28
///   a pass does k/2 FLOP per byte of data read, below what ~14 GB/s of memory bandwidth can
///   feed to a ~200 GFLOP/s kernel, so once the data is far larger than the caches every pass
///   over all n rows costs a full read of the data from memory (e.g. Fashion-MNIST, 70k ×
///   784, 219 MB: ~16 ms at ~14 GB/s, whatever k); up to k = 64 the passes over all rows are
///   still the whole cost of the fit, and the subset stays in cache. Measured with
///   `examples/fit_file` (25 iterations, 2 threads, one stage on all rows → warm start,
///   alternating runs): Fashion-MNIST k = 5 (seeds 0–2): 1.01/0.95/0.43 s → 0.64/0.61/0.27 s;
///   k = 10: 0.58/0.52/0.50 → 0.45/0.33/0.35 s; k = 20: 1.28/1.56/1.17 → 1.07/1.05/1.01 s;
///   anisotropic 100k × 768, k = 32: 0.85/0.80/0.78 → 0.50/0.51/0.53 s, objective −0.03% to
///   +0.07% across these twelve fits. Fashion-MNIST k = 40 (seeds 0–5):
///   1.15/0.79/1.26/1.02/1.27/1.18 s → 0.74/0.71/0.79/0.78/0.62/0.83 s, objective
///   +0.16/−0.07/−0.03/−0.00/+0.03/+0.18% (mean +0.05%, inside the seed-to-seed spread).
/// * **Compute-bound Lloyd passes**: k > 64, `auto` plans Lloyd ([`crate::cluster::select`]),
///   a pass does n·k·d ≥ 2³¹ and s ≥ 64 rows per centre. Every full pass then costs
///   2·n·k·d flops at the kernel's peak, and the first stage's passes cost s/n of that. Hamerly is left out: its
///   late iterations are already cheap (bounds prune most rows), and the extra iterations the
///   two stages take cancel the gain (aniso 100k × 768, k = 128: 2.02/2.20 s → 2.12/2.16 s;
///   blobs k = 512: 2.02/1.88 → 1.92/2.00 s, seeds 0–1). Measured as above (seeds 0–2, one
///   stage on all rows → warm start): uniform 1M × 64, k = 1024 (s = 128 per centre):
///   22.3/21.4/21.2 s → 14.4/11.9/14.5 s, MSE +0.07% each; GloVe 400k × 50 cosine, k = 1024
///   (98 per centre): 7.7/7.9/8.1 s → 5.5/5.4/6.4 s, mean cosine −0.04/−0.10/−0.11%. On
///   20newsgroups (19k × 384, k = 40, passes of 0.3 · 10⁹) it saved 0–20% with the objective
///   ±0.1% either way, too little to set the rule by; short passes stay one-stage.
/// * **Mid-size data**: k ≤ 64, 16 MiB ≤ data < 4 × 32 MiB, s = n/4 ≥ 64 rows per centre.
///   The data then sits around the size of the last-level cache: a pass costs 1–10 ms, a
///   fit 15–25 of them, and the subset passes a quarter of that. Measured on 20 Newsgroups
///   (18 846 × 384, 29 MB, s = 4 711) with `examples/fit_file` (25 iterations, 2 threads,
///   minimum of 5 in-process fits, seeds 0–2, one stage → warm start): l2 k = 20:
///   0.086/0.058/0.072 → 0.069/0.046/0.060 s, MSE +0.005/−0.010/+0.036%; k = 40:
///   0.128/0.161/0.138 → 0.106/0.105/0.109 s, MSE −0.085/+0.057/+0.296%; k = 10:
///   0.040/0.036/0.049 → 0.055/0.037/0.039 s, MSE +0.001/+0.002/+0.000%; cosine k = 10:
///   0.068/0.041/0.060 → 0.049/0.036/0.055 s, mean cosine −0.11/−0.03/−0.04%; k = 20:
///   0.085/0.086/0.066 → 0.059/0.047/0.063 s, +0.02/+0.01/+0.01%; k = 40: 0.128/0.162/0.155
///   → 0.115/0.098/0.108 s, +0.18/−0.04/−0.39% (objective changes of both signs, inside
///   the seed-to-seed spread). Below 16 MiB (digits: 0.5 MB) a fit is milliseconds of
///   fixed costs and a subset would only add a gather.
pub(super) fn warm_rows(
    n: usize,
    d: usize,
    k: usize,
    p: &KMeansParams,
    plan: Algorithm,
) -> Option<usize> {
    let bytes = n.saturating_mul(d).saturating_mul(4);
    if p.algorithm != Algorithm::Auto
        || p.max_iter < 4
        || p.sample_size.is_some()
        || p.max_points_per_centroid.is_some()
        || p.train_rows(n) < n
    {
        return None;
    }
    let s = (WARM_BYTES / (4 * d)).min(n / 4);
    let memory_bound = k <= WARM_K_MAX && bytes >= 4 * WARM_BYTES && s >= 256 * k;
    let mid = k <= WARM_K_MAX
        && (WARM_MID_BYTES..4 * WARM_BYTES).contains(&bytes)
        && s >= WARM_MID_ROWS_PER_CENTRE * k;
    let compute_bound = k > WARM_K_MAX
        && plan == Algorithm::Lloyd
        && n.saturating_mul(k).saturating_mul(d) >= WARM_HEAVY_WORK
        && s >= WARM_HEAVY_ROWS_PER_CENTRE * k;
    (memory_bound || mid || compute_bound).then_some(s)
}

/// Iterations of the warm start's first stage: ⌊max_iter/2⌋, and ⌊2·max_iter/3⌋ in the
/// compute-bound regime (k > [`WARM_K_MAX`]), where a full pass costs n/s first-stage passes
/// (4× for uniform and GloVe at k = 1024) and the centroids need few full passes once the
/// subset has placed them. Measured with `examples/fit_file` (25 iterations, 2 threads, seeds
/// 0–1, 12 → 16 first-stage iterations): uniform 1M × 64, k = 1024: 12.8/12.4 s → 9.5/9.5 s,
/// MSE +0.08% (4.4479/4.4477 → 4.4512/4.4511); GloVe 400k × 50 cosine, k = 1024: 4.8/5.1 s →
/// 3.9/4.2 s, mean cosine −0.07% (0.69907/0.69880 → 0.69860/0.69829); 19 iterations lost
/// 0.16% on GloVe.
///
/// With k ≤ 64 the first stage takes ⌊4·max_iter/5⌋ when the subset holds ≥
/// [`WARM_LONG_ROWS_PER_CENTRE`] rows per centre (k ≤ 10 on Fashion-MNIST's 10 699): its
/// centroids are then as good as full-data ones, while the objective of a few large clusters
/// still drifts slowly for many iterations, each a full read of the data in the second stage.
/// Measured as above (12 → 20 first-stage iterations, seeds 0–4): Fashion-MNIST k = 5:
/// 0.225/0.226/0.099/0.107/0.243 s → 0.123/0.137/0.099/0.101/0.152 s, MSE −0.005/+0.004/
/// 0/0/−0.002%; k = 8 (seeds 3–4): 0.123/0.147 → 0.114/0.118 s; k = 10 (seeds 0, 1, 3, 4):
/// 0.110/0.132/0.205/0.151 → 0.120/0.136/0.141/0.145 s, MSE 0/0/−0.001/−0.005%. Below
/// that the half stays: Fashion-MNIST k = 20/40 with 20 first-stage iterations ran from 37%
/// faster to 15% slower with the MSE up to +0.07%.
pub(super) fn warm_first_iters(k: usize, max_iter: usize, s: usize) -> usize {
    if k > WARM_K_MAX {
        2 * max_iter / 3
    } else if s >= WARM_LONG_ROWS_PER_CENTRE * k {
        4 * max_iter / 5
    } else {
        max_iter / 2
    }
}

/// Subset rows per centre from which the memory-bound first stage runs longer
/// ([`warm_first_iters`]).
const WARM_LONG_ROWS_PER_CENTRE: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_stages_nest_as_prefixes_of_the_gather_order() {
        // `auto`'s own samples: three stages (uniform 1M × 64 at k = 256 and 64).
        assert_eq!(
            sample_stages(131_072, 256, 25),
            vec![(32_768, 8), (65_536, 18), (131_072, 25)]
        );
        assert_eq!(
            sample_stages(65_536, 64, 25),
            vec![(16_384, 8), (32_768, 18), (65_536, 25)]
        );
        // A caller's small sample: two; the quarter bound is inclusive.
        assert_eq!(sample_stages(1_000, 8, 25), vec![(500, 12), (1_000, 25)]);
        // Never a stage with fewer rows than centres.
        assert_eq!(sample_stages(300, 256, 25), vec![(300, 25)]);
        assert_eq!(sample_stages(512, 256, 25), vec![(256, 12), (512, 25)]);
        assert_eq!(sample_stages(4 * 128 * 3, 3, 25).len(), 3);
        assert_eq!(sample_stages(4 * 128 * 3 - 4, 3, 25).len(), 2);
        for max_iter in 4..60 {
            for (m, k) in [(131_072, 256), (1_001, 8), (7, 1), (300, 256)] {
                let st = sample_stages(m, k, max_iter);
                // Every stage has at least one iteration, the last ends at `max_iter`.
                assert!(st[0].1 >= 1 && st[0].0 >= k);
                assert!(st.windows(2).all(|w| w[0].1 < w[1].1 && w[0].0 < w[1].0));
                assert_eq!(*st.last().unwrap(), (m, max_iter));
                // Each stage's rows: every 2^j-th sampled row, a prefix of the order.
                let order = stage_order(&(0..m).collect::<Vec<_>>(), st.len());
                let mut sorted = order.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..m).collect::<Vec<_>>());
                for (j, &(rows, _)) in st.iter().rev().enumerate() {
                    let mut pre = order[..rows].to_vec();
                    pre.sort_unstable();
                    let stride = 1 << j;
                    assert_eq!(
                        pre,
                        (0..m).step_by(stride).collect::<Vec<_>>(),
                        "m={m} j={j}"
                    );
                }
            }
        }
        // Two stages: evens then odds.
        assert_eq!(stage_order(&[0, 1, 2, 3, 4], 2), vec![0, 2, 4, 1, 3]);
        let nine: Vec<usize> = (10..19).collect();
        assert_eq!(
            stage_order(&nine, 3),
            vec![10, 14, 18, 12, 16, 11, 13, 15, 17]
        );
        assert_eq!(stage_order(&nine, 1), nine);
    }

    #[test]
    fn warm_first_stage_length_by_regime() {
        // Compute-bound (k > 64): two thirds, whatever the subset.
        assert_eq!(warm_first_iters(1024, 25, 131_072), 16);
        assert_eq!(warm_first_iters(WARM_K_MAX + 1, 300, 1 << 30), 200);
        // k ≤ 64: four fifths with ≥ 1024 subset rows per centre, else the half.
        assert_eq!(warm_first_iters(5, 25, 10_699), 20);
        assert_eq!(warm_first_iters(10, 25, 10_699), 20);
        assert_eq!(warm_first_iters(11, 25, 10_699), 12);
        assert_eq!(warm_first_iters(WARM_K_MAX, 25, 10_699), 12);
        assert_eq!(warm_first_iters(5, 4, 2), 2);
        // The second stage always keeps at least one iteration.
        for it in 4..100 {
            for (k, s) in [(5, 10_699), (5, 100), (1024, 131_072)] {
                let f = warm_first_iters(k, it, s);
                assert!(f >= 1 && f < it, "k={k} s={s} max_iter={it}: {f}");
            }
        }
    }

    #[test]
    fn warm_start_only_for_auto_at_small_k_on_large_data() {
        let auto = |k| KMeansParams::new(k);
        let w = |n, d, k, p: &KMeansParams| warm_rows(n, d, k, p, Algorithm::Lloyd);
        // Fashion-MNIST (70k × 784, 219 MB): 32 MiB / 3136 B = 10 699 rows.
        assert_eq!(w(70_000, 784, 5, &auto(5)), Some(10_699));
        assert_eq!(w(70_000, 784, 41, &auto(41)), Some(10_699));
        // n/4 binds when the data is just over 4 × 32 MiB.
        assert_eq!(w(65_536, 512, 8, &auto(8)), Some(16_384));
        assert_eq!(w(200_000, 256, 64, &auto(64)), Some(32_768));
        // Not for k > 64 with light passes, data under 16 MiB, too few rows per centre
        // (10 699 < 256 · 42), named algorithms, a caller's sample, a tiny iteration budget,
        // or when `auto` already samples.
        assert_eq!(w(70_000, 784, 42, &auto(42)), None);
        // Mid-size data (16 MiB to 128 MiB): n/4 rows, at least 64 per centre.
        assert_eq!(w(18_846, 384, 10, &auto(10)), Some(4_711));
        assert_eq!(w(18_846, 384, 64, &auto(64)), Some(4_711));
        assert_eq!(w(18_846, 384, 65, &auto(65)), None);
        assert_eq!(w(16_000, 384, 62, &auto(62)), Some(4_000));
        assert_eq!(w(16_000, 384, 63, &auto(63)), None); // 4 000 < 64 · 63
        assert_eq!(w(10_922, 384, 10, &auto(10)), None); // 15.99 MiB
        assert_eq!(w(1_797, 64, 5, &auto(5)), None);
        assert_eq!(w(10_000, 32_768, 8, &auto(8)), None);
        let named = auto(5).algorithm(Algorithm::Lloyd);
        assert_eq!(w(70_000, 784, 5, &named), None);
        let sampled = auto(5).sample_size(Some(70_000));
        assert_eq!(w(70_000, 784, 5, &sampled), None);
        assert_eq!(w(70_000, 784, 5, &auto(5).max_iter(3)), None);
        assert_eq!(w(1_000_000, 64, 8, &auto(8)), None);
    }

    #[test]
    fn warm_start_for_heavy_lloyd_passes_at_large_k() {
        let auto = |k| KMeansParams::new(k);
        // Uniform 1M × 64, k = 1024: s = 32 MiB / 256 B = 131 072 rows, 128 per centre.
        assert_eq!(
            warm_rows(1_000_000, 64, 1024, &auto(1024), Algorithm::Lloyd),
            Some(131_072)
        );
        // GloVe 400k × 50, k = 1024: s = n/4 = 100 000 rows (97.7 per centre).
        assert_eq!(
            warm_rows(400_000, 50, 1024, &auto(1024), Algorithm::Lloyd),
            Some(100_000)
        );
        // 64 rows per centre: 100 000 ≥ 64 · 1562 = 99 968, < 64 · 1563 = 100 032.
        assert_eq!(
            warm_rows(400_000, 50, 1562, &auto(1562), Algorithm::Lloyd),
            Some(100_000)
        );
        assert_eq!(
            warm_rows(400_000, 50, 1563, &auto(1563), Algorithm::Lloyd),
            None
        );
        // Not under Hamerly (blobs 200k × 128, k = 512).
        assert_eq!(
            warm_rows(200_000, 128, 512, &auto(512), Algorithm::Hamerly),
            None
        );
        // The work bound: n·k·d = 2³¹ qualifies, one row less does not.
        let n = 1 << 20;
        assert_eq!(
            warm_rows(n, 1, 2048, &auto(2048), Algorithm::Lloyd),
            Some(n / 4)
        );
        assert_eq!(
            warm_rows(n - 1, 1, 2048, &auto(2048), Algorithm::Lloyd),
            None
        );
        // 20newsgroups 18 846 × 384, k = 80: n·k·d = 0.58 · 10⁹, the passes are short.
        assert_eq!(
            warm_rows(18_846, 384, 80, &auto(80), Algorithm::Lloyd),
            None
        );
        // Named algorithms and caller samples never.
        let named = auto(1024).algorithm(Algorithm::Lloyd);
        assert_eq!(
            warm_rows(1_000_000, 64, 1024, &named, Algorithm::Lloyd),
            None
        );
        let sampled = auto(1024).sample_size(Some(1_000_000));
        assert_eq!(
            warm_rows(1_000_000, 64, 1024, &sampled, Algorithm::Lloyd),
            None
        );
    }
}
