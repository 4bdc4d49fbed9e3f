//! Shared test helpers: data generators and a naive reference k-means.
#![allow(dead_code)]

use vorn::data::MatrixView;
use vorn::rng::Rng;

pub fn gaussian(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n * d).map(|_| r.normal() as f32).collect()
}

pub fn sqdist(a: &[f32], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (*x as f64 - y).powi(2)).sum()
}

/// Textbook Lloyd in f64: assign (ties to lowest id), mean update, empty clusters keep their
/// centre. Returns labels after `iters` assign/update rounds followed by a final assign.
pub fn naive_lloyd(
    x: &[f32],
    n: usize,
    d: usize,
    init: &[f32],
    iters: usize,
) -> (Vec<u32>, Vec<f64>) {
    let k = init.len() / d;
    let mut c: Vec<f64> = init.iter().map(|&v| v as f64).collect();
    let mut labels = vec![0u32; n];
    for it in 0..=iters {
        for i in 0..n {
            let row = &x[i * d..(i + 1) * d];
            let mut best = (f64::INFINITY, 0u32);
            for j in 0..k {
                let dist = sqdist(row, &c[j * d..(j + 1) * d]);
                if dist < best.0 {
                    best = (dist, j as u32);
                }
            }
            labels[i] = best.1;
        }
        if it == iters {
            break;
        }
        let mut sum = vec![0f64; k * d];
        let mut cnt = vec![0usize; k];
        for i in 0..n {
            let l = labels[i] as usize;
            cnt[l] += 1;
            for p in 0..d {
                sum[l * d + p] += x[i * d + p] as f64;
            }
        }
        for j in 0..k {
            if cnt[j] > 0 {
                for p in 0..d {
                    c[j * d + p] = sum[j * d + p] / cnt[j] as f64;
                }
            }
        }
    }
    (labels, c)
}

pub fn view(x: &[f32], n: usize, d: usize) -> MatrixView<'_> {
    MatrixView::new(x, n, d).unwrap()
}

/// The fit at 1 thread equals the fits at 2 and 3 threads bit for bit.
pub fn assert_same_bits_at_2_and_3_threads(
    m: &vorn::KMeansModel,
    fit_on: impl Fn(usize) -> vorn::KMeansModel,
) {
    for t in [2, 3] {
        let o = fit_on(t);
        assert_eq!(o.centroids(), m.centroids(), "threads={t}");
        assert_eq!(o.labels(), m.labels());
        assert_eq!(o.inertia().to_bits(), m.inertia().to_bits());
    }
}

/// Every `step`-th row's label is its nearest final centroid (squared L2, f64).
pub fn assert_labels_are_nearest_centroids(x: MatrixView<'_>, m: &vorn::KMeansModel, step: usize) {
    let (d, c) = (x.d(), m.centroids());
    let k = c.len() / d;
    for i in (0..x.n()).step_by(step) {
        let row = x.row(i);
        let d2 = |j: usize| -> f64 {
            row.iter()
                .zip(&c[j * d..(j + 1) * d])
                .map(|(a, q)| ((*a - *q) as f64).powi(2))
                .sum()
        };
        let best = (0..k).map(d2).fold(f64::INFINITY, f64::min);
        assert!(
            d2(m.labels()[i] as usize) <= best * (1.0 + 1e-5) + 1e-6,
            "row {i}"
        );
    }
}
