"""Importing a folder in MVTec AD layout, with its ground truth.

Layout: `train/good/*`, `test/<class>/*` (`good` or a defect class), masks in
`ground_truth/<class>/<stem>_mask.png` (MVTec AD) or `ground_truth/<class>/<stem>.png` (MTD).

The split is recorded in the batch name: `<name>/train` and `<name>/test` (one batch each). Items are named
`<class>/<stem>`. Every image gets a ground-truth annotation (annotator "ground-truth", source "import"):
verdict "good" in `good` folders, else "defect" with the folder name as defect class and the mask (pixels > 127)
stored as a uint8 PNG blob whose pixels hold the DefectClass id (0 elsewhere). A defect image whose mask is
missing or empty keeps its verdict; an empty mask is stored as it is (an all-zero mask).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from core.errors import ContrarioError, ImageError, JobCancelled
from core.io.importer import Candidate, Examined, ImportReport, import_candidates
from core.io.images import SUPPORTED_SUFFIXES, read_image
from core.labels.revisions import add_annotation, ensure_defect_class
from core.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress

GROUND_TRUTH = "ground-truth"
SPLITS = ("train", "test")


def is_mvtec_folder(folder: str | Path) -> bool:
    folder = Path(folder)
    try:
        return (folder / "train" / "good").is_dir() and (folder / "test").is_dir()
    except OSError:  # an unreadable folder is no MVTec folder; the plain import reports it
        return False


def _images_in(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUPPORTED_SUFFIXES
    )


def find_mask(root: Path, cls: str, stem: str) -> Path | None:
    for name in (f"{stem}_mask.png", f"{stem}.png"):
        p = root / "ground_truth" / cls / name
        if p.is_file():
            return p
    return None


def _load_mask(path: Path, class_id: int, width: int, height: int) -> np.ndarray:
    px = read_image(path).pixels
    if px.dtype == np.uint16:
        px = (px >> 8).astype(np.uint8)
    if px.ndim == 3:
        px = px[:, :, :3].max(axis=2)
    if px.shape != (height, width):
        raise ImageError(f"{path}: mask is {px.shape[1]}x{px.shape[0]}, image is {width}x{height}")
    dtype = np.uint8 if class_id < 256 else np.uint16
    return np.where(px > 127, class_id, 0).astype(dtype)


def import_mvtec(
    project,
    folder: str | Path,
    batch_name: str,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    *,
    product_line: str | None = None,
    copy: bool = False,
    workers: int | None = None,
) -> ImportReport:
    """Import an MVTec-layout folder as batches `<batch_name>/train` and `<batch_name>/test`."""
    root = Path(folder).expanduser().absolute()
    if not is_mvtec_folder(root):
        raise ContrarioError(f"{root}: not an MVTec-layout folder (needs train/good and test/)")
    splits: dict[str, list[Candidate]] = {}
    classes: set[str] = set()
    for split in SPLITS:
        split_dir = root / split
        cands: list[Candidate] = []
        if split_dir.is_dir():
            for cls_dir in sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                cls = cls_dir.name
                if cls != "good":
                    classes.add(cls)
                for f in _images_in(cls_dir):
                    cands.append(Candidate(f.absolute(), f"{cls}/{f.name}", {"class": cls, "split": split}))
        splits[split] = cands

    with project.session() as s:
        class_ids = {cls: ensure_defect_class(s, cls).id for cls in sorted(classes)}

    report = ImportReport()

    def prepare(ex: Examined) -> None:
        cls = ex.cand.extra["class"]
        if cls == "good":
            return
        mask_path = find_mask(root, cls, ex.cand.path.stem)
        if mask_path is None:
            ex.prepared["warning"] = f"{ex.cand.path}: no ground-truth mask found"
            return
        try:
            mask = _load_mask(mask_path, class_ids[cls], ex.info.width, ex.info.height)
        except ImageError as exc:
            ex.prepared["warning"] = f"mask not imported: {exc}"
            return
        ex.prepared["mask_blob"] = project.blobs.put_array(mask)
        ex.prepared["mask_path"] = str(mask_path)
        ex.prepared["mask_pixels"] = int(np.count_nonzero(mask))

    def on_added(session: Session, ex: Examined, image_id: int) -> int:
        cls = ex.cand.extra["class"]
        if "warning" in ex.prepared:
            report.warnings.append(ex.prepared["warning"])
        ref = {"mvtec": ex.cand.rel, "split": ex.cand.extra["split"]}
        if "mask_path" in ex.prepared:
            ref["mask"] = ex.prepared["mask_path"]
        add_annotation(
            session, image_id, GROUND_TRUTH,
            verdict="good" if cls == "good" else "defect",
            defect_class=None if cls == "good" else cls,
            mask_blob=ex.prepared.get("mask_blob"),
            source="import", source_ref=ref,
        )
        return 1

    total = sum(len(c) for c in splits.values()) or 1
    done = 0
    try:
        for split in SPLITS:
            cands = splits[split]
            if not cands:
                continue
            offset = done

            def split_progress(fraction: float, message: str, offset=offset, n=len(cands)) -> None:
                progress((offset + fraction * n) / total, message)

            import_candidates(
                project, cands, f"{batch_name}/{split}", product_line=product_line,
                source_folder=str(root / split), copy=copy, prepare=prepare, on_added=on_added,
                progress=split_progress, cancel=cancel, workers=workers, report=report,
            )
            done += len(cands)
    except JobCancelled:
        raise JobCancelled(
            f"import cancelled after {report.added} new images; those stay recorded with their labels"
        ) from None
    return report
