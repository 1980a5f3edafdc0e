"""MVTec-layout import: the real MTD dataset, and a small MVTec AD-style folder with `_mask` names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from imagefiles import pattern, write_png
from PIL import Image as PILImage
from sqlalchemy import select

from core.io.mvtec import GROUND_TRUTH, find_mask, import_mvtec, is_mvtec_folder
from core.labels.revisions import current_annotations
from core.store.project import Project
from core.store.schema import Batch, DefectClass, Image, Item


def _labels(project):
    with project.session(readonly=True) as s:
        rows = s.execute(select(Batch.name, Item.name, Image.id).join(Item, Item.batch_id == Batch.id)
                         .join(Image, Image.item_id == Item.id)).all()
        anns = {a.image_id: a for a in current_annotations(s, annotator=GROUND_TRUTH)}
        classes = {c.name: c.id for c in s.scalars(select(DefectClass))}
    return rows, anns, classes


def test_mtd_import_counts_and_masks(tmp_path, mtd_root):
    files = {split: {cls.name: sorted(p for p in cls.iterdir() if p.is_file())
                     for cls in sorted((mtd_root / split).iterdir()) if cls.is_dir()} for split in ("train", "test")}
    n_train = sum(len(v) for v in files["train"].values())
    n_test = sum(len(v) for v in files["test"].values())
    defect_classes = {c for c in files["test"] if c != "good"}
    with Project.create(tmp_path / "p") as project:
        assert is_mvtec_folder(mtd_root)
        report = import_mvtec(project, mtd_root, "mtd")
        assert report.failed == [] and report.added == n_train + n_test
        assert report.batches == ["mtd/train", "mtd/test"]
        rows, anns, classes = _labels(project)
        per_batch = {}
        for batch, item, image_id in rows:
            per_batch.setdefault(batch, []).append((item, anns[image_id]))
        assert len(per_batch["mtd/train"]) == n_train
        assert all(a.verdict == "good" and a.mask_blob is None for _, a in per_batch["mtd/train"])
        test = per_batch["mtd/test"]
        good = [a for item, a in test if item.startswith("good/")]
        defect = [(item, a) for item, a in test if not item.startswith("good/")]
        assert len(good) == len(files["test"]["good"]) and all(a.verdict == "good" for a in good)
        assert len(defect) == n_test - len(good)
        assert set(classes) == defect_classes
        for item, a in defect:
            cls, name = item.split("/", 1)
            assert (a.verdict, a.defect_class, a.source) == ("defect", cls, "import")
            assert a.mask_blob is not None
            mask = project.blobs.get_array(a.mask_blob)
            assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, classes[cls]}
            source = np.asarray(PILImage.open(find_mask(mtd_root, cls, Path(name).stem)).convert("L"))
            assert np.array_equal(mask > 0, source > 127)  # an empty mask stays empty (MTD has 4)
        again = import_mvtec(project, mtd_root, "mtd")
        assert again.added == 0 and again.annotations_added == 0 and again.skipped_duplicates == n_train + n_test


def test_mvtec_ad_style_masks(tmp_path):
    root = tmp_path / "bottle"
    for sub in ("train/good", "test/good", "test/scratch", "ground_truth/scratch"):
        (root / sub).mkdir(parents=True)
    write_png(root / "train/good/000.png", pattern(16, 16, seed=1))
    write_png(root / "test/good/000.png", pattern(16, 16, seed=2))
    write_png(root / "test/scratch/000.png", pattern(16, 16, seed=3))
    write_png(root / "test/scratch/001.png", pattern(16, 16, seed=4))  # its mask is missing
    mask = np.zeros((16, 16), np.uint8)
    mask[4:8, 2:10] = 255
    mask[0, 0] = 100  # below the threshold
    write_png(root / "ground_truth/scratch/000_mask.png", mask)
    with Project.create(tmp_path / "p") as project:
        report = import_mvtec(project, root, "bottle")
        assert report.added == 4 and report.annotations_added == 4
        assert any("001.png: no ground-truth mask" in w for w in report.warnings)
        rows, anns, classes = _labels(project)
        by_item = {item: anns[image_id] for _, item, image_id in rows}
        stored = project.blobs.get_array(by_item["scratch/000"].mask_blob)
        assert np.array_equal(stored > 0, mask > 127)
        assert by_item["scratch/001"].verdict == "defect" and by_item["scratch/001"].mask_blob is None
        assert by_item["good/000"].verdict == "good"
        assert not is_mvtec_folder(Path(root / "test"))
