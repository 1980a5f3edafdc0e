"""The inference job (worker process): score images with a model revision, store maps and NFA regions.

Incremental and resumable: images already scored by the revision are skipped, and each chunk of images
is stored in one transaction, so a killed worker loses at most the chunk in flight.
"""

from __future__ import annotations

import time

import numpy as np
from sqlalchemy import select

from core.domain.images import ImageRef, readable_images
from core.domain.items import group_by
from core.domain.view_modes import is_stacked
from core.errors import ImageError
from core.io.checked_files import read_checked_image
from core.jobs.scorers import STORE_LOG_NFA_BELOW, Scored, load_scorer
from core.jobs.scoring_units import Unit, plan_units
from core.store.blobs import BadBlobName
from core.store.schema import InferenceResult, ModelRevision, Region

CHUNK = 8


def images_to_score(session, revision_id: int, batch_id=None, image_ids=None) -> list[ImageRef]:
    """Readable images of the selection that the revision has not scored yet, in import order."""
    return readable_images(session, batch_id, image_ids or None, not_scored_by=revision_id)


def submit_in_chunks(project, payload: dict, chunk_images: int) -> int | None:
    """Queue the inference of `payload` as chunks of `chunk_images` images that several workers take at once;
    returns the parent job (None when every image is already scored)."""
    from core.jobs import queue

    if chunk_images < 1:
        raise ValueError("chunk_images must be at least 1")
    with project.session(readonly=True) as s:
        todo = images_to_score(s, payload["model_revision_id"], payload.get("batch_id"), payload.get("image_ids"))
        rev = s.get(ModelRevision, payload["model_revision_id"])
        stacked = rev is not None and is_stacked(rev.config)
    if not todo:
        return None
    chunks = [{"image_ids": [ref.id for ref in part]} for part in _chunked(todo, chunk_images, stacked)]
    return queue.submit_chunks(project, "infer", payload, chunks, f"{len(todo)} images in {len(chunks)} chunks")


def _chunked(todo: list[ImageRef], size: int, whole_items: bool) -> list[list[ImageRef]]:
    """Runs of `size` images; with `whole_items` (a stacked revision scores an item at once) a run ends only
    at an item's last image, so that no two chunks score one item."""
    if not whole_items:
        return [todo[k:k + size] for k in range(0, len(todo), size)]
    chunks: list[list[ImageRef]] = [[]]
    for views in group_by(todo, lambda r: r.item_id).values():
        if len(chunks[-1]) >= size:
            chunks.append([])
        chunks[-1] += views
    return chunks


def map_to_blob(amap: np.ndarray) -> np.ndarray:
    """The anomaly score in [0, 1] quantised to uint8 (the GUI shows it through a lookup table)."""
    return np.clip(np.rint(amap * 255.0), 0, 255).astype(np.uint8)


def result_rows(project, image_id: int, revision_id: int, scored: Scored, image_hw: tuple[int, int]):
    """An InferenceResult with its regions, coordinates converted to the original image."""
    h, w = scored.anomaly_map.shape
    H, W = image_hw
    sy, sx = H / h, W / w
    keep = [r for r in scored.regions if r.log10_nfa <= STORE_LOG_NFA_BELOW]
    labels = scored.labels.astype(np.uint16 if len(keep) < 65535 else np.int32)
    result = InferenceResult(
        image_id=image_id, model_revision_id=revision_id, score=float(scored.score),
        map_blob=project.blobs.put_array(map_to_blob(scored.anomaly_map)),
        labels_blob=project.blobs.put_array(labels),
        map_info={"shape": [h, w], "image_size": [H, W], "encoding": "uint8 score*255", "vmin": 0.0, "vmax": 1.0},
        timing={k: round(v, 3) for k, v in scored.timing_ms.items()},
    )
    for r in keep:
        y0, x0, y1, x1 = r.bbox
        result.regions.append(Region(
            label=int(r.label), log10_nfa=float(r.log10_nfa), area=int(round(r.area * sy * sx)),
            x0=int(x0 * sx), y0=int(y0 * sy), x1=int(np.ceil(x1 * sx)), y1=int(np.ceil(y1 * sy)),
            scale=int(r.scale)))
    return result


def _inputs(project, chunk: list[Unit], stacked: bool, failed: list[dict]) -> list[tuple[Unit, object, tuple]]:
    """Each unit with its decoded input (an item's views to stack along channels) and the (height, width) of
    its images (stacked views are checked to share it); failures go to `failed`."""
    from core.models.preprocess import StackedViews, check_aligned

    out = []
    for unit in chunk:
        try:  # unreadable, or changed since its import, or views of different sizes: never scored
            decoded = [read_checked_image(ref.source(project), ref.sha256, ref.file_size) for ref in unit.inputs]
            if stacked:
                names = tuple(ref.file_name for ref in unit.inputs)
                check_aligned([im.pixels.shape[:2] for im in decoded], names)
                out.append((unit, StackedViews(tuple(decoded), names), decoded[0].pixels.shape[:2]))
            else:
                out.append((unit, decoded[0], decoded[0].pixels.shape[:2]))
        except (ImageError, BadBlobName) as exc:
            failed += [{"image_id": ref.id, "reason": str(exc)} for ref in unit.targets]
    return out


def _score(scorer, ready: list[tuple[Unit, object, tuple]], cancel) -> list[tuple[Unit, Scored, tuple]]:
    """Score the inputs, each with its view's model (every unit of a one-model scorer together)."""
    by_view: dict[str, list[tuple[Unit, object, tuple]]] = {}
    for entry in ready:
        by_view.setdefault(entry[0].view, []).append(entry)
    out = []
    for view, group in by_view.items():
        outputs = scorer.for_view(view).score([image for _, image, _ in group], cancel)
        out += [(unit, scored, hw) for (unit, _, hw), scored in zip(group, outputs)]
    return out


def run_infer(project, payload: dict, progress, cancel, job_id: int | None = None) -> dict:
    revision_id = payload["model_revision_id"]
    started = time.perf_counter()
    with project.session(readonly=True) as s:
        todo = images_to_score(s, revision_id, payload.get("batch_id"), payload.get("image_ids"))
    if not todo:
        progress(1.0, "nothing to score")
        return {"scored": 0, "failed": [], "not_scorable": [], "summary": "every image was already scored"}
    progress(0.0, "loading the model")
    scorer = load_scorer(project, revision_id, payload.get("tiling"))
    units, refused = plan_units(project, scorer, todo)
    load_seconds = time.perf_counter() - started
    scored_count, failed = 0, []
    per_chunk = max(1, CHUNK // len(scorer.stacked_views)) if scorer.stacked_views else CHUNK  # memory: views
    for start in range(0, len(units), per_chunk):
        cancel.check()
        chunk = units[start:start + per_chunk]
        ready = _inputs(project, chunk, bool(scorer.stacked_views), failed)
        outputs = _score(scorer, ready, cancel) if ready else []
        rows = [result_rows(project, ref.id, revision_id, out, hw) for unit, out, hw in outputs
                for ref in unit.targets]
        with project.session() as s:  # a serialized write: no other writer between this check and the insert
            already = set(s.scalars(select(InferenceResult.image_id).where(
                InferenceResult.model_revision_id == revision_id,
                InferenceResult.image_id.in_([r.image_id for r in rows]))))
            rows = [r for r in rows if r.image_id not in already]
            s.add_all(rows)
        scored_count += len(rows)
        done = start + len(chunk)
        progress(done / len(units), f"scored {done}/{len(units)} {'items' if scorer.stacked_views else 'images'}")
    seconds = time.perf_counter() - started
    summary = f"scored {scored_count} images" + (f", {len(failed)} unreadable" if failed else "")
    if refused:
        summary += f"; {len(refused)} not scorable by this revision: " + ", ".join(r["file"] for r in refused[:5]) \
            + (" ..." if len(refused) > 5 else "")
    return {"scored": scored_count, "failed": failed, "not_scorable": refused, "seconds": round(seconds, 2),
            "model_load_seconds": round(load_seconds, 2),
            "images_per_second": round(scored_count / seconds, 3) if seconds > 0 else None,
            "summary": summary}
