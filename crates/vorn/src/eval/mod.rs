//! Clustering quality: V-measure (Rosenberg & Hirschberg 2007), with homogeneity and
//! completeness, and the adjusted Rand index (Hubert & Arabie 1985), computed from the
//! contingency table in O(n + |classes|·|clusters|).
//!
//! V = 2·h·c / (h + c) with h = 1 − H(C|K)/H(C), c = 1 − H(K|C)/H(K) (natural logs; h = 1
//! when H(C) = 0, c = 1 when H(K) = 0), identical to scikit-learn's `v_measure_score`.

use std::collections::HashMap;

/// Homogeneity, completeness and V-measure of `pred` against `truth`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VMeasure {
    /// Each cluster holds one class.
    pub homogeneity: f64,
    /// Each class sits in one cluster.
    pub completeness: f64,
    /// Their harmonic mean.
    pub v_measure: f64,
}

type Counts<K> = HashMap<K, f64>;

fn contingency(truth: &[u32], pred: &[u32]) -> (Counts<(u32, u32)>, Counts<u32>, Counts<u32>) {
    assert_eq!(truth.len(), pred.len(), "label vectors differ in length");
    let mut joint = HashMap::new();
    let mut a = HashMap::new();
    let mut b = HashMap::new();
    for (&t, &p) in truth.iter().zip(pred) {
        *joint.entry((t, p)).or_insert(0.0) += 1.0;
        *a.entry(t).or_insert(0.0) += 1.0;
        *b.entry(p).or_insert(0.0) += 1.0;
    }
    (joint, a, b)
}

fn entropy(counts: &HashMap<u32, f64>, n: f64) -> f64 {
    counts.values().map(|&c| -(c / n) * (c / n).ln()).sum()
}

/// V-measure of a clustering; see the module docs.
///
/// ```
/// let v = vorn::eval::v_measure(&[0, 0, 1, 1], &[5, 5, 3, 3]);
/// assert!((v.v_measure - 1.0).abs() < 1e-12);
/// ```
pub fn v_measure(truth: &[u32], pred: &[u32]) -> VMeasure {
    let n = truth.len() as f64;
    if truth.is_empty() {
        return VMeasure {
            homogeneity: 1.0,
            completeness: 1.0,
            v_measure: 1.0,
        };
    }
    let (joint, a, b) = contingency(truth, pred);
    let (hc, hk) = (entropy(&a, n), entropy(&b, n));
    // Mutual information.
    let mi: f64 = joint
        .iter()
        .map(|(&(t, p), &c)| (c / n) * ((c * n) / (a[&t] * b[&p])).ln())
        .sum();
    let h = if hc == 0.0 { 1.0 } else { mi / hc };
    let c = if hk == 0.0 { 1.0 } else { mi / hk };
    let v = if h + c == 0.0 {
        0.0
    } else {
        2.0 * h * c / (h + c)
    };
    VMeasure {
        homogeneity: h,
        completeness: c,
        v_measure: v,
    }
}

/// Adjusted Rand index of `pred` against `truth` (1 = identical partitions, ~0 = chance).
pub fn adjusted_rand(truth: &[u32], pred: &[u32]) -> f64 {
    let n = truth.len() as f64;
    let (joint, a, b) = contingency(truth, pred);
    let c2 = |x: f64| x * (x - 1.0) / 2.0;
    let sum_ij: f64 = joint.values().map(|&c| c2(c)).sum();
    let sa: f64 = a.values().map(|&c| c2(c)).sum();
    let sb: f64 = b.values().map(|&c| c2(c)).sum();
    let expected = sa * sb / c2(n).max(1.0);
    let max = 0.5 * (sa + sb);
    if (max - expected).abs() < f64::EPSILON {
        return 1.0;
    }
    (sum_ij - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_known_values() {
        // scikit-learn: v_measure_score([0,0,1,1],[0,0,1,2]) = 0.8
        let v = v_measure(&[0, 0, 1, 1], &[0, 0, 1, 2]);
        assert!((v.v_measure - 0.8).abs() < 1e-12, "{v:?}");
        assert!((v.homogeneity - 1.0).abs() < 1e-12);
        // One cluster for everything: homogeneity 0, completeness 1, V 0.
        let v = v_measure(&[0, 1, 2, 3], &[0, 0, 0, 0]);
        assert_eq!(
            (v.homogeneity, v.completeness, v.v_measure),
            (0.0, 1.0, 0.0)
        );
        assert!((adjusted_rand(&[0, 0, 1, 1], &[1, 1, 0, 0]) - 1.0).abs() < 1e-12);
        // scikit-learn: adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714285715
        assert!((adjusted_rand(&[0, 0, 1, 1], &[0, 0, 1, 2]) - 0.5714285714285715).abs() < 1e-12);
    }
}
