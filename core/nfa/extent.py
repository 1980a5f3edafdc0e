"""The extent of a detected region on the pixel grid of the anomaly map.

The a contrario test decides *whether* a region is anomalous, on latent cells (8 to 32 input pixels wide);
the cells' outline is not the defect's. A detected region's extent becomes the pixels of the anomaly map
above a level that a fraction `quantile` of the pixels of normal images stay under (fitted on the held-out
normal images of the model), connected to the region's cells: the region grows along a crack that leaves
its cells and sheds the normal pixels inside them. Regions keep their NFA and their count, so the false
alarm rate per image is that of the test; only the pixels of each region change. Assumption: the map's
level on normal pixels is the same in new images as in the held-out ones (the NFA already assumes it of
the latents). A region with no pixel above the level keeps its cells.

With `fraction` f > 0 each region gets a level of its own, between the normal level and its peak:
level + f (peak - level), the peak being the map's largest value on the region's cells. The map is the
defect seen through the backbone's receptive fields and the upsampling of 8-32 pixel cells, a blurred
version of it that spreads well beyond it, and one normal level keeps the whole blur; f = 0.5 is the
half-maximum edge of a blurred step, the usual way to read an object's extent off a blurred response.

With `otsu` each region's level is instead Otsu's threshold (the one that best splits the values into two
classes) of the map's surprise -log(1 - map) in the window of the parts it touches at the normal level, or that
level if higher (`fraction` is then not used). The map is one minus the mean over scales of each scale's
likelihood exp(-mean z^2 / 2), so it saturates at 1 over a strong defect and the wide halo around it, and a level
between the normal level and a peak of 1 keeps the halo; the surprise undoes the saturation (on one scale it is
mean z^2 / 2, the cells' energy), and the window holds the defect and its surroundings, the two classes Otsu's
threshold separates. No constant is fitted: the threshold comes from each region's own values (never above its
peak on its cells, so a region keeps at least the part holding it).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from core.nfa.segmentation import Segmentation

DEFAULT_QUANTILE = 0.99
HALF_MAXIMUM = 0.5


def map_level(normal_maps, quantile: float = DEFAULT_QUANTILE) -> float:
    """The `quantile` of the map values of normal images (a list of 2-D maps)."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"the extent quantile must lie in (0, 1), got {quantile}")
    values = np.concatenate([np.asarray(m, dtype=np.float32).ravel() for m in normal_maps])
    if values.size == 0:
        raise ValueError("no normal map to set the extent level from")
    return float(np.quantile(values, quantile))


def surprise(amap: np.ndarray) -> np.ndarray:
    """-log(1 - map): the anomaly map without its saturation at 1 (float64)."""
    return -np.log(np.clip(1.0 - np.asarray(amap, dtype=np.float64), 1e-12, None))


def _otsu_level(values: np.ndarray, floor: float) -> float:
    from skimage.filters import threshold_otsu

    if values.size < 2 or values.min() == values.max():
        return floor
    return max(floor, float(threshold_otsu(values)))


def refine_extent(seg: Segmentation, amap: np.ndarray, level: float, fraction: float = 0.0,
                  otsu: bool = False) -> Segmentation:
    """`seg` with each region's pixels replaced by the map's pixels above its level connected to it (`level`,
    with `fraction` > 0 that far from `level` to the region's peak, with `otsu` the Otsu threshold of the map's
    surprise in the region's window); a pixel reached from several regions goes to the most significant one
    (regions are ordered by NFA)."""
    if not seg.regions:
        return seg
    if amap.shape != seg.labels.shape:
        raise ValueError(f"map of shape {amap.shape} for a segmentation of shape {seg.labels.shape}")
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"the extent fraction must lie in [0, 1), got {fraction}")
    above = amap >= level
    components, _ = ndimage.label(above)
    boxes = ndimage.find_objects(components)
    labels = np.zeros_like(seg.labels)
    for region in seg.regions:  # most significant first: a shared component goes to the first region
        cells = seg.labels == region.label
        touched = np.unique(components[cells & above])
        if not touched.size:
            pixels = cells
        elif otsu or (fraction > 0 and (peak := float(amap[cells].max())) > level):
            # the pixels above the region's own level lie inside the components it touches at `level`
            y0, x0 = (min(boxes[c - 1][a].start for c in touched) for a in (0, 1))
            y1, x1 = (max(boxes[c - 1][a].stop for c in touched) for a in (0, 1))
            window = (slice(y0, y1), slice(x0, x1))
            if otsu:  # never above the region's own peak, which keeps at least the part holding it
                window_surprise = surprise(amap[window])
                top = float(window_surprise[cells[window]].max())
                own = window_surprise >= min(top, _otsu_level(window_surprise, float(surprise(np.float64(level)))))
            else:
                own = amap[window] >= level + fraction * (peak - level)
            own_components, _ = ndimage.label(own)
            reached = np.unique(own_components[cells[window] & own])
            pixels = np.zeros_like(cells)
            pixels[window] = np.isin(own_components, reached)
        else:
            pixels = np.isin(components, touched)
        labels[pixels & (labels == 0)] = region.label
    kept = [r for r in seg.regions if (labels == r.label).any()]  # none: all its pixels went to a stronger one
    relabel = np.zeros(int(labels.max(initial=0)) + 1, dtype=labels.dtype)
    nfa_of = np.zeros(len(kept) + 1, dtype=np.float32)
    for new, region in enumerate(kept, start=1):
        relabel[region.label] = new
        nfa_of[new] = region.log10_nfa
    labels = relabel[labels]
    log_nfa = nfa_of[labels]
    areas = np.bincount(labels.ravel(), minlength=len(kept) + 1)
    regions = [dataclasses.replace(region, label=new, area=int(areas[new]),
                                   bbox=(box[0].start, box[1].start, box[0].stop, box[1].stop))
               for new, (region, box) in enumerate(zip(kept, ndimage.find_objects(labels)), start=1)]
    return dataclasses.replace(seg, labels=labels, log_nfa=log_nfa, regions=regions,
                               mask=(labels > 0) & (log_nfa <= -seg.k))
