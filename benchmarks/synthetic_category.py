"""Write a synthetic MVTec-layout category (demo textures with planted spots and scratches, pixel masks).

    python benchmarks/synthetic_category.py OUT_DIR [--texture tile|leather] [--train 60] [--good 30] [--defect 40]

For checks that must hold beyond MTD, e.g. `python benchmarks/peer_memory_bank.py OUT_DIR`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.demo import write_demo_category  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--texture", choices=("tile", "leather"), default="leather")
    parser.add_argument("--train", type=int, default=60)
    parser.add_argument("--good", type=int, default=30)
    parser.add_argument("--defect", type=int, default=40)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = write_demo_category(args.out, seed=args.seed, n_train=args.train, n_good=args.good,
                               n_defect=args.defect, size=args.size, defect_class="defect", texture=args.texture)
    print(root)


if __name__ == "__main__":
    main()
