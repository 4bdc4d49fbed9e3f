//! The last pass of a sampled fit: the labels of all n rows and their exact objective, in
//! one read of the data.
//!
//! When `auto` trains on a sample, the model's labels and inertia are those of every row
//! against the final centroids C (k × d):
//!
//! * l(i) = the nearest centroid of row i through the tiled kernel ([`assign_rows`], the
//!   same bits as [`crate::linalg::assign`]);
//! * J = Σᵢ ‖sᵢ·xᵢ − c_{l(i)}‖² in f64 ([`exact_dist`]; sᵢ = 1, or 1/‖xᵢ‖ for cosine),
//!   summed in row order within fixed chunks of [`CHUNK`] rows and the chunk sums in chunk
//!   order, the association of [`super::reduce::ordered_sum`].
//!
//! Labelling all rows and then summing read the n × d data twice; here each row block's
//! distances are taken right after the block is labelled, while its rows are in cache.
//! Same labels and the same inertia bits as the two passes (test below). Measured with
//! `examples/fit_file` (PHASES=1, 2 threads, alternating binaries, same fingerprints):
//! uniform 1M × 64, k = 64 (a memory-bound pass): 35–48 → 31–39 ms; k = 256 (compute-bound):
//! 104–112 → 93–115 ms, i.e. no change; GloVe 400k × 50 cosine, k = 64: 15–18 → 15–19 ms.

use super::reduce::CHUNK;
use super::update::{exact_dist, inv_norm};
use super::Monitor;
use crate::data::MatrixView;
use crate::error::{Error, Result};
use crate::linalg::{assign_rows, rows_per_poll, BlockScratch, PackedCentroids, ROW_BLOCK};
use crate::metric::Metric;
use crate::simd;
use rayon::prelude::*;

/// Labels of every row of `x` against `c` (row-major k × d) and the objective J of those
/// labels, computed in one pass.
pub(crate) fn labels_and_objective(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    c: &[f32],
    mon: &dyn Monitor,
) -> Result<(Vec<u32>, f64)> {
    let (n, d) = (x.n(), x.d());
    let k = c.len() / d;
    let pc = PackedCentroids::new(c, k, d, metric);
    let isa = simd::active();
    let mut labels = vec![0u32; n];
    crate::data::advise_huge_pages(&mut labels);
    let mut sums = vec![0f64; n.div_ceil(CHUNK)];
    // Chunks per cancellation check: the assignment pass's slab, in whole chunks.
    let per_poll = (rows_per_poll(k, d) / CHUNK).max(1);
    for (s, (lab, sum)) in labels
        .chunks_mut(per_poll * CHUNK)
        .zip(sums.chunks_mut(per_poll))
        .enumerate()
    {
        if mon.cancelled() {
            return Err(Error::Interrupted);
        }
        let s0 = s * per_poll * CHUNK;
        lab.par_chunks_mut(CHUNK)
            .zip(sum.par_iter_mut())
            .enumerate()
            .for_each(|(q, (l, out))| {
                let mut bs = BlockScratch::default();
                let mut scores = [0f32; ROW_BLOCK];
                let mut dists = Vec::with_capacity(l.len());
                let c0 = s0 + q * CHUNK;
                for (b, lb) in l.chunks_mut(ROW_BLOCK).enumerate() {
                    let r0 = c0 + b * ROW_BLOCK;
                    assign_rows(isa, x, &pc, r0, lb, &mut scores[..lb.len()], &mut bs);
                    dists.extend(lb.iter().enumerate().map(|(o, &j)| {
                        let (i, j) = (r0 + o, j as usize);
                        exact_dist(x.row(i), inv_norm(metric, norms, i), &c[j * d..(j + 1) * d])
                    }));
                }
                *out = dists.iter().copied().sum::<f64>();
            });
    }
    if mon.cancelled() {
        return Err(Error::Interrupted);
    }
    Ok((labels, sums.iter().sum()))
}

/// The exact objective J = Σᵢ ‖sᵢ·xᵢ − c_{l(i)}‖² of given labels (the inertia of a model
/// trained on all rows, whose Lloyd objective came from the fixed-point expansion of
/// `super::sums`): the association of [`labels_and_objective`], one read of the rows.
pub(crate) fn exact_objective(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    c: &[f32],
    labels: &[u32],
) -> f64 {
    let d = x.d();
    super::reduce::ordered_sum(x.n(), |r| {
        r.map(|i| {
            let j = labels[i] as usize;
            exact_dist(x.row(i), inv_norm(metric, norms, i), &c[j * d..(j + 1) * d])
        })
        .sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{synth, validate};
    use crate::kmeans::reduce::ordered_sum;
    use crate::kmeans::Silent;
    use crate::linalg::assign;

    #[test]
    fn fused_final_pass_matches_labels_then_ordered_sum() {
        // n spans several chunks with a partial last one and a partial last row block.
        for (n, d, k) in [(9_001usize, 24usize, 7usize), (4_096, 33, 40), (300, 5, 3)] {
            let data = synth::blobs(n, d, k, 3).data;
            let x = MatrixView::new(&data, n, d).unwrap();
            let c: Vec<f32> = data[..k * d].iter().map(|v| v * 0.9 + 0.1).collect();
            for metric in [Metric::L2, Metric::Cosine] {
                let norms = validate(x, metric).unwrap();
                let cm: Vec<f32> = match metric {
                    Metric::L2 => c.clone(),
                    Metric::Cosine => c
                        .chunks(d)
                        .flat_map(|r| {
                            let s = r.iter().map(|v| v * v).sum::<f32>().sqrt();
                            r.iter().map(move |v| v / s).collect::<Vec<_>>()
                        })
                        .collect(),
                };
                let pc = PackedCentroids::new(&cm, k, d, metric);
                let want = assign(x, &pc, &|| false).unwrap().labels;
                let want_j = ordered_sum(n, |r| {
                    r.map(|i| {
                        let l = want[i] as usize;
                        exact_dist(
                            x.row(i),
                            inv_norm(metric, &norms, i),
                            &cm[l * d..(l + 1) * d],
                        )
                    })
                    .sum()
                });
                let (got, got_j) = labels_and_objective(x, &norms, metric, &cm, &Silent).unwrap();
                assert_eq!(got, want, "n={n} {metric:?}");
                assert_eq!(got_j.to_bits(), want_j.to_bits(), "n={n} {metric:?}");
                let exact = exact_objective(x, &norms, metric, &cm, &want);
                assert_eq!(exact.to_bits(), want_j.to_bits(), "n={n} {metric:?}");
            }
        }
    }
}
