"""Shared fixtures: small synthetic data with known structure (fast on 2 cores)."""

from __future__ import annotations

import numpy as np
import pytest


def make_blobs(n=1200, d=8, k=4, seed=0, spread=0.5, dtype=np.float32):
    """Gaussian blobs with well separated centres; returns (x, true_labels)."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, size=(k, d))
    labels = np.arange(n) % k
    rng.shuffle(labels)
    x = centers[labels] + spread * rng.standard_normal((n, d))
    return x.astype(dtype), labels


def purity(truth, pred):
    """Fraction of rows whose predicted cluster's majority true label equals their own."""
    truth = np.asarray(truth)
    pred = np.asarray(pred)
    total = 0
    for c in np.unique(pred):
        members = truth[pred == c]
        total += np.bincount(members).max()
    return total / len(truth)


def completeness(truth, pred):
    """Fraction of rows whose true class's majority predicted cluster equals their own."""
    return purity(pred, truth)


@pytest.fixture(scope="session")
def blobs():
    return make_blobs()


@pytest.fixture
def x_small():
    return make_blobs(n=300, d=5, k=3, seed=1)[0]
