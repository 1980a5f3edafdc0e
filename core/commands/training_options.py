"""`--flips`, shared by `eval` and `train`."""

from __future__ import annotations

FLIPS_HELP = ("also train on each image flipped left-right, up-down and both (for products whose normal look does "
              "not depend on orientation: textures, hides, fruit; not for parts with a fixed orientation)")
