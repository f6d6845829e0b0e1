"""Connected regions of binary masks, without scipy: what turns a class mask into instances."""

from __future__ import annotations

import numpy as np


def connected_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Label the 8-connected foreground regions of a 2-D mask: ``(labels, count)``, 0 = background.

    Regions are numbered 1..count in raster order of their first pixel (as ``scipy.ndimage.label``
    numbers them). Each pixel holds the smallest flat index of its region, found by taking the
    minimum over neighbours and then following those pointers (pointer jumping), which needs a
    number of rounds that grows with the logarithm of a region's size rather than its length.
    """
    fg = np.asarray(mask) > 0
    h, w = fg.shape
    parent = np.where(fg, np.arange(h * w).reshape(h, w), h * w)  # h*w: "no pixel"
    big = h * w
    while True:
        padded = np.pad(parent, 1, constant_values=big)
        best = parent.copy()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dy or dx:
                    best = np.minimum(best, padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w])
        best = np.where(fg, best, big)
        flat = np.append(best.reshape(-1), big)
        for _ in range(4):  # pointer jumping: point at what the pointed-at pixel points at
            flat[:-1] = flat[flat[:-1]]
        best = flat[:-1].reshape(h, w)
        if np.array_equal(best, parent):
            break
        parent = best
    roots, labels = np.unique(parent, return_inverse=True)
    labels = labels.reshape(h, w)
    # Background (if any) holds the largest root, so regions are 0..count-1 before the shift.
    labels = np.where(fg, labels + 1, 0)
    return labels.astype(np.int64), int(len(roots) - (roots[-1] == big))
