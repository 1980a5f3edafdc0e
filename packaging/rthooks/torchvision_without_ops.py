"""Runtime hook: the bundle carries torchvision's Python code only.

The PyPI torchvision wheel's compiled operators (nms, roi_align, image decoding) are CUDA builds that cannot
load next to the CPU torch, so they are left out; torchvision then imports without them, except for its
module of fake-kernel registrations, which assumes they exist. timm needs only torchvision's Python layers.
"""

import sys
import types

sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
