"""Exports of a project's labels: MVTec layout, COCO JSON, CSV tables, and an agreement report.

Every export is written into a temporary folder beside the destination and renamed into place at the end,
so the destination holds either the complete new export or, after a failure, exactly what it held before.
An existing destination is replaced only when it is empty or an earlier Contrario export (it holds
EXPORT_MARKER).

Which label of an image is exported: with `annotator`, that annotator's current revision; otherwise the
project's label rule (core.domain.labels: adjudicated, else strict majority, else none). Scores and regions
are those of the active model revision (core.domain.active_model); every export names it (marker file,
summary, COCO info, CSV column, report header).
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import select

from core import __version__
from core.domain.active_model import active_model, active_model_in
from core.domain.enums import ImageStatus
from core.domain.images import image_source
from core.domain.labels import LabelRecord, current_labels, label_of
from core.errors import ContrarioError, ImageError, one_line
from core.io.checked_files import copy_checked, read_checked_image
from core.io.coco import components, mask_to_polygons, rle_encode
from core.io.images import to_rgb_float
from core.labels.classes import list_classes
from core.labels.editing import load_mask
from core.labels.findings import find_findings
from core.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress
from core.store.blobs import BadBlobName
from core.store.schema import Batch, Image, InferenceResult, Item, Region

EXPORT_MARKER = ".contrario-export.json"
FORMATS = ("mvtec", "coco", "csv", "report")
THUMB_SIDE = 192


@dataclass
class ExportSummary:
    format: str
    out: Path
    images: int = 0
    annotations: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (image id, why)
    files: list[str] = field(default_factory=list)
    model_revision_id: int | None = None  # whose scores and regions the export holds
    skipped_names: dict[int, str] = field(default_factory=dict)  # image id -> what the user knows it by

    def skip(self, row: ExportRow, why: str) -> None:
        """Leave `row` out of the export, saying why (under its file and item name, not its internal id)."""
        self.skipped.append((row.image_id, why))
        self.skipped_names[row.image_id] = row.name

    def skipped_lines(self) -> list[str]:
        """One line per skipped image: "file.png (batch / item · view): why", control characters escaped."""
        return [one_line(f"{self.skipped_names.get(image_id, f'image {image_id}')}: {why}")
                for image_id, why in self.skipped]


@dataclass(frozen=True)
class RegionRow:
    id: int
    log10_nfa: float
    area: int
    x0: int
    y0: int
    x1: int
    y1: int
    scale: int


@dataclass
class ExportRow:
    """One image with the label chosen for export and its model result."""

    image_id: int
    batch: str
    item: str
    view: str
    path: Path | None  # None: the recorded blob name is malformed
    file_name: str
    width: int
    height: int
    annotation: LabelRecord | None
    annotators: list[str]
    score: float | None = None
    best_log10_nfa: float | None = None
    regions: list[RegionRow] = field(default_factory=list)
    model_revision_id: int | None = None
    sha256: str | None = None
    file_size: int | None = None

    @property
    def name(self) -> str:
        """The image as the user knows it: its file name, and the batch and item (and view) it belongs to."""
        return f"{self.file_name} ({self.batch} / {self.item}" + (f" · {self.view})" if self.view else ")")


# ---- atomic destination ------------------------------------------------------------------------------
def _replaceable(out: Path) -> bool:
    if not out.exists():
        return True
    if not out.is_dir():
        return False
    return (out / EXPORT_MARKER).is_file() or not any(out.iterdir())


@contextmanager
def atomic_output(out: str | Path, fmt: str, model_revision_id: int | None = None) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces `out` in one rename, on failure it is removed."""
    out = Path(out).expanduser().absolute()
    if not _replaceable(out):
        raise ContrarioError(f"{out}: exists and is not an earlier Contrario export; choose a new or empty folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.part-", dir=out.parent))
    except OSError as exc:
        raise ContrarioError(f"{out}: cannot write there ({exc.strerror or exc})") from None
    try:
        yield tmp
        marker = {"format": fmt, "contrario": __version__, "written_at": datetime.now(timezone.utc).isoformat(),
                  "model_revision_id": model_revision_id}
        (tmp / EXPORT_MARKER).write_text(json.dumps(marker, indent=1))
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_into_place(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


# ---- what to export ----------------------------------------------------------------------------------
def _pick(anns: list[LabelRecord], annotator: str | None) -> LabelRecord | None:
    if annotator is not None:
        return next((a for a in anns if a.annotator == annotator), None)
    return label_of(anns).record


def select_rows(project, batch: str | None = None, annotator: str | None = None,
                model_revision_id: int | None = None) -> list[ExportRow]:
    """Readable images of the project (or one batch) with the label to export and the result of
    `model_revision_id` (default: the active model)."""
    with project.session(readonly=True) as s:
        stmt = (
            select(Image, Item.name, Batch.name)
            .join(Item, Image.item_id == Item.id)
            .join(Batch, Item.batch_id == Batch.id)
            .where(Image.status == ImageStatus.OK.value)
            .order_by(Batch.id, Item.id, Image.view, Image.id)
        )
        if batch is not None:
            if s.scalar(select(Batch.id).where(Batch.name == batch)) is None:
                raise ContrarioError(f"no batch named {batch!r}")
            stmt = stmt.where(Batch.name == batch)
        images = s.execute(stmt).all()
        ids = [img.id for img, _, _ in images]
        by_image: dict[int, list[LabelRecord]] = {}
        for ann in current_labels(s, image_ids=ids if batch is not None else None):
            by_image.setdefault(ann.image_id, []).append(ann)
        model = model_revision_id if model_revision_id is not None else active_model_in(s)
        results: dict[int, tuple[int, float]] = {}  # image id -> (result id, score)
        regions: dict[int, list[RegionRow]] = {}
        if model is not None:
            for rid, iid, score in s.execute(select(InferenceResult.id, InferenceResult.image_id, InferenceResult.score)
                                             .where(InferenceResult.model_revision_id == model)):
                results[iid] = (rid, float(score))
            for reg in s.scalars(
                select(Region).join(InferenceResult).where(InferenceResult.model_revision_id == model)
                .order_by(Region.log10_nfa)
            ):
                regions.setdefault(reg.result_id, []).append(RegionRow(
                    reg.id, float(reg.log10_nfa), reg.area, reg.x0, reg.y0, reg.x1, reg.y1, reg.scale))
        rows = []
        for img, item, bname in images:
            anns = by_image.get(img.id, [])
            res = results.get(img.id)
            regs = regions.get(res[0], []) if res is not None else []
            try:
                path = image_source(project, img.blob, img.original_path)
            except BadBlobName:  # never a path: copying it fails for this image alone (see _copy_image)
                path = None
            rows.append(ExportRow(
                img.id, bname, item, img.view or "", path, Path(img.original_path).name,
                int(img.width or 0), int(img.height or 0), _pick(anns, annotator), sorted(a.annotator for a in anns),
                None if res is None else res[1],
                float(regs[0].log10_nfa) if regs else None, regs, model, img.sha256, img.file_size,
            ))
    return rows


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "x"


def _mask_png(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(np.where(mask > 0, 255, 0).astype(np.uint8), mode="L").save(buf, format="PNG")
    return buf.getvalue()


def _copy_image(row: ExportRow, dest: Path, summary: ExportSummary) -> bool:
    """Copy the image if it is still the file imported; otherwise record why in `summary.skipped`."""
    try:
        if row.path is None:
            raise ImageError(f"image {row.image_id}: the project records a malformed blob name")
        copy_checked(row.path, dest, row.sha256, row.file_size)
    except ImageError as exc:
        summary.skip(row, str(exc))
        return False
    return True


class _Names:
    """Unique file names per folder: the original name, else prefixed by the item."""

    def __init__(self) -> None:
        self.taken: set[tuple[str, str]] = set()

    def get(self, folder: str, row: ExportRow) -> str:
        name = _safe(row.file_name)
        if (folder, name.lower()) in self.taken:
            name = _safe(f"{row.batch}_{row.item}_{row.view}_{row.file_name}")
        n = 1
        stem, suffix = os.path.splitext(name)
        while (folder, name.lower()) in self.taken:
            n += 1
            name = f"{stem}-{n}{suffix}"
        self.taken.add((folder, name.lower()))
        return name


# ---- MVTec -------------------------------------------------------------------------------------------
def export_mvtec(project, out, batch=None, annotator=None, progress: ProgressCallback = no_progress,
                 cancel: CancelToken = NEVER_CANCELLED) -> ExportSummary:
    """`train/good` (good images of batches named .../train), `test/<class>/`, `ground_truth/<class>/<stem>_mask.png`.

    Unlabelled and unsure images are left out (listed in the summary). A mask with several classes is
    exported under its main class (MVTec masks are binary).
    """
    model = active_model(project)
    rows = select_rows(project, batch, annotator, model)
    summary = ExportSummary("mvtec", Path(out), model_revision_id=model)
    names = _Names()
    manifest = []
    with atomic_output(out, "mvtec", model) as tmp:
        for n, row in enumerate(rows):
            cancel.check()
            progress(n / max(1, len(rows)), f"exporting {row.file_name}")
            ann = row.annotation
            if ann is None or ann.verdict not in ("good", "defect"):
                summary.skip(row, "no label" if ann is None else f"verdict {ann.verdict}")
                continue
            if ann.verdict == "good":
                split, cls = ("train" if row.batch.endswith("/train") else "test"), "good"
            else:
                split, cls = "test", _safe(ann.defect_class or "defect")
            folder = tmp / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            name = names.get(f"{split}/{cls}", row)
            if not _copy_image(row, folder / name, summary):
                continue
            if ann.verdict == "defect" and ann.mask_blob:
                mask = load_mask(project, ann, (row.height, row.width))
                gt = tmp / "ground_truth" / cls
                gt.mkdir(parents=True, exist_ok=True)
                (gt / f"{Path(name).stem}_mask.png").write_bytes(_mask_png(mask))
            summary.images += 1
            manifest.append({"image_id": row.image_id, "file": f"{split}/{cls}/{name}", "annotation_id": ann.id,
                             "annotator": ann.annotator, "revision": ann.revision})
        (tmp / "train" / "good").mkdir(parents=True, exist_ok=True)
        (tmp / "test").mkdir(exist_ok=True)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    summary.annotations = summary.images
    progress(1.0, f"{summary.images} images exported")
    return summary


# ---- COCO --------------------------------------------------------------------------------------------
def export_coco(project, out, batch=None, annotator=None, encoding: str = "rle",
                progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER_CANCELLED) -> ExportSummary:
    """`annotations.json` + `images/`: one COCO annotation per connected region of each class."""
    if encoding not in ("rle", "polygon"):
        raise ContrarioError(f"unknown COCO encoding {encoding!r} (rle or polygon)")
    model = active_model(project)
    rows = select_rows(project, batch, annotator, model)
    with project.session(readonly=True) as s:
        classes = list_classes(s)
    summary = ExportSummary("coco", Path(out), model_revision_id=model)
    names = _Names()
    doc = {
        "info": {"description": f"Contrario export of {project.name}", "version": __version__,
                 "date_created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "model_revision_id": model},
        "images": [], "annotations": [],
        "categories": [{"id": c.id, "name": c.name, "supercategory": "defect", "color": c.color} for c in classes],
    }
    known = {c.id for c in classes}
    with atomic_output(out, "coco", model) as tmp:
        (tmp / "images").mkdir()
        for n, row in enumerate(rows):
            cancel.check()
            progress(n / max(1, len(rows)), f"exporting {row.file_name}")
            ann = row.annotation
            name = names.get("images", row)
            if not _copy_image(row, tmp / "images" / name, summary):
                continue
            doc["images"].append({
                "id": row.image_id, "file_name": f"images/{name}", "width": row.width, "height": row.height,
                "batch": row.batch, "item": row.item, "view": row.view,
                "verdict": ann.verdict if ann else None, "defect_class": ann.defect_class if ann else None,
                "annotator": ann.annotator if ann else None, "revision": ann.revision if ann else None,
                "annotation_id": ann.id if ann else None,
            })
            summary.images += 1
            if ann is None or not ann.mask_blob:
                continue
            mask = load_mask(project, ann, (row.height, row.width))
            for cid in (int(c) for c in np.unique(mask) if c):
                if cid not in known:
                    summary.skip(row, f"mask class id {cid} is not a defect class")
                    continue
                for sl, crop in components(mask == cid):
                    full = np.zeros(mask.shape, dtype=bool)
                    full[sl] = crop
                    ys, xs = sl
                    if encoding == "rle":
                        seg = rle_encode(full)
                    else:
                        seg = [[v + (xs.start if i % 2 == 0 else ys.start) for i, v in enumerate(p)]
                               for p in mask_to_polygons(crop)]
                    doc["annotations"].append({
                        "id": len(doc["annotations"]) + 1, "image_id": row.image_id, "category_id": cid,
                        "segmentation": seg, "area": int(crop.sum()), "iscrowd": 0,
                        "bbox": [xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start],
                        "annotator": ann.annotator, "revision": ann.revision,
                    })
        (tmp / "annotations.json").write_text(json.dumps(doc, indent=1))
    summary.annotations = len(doc["annotations"])
    progress(1.0, f"{summary.images} images, {summary.annotations} regions exported")
    return summary


# ---- CSV ---------------------------------------------------------------------------------------------
IMAGE_COLUMNS = ["image_id", "batch", "item", "view", "path", "width", "height", "verdict", "defect_class",
                 "mask_pixels", "annotator", "revision", "annotation_id", "source", "annotated_at", "annotators",
                 "score", "best_log10_nfa", "regions", "model_revision_id"]
REGION_COLUMNS = ["image_id", "batch", "item", "view", "region_id", "log10_nfa", "area", "x0", "y0", "x1", "y1",
                  "scale", "labelled_fraction", "verdict", "defect_class", "annotator", "revision",
                  "model_revision_id"]


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> object:
    """A cell value safe to open in a spreadsheet: text that would start a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow({k: csv_cell(r.get(k)) for k in columns})


def export_csv(project, out, batch=None, annotator=None, progress: ProgressCallback = no_progress,
               cancel: CancelToken = NEVER_CANCELLED) -> ExportSummary:
    """`images.csv` (one line per image) and `regions.csv` (one line per model region)."""
    model = active_model(project)
    rows = select_rows(project, batch, annotator, model)
    summary = ExportSummary("csv", Path(out), model_revision_id=model)
    image_lines, region_lines = [], []
    for n, row in enumerate(rows):
        cancel.check()
        progress(n / max(1, len(rows)), "tabulating")
        ann = row.annotation
        mask = load_mask(project, ann, (row.height, row.width)) if ann is not None and ann.mask_blob else None
        label_part = {
            "verdict": ann.verdict if ann else None, "defect_class": ann.defect_class if ann else None,
            "annotator": ann.annotator if ann else None, "revision": ann.revision if ann else None,
        }
        image_lines.append({
            "image_id": row.image_id, "batch": row.batch, "item": row.item, "view": row.view,
            "path": "" if row.path is None else str(row.path),
            "width": row.width, "height": row.height, **label_part,
            "mask_pixels": int(np.count_nonzero(mask)) if mask is not None else (0 if ann else None),
            "annotation_id": ann.id if ann else None, "source": ann.source if ann else None,
            "annotated_at": ann.created_at.isoformat() if ann and ann.created_at else None,
            "annotators": ";".join(row.annotators), "score": row.score, "best_log10_nfa": row.best_log10_nfa,
            "regions": len(row.regions) if row.score is not None else None, "model_revision_id": model,
        })
        for reg in row.regions:
            frac = None
            if mask is not None:
                box = mask[reg.y0:reg.y1, reg.x0:reg.x1]
                frac = round(float(np.count_nonzero(box) / box.size), 4) if box.size else 0.0
            elif ann is not None:
                frac = 0.0
            region_lines.append({
                "image_id": row.image_id, "batch": row.batch, "item": row.item, "view": row.view, "region_id": reg.id,
                "log10_nfa": reg.log10_nfa, "area": reg.area, "x0": reg.x0, "y0": reg.y0, "x1": reg.x1, "y1": reg.y1,
                "scale": reg.scale, "labelled_fraction": frac, **label_part, "model_revision_id": model,
            })
    with atomic_output(out, "csv", model) as tmp:
        _write_csv(tmp / "images.csv", IMAGE_COLUMNS, image_lines)
        _write_csv(tmp / "regions.csv", REGION_COLUMNS, region_lines)
    summary.images, summary.annotations = len(image_lines), len(region_lines)
    progress(1.0, f"{summary.images} images, {summary.annotations} regions")
    return summary


# ---- agreement report --------------------------------------------------------------------------------
VOTE_ALL = (57, 217, 138)  # every annotator marks the pixel
VOTE_SOME = (255, 159, 28)  # only some do


def _thumbnail(project, image_id: int, side: int = THUMB_SIDE) -> bytes:
    """The image with the annotators' vote map tinted on it, as a PNG at most `side` pixels a side."""
    from core.labels.findings import compare_annotations

    with project.session(readonly=True) as s:
        img = s.get(Image, image_id)
        source = (img.blob, img.original_path, img.sha256, img.file_size)
    try:
        rgb = to_rgb_float(read_checked_image(image_source(project, *source[:2]), *source[2:])).astype(np.uint8)
    except (ImageError, BadBlobName):
        rgb = np.full((side, side, 3), 60, dtype=np.uint8)
    cmp = compare_annotations(project, image_id)
    if cmp.masks and cmp.votes.shape == rgb.shape[:2]:
        n = len(cmp.masks)
        tint = np.zeros_like(rgb)
        tint[cmp.votes == n] = VOTE_ALL
        tint[(cmp.votes > 0) & (cmp.votes < n)] = VOTE_SOME
        hit = cmp.votes > 0
        rgb = rgb.copy()
        rgb[hit] = (0.45 * rgb[hit] + 0.55 * tint[hit]).astype(np.uint8)
    im = PILImage.fromarray(rgb)
    im.thumbnail((side, side), PILImage.Resampling.BILINEAR)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "–" if np.isnan(v) else f"{v:.{digits}f}"
    return str(v)


_CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:24px;color:#1f2328;background:#f6f8fa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}.sub{color:#656d76;margin-bottom:16px}
table{border-collapse:collapse;background:#fff;font-size:13px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
th,td{padding:6px 10px;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
.lvl{display:inline-block;padding:1px 8px;border-radius:9px;font-size:12px;font-weight:600;color:#fff}
.high{background:#c62828}.medium{background:#ef8f00}.low{background:#607d8b}
img.thumb{border-radius:4px;margin:2px;max-width:192px;max-height:192px}
.legend span{display:inline-block;width:12px;height:12px;border-radius:2px;margin:0 4px -2px 12px}
"""


def export_report(project, out, batch=None, annotator=None, progress: ProgressCallback = no_progress,
                  cancel: CancelToken = NEVER_CANCELLED) -> ExportSummary:
    """`agreement.csv` (per batch), `image_agreement.csv`, `findings.csv` and `report.html` with thumbnails."""
    report = find_findings(project, batch=batch, cancel=cancel,
                           progress=lambda f, m: progress(0.5 * f, m))
    findings = [f for f in report.findings if annotator is None or annotator in f.annotators or not f.annotators]
    summary = ExportSummary("report", Path(out), model_revision_id=report.model_revision_id)
    with atomic_output(out, "report", report.model_revision_id) as tmp:
        agreement_rows = []
        for a in report.agreement:
            agreement_rows.append({"batch": a.batch, "pair": "all", "annotators": ";".join(a.annotators),
                                   "images": a.images, "method": a.method, "kappa": a.kappa, "observed": a.observed})
            for p in a.pairs:
                agreement_rows.append({"batch": a.batch, "pair": f"{p.a}|{p.b}", "annotators": f"{p.a};{p.b}",
                                       "images": p.images, "method": "cohen", "kappa": p.kappa, "observed": p.observed})
        _write_csv(tmp / "agreement.csv", ["batch", "pair", "annotators", "images", "method", "kappa", "observed"],
                   agreement_rows)
        _write_csv(tmp / "image_agreement.csv",
                   ["image_id", "batch", "item", "view", "annotators", "verdicts", "iou", "dice", "regions",
                    "regions_disputed", "resolved"],
                   [{**vars(r), "annotators": ";".join(r.annotators),
                     "verdicts": ";".join(f"{k}={v}" for k, v in r.verdicts.items())} for r in report.images])
        _write_csv(tmp / "findings.csv",
                   ["severity", "level", "kind", "batch", "item", "views", "image_ids", "annotators", "reason"],
                   [{"severity": round(f.severity, 3), "level": f.level, "kind": f.kind, "batch": f.batch,
                     "item": f.item, "views": ";".join(f.views), "image_ids": ";".join(map(str, f.image_ids)),
                     "annotators": ";".join(f.annotators), "reason": f.reason} for f in findings])
        (tmp / "thumbs").mkdir()
        thumbs: dict[int, str] = {}
        wanted = [i for f in findings for i in f.image_ids]
        for n, image_id in enumerate(dict.fromkeys(wanted)):
            cancel.check()
            progress(0.5 + 0.5 * n / max(1, len(wanted)), "drawing thumbnails")
            name = f"thumbs/{image_id}.png"
            (tmp / name).write_bytes(_thumbnail(project, image_id))
            thumbs[image_id] = name
        (tmp / "report.html").write_text(_html(project, report, findings, thumbs, batch), encoding="utf-8")
    summary.images = len(thumbs)
    summary.annotations = len(findings)
    progress(1.0, f"{len(findings)} findings reported")
    return summary


def _html(project, report, findings, thumbs, batch) -> str:
    e = html.escape
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    scope = f"batch {e(batch)}" if batch else "all batches"
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Label agreement – {e(project.name)}</title>",
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Label agreement report – {e(project.name)}</h1>",
             f"<div class='sub'>{scope} · {when} · model revision {_fmt(report.model_revision_id)} · "
             f"{len(findings)} findings</div>",
             "<h2>Verdict agreement per batch</h2><table><tr><th>Batch</th><th>Annotators</th>"
             "<th class='num'>Images</th><th>Method</th><th class='num'>Kappa</th><th class='num'>Observed</th></tr>"]
    for a in report.agreement:
        parts.append(f"<tr><td>{e(a.batch)}</td><td>{e(', '.join(a.annotators)) or '–'}</td>"
                     f"<td class='num'>{a.images}</td><td>{e(a.method)}</td><td class='num'>{_fmt(a.kappa)}</td>"
                     f"<td class='num'>{_fmt(a.observed)}</td></tr>")
    parts.append("</table>")
    parts.append("<h2>Findings</h2><div class='legend'>Thumbnails:<span style='background:rgb%s'></span>all annotators"
                 "<span style='background:rgb%s'></span>some annotators</div><br>" % (VOTE_ALL, VOTE_SOME))
    parts.append("<table><tr><th>Severity</th><th>Kind</th><th>Batch / item</th><th>Reason</th><th>Images</th></tr>")
    for f in findings:
        imgs = "".join(f"<img class='thumb' src='{thumbs[i]}' title='image {i}' alt='image {i}'>"
                       for i in f.image_ids if i in thumbs)
        parts.append(f"<tr><td><span class='lvl {f.level}'>{f.level}</span> {f.severity:.2f}</td>"
                     f"<td>{e(f.kind.replace('_', ' '))}</td><td>{e(f.batch)}<br><b>{e(f.item)}</b></td>"
                     f"<td>{e(f.reason)}</td><td>{imgs}</td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)


def export(project, fmt: str, out, batch: str | None = None, annotator: str | None = None,
           coco_encoding: str = "rle", progress: ProgressCallback = no_progress,
           cancel: CancelToken = NEVER_CANCELLED) -> ExportSummary:
    """Run one export format (see FORMATS)."""
    if fmt == "mvtec":
        return export_mvtec(project, out, batch, annotator, progress, cancel)
    if fmt == "coco":
        return export_coco(project, out, batch, annotator, coco_encoding, progress, cancel)
    if fmt == "csv":
        return export_csv(project, out, batch, annotator, progress, cancel)
    if fmt == "report":
        return export_report(project, out, batch, annotator, progress, cancel)
    raise ContrarioError(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")
