"""Three labelers at once on one project (SQLite and PostgreSQL): real processes, each writing verdicts and masks
through the workbench's store calls; nothing is lost, none hangs, the agreement counts all three."""

from __future__ import annotations

import numpy as np
from labeler_sessions import check, prepare, run_sessions
from PIL import Image as PILImage

NAMES = ["alice", "bob", "carol"]


def _tiles(folder, n: int) -> None:
    folder.mkdir()
    rng = np.random.default_rng(5)
    for k in range(n):
        PILImage.fromarray(rng.integers(60, 200, (48, 48), dtype=np.uint8)).save(folder / f"tile_{k:03d}.png")


def test_three_labelers_at_once_lose_nothing_and_all_count_in_the_agreement(new_project, tmp_path):
    from core.io.importer import import_paths

    n_images, n_masks = 30, 6
    _tiles(tmp_path / "tiles", n_images)
    with new_project(tmp_path / "shared") as project:
        import_paths(project, [str(tmp_path / "tiles")], "lot")
        prepare(project)
        run = run_sessions(project.root, NAMES, n_images, n_masks, tmp_path / "sessions", timeout_s=240)
        figures = check(project, run)
    assert figures["problems"] == []
    for name in NAMES:
        mine = figures["annotators"][name]
        assert (mine["verdicts"], mine["masks"], mine["masks_intact"], mine["errors"]) == (n_images, n_masks, n_masks, 0)
        assert mine["revisions_stored"] == n_images + n_masks
    (batch,) = figures["agreement"]
    assert batch["annotators"] == NAMES and batch["method"] == "fleiss" and batch["images"] == n_images
    assert {(p["a"], p["b"]) for p in batch["pairs"]} == {("alice", "bob"), ("alice", "carol"), ("bob", "carol")}
    assert figures["images_with_masks_compared"] == n_masks  # the painted defects, three masks each
    assert 0.3 < figures["mask_iou_mean"] < 1.0
    assert figures.get("deadlocks", 0) == 0
