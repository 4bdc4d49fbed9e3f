"""Quality of a clustering, recomputed from the returned centroids only (numpy, float64).

The harness never trusts a library's own objective or labels: for every row it takes the
centroids the row returned and computes, identically for all rows,

* l2:     MSE = mean over all n rows of min_j ||x_i - c_j||^2 (squared distance summed over
          dimensions, i.e. inertia / n), plus the inertia itself;
* cosine: mean over all rows of max_j cos(x_i, c_j) with c_j normalised (a zero centroid
          has cosine 0 to everything);
* V-measure (and homogeneity, completeness) of the nearest-centroid labels against the
  ground-truth classes, where the dataset has them.

Exactness: rows are processed in chunks in float64. The nearest centroid is found from the
float64 expansion ||x||^2 - 2 x.c + ||c||^2 (cosine: dot products of normalised float64 rows),
and the reported distance of the chosen centroid is then recomputed directly as
sum((x - c)^2) in float64, so the objective carries no cancellation error. A wrong argmin
would need two centroids to tie within ~1e-12 relative, which changes the objective by less
than that. Also reported: the fraction of rows where the row's own returned labels agree with
the exact nearest centroid (``label_agreement``), which exposes approximate assignment.
"""
from __future__ import annotations

import numpy as np

CHUNK_BYTES = 64 << 20  # float64 scratch per chunk (distance block)


def _chunk_rows(k: int, d: int) -> int:
    return int(max(256, min(65536, CHUNK_BYTES // (8 * max(k, d)))))


def nearest_l2(x: np.ndarray, c: np.ndarray):
    """Exact nearest centroid by squared L2. Returns (labels int64, sqdist float64)."""
    c64 = np.asarray(c, dtype=np.float64)
    cn = np.einsum("ij,ij->i", c64, c64)
    n = x.shape[0]
    labels = np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=np.float64)
    step = _chunk_rows(c64.shape[0], c64.shape[1])
    for s in range(0, n, step):
        xb = np.asarray(x[s:s + step], dtype=np.float64)
        g = xb @ c64.T
        g *= -2.0
        g += cn[None, :]
        lab = np.argmin(g, axis=1)
        diff = xb - c64[lab]
        labels[s:s + step] = lab
        dist[s:s + step] = np.einsum("ij,ij->i", diff, diff)
    return labels, dist


def _normalise(a: np.ndarray) -> np.ndarray:
    nrm = np.sqrt(np.einsum("ij,ij->i", a, a))
    nrm[nrm == 0] = 1.0
    return a / nrm[:, None]


def nearest_cosine(x: np.ndarray, c: np.ndarray):
    """Exact most-similar normalised centroid. Returns (labels int64, cosine float64)."""
    cu = _normalise(np.asarray(c, dtype=np.float64))
    n = x.shape[0]
    labels = np.empty(n, dtype=np.int64)
    sim = np.empty(n, dtype=np.float64)
    step = _chunk_rows(cu.shape[0], cu.shape[1])
    for s in range(0, n, step):
        xb = _normalise(np.asarray(x[s:s + step], dtype=np.float64))
        g = xb @ cu.T
        lab = np.argmax(g, axis=1)
        labels[s:s + step] = lab
        sim[s:s + step] = np.einsum("ij,ij->i", xb, cu[lab])
    return labels, sim


def _entropy_from_counts(counts: np.ndarray) -> float:
    counts = counts[counts > 0].astype(np.float64)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def v_measure(labels_true: np.ndarray, labels_pred: np.ndarray, beta: float = 1.0):
    """(homogeneity, completeness, V-measure) as defined by Rosenberg & Hirschberg (2007).

    Same definition and conventions as scikit-learn's ``homogeneity_completeness_v_measure``
    (natural log; h = 1 when the classes have zero entropy, c = 1 when the clusters do).
    """
    t = np.unique(np.asarray(labels_true), return_inverse=True)[1]
    p = np.unique(np.asarray(labels_pred), return_inverse=True)[1]
    n = t.size
    if n == 0:
        return 1.0, 1.0, 1.0
    cont = np.zeros((t.max() + 1, p.max() + 1), dtype=np.int64)
    np.add.at(cont, (t, p), 1)
    h_c = _entropy_from_counts(cont.sum(axis=1))
    h_k = _entropy_from_counts(cont.sum(axis=0))
    nz = cont > 0
    nij = cont[nz].astype(np.float64)
    ai = cont.sum(axis=1)[np.nonzero(nz)[0]].astype(np.float64)
    bj = cont.sum(axis=0)[np.nonzero(nz)[1]].astype(np.float64)
    # mutual information
    mi = float((nij / n * (np.log(nij * n) - np.log(ai * bj))).sum())
    mi = max(mi, 0.0)
    h = 1.0 if h_c == 0 else mi / h_c
    c = 1.0 if h_k == 0 else mi / h_k
    if h + c == 0:
        v = 0.0
    else:
        v = (1 + beta) * h * c / (beta * h + c)
    return h, c, v


def evaluate(x: np.ndarray, centroids: np.ndarray, metric: str, y_true=None, row_labels=None,
             return_labels: bool = False):
    """All quality numbers of one row, from its centroids. ``x`` may be a memmap.

    With ``return_labels`` also returns the exact nearest-centroid labels (int64).
    """
    c = np.asarray(centroids)
    if c.ndim != 2 or c.shape[1] != x.shape[1]:
        raise ValueError(f"centroids have shape {c.shape}, data has d={x.shape[1]}")
    out = {"k_returned": int(c.shape[0]),
           "nonfinite_centroids": int((~np.isfinite(c)).any(axis=1).sum())}
    c = np.where(np.isfinite(c), c, 0.0)
    if metric == "l2":
        lab, dist = nearest_l2(x, c)
        out["mse"] = float(dist.mean())
        out["inertia"] = float(dist.sum())
        out["objective"] = out["mse"]
        out["objective_name"] = "mse"
        out["higher_is_better"] = False
    elif metric == "cosine":
        lab, sim = nearest_cosine(x, c)
        out["mean_cosine"] = float(sim.mean())
        out["objective"] = out["mean_cosine"]
        out["objective_name"] = "mean_cosine"
        out["higher_is_better"] = True
    else:
        raise ValueError(f"unknown metric {metric!r}")
    counts = np.bincount(lab, minlength=c.shape[0])
    out["empty_clusters"] = int((counts == 0).sum())
    if y_true is not None:
        h, cc, v = v_measure(y_true, lab)
        out["homogeneity"], out["completeness"], out["v_measure"] = h, cc, v
    if row_labels is not None:
        rl = np.asarray(row_labels).reshape(-1)
        if rl.shape[0] == lab.shape[0]:
            out["label_agreement"] = float((rl.astype(np.int64) == lab).mean())
    return (out, lab) if return_labels else out


def partition_objective(x: np.ndarray, labels: np.ndarray, metric: str, chunk: int = 65536) -> float:
    """Objective of the partition a row's own labels define, with each cluster's optimal centre.

    l2: mean squared distance of every row to the mean of its labelled cluster; cosine: mean
    cosine of every row to the normalised mean of its (normalised) rows. Secondary number: it
    judges the returned labels rather than the returned centroids (they differ for approximate
    assignment, e.g. PQ-coded centroids).
    """
    lab = np.asarray(labels).reshape(-1).astype(np.int64)
    if lab.shape[0] != x.shape[0] or lab.min(initial=0) < 0:
        return float("nan")
    k = int(lab.max(initial=0)) + 1
    d = x.shape[1]
    sums = np.zeros((k, d))
    counts = np.bincount(lab, minlength=k).astype(np.float64)
    sq = 0.0
    for s in range(0, x.shape[0], chunk):
        xb = np.asarray(x[s:s + chunk], dtype=np.float64)
        if metric == "cosine":
            xb = _normalise(xb)
        _add_by_label(sums, lab[s:s + chunk], xb)
        sq += float(np.einsum("ij,ij->", xb, xb))
    if metric == "l2":
        # sum ||x - m_j||^2 = sum ||x||^2 - sum_j ||S_j||^2 / n_j
        nz = counts > 0
        within = sq - float((np.einsum("ij,ij->i", sums[nz], sums[nz]) / counts[nz]).sum())
        return max(within, 0.0) / x.shape[0]
    # sum_i cos(x_i, m_j) = sum_j ||S_j|| for unit rows
    return float(np.sqrt(np.einsum("ij,ij->i", sums, sums)).sum() / x.shape[0])


def _add_by_label(sums, lab, xb):
    order = np.argsort(lab, kind="stable")
    ls = lab[order]
    starts = np.flatnonzero(np.r_[True, ls[1:] != ls[:-1]])
    sums[ls[starts]] += np.add.reduceat(xb[order], starts, axis=0)
