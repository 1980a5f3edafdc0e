"""Exports: MVTec / COCO / CSV / report, round trips through the importer, and failed exports."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy import select

import core.io.exports as exports
from core.errors import ContrarioError
from core.io.coco import polygons_to_mask, rle_decode
from core.io.exports import EXPORT_MARKER, export
from core.io.mvtec import GROUND_TRUTH, import_mvtec
from core.labels.editing import load_mask, save_mask
from core.labels.revisions import add_annotation, current_annotations
from core.metrics.agreement import iou
from core.store.project import Project
from core.store.schema import Batch, DefectClass, Image, InferenceResult, Item, ModelRevision, Region

H, W = 32, 40


def _png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(arr).save(path)


def _mvtec_folder(root: Path) -> Path:
    rng = np.random.default_rng(7)
    pic = lambda: rng.integers(0, 255, (H, W, 3), dtype=np.uint8)  # noqa: E731
    for i in range(2):
        _png(root / "train" / "good" / f"{i:03d}.png", pic())
    _png(root / "test" / "good" / "000.png", pic())
    for i, (cls, box) in enumerate([("scratch", (2, 3, 12, 20)), ("scratch", (10, 10, 30, 15)), ("dent", (5, 5, 9, 9))]):
        _png(root / "test" / cls / f"{i:03d}.png", pic())
        m = np.zeros((H, W), np.uint8)
        y0, x0, y1, x1 = box
        m[y0:y1, x0:x1] = 255
        m[20:22, 30:38] = 255 if cls == "scratch" and i == 0 else 0  # a second region
        _png(root / "ground_truth" / cls / f"{i:03d}_mask.png", m)
    return root


def _labels_by_sha(project: Project, annotator: str | None = None) -> dict[str, tuple]:
    out = {}
    with project.session(readonly=True) as s:
        shas = dict(s.execute(select(Image.id, Image.sha256)).all())
        sizes = {i.id: (i.height, i.width) for i in s.scalars(select(Image))}
        anns = current_annotations(s, annotator=annotator)
        recs = [(a.image_id, a.verdict, a.defect_class, a.mask_blob, a.id) for a in anns]
    for image_id, verdict, cls, blob, _ in recs:
        mask = project.blobs.get_array(blob) > 0 if blob else np.zeros(sizes[image_id], bool)
        out[shas[image_id]] = (verdict, cls, mask)
    return out


@pytest.fixture
def project(tmp_path):
    p = Project.create(tmp_path / "proj")
    import_mvtec(p, _mvtec_folder(tmp_path / "src"), "parts", workers=1)
    yield p
    p.close()


def test_mvtec_export_reimports_to_the_same_labels(project, tmp_path):
    summary = export(project, "mvtec", tmp_path / "out")
    assert summary.images == 6 and not summary.skipped
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "train" / "good").iterdir()) == ["000.png", "001.png"]
    assert (out / "ground_truth" / "scratch" / "000_mask.png").is_file()
    again = Project.create(tmp_path / "again")
    import_mvtec(again, out, "parts", workers=1)
    before, after = _labels_by_sha(project), _labels_by_sha(again, GROUND_TRUTH)
    assert before.keys() == after.keys() and len(before) == 6
    for sha, (verdict, cls, mask) in before.items():
        v2, c2, m2 = after[sha]
        assert (v2, c2) == (verdict, cls)
        assert (m2 == mask).all()
    again.close()


def test_export_uses_the_chosen_annotator_and_edited_masks(project, tmp_path):
    with project.session(readonly=True) as s:
        image_id, scratch = s.execute(
            select(Image.id, DefectClass.id).join(DefectClass, DefectClass.name == "scratch")
            .where(Image.original_path.like("%test/good/000.png"))).one()
    edited = np.zeros((H, W), np.uint8)
    edited[0:4, 0:4] = scratch
    save_mask(project, image_id, "ana", edited)
    export(project, "mvtec", tmp_path / "ana", annotator="ana")
    files = sorted(str(p.relative_to(tmp_path / "ana")) for p in (tmp_path / "ana").rglob("*.png"))
    assert files == ["ground_truth/scratch/000_mask.png", "test/scratch/000.png"]
    mask = np.asarray(PILImage.open(tmp_path / "ana" / "ground_truth" / "scratch" / "000_mask.png"))
    assert (mask > 0).sum() == 16
    # without --annotator the most recent label of each image is exported: ana's edit wins
    summary = export(project, "mvtec", tmp_path / "all")
    assert summary.images == 6 and (tmp_path / "all" / "test" / "scratch" / "000.png").is_file()


def test_skipped_images_are_named_by_file_batch_and_item_not_by_internal_id(project, tmp_path):
    """The MVTec export listed what it left out as "image 17: no label"."""
    with project.session(readonly=True) as s:
        rows = s.execute(select(Image.id, Image.original_path, Item.name, Batch.name)
                         .join(Item, Image.item_id == Item.id).join(Batch, Item.batch_id == Batch.id)).all()
    unsure = next(r for r in rows if r.original_path.endswith("test/dent/002.png"))
    with project.session() as s:
        add_annotation(s, unsure.id, GROUND_TRUTH, verdict="unsure", source="import")
    summary = export(project, "mvtec", tmp_path / "out")
    assert summary.images == 5 and summary.skipped == [(unsure.id, "verdict unsure")]
    assert summary.skipped_lines() == [f"002.png ({unsure[3]} / {unsure[2]}): verdict unsure"]

    summary = export(project, "mvtec", tmp_path / "ana", annotator="ana")  # nobody called ana labelled anything
    lines = summary.skipped_lines()
    assert len(lines) == len(rows) == 6
    for (image_id, why), line in zip(summary.skipped, lines):
        r = next(r for r in rows if r.id == image_id)
        assert why == "no label" and line == f"{Path(r.original_path).name} ({r[3]} / {r[2]}): no label"
        assert not line.startswith("image ")


def test_the_export_command_names_skipped_images_by_file(project, tmp_path, capsys):
    from core.cli import main

    with project.session() as s:
        image_id = s.execute(select(Image.id).where(Image.original_path.like("%test/dent/002.png"))).scalar_one()
        add_annotation(s, image_id, GROUND_TRUTH, verdict="unsure", source="import")
    assert main(["export", str(project.root), "--format", "mvtec", "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "skipped 1 images:" in err and "002.png (" in err and ": verdict unsure" in err
    assert f"image {image_id}:" not in err
    assert main(["export", str(project.root), "--format", "mvtec", "--out", str(tmp_path / "again"), "--json"]) == 0
    skipped = json.loads(capsys.readouterr().out)["skipped"]
    assert len(skipped) == 1 and skipped[0]["name"].startswith("002.png (") and skipped[0]["image_id"] == image_id


@pytest.mark.parametrize("encoding", ["rle", "polygon"])
def test_coco_round_trip(project, tmp_path, encoding):
    summary = export(project, "coco", tmp_path / "coco", coco_encoding=encoding)
    doc = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert len(doc["images"]) == 6 and summary.annotations == len(doc["annotations"]) == 4
    assert {c["name"] for c in doc["categories"]} == {"scratch", "dent"}
    truth = {}
    with project.session(readonly=True) as s:
        for a in current_annotations(s):
            truth[a.image_id] = load_mask(project, a, (H, W)) > 0
    for im in doc["images"]:
        assert (tmp_path / "coco" / im["file_name"]).is_file()
        rebuilt = np.zeros((H, W), bool)
        for ann in (a for a in doc["annotations"] if a["image_id"] == im["id"]):
            seg = ann["segmentation"]
            part = rle_decode(seg) if encoding == "rle" else polygons_to_mask(seg, (H, W))
            assert part.sum() >= ann["area"] * (1.0 if encoding == "rle" else 0.9)
            rebuilt |= part
        if encoding == "rle":
            assert (rebuilt == truth[im["id"]]).all()
        else:
            assert iou(rebuilt, truth[im["id"]]) >= 0.99


def test_csv_tables(project, tmp_path):
    with project.session() as s:
        rev = ModelRevision(name="m", config={})
        s.add(rev)
        s.flush()
        image_id = s.scalar(select(Image.id).where(Image.original_path.like("%test/scratch/000.png")))
        res = InferenceResult(image_id=image_id, model_revision_id=rev.id, score=3.5)
        s.add(res)
        s.flush()
        s.add(Region(result_id=res.id, label=1, log10_nfa=-6.0, area=40, x0=3, y0=2, x1=20, y1=12, scale=0))
    export(project, "csv", tmp_path / "csv")
    images = list(csv.DictReader(open(tmp_path / "csv" / "images.csv")))
    regions = list(csv.DictReader(open(tmp_path / "csv" / "regions.csv")))
    assert len(images) == 6
    row = next(r for r in images if int(r["image_id"]) == image_id)
    assert (row["verdict"], row["defect_class"], row["annotator"], row["revision"]) == ("defect", "scratch", GROUND_TRUTH, "1")
    assert row["mask_pixels"] == str(10 * 17 + 16) and row["best_log10_nfa"] == "-6.0" and row["regions"] == "1"
    (reg,) = regions
    assert reg["log10_nfa"] == "-6.0" and float(reg["labelled_fraction"]) == 1.0 and reg["verdict"] == "defect"


def test_report_lists_findings_with_thumbnails(project, tmp_path):
    with project.session(readonly=True) as s:
        image_id = s.scalar(select(Image.id).where(Image.original_path.like("%test/dent/002.png")))
    save_mask(project, image_id, "ana", np.zeros((H, W), np.uint8))  # ana says good: disagreement
    summary = export(project, "report", tmp_path / "rep")
    html = (tmp_path / "rep" / "report.html").read_text()
    assert summary.annotations == 1 and "annotators disagree on the verdict" in html
    assert f"thumbs/{image_id}.png" in html
    thumb = PILImage.open(tmp_path / "rep" / "thumbs" / f"{image_id}.png")
    assert max(thumb.size) <= exports.THUMB_SIDE
    agreement = list(csv.DictReader(open(tmp_path / "rep" / "agreement.csv")))
    by_batch = {r["batch"]: r for r in agreement if r["pair"] == "all"}
    assert by_batch["parts/test"]["images"] == "1" and by_batch["parts/test"]["method"] == "cohen"
    assert by_batch["parts/test"]["observed"] == "0.0"
    assert by_batch["parts/train"]["method"] == "none"
    assert list(csv.DictReader(open(tmp_path / "rep" / "findings.csv")))[0]["kind"] == "verdict_disagreement"


def test_failed_rename_keeps_the_previous_export(project, tmp_path, monkeypatch):
    out = tmp_path / "out"
    export(project, "mvtec", out)
    before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real_replace = exports.os.replace

    def failing_replace(src, dst):
        if Path(src).name.startswith(".out.part-"):
            raise OSError("simulated failure while moving the export into place")
        return real_replace(src, dst)

    monkeypatch.setattr(exports.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        export(project, "coco", out)
    after = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "proj", "src"]


def test_failure_mid_way_leaves_nothing(project, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = exports._mask_png

    def fail_on_second(mask):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("simulated write error")
        return real(mask)

    monkeypatch.setattr(exports, "_mask_png", fail_on_second)
    with pytest.raises(OSError):
        export(project, "mvtec", tmp_path / "out")
    assert calls["n"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj", "src"]


def test_refuses_to_replace_a_folder_that_is_not_an_export(project, tmp_path):
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("important")
    with pytest.raises(ContrarioError, match="not an earlier Contrario export"):
        export(project, "csv", keep)
    assert (keep / "notes.txt").read_text() == "important"
    export(project, "csv", tmp_path / "ok")
    assert (tmp_path / "ok" / EXPORT_MARKER).is_file()
    export(project, "csv", tmp_path / "ok")  # an earlier export is replaced
