#!/usr/bin/env python3
"""Independent NumPy/SciPy implementations of minigen's sample metrics, for the cross-check
in tests/test_eval_reference.cpp.

    eval_metrics_ref.py DIR      reads DIR/*.npy (written by the test), prints one JSON object

Each metric follows its paper's reference code, not minigen's:
  FID          pytorch-fid's calculate_frechet_distance: scipy.linalg.sqrtm of sigma1 . sigma2,
               the eps * I offset when the root is not finite, the imaginary part dropped
               (and refused when its diagonal exceeds 1e-3); mean and np.cov(rowvar=False)
  KID          Binkowski et al.'s polynomial_mmd (mmd.py): unbiased MMD^2 with the kernel
               (x.y / d + 1)^3, on the subsets minigen drew (kid_real_rows / kid_fake_rows)
  IS           improved-gan's inception score: per split exp(mean KL(p(y|x) || p(y)))
  PRDC         the `prdc` package (Naeem et al. 2020): k-NN radii from np.partition,
               strict comparisons for density and coverage; precision and recall are
               Kynkaanniemi et al.'s (radius included)
  FID-infinity Chong & Forsyth: FID on the first N_i rows of one order, a least-squares
               line against 1 / N (np.polyfit), its intercept
  intra-FID    FID per class, averaged
  nearest      each query row's distance to its nearest reference row
Exit status 3 (and a message) when SciPy is missing, so the test can skip.
"""
import json
import os
import sys

import numpy as np

try:
    from scipy import linalg
except ImportError:
    print("eval_metrics_ref.py: scipy is not installed (python3-scipy)", file=sys.stderr)
    sys.exit(3)


def load(d, name):
    return np.load(os.path.join(d, name + ".npy"))


def stats(act):
    return np.mean(act, axis=0), np.cov(act, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid (src/pytorch_fid/fid_score.py), unchanged in substance."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("Imaginary component {}".format(np.max(np.abs(covmean.imag))))
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid(a, b):
    return frechet_distance(*stats(a), *stats(b))


def polynomial_mmd(x, y):
    """Binkowski et al.'s _mmd2_and_variance, unbiased, for k(x, y) = (x.y / d + 1)^3."""
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    m = k_xx.shape[0]
    kt_xx_sum = k_xx.sum() - np.trace(k_xx)
    kt_yy_sum = k_yy.sum() - np.trace(k_yy)
    return (kt_xx_sum + kt_yy_sum) / (m * (m - 1)) - 2 * k_xy.sum() / (m * m)


def kid(real, fake, real_rows, fake_rows):
    mmds = np.array([polynomial_mmd(real[r], fake[f]) for r, f in zip(real_rows, fake_rows)])
    return float(mmds.mean()), float(mmds.std())


def inception_score(preds, splits):
    """improved-gan's get_inception_score on softmax rows; part s is rows [s n / k, (s+1) n / k)."""
    n = preds.shape[0]
    scores = []
    for s in range(splits):
        part = preds[s * n // splits:(s + 1) * n // splits]
        py = np.mean(part, 0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(py)), 0.0)
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return float(np.mean(scores)), float(np.std(scores))


def pairwise_distance(x, y):
    """Euclidean distances [len(x), len(y)] (prdc uses sklearn's; this is its formula, exactly)."""
    return np.sqrt(np.maximum(0, (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T))


def get_kth_value(unsorted, k, axis=-1):
    """prdc.get_kth_value."""
    indices = np.argpartition(unsorted, k, axis=axis)[..., :k]
    k_smallests = np.take_along_axis(unsorted, indices, axis=axis)
    return k_smallests.max(axis=axis)


def knn_radii(x, k):
    """prdc.compute_nearest_neighbour_distances: the (k+1)-th smallest distance, the point itself
    (distance 0, as sklearn sets the diagonal) being the first."""
    d = pairwise_distance(x, x)
    np.fill_diagonal(d, 0)
    return get_kth_value(d, k=k + 1, axis=-1)


def prdc(real, fake, k):
    real_r, fake_r = knn_radii(real, k), knn_radii(fake, k)
    d = pairwise_distance(real, fake)  # [real, fake]
    return {
        "precision": float((d <= real_r[:, None]).any(axis=0).mean()),
        "recall": float((d <= fake_r[None, :]).any(axis=1).mean()),
        "density": float((1.0 / k) * (d < real_r[:, None]).sum(axis=0).mean()),
        "coverage": float((d.min(axis=1) < real_r).mean()),
    }


def fid_infinity(real, fake, order, points):
    n = fake.shape[0]
    sizes = np.array([i * n // points for i in range(1, points + 1)])
    mu, sigma = stats(real)
    fids = np.array([frechet_distance(mu, sigma, *stats(fake[order[:s]])) for s in sizes])
    slope, intercept = np.polyfit(1.0 / sizes, fids, 1)
    return float(intercept), float(slope), fids.tolist()


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "params.json")) as f:
        params = json.load(f)
    real, fake = load(d, "real"), load(d, "fake")
    real_labels, fake_labels = load(d, "real_labels"), load(d, "fake_labels")
    out = {"fid": fid(real, fake)}
    out["kid"], out["kid_std"] = kid(real, fake, load(d, "kid_real_rows"), load(d, "kid_fake_rows"))
    out["is"], out["is_std"] = inception_score(load(d, "probs"), params["is_splits"])
    out.update(prdc(real, fake, params["k"]))
    out["fid_infinity"], out["fid_infinity_slope"], out["fid_infinity_fids"] = fid_infinity(
        real, fake, load(d, "fid_infinity_order"), params["fid_infinity_points"])
    per_class = [fid(real[real_labels == c], fake[fake_labels == c]) for c in range(params["classes"])]
    out["intra_fid"], out["intra_fid_per_class"] = float(np.mean(per_class)), per_class
    out["nearest_distance"] = pairwise_distance(fake, real).min(axis=1).tolist()
    # How close precision/recall/density/coverage came to flipping: the smallest relative gap
    # between a distance and the radius it was compared with (minigen's distances are float32).
    dist = pairwise_distance(real, fake)
    gaps = np.concatenate([np.abs(dist - knn_radii(real, params["k"])[:, None]).ravel() / dist.max(),
                           np.abs(dist - knn_radii(fake, params["k"])[None, :]).ravel() / dist.max()])
    out["radius_margin"] = float(gaps.min())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
