"""Settings of the training-free a contrario detector (thesis ch. 3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

VARIANTS = ("patch_pca", "gabor", "cnn")
NFA_MODES = ("pixel", "region")


@dataclass
class ClassicConfig:
    """Defaults are tuned for speed on a CPU with images of a few hundred pixels a side.

    variant: features per scale: "patch_pca" (filters from the image's own patches), "gabor" (fixed
        bank) or "cnn" (offline tf_efficientnet_lite0 activations + PCA).
    nfa_mode: "pixel" (one test per pixel) or "region" (pixel tests plus greedy region growing with the
        polyomino count and the receptive-field correction; the map keeps the more significant).
    """

    variant: str = "patch_pca"
    nfa_mode: str = "region"
    n_scales: int = 4  # image pyramid levels (patch_pca, gabor); each halves the sides
    max_side: int | None = 512  # larger inputs are shrunk first (the map is at this working grid)
    min_side: int = 16  # coarsest pyramid level kept
    tail_match: bool = True  # d^2 ~ c chi2(nu) fitted to the median and 99th percentile of the image's d^2
    skip_border: bool = True  # pixels whose filter support leaves the image are not tested
    # patch_pca
    patch_size: int = 7
    n_components: int = 16  # m, PCA components kept (patch_pca and cnn)
    pca_samples: int = 20000  # patches sampled to estimate the PCA
    # gabor
    gabor_orientations: int = 6
    gabor_wavelengths: tuple[float, ...] = (4.0, 8.0)
    # cnn
    cnn_backbone: str = "tf_efficientnet_lite0"
    cnn_input_side: int = 384  # the image is resized so that sqrt(H W) is about this
    cnn_stages: tuple[int, ...] = (0, 1)  # backbone maps used as scales (strides 8, 16)
    # region NFA
    candidate_pvalue: float = 0.01  # pixels whose chi-square p-value is below this may join a region
    receptive_field: float | None = None  # side of an independent cell; None: from the d^2 autocorrelation
    # views taken under several lightings
    lighting_keep_last: int = 3  # PCA components across lightings kept, the last (least variance) ones
    seed: int = 0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        if self.nfa_mode not in NFA_MODES:
            raise ValueError(f"unknown nfa_mode {self.nfa_mode!r}; choose one of {', '.join(NFA_MODES)}")
        if self.patch_size < 3 or self.patch_size % 2 == 0:
            raise ValueError("patch_size must be odd and at least 3")
        if self.n_scales < 1 or self.n_components < 1:
            raise ValueError("n_scales and n_components must be at least 1")
        if not 0.0 < self.candidate_pvalue < 1.0:
            raise ValueError("candidate_pvalue must be in (0, 1)")
        self.gabor_wavelengths = tuple(float(w) for w in self.gabor_wavelengths)
        self.cnn_stages = tuple(int(s) for s in self.cnn_stages)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ClassicConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
