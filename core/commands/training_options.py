"""`--flips` and `--keep-exposure`, shared by `eval` and `train`."""

from __future__ import annotations

FLIPS_HELP = ("also train on each image flipped left-right, up-down and both (for products whose normal look does "
              "not depend on orientation: textures, hides, fruit; not for parts with a fixed orientation)")
KEEP_EXPOSURE_HELP = ("score every image at its own exposure; by default each image's brightness is scaled to the "
                      "training images' median mean grey level first (exposure and lamp drift are not defects), "
                      "which also hides a defect that only darkens or brightens the whole image")
