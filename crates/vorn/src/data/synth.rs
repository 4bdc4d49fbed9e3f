//! Deterministic synthetic data: Gaussian blobs with known labels.
//!
//! `blobs(n, d, centers, seed)`: centres drawn uniformly in [−10, 10]^d, each with its own
//! standard deviation in [0.5, 2.0] (varied spread, as real clusters have); row i belongs to
//! centre `i % centers` after a seeded shuffle. Same arguments ⇒ same bits on every platform.

use crate::rng::Rng;

/// A labelled synthetic dataset (row-major `n × d`).
#[derive(Debug, Clone)]
pub struct Labelled {
    /// Row-major data, `n * d` values.
    pub data: Vec<f32>,
    /// True component of each row.
    pub labels: Vec<u32>,
    /// Rows.
    pub n: usize,
    /// Dimension.
    pub d: usize,
}

/// Gaussian blobs; see the module docs.
///
/// ```
/// let b = vorn::data::synth::blobs(100, 4, 3, 0);
/// assert_eq!(b.data.len(), 400);
/// assert!(b.labels.iter().all(|&l| l < 3));
/// ```
pub fn blobs(n: usize, d: usize, centers: usize, seed: u64) -> Labelled {
    assert!(centers > 0);
    let mut rng = Rng::new(seed);
    let means: Vec<f64> = (0..centers * d)
        .map(|_| rng.next_f64() * 20.0 - 10.0)
        .collect();
    let spread: Vec<f64> = (0..centers).map(|_| 0.5 + 1.5 * rng.next_f64()).collect();
    let mut labels: Vec<u32> = (0..n).map(|i| (i % centers) as u32).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        labels.swap(i, j);
    }
    let mut data = vec![0f32; n * d];
    for i in 0..n {
        let c = labels[i] as usize;
        for j in 0..d {
            data[i * d + j] = (means[c * d + j] + spread[c] * rng.normal()) as f32;
        }
    }
    Labelled { data, labels, n, d }
}
