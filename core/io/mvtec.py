"""Importing a folder in MVTec AD layout, with its ground truth.

Layout (the one parser: `layout`, also used by `contrario eval`): `train/good/*`, `test/<class>/*` (`good`
or a defect class), masks in `ground_truth/<class>/<stem>_mask.*` (MVTec AD) or `ground_truth/<class>/<stem>.*`
(MTD).

The split is recorded in the batch name: `<name>/train` and `<name>/test` (one batch each). Items are named
`<class>/<stem>`. Every image gets a ground-truth annotation (annotator "ground-truth", source "import"):
verdict "good" in `good` folders, else "defect" with the folder name as defect class and the mask (pixels > 127)
stored as a uint8 PNG blob whose pixels hold the DefectClass id (0 elsewhere). A defect image whose mask is
missing or empty keeps its verdict; an empty mask is stored as it is (an all-zero mask).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from core.errors import ContrarioError, ImageError, JobCancelled
from core.io.images import SUPPORTED_SUFFIXES, read_image
from core.io.importer import Candidate, Examined, ImportReport, import_candidates
from core.io.pixels import to_uint8
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


@dataclass(frozen=True)
class LayoutImage:
    """One image of an MVTec-layout folder."""

    path: Path
    split: str  # train | test
    cls: str  # "good" or the defect class (its folder name)
    mask: Path | None  # ground-truth mask file, for defect images that have one

    @property
    def rel(self) -> str:
        return f"{self.cls}/{self.path.name}"


def _images_in(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUPPORTED_SUFFIXES
    )


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _mask_index(root: Path, cls: str) -> dict[str, Path]:
    folder = Path(root) / "ground_truth" / cls
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in reversed(_images_in(folder))}  # the first by sorted name wins


def find_mask(root: Path, cls: str, stem: str, index: dict[str, Path] | None = None) -> Path | None:
    """`ground_truth/<cls>/<stem>_mask.*` (MVTec AD), else `ground_truth/<cls>/<stem>.*` (MTD)."""
    index = _mask_index(root, cls) if index is None else index
    return index.get(f"{stem}_mask") or index.get(stem)


def layout(folder: str | Path) -> list[LayoutImage]:
    """Every image of the folder: split, then class folder, then file name."""
    root = Path(folder).expanduser().absolute()
    if not is_mvtec_folder(root):
        raise ContrarioError(f"{root}: not an MVTec-layout folder (needs train/good and test/)")
    out = []
    for split in SPLITS:
        split_dir = root / split
        if not split_dir.is_dir():
            continue
        for cls_dir in _subfolders(split_dir):
            cls = cls_dir.name
            index = _mask_index(root, cls) if cls != "good" else {}
            for f in _images_in(cls_dir):
                out.append(LayoutImage(f, split, cls, find_mask(root, cls, f.stem, index)))
    return out


def read_mask(path: str | Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A ground-truth mask file as bool (pixels > 127 after 8-bit conversion, any channel)."""
    px = to_uint8(read_image(path).pixels)
    if px.ndim == 3:
        px = px[:, :, :3].max(axis=2)
    if shape is not None and px.shape != tuple(shape):
        raise ImageError(f"{path}: mask is {px.shape[1]}x{px.shape[0]}, image is {shape[1]}x{shape[0]}")
    return px > 127


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
    splits: dict[str, list[Candidate]] = {split: [] for split in SPLITS}
    classes: set[str] = set()
    for im in layout(root):
        if im.cls != "good":
            classes.add(im.cls)
        splits[im.split].append(Candidate(im.path, im.rel, {"class": im.cls, "split": im.split, "mask": im.mask}))

    with project.session() as s:
        class_ids = {cls: ensure_defect_class(s, cls).id for cls in sorted(classes)}

    report = ImportReport()

    def prepare(ex: Examined) -> None:
        cls = ex.cand.extra["class"]
        if cls == "good":
            return
        mask_path = ex.cand.extra["mask"]
        if mask_path is None:
            ex.prepared["warning"] = f"{ex.cand.path}: no ground-truth mask found"
            return
        try:
            defect = read_mask(mask_path, (ex.info.height, ex.info.width))
        except ImageError as exc:
            ex.prepared["warning"] = f"mask not imported: {exc}"
            return
        class_id = class_ids[cls]
        mask = np.where(defect, class_id, 0).astype(np.uint8 if class_id < 256 else np.uint16)
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
