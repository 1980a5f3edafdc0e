"""`--flips` / `--no-flips`, `--keep-exposure` and `--independent-scales` / `--u-shape`, shared by `eval` and
`train`."""

from __future__ import annotations

FLIPS_HELP = ("always also train on each image flipped left-right, up-down and both (by default the flips and turns "
              "are added only when the training images show they look normal, with fewer than 300 images)")
NO_FLIPS_HELP = "never train on flipped or turned copies of the images"
KEEP_EXPOSURE_HELP = ("score every image at its own exposure; by default each image's brightness is scaled to the "
                      "training images' median mean grey level first (exposure and lamp drift are not defects), "
                      "which also hides a defect that only darkens or brightens the whole image")
INDEPENDENT_SCALES_HELP = ("one flow per scale instead of the U shape that carries each coarser scale into the finer "
                           "ones: sharper maps on uniform textures (leather, fabric, grain), weaker on parts with a "
                           "layout; by default it is chosen when every flip and turn of the training images (a sample "
                           "of them, or tile-sized windows of large images) looks normal")
U_SHAPE_HELP = "always the U-shaped flow, even where the training images look like a uniform texture"


def add_flip_options(parser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--flips", dest="flips", action="store_const", const="on", default="auto", help=FLIPS_HELP)
    group.add_argument("--no-flips", dest="flips", action="store_const", const="off", help=NO_FLIPS_HELP)


def add_training_options(parser) -> None:
    """The flips, `--keep-exposure` and the scales (`args.scales`: a core.jobs.payloads.SCALES key)."""
    add_flip_options(parser)
    parser.add_argument("--keep-exposure", action="store_true", help=KEEP_EXPOSURE_HELP)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--independent-scales", dest="scales", action="store_const", const="independent",
                       default="auto", help=INDEPENDENT_SCALES_HELP)
    group.add_argument("--u-shape", dest="scales", action="store_const", const="u-shape", help=U_SHAPE_HELP)
