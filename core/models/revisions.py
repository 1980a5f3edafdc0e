"""Model revisions of a project: lineage, calibration status, figures on the project's labelled images,
side-by-side comparison, promotion to active and rollback.

Figures come from stored InferenceResults and the current annotations, never from re-running a model, so
this module imports neither torch nor Qt. Ground truth of an image is its label (core.domain.labels) when
that is good or defect; the mask of the revision the label rests on, when it has one, gives the pixel truth.
A revision is never judged on the images it was trained on: they are left out of its figures.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

import numpy as np
from sqlalchemy import func, select

from core.domain.active_model import activate_if_none_chosen, active_model, set_active_model
from core.domain.enums import GROUND_TRUTH_VERDICTS, ImageStatus
from core.domain.labels import confirmed_good_images, image_labels
from core.domain.results import scored_images
from core.domain.view_modes import is_per_view, view_mode, view_order
from core.errors import ContrarioError
from core.metrics.pixel_eval import EVAL_SIDE, eval_pair
from core.metrics.ranking import image_auroc, pixel_auroc
from core.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress
from core.store.schema import (
    Batch,
    DatasetRevision,
    Image,
    InferenceResult,
    Item,
    ModelRevision,
)

PROMOTION_LOG_KEY = "model_promotion_log"  # [{"active": id, "previous": id|None, "at": iso, "action": ...}]
PIXEL_EVAL_SIDE = EVAL_SIDE  # pixel figures at the image's aspect, longer side at most this (as core.evaluation)


# ---------------------------------------------------------------------------------------------- lineage
@dataclass(frozen=True)
class RevisionInfo:
    """What the revisions panel lists about one model revision."""

    id: int
    name: str
    kind: str
    parent_id: int | None
    created_at: datetime | None
    backbone: str | None
    input_size: int | None
    train_steps: int | None
    dataset_revision_id: int | None
    n_train: int | None  # images in the frozen training set
    duration_s: float | None
    calibration_ok: bool | None  # None: nothing to check (training-free models, old revisions)
    calibration_scales: tuple[tuple[int, float, float], ...]  # (channels, mean z^2 / C, KS distance)
    calibration_warnings: tuple[str, ...]
    n_results: int
    active: bool
    view_mode: str | None = None  # core.domain.view_modes: "per_view", "stacked", or None (one model)
    views: tuple[str, ...] = ()  # the per-view sub-models, or the stacking order
    per_view: tuple["ViewInfo", ...] = ()  # per-view revisions: each view's sub-model
    image_flips: int = 0  # flipped or turned copies of each training image (UFlowConfig.image_flips)
    orientations: tuple[str, ...] = ()  # which (core.models.uflow.orientation.TRANSFORMS); (): stored before
    exposure_reference: tuple[float, ...] = ()  # mean grey level per view inputs are brought to; (): as stored
    scale_context: bool = True  # the U-shaped flow; False: one flow per scale (UFlowConfig.scale_context)
    scale_context_chosen: bool = False  # training chose the layout from the images (not asked for, not inherited)
    layout_sample: str | None = None  # what chose it where no copies were checked: "tiles", "images"; None: the copies
    region_calibration: str = ""  # how the regions' false alarms were measured (region_calibration_text)

    @property
    def calibration_text(self) -> str:
        return _calibration_text(self.kind, self.calibration_ok, self.calibration_scales)


def region_calibration_text(cal: dict) -> str:
    """One line on a U-Flow revision's region calibration (core.nfa.region_null), from its stored calibration."""
    views = cal.get("views")
    if views:  # a per-view revision: each view's model has its own
        return "; ".join(f"{view}: {region_calibration_text(c or {})}" for view, c in views.items())
    regions = cal.get("regions")
    if not regions or not regions.get("calibration"):
        return "uncalibrated: the paper's count of tests (too few normal images to hold any out)"
    n = int(regions["calibration"].get("n_images") or 0)
    if regions.get("scale_calibrations"):
        return f"false alarms measured on {n} held-out normal images, one curve per latent scale"
    text = f"false alarms measured on {n} held-out normal images, one curve for every latent scale"
    return "; ".join([text] + [note.split(": ", 1)[-1] for note in regions.get("notes") or []])


def _calibration_text(kind: str, ok: bool | None, scales: tuple) -> str:
    if ok is None:
        return "not applicable" if kind != "uflow" else "unknown"
    means = ", ".join(f"{m:.2f}" for _c, m, _ks in scales)
    return ("ok" if ok else "off") + (f" (mean z²/C: {means})" if means else "")


@dataclass(frozen=True)
class ViewInfo:
    """One view's sub-model of a per-view revision."""

    view: str
    n_train: int
    calibration_ok: bool | None
    calibration_scales: tuple[tuple[int, float, float], ...]
    calibration_warnings: tuple[str, ...]
    n_results: int
    scale_context: bool = True  # this view's layout (views choose theirs apart: a diffuse and a grazing light differ)
    scale_context_chosen: bool = False
    layout_sample: str | None = None

    @property
    def calibration_text(self) -> str:
        return _calibration_text("uflow", self.calibration_ok, self.calibration_scales)


def _training(r) -> dict:
    """A revision's training figures ({} when none were stored)."""
    return (r.figures or {}).get("training") or {}


def _image_flips(r, cfg: dict) -> int:
    """Copies per training image: as trained (the automatic check may keep none), else as configured."""
    trained = _training(r)
    if "image_flips" in trained:
        return int(trained["image_flips"])
    return max(int(cfg.get("image_flips") or 0), 0)


def _scales(cal: dict) -> tuple[tuple[int, float, float], ...]:
    return tuple((int(sc.get("channels", 0)), float(sc.get("mean_z2", float("nan"))),
                  float(sc.get("ks", float("nan")))) for sc in cal.get("scales", []))


def _view_infos(session, rev: ModelRevision) -> tuple[ViewInfo, ...]:
    """Each view's sub-model of a per-view revision: training images, calibration, images scored."""
    if not is_per_view(rev.config):
        return ()
    training = _training(rev).get("views") or {}
    trained = {view: int(t.get("n_images") or 0) + int(t.get("n_holdout") or 0) for view, t in training.items()}
    scored = Counter(session.scalars(select(Image.view).join(InferenceResult, InferenceResult.image_id == Image.id)
                                     .where(InferenceResult.model_revision_id == rev.id)))
    per_view = (rev.calibration or {}).get("views") or {}
    described = (rev.config or {}).get("models") or {}
    out = []
    for view in view_order(rev.config):
        cal = per_view.get(view) or {}
        own = training.get(view) or {}
        out.append(ViewInfo(view, int(trained.get(view, 0)), cal.get("ok") if cal else None, _scales(cal),
                            tuple(cal.get("warnings", [])), int(scored.get(view, 0)),
                            scale_context=u_shaped(uflow_config(described.get(view))),
                            scale_context_chosen=own.get("scale_context_chosen") is True,
                            layout_sample=_layout_sample(own.get("layout_check"))))
    return tuple(out)


def view_image_ids(project, view: str, image_ids: Iterable[int] | None = None) -> list[int]:
    """The images of one view (of `image_ids`, else of the project): a per-view revision's figures of that view."""
    with project.session(readonly=True) as s:
        q = select(Image.id).where(Image.view == view)
        if image_ids is not None:
            q = q.where(Image.id.in_(list(image_ids)))
        return list(s.scalars(q))


def uflow_config(config: dict | None) -> dict:
    """The UFlowConfig fields of a stored revision config (a checkpoint description, or the fields themselves)."""
    config = dict(config or {})
    return dict(config.get("config") or config)


def _layout_sample(check: dict | None) -> str | None:
    """What the layout check looked at when training added no checked copies (train.layout_samples)."""
    if not check:
        return None
    return "tiles" if check.get("tiles") else "images"


def u_shaped(fields: dict) -> bool:
    """Whether a revision's UFlowConfig fields (uflow_config) built the U-shaped flow: all but an explicit
    `scale_context` False (revisions stored before the field, or before it was resolved, have the U shape)."""
    return fields.get("scale_context") is not False


def list_revisions(project) -> list[RevisionInfo]:
    """Every model revision, oldest first."""
    active = active_revision(project)
    with project.session(readonly=True) as s:
        revs = s.scalars(select(ModelRevision).order_by(ModelRevision.id)).all()
        sizes = {d.id: len(d.image_ids or []) for d in s.scalars(select(DatasetRevision))}
        counts = dict(s.execute(select(InferenceResult.model_revision_id, func.count())
                                .group_by(InferenceResult.model_revision_id)).all())
        out = []
        for r in revs:
            cfg = uflow_config(r.config) if r.kind == "uflow" else {}
            cal = r.calibration or {}
            scales = _scales(cal)
            out.append(RevisionInfo(
                id=r.id, name=r.name or f"{r.kind} #{r.id}", kind=r.kind, parent_id=r.parent_id,
                created_at=r.created_at, backbone=r.backbone or cfg.get("backbone"),
                input_size=cfg.get("input_size"),
                train_steps=_training(r).get("steps") or cfg.get("train_steps"),
                dataset_revision_id=r.dataset_revision_id, n_train=sizes.get(r.dataset_revision_id),
                duration_s=r.duration_s, calibration_ok=cal.get("ok") if cal else None,
                calibration_scales=scales, calibration_warnings=tuple(cal.get("warnings", [])),
                n_results=int(counts.get(r.id, 0)), active=r.id == active,
                view_mode=view_mode(r.config) if r.kind == "uflow" else None,
                views=tuple(view_order(r.config)) if r.kind == "uflow" else (),
                per_view=_view_infos(s, r) if r.kind == "uflow" else (),
                image_flips=_image_flips(r, cfg), orientations=tuple(_training(r).get("orientations") or ()),
                exposure_reference=tuple(_training(r).get("exposure_reference") or ()),
                scale_context=u_shaped(cfg),
                scale_context_chosen=_training(r).get("scale_context_chosen") is True,
                layout_sample=_layout_sample(_training(r).get("layout_check")),
                region_calibration=region_calibration_text(cal) if r.kind == "uflow" and cal else ""))
    return out


def lineage(project, revision_id: int) -> list[int]:
    """The revision, its parent, the parent's parent, ... (fine-tuning chain), newest first."""
    chain: list[int] = []
    with project.session(readonly=True) as s:
        current = s.get(ModelRevision, revision_id)
        if current is None:
            raise ContrarioError(f"no model revision {revision_id}")
        while current is not None and current.id not in chain:
            chain.append(current.id)
            current = s.get(ModelRevision, current.parent_id) if current.parent_id else None
    return chain


def training_image_ids(project, revision_id: int) -> list[int]:
    with project.session(readonly=True) as s:
        rev = s.get(ModelRevision, revision_id)
        if rev is None:
            raise ContrarioError(f"no model revision {revision_id}")
        if rev.dataset_revision_id is None:
            return []
        ds = s.get(DatasetRevision, rev.dataset_revision_id)
        return list(ds.image_ids or []) if ds is not None else []


# ---------------------------------------------------------------------------------------------- training set
@dataclass(frozen=True)
class TrainingSet:
    """The verified-good images a new training job would use."""

    image_ids: list[int]
    n_considered: int  # images looked at (the selection, the batch or the whole project)

    @property
    def size(self) -> int:
        return len(self.image_ids)


def training_set(project, batch_id: int | None = None, selection: Iterable[int] | None = None) -> TrainingSet:
    """Verified-good images of the project, of one batch, or of a selection of images."""
    with project.session(readonly=True) as s:
        good = [r.id for r in confirmed_good_images(s, batch_id)]
        if selection is not None:
            chosen = set(selection)
            return TrainingSet([i for i in good if i in chosen], len(chosen))
        q = select(func.count(Image.id)).join(Item).where(Image.status == ImageStatus.OK.value)
        if batch_id is not None:
            q = q.where(Item.batch_id == batch_id)
        return TrainingSet(good, int(s.scalar(q) or 0))


def training_free_available() -> bool:
    """True when the training-free a contrario detector (core.models.classic) is installed."""
    return importlib.util.find_spec("core.models.classic") is not None


# ---------------------------------------------------------------------------------------------- promotion
def active_revision(project) -> int | None:
    """The active model revision (core.domain.active_model: the promoted one, else the newest)."""
    return active_model(project)


def promotion_log(project) -> list[dict]:
    return list(project.get_setting(PROMOTION_LOG_KEY, []) or [])


def promote(project, revision_id: int) -> int | None:
    """Make `revision_id` the active model; returns the previously active revision."""
    with project.session() as s:
        if s.get(ModelRevision, revision_id) is None:
            raise ContrarioError(f"no model revision {revision_id}")
    previous = active_revision(project)
    _log(project, "promote", revision_id, previous)
    set_active_model(project, revision_id)
    return previous


def rollback(project) -> int:
    """Re-activate the revision that was active before the last promotion; returns it."""
    log = promotion_log(project)
    current = active_revision(project)
    with project.session(readonly=True) as s:
        existing = set(s.scalars(select(ModelRevision.id)))
    # Walk back over promotions, skipping those undone by an earlier rollback.
    undone = 0
    for entry in reversed(log):
        if entry.get("action") == "rollback":
            undone += 1
            continue
        if undone:
            undone -= 1
            continue
        previous = entry.get("previous")
        if entry.get("active") == current and previous is not None and previous in existing:
            _log(project, "rollback", previous, current)
            set_active_model(project, previous)
            return previous
        break
    raise ContrarioError("nothing to roll back to: no earlier promotion of another revision is recorded")


def _log(project, action: str, active: int, previous: int | None) -> None:
    log = promotion_log(project)
    log.append({"action": action, "active": active, "previous": previous,
                "at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    project.set_setting(PROMOTION_LOG_KEY, log)


# ---------------------------------------------------------------------------------------------- figures
@dataclass(frozen=True)
class Truth:
    verdict: str  # good | defect
    mask_blob: str | None


def ground_truth(session, image_ids: Iterable[int] | None = None) -> dict[int, Truth]:
    """The label of each image when it is good or defect, with its mask (defect labels only), if any."""
    labels = image_labels(session, image_ids)
    return {iid: Truth(lab.verdict, lab.mask_blob if lab.verdict == "defect" else None)
            for iid, lab in labels.items() if lab.verdict in GROUND_TRUTH_VERDICTS}


@dataclass(frozen=True)
class ImageOutcome:
    image_id: int
    score: float
    region_nfas: tuple[float, ...]  # stored regions' log10 NFA (all <= 0)
    truth: str | None

    def n_regions(self, k: float) -> int:
        return sum(1 for v in self.region_nfas if v <= -k)

    def decision(self, k: float) -> bool:
        """Flagged at k: at least one region with NFA <= 10^-k."""
        return self.n_regions(k) > 0


def outcomes(project, revision_id: int, image_ids: Iterable[int] | None = None) -> dict[int, ImageOutcome]:
    """Score, regions and ground truth of every image the revision has scored."""
    with project.session(readonly=True) as s:
        results = scored_images(s, revision_id, image_ids)
        truth = ground_truth(s, [r.image_id for r in results] if image_ids is not None else None)
    return {r.image_id: ImageOutcome(r.image_id, r.score, r.region_nfas,
                                     truth[r.image_id].verdict if r.image_id in truth else None)
            for r in results}


@dataclass
class RevisionFigures:
    """Figures of one revision on the project's labelled images (training images left out)."""

    revision_id: int
    k: float
    n_scored: int
    n_evaluated: int  # scored, labelled good/defect, not in the training set
    n_good: int
    n_defect: int
    n_training_excluded: int
    image_auroc: float | None
    pixel_auroc: float | None
    n_pixel_images: int  # images whose pixel truth is known (good, or defect with a mask)
    regions_per_good_image: float | None
    good_flagged: float | None  # fraction of good images with a region at k (false alarms)
    defect_flagged: float | None  # fraction of defect images with a region at k
    decisions: dict[int, bool] = field(default_factory=dict)  # every scored image -> flagged at k

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["decisions"] = {str(k): v for k, v in self.decisions.items()}
        return d


def _nan_to_none(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _pixel_auroc(project, revision_id: int, images: list[int], truth: dict[int, Truth],
                 progress: ProgressCallback, cancel: CancelToken) -> tuple[float | None, int]:
    pixel_ids = [i for i in images if truth[i].verdict == "good" or truth[i].mask_blob]
    if not any(truth[i].verdict == "defect" for i in pixel_ids):
        return None, 0
    with project.session(readonly=True) as s:
        rows = {r.image_id: r for r in s.execute(
            select(InferenceResult.image_id, InferenceResult.map_blob, InferenceResult.map_info).where(
                InferenceResult.model_revision_id == revision_id, InferenceResult.image_id.in_(pixel_ids)))}
        sizes = {r.id: (r.height, r.width) for r in s.execute(
            select(Image.id, Image.height, Image.width).where(Image.id.in_(pixel_ids)))}
    maps, masks = [], []
    for n, image_id in enumerate(pixel_ids):
        cancel.check()
        row = rows.get(image_id)
        if row is None or row.map_blob is None:
            continue
        info = row.map_info or {}
        amap = project.blobs.get_array(row.map_blob).astype(np.float32)
        if info.get("encoding", "").startswith("uint8"):
            amap = amap / 255.0
        mask = project.blobs.get_array(truth[image_id].mask_blob) if truth[image_id].mask_blob else None
        size = tuple(info.get("image_size") or (mask.shape if mask is not None else sizes[image_id]))
        emap, emask = eval_pair(amap, mask, (int(size[0]), int(size[1])), PIXEL_EVAL_SIDE)
        maps.append(emap)
        masks.append(emask)
        if n % 20 == 0:
            progress(0.2 + 0.8 * n / len(pixel_ids), "pixel figures")
    return _nan_to_none(pixel_auroc(maps, masks)) if maps else None, len(maps)


def revision_figures(project, revision_id: int, k: float = 0.0, image_ids: Iterable[int] | None = None,
                     with_pixels: bool = True, exclude: Iterable[int] | None = None,
                     progress: ProgressCallback = no_progress,
                     cancel: CancelToken = NEVER_CANCELLED, view: str | None = None) -> RevisionFigures:
    """Image AUROC, pixel AUROC (where masks exist), regions per good image and flag rates at `k`.

    `image_ids` limits the evaluation (e.g. to one batch), and `view` to the images of one view (a per-view
    revision's sub-model); the revision's training images and `exclude` are always left out of the figures
    (they still get a decision).
    """
    if view is not None:
        image_ids = view_image_ids(project, view, image_ids)
    progress(0.0, "reading results")
    found = outcomes(project, revision_id, image_ids)
    left_out = set(training_image_ids(project, revision_id)) | set(exclude or ())
    evaluated = sorted(i for i, o in found.items() if o.truth is not None and i not in left_out)
    good = [found[i] for i in evaluated if found[i].truth == "good"]
    bad = [found[i] for i in evaluated if found[i].truth == "defect"]
    auroc = image_auroc([found[i].score for i in evaluated], [found[i].truth == "defect" for i in evaluated]) \
        if evaluated else float("nan")
    pix, n_pix = None, 0
    if with_pixels and bad:
        with project.session(readonly=True) as s:
            truth = ground_truth(s, evaluated)
        pix, n_pix = _pixel_auroc(project, revision_id, evaluated, truth, progress, cancel)
    progress(1.0, "figures ready")
    return RevisionFigures(
        revision_id=revision_id, k=k, n_scored=len(found), n_evaluated=len(evaluated), n_good=len(good),
        n_defect=len(bad), n_training_excluded=sum(1 for i in found if i in left_out),
        image_auroc=_nan_to_none(auroc), pixel_auroc=pix, n_pixel_images=n_pix,
        regions_per_good_image=float(np.mean([o.n_regions(k) for o in good])) if good else None,
        good_flagged=float(np.mean([o.decision(k) for o in good])) if good else None,
        defect_flagged=float(np.mean([o.decision(k) for o in bad])) if bad else None,
        decisions={i: o.decision(k) for i, o in found.items()},
    )


# ---------------------------------------------------------------------------------------------- comparison
@dataclass(frozen=True)
class ChangedDecision:
    image_id: int
    title: str  # batch / item / view
    truth: str | None
    flagged_a: bool
    flagged_b: bool
    score_a: float
    score_b: float

    @property
    def better_in_b(self) -> bool | None:
        """True when B's decision matches the ground truth and A's did not; None when unlabelled."""
        if self.truth is None:
            return None
        return self.flagged_b == (self.truth == "defect")


@dataclass
class Comparison:
    a: RevisionFigures
    b: RevisionFigures
    n_common: int  # images scored by both
    changed: list[ChangedDecision]


def image_titles(project, image_ids: Iterable[int]) -> dict[int, str]:
    ids = list(image_ids)
    with project.session(readonly=True) as s:
        rows = s.execute(select(Image.id, Batch.name, Item.name, Image.view).join(Item, Image.item_id == Item.id)
                         .join(Batch, Item.batch_id == Batch.id).where(Image.id.in_(ids))).all()
    return {iid: f"{batch} / {item}" + (f" · {view}" if view else "") for iid, batch, item, view in rows}


def _part(progress: ProgressCallback, lo: float, hi: float) -> ProgressCallback:
    return lambda fraction, message: progress(lo + (hi - lo) * fraction, message)


def paired_outcomes(project, a: int, b: int, image_ids: Iterable[int] | None = None):
    """Both revisions' outcomes, the images scored by both (sorted), and the training images of either."""
    found_a = outcomes(project, a, image_ids)
    found_b = outcomes(project, b, image_ids)
    common = sorted(set(found_a) & set(found_b))
    left_out = set(training_image_ids(project, a)) | set(training_image_ids(project, b))
    return found_a, found_b, common, left_out


def compare_revisions(project, a: int, b: int, k: float = 0.0, image_ids: Iterable[int] | None = None,
                      with_pixels: bool = True, progress: ProgressCallback = no_progress,
                      cancel: CancelToken = NEVER_CANCELLED, paired: tuple | None = None) -> Comparison:
    """Both revisions' figures on the same images (scored by both, training images of either left out)
    and the images whose decision (a region at k) differs. `paired`: `paired_outcomes` already read."""
    found_a, found_b, common, left_out = paired or paired_outcomes(project, a, b, image_ids)
    fig_a = revision_figures(project, a, k, common, with_pixels, left_out, _part(progress, 0.0, 0.45), cancel)
    fig_b = revision_figures(project, b, k, common, with_pixels, left_out, _part(progress, 0.45, 0.9), cancel)
    flipped = [i for i in common if found_a[i].decision(k) != found_b[i].decision(k)]
    titles = image_titles(project, flipped)
    changed = [ChangedDecision(i, titles.get(i, str(i)), found_a[i].truth, found_a[i].decision(k),
                               found_b[i].decision(k), found_a[i].score, found_b[i].score) for i in flipped]
    progress(1.0, "comparison ready")
    return Comparison(fig_a, fig_b, len(common), changed)


# ---------------------------------------------------------------------------------------------- training-free
def create_training_free_revision(project, variant: str = "patch_pca", activate: bool = False) -> int:
    """A model revision of the training-free a contrario detector (thesis ch. 3): nothing to train."""
    from core.models.classic.config import ClassicConfig  # the package __init__ loads torch

    config = ClassicConfig(variant=variant).to_dict()
    with project.session() as s:
        rev = ModelRevision(kind="classic", config=config, backbone=None, duration_s=0.0,
                            name=f"training-free a contrario ({variant})")
        s.add(rev)
        s.flush()
        activate_if_none_chosen(s, rev.id, force=activate)
        return rev.id
