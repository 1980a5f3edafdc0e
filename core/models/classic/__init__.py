"""Training-free multi-scale a contrario anomaly detection from the image itself (thesis ch. 3).

    from core.models.classic import ClassicConfig, detect
    result = detect("tile.png", ClassicConfig(variant="patch_pca"))      # one image
    result = detect([diffuse, g1, g2, g3, g4], ClassicConfig())          # views under 5 lightings
    result.anomaly_map  # -log10 NFA per pixel; result.regions carry log10_nfa for any k >= 0
"""

from core.models.classic.config import NFA_MODES, VARIANTS, ClassicConfig
from core.models.classic.result import ClassicResult, Region


def detect(image_or_views, config=None, **kwargs) -> ClassicResult:
    """See core.models.classic.detector.detect; imported on first use because it loads torch."""
    from core.models.classic.detector import detect as _detect

    return _detect(image_or_views, config, **kwargs)

__all__ = ["ClassicConfig", "ClassicResult", "Region", "detect", "VARIANTS", "NFA_MODES"]
