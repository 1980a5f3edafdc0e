"""Disagreement finder: where annotators, views of one item, or the model and the labels contradict.

Checks, each giving Findings with a reason and a severity in [0, 1] (the review queue sorts on it):
- annotators on one image: different verdicts; masks that overlap poorly (IoU below a threshold);
  one region given different defect classes;
- views of one multi-view item: some views labelled defect and others good, or defect views with
  different classes (one fruit seen by several cameras should not get contradictory labels);
- model vs label: labelled good but a region at k >= 2 (log10 NFA <= -2); labelled defect but no
  region at k = 0 (log10 NFA <= 0).
Per batch it also measures verdict agreement: Cohen's kappa for two annotators, Fleiss' kappa for more.
Each multi-view item scored by the model is summarised (core.domain.items): its score is the highest of its
views', and the model suggests defect when any view has a region at k_good.

An image whose current adjudicated revision cites every annotator's current revision is resolved: it
gives no annotator findings. The label of an image for the view and model checks is core.domain.labels'
rule (adjudicated, else strict majority, else none); the model is core.domain.active_model's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Iterable

import numpy as np
from sqlalchemy import select

from core.domain.active_model import active_model_in
from core.domain.enums import ImageStatus
from core.domain.items import ViewOutcome, item_label, item_outcome
from core.domain.labels import ADJUDICATED, LabelRecord, current_labels, label_of
from core.domain.results import scored_images
from core.labels.editing import image_shape, load_mask
from core.labels.mask_ops import vote_map
from core.metrics.agreement import cohen_kappa, dice, fleiss_kappa, iou, region_overlaps
from core.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress
from core.store.schema import (
    Batch,
    DefectClass,
    Image,
    Item,
)

# Severity of each kind of finding (some scale further with the evidence, see the checks).
SEVERITY = {
    "verdict_disagreement": 0.9,  # good vs defect; "unsure" against a verdict gives UNSURE_SEVERITY
    "mask_disagreement": 0.8,  # times (1 - IoU), floored at 0.3
    "class_disagreement": 0.55,
    "view_class_conflict": 0.5,
    "view_verdict_conflict": 0.35,
    "model_flags_good": 0.5,  # up to 0.9 for very significant regions
    "model_misses_defect": 0.45,
}
UNSURE_SEVERITY = 0.4


@dataclass
class Finding:
    kind: str
    severity: float
    reason: str
    batch: str
    item: str
    item_id: int
    image_ids: list[int]
    views: list[str]
    annotators: list[str] = field(default_factory=list)
    annotation_ids: list[int] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    @property
    def level(self) -> str:
        return "high" if self.severity >= 0.7 else "medium" if self.severity >= 0.4 else "low"

    @property
    def key(self) -> str:
        """Stable identity (kind + images) so a queue can remember what was dismissed."""
        return f"{self.kind}:{','.join(str(i) for i in sorted(self.image_ids))}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["severity"] = round(self.severity, 4)
        d["level"] = self.level
        d["key"] = self.key
        return d


@dataclass
class PairAgreement:
    a: str
    b: str
    images: int
    kappa: float
    observed: float


@dataclass
class BatchAgreement:
    batch: str
    annotators: list[str]
    images: int  # images with verdicts from at least two annotators
    method: str  # "cohen" | "fleiss" | "none"
    kappa: float | None
    observed: float | None  # share of those images where every annotator gave the same verdict
    pairs: list[PairAgreement] = field(default_factory=list)


@dataclass
class ImageAgreement:
    image_id: int
    batch: str
    item: str
    view: str
    annotators: list[str]
    verdicts: dict[str, str | None]
    iou: float | None = None  # mean pairwise IoU of the defect masks (None: fewer than two masks)
    dice: float | None = None
    regions: int = 0  # connected regions of the union of the masks
    regions_disputed: int = 0  # regions not marked by every mask, or given different classes
    resolved: bool = False


@dataclass
class ItemSummary:
    """A multi-view item under the model (core.domain.items): its score, the highest of its views, and the
    suggestion at k, defect when any view has a region at k."""

    batch: str
    item: str
    item_id: int
    views: list[str]  # the scored views
    label: str | None  # defect when a view is labelled defect, good when every view is labelled good
    score: float
    k: float
    suggestion: str
    flagged_views: list[str]


@dataclass
class FindingsReport:
    findings: list[Finding]
    agreement: list[BatchAgreement]
    images: list[ImageAgreement]
    model_revision_id: int | None
    items: list[ItemSummary] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "model_revision_id": self.model_revision_id,
            "findings": [f.to_dict() for f in self.findings],
            "agreement": [asdict(a) for a in self.agreement],
            "images": [asdict(i) for i in self.images],
            "items": [asdict(i) for i in self.items],
        }


@dataclass
class _ImageInfo:
    image_id: int
    item_id: int
    item: str
    batch: str
    view: str
    shape: tuple[int, int] | None
    labels: dict[str, LabelRecord] = field(default_factory=dict)  # annotator -> current revision
    best_log10_nfa: float | None = None
    scored: bool = False
    score: float | None = None
    region_nfas: tuple[float, ...] = ()

    def annotator_labels(self) -> dict[str, LabelRecord]:
        return {a: lab for a, lab in self.labels.items() if a != ADJUDICATED}

    def resolved(self) -> bool:
        adj = self.labels.get(ADJUDICATED)
        if adj is None:
            return False
        cited = set((adj.source_ref or {}).get("annotations", []))
        return all(lab.id in cited for lab in self.annotator_labels().values())

    def label(self) -> tuple[str | None, str | None]:
        """(verdict, class) of the image by the project's label rule."""
        lab = label_of(self.labels.values())
        return lab.verdict, lab.defect_class

    def label_basis(self) -> list[LabelRecord]:
        return list(label_of(self.labels.values()).basis)


def _load(project, batch: str | None, model_revision_id: int | None) -> tuple[dict[int, _ImageInfo], int | None]:
    with project.session(readonly=True) as s:
        stmt = (
            select(Image.id, Image.item_id, Item.name, Batch.name, Image.view, Image.height, Image.width)
            .join(Item, Image.item_id == Item.id)
            .join(Batch, Item.batch_id == Batch.id)
            .where(Image.status == ImageStatus.OK.value)
            .order_by(Batch.id, Item.id, Image.view, Image.id)
        )
        if batch is not None:
            stmt = stmt.where(Batch.name == batch)
        infos = {
            iid: _ImageInfo(iid, item_id, item, bname, view or "", (h, w) if h and w else None)
            for iid, item_id, item, bname, view, h, w in s.execute(stmt)
        }
        ids = list(infos) if batch is not None else None
        for lab in current_labels(s, image_ids=ids):
            info = infos.get(lab.image_id)
            if info is not None:
                info.labels[lab.annotator] = lab
        if model_revision_id is None:
            model_revision_id = active_model_in(s)
        if model_revision_id is not None:
            for found in scored_images(s, model_revision_id):
                info = infos.get(found.image_id)
                if info is not None:
                    info.scored = True
                    info.score = found.score
                    info.region_nfas = found.region_nfas
                    info.best_log10_nfa = found.region_nfas[0] if found.region_nfas else None
    return infos, model_revision_id


def _finding(kind: str, severity: float, reason: str, infos: list[_ImageInfo], labels: Iterable[LabelRecord] = (),
             **details) -> Finding:
    labels = list(labels)
    first = infos[0]
    return Finding(
        kind=kind, severity=float(min(1.0, max(0.0, severity))), reason=reason, batch=first.batch,
        item=first.item, item_id=first.item_id, image_ids=[i.image_id for i in infos],
        views=[i.view for i in infos], annotators=[lab.annotator for lab in labels],
        annotation_ids=[lab.id for lab in labels], details=details,
    )


def _where(info: _ImageInfo) -> str:
    return f"{info.item} ({info.view})" if info.view else info.item


def _verdict_check(info: _ImageInfo) -> Finding | None:
    labs = [lab for lab in info.annotator_labels().values() if lab.verdict]
    verdicts = {lab.verdict for lab in labs}
    if len(verdicts) < 2:
        return None
    said = "; ".join(f"{lab.annotator}: {lab.verdict}" for lab in labs)
    if {"good", "defect"} <= verdicts:
        counts = Counter(lab.verdict for lab in labs)
        n = len(labs)
        minority = 1.0 - max(counts.values()) / n
        severity = SEVERITY["verdict_disagreement"] * (0.5 + 0.5 * minority / (1.0 - 1.0 / n))
    else:
        severity = UNSURE_SEVERITY
    return _finding("verdict_disagreement", severity, f"{_where(info)}: annotators disagree on the verdict ({said})",
                    [info], labs, verdicts={lab.annotator: lab.verdict for lab in labs})


def _mask_checks(project, info: _ImageInfo, record: ImageAgreement, iou_threshold: float) -> list[Finding]:
    labs = [lab for lab in info.annotator_labels().values() if lab.verdict == "defect" and lab.mask_blob]
    if len(labs) < 2 or info.shape is None:
        return []
    masks = [load_mask(project, lab, info.shape) for lab in labs]
    pairs = list(combinations(range(len(masks)), 2))
    record.iou = float(np.mean([iou(masks[i], masks[j]) for i, j in pairs]))
    record.dice = float(np.mean([dice(masks[i], masks[j]) for i, j in pairs]))
    regions = region_overlaps(masks)
    record.regions = len(regions)
    lonely = [r for r in regions if len(r.covered_by) < len(masks)]
    clashing = [r for r in regions if len({c for c in r.classes if c}) > 1]
    record.regions_disputed = len({id(r) for r in lonely + clashing})
    out = []
    if record.iou < iou_threshold:
        names = " and ".join(lab.annotator for lab in labs)
        extra = f"; {len(lonely)} of {len(regions)} regions marked by only some" if lonely else ""
        out.append(_finding(
            "mask_disagreement", max(0.3, SEVERITY["mask_disagreement"] * (1.0 - record.iou)),
            f"{_where(info)}: the masks of {names} overlap poorly (IoU {record.iou:.2f}, Dice {record.dice:.2f}{extra})",
            [info], labs, iou=round(record.iou, 4), dice=round(record.dice, 4),
            regions=[{"bbox": list(r.bbox), "area": r.area, "iou": round(r.iou, 4),
                      "marked_by": [labs[k].annotator for k in r.covered_by]} for r in regions],
        ))
    if clashing:
        with project.session(readonly=True) as s:
            names = {c.id: c.name for c in s.scalars(select(DefectClass))}
        r = max(clashing, key=lambda r: r.area)
        said = "; ".join(f"{labs[k].annotator}: {names.get(c, c)}" for k, c in enumerate(r.classes) if c)
        out.append(_finding(
            "class_disagreement", SEVERITY["class_disagreement"],
            f"{_where(info)}: one region gets different defect classes ({said})", [info], labs,
            regions=[{"bbox": list(r.bbox), "classes": {labs[k].annotator: names.get(c, c) for k, c in enumerate(r.classes) if c}}
                     for r in clashing],
        ))
    return out



def _view_checks(views: list[_ImageInfo]) -> list[Finding]:
    labelled = [(v, *v.label()) for v in views]
    labelled = [(v, verdict, cls) for v, verdict, cls in labelled if verdict in ("good", "defect")]
    if len(labelled) < 2:
        return []
    out = []
    defect = [(v, c) for v, verdict, c in labelled if verdict == "defect"]
    good = [v for v, verdict, _ in labelled if verdict == "good"]
    item = views[0].item
    if defect and good:
        out.append(_finding(
            "view_verdict_conflict", SEVERITY["view_verdict_conflict"],
            f"item {item}: views {', '.join(v.view for v, _ in defect)} labelled defect but "
            f"{', '.join(v.view for v in good)} labelled good (item verdict: defect); is the defect visible there?",
            [v for v, _, _ in labelled], defect_views=[v.view for v, _ in defect], good_views=[v.view for v in good],
        ))
    classes = {c for _, c in defect if c}
    if len(classes) > 1:
        said = "; ".join(f"{v.view}: {c}" for v, c in defect if c)
        out.append(_finding(
            "view_class_conflict", SEVERITY["view_class_conflict"],
            f"item {item}: its views get different defect classes ({said})",
            [v for v, _ in defect], classes={v.view: c for v, c in defect if c},
        ))
    return out


def _model_check(info: _ImageInfo, k_good: float, k_defect: float) -> Finding | None:
    if not info.scored:
        return None
    verdict, _ = info.label()
    best = info.best_log10_nfa
    basis = info.label_basis()
    if verdict == "good" and best is not None and best <= -k_good:
        strength = -best
        severity = SEVERITY["model_flags_good"] + 0.4 * min(1.0, (strength - k_good) / 8.0)
        return _finding(
            "model_flags_good", severity,
            f"{_where(info)}: labelled good but the model finds a region with log10 NFA {best:.1f} (k = {strength:.1f})",
            [info], basis, log10_nfa=best,
        )
    if verdict == "defect" and (best is None or best > -k_defect):
        seen = "no region at all" if best is None else f"its best region has log10 NFA {best:.1f}"
        return _finding(
            "model_misses_defect", SEVERITY["model_misses_defect"],
            f"{_where(info)}: labelled defect but the model detects nothing at k = {k_defect:g} ({seen})",
            [info], basis, log10_nfa=best,
        )
    return None


def item_summary(views: list[_ImageInfo], k: float) -> ItemSummary | None:
    """The item's combined model outcome at k (None when none of its views is scored)."""
    outcome = item_outcome(ViewOutcome(v.view, v.score, v.region_nfas) for v in views if v.scored)
    if outcome is None:
        return None
    first = views[0]
    return ItemSummary(first.batch, first.item, first.item_id, [v.view for v in outcome.views],
                       item_label([v.label()[0] for v in views]), outcome.score, k, outcome.suggestion(k),
                       outcome.flagged_views(k))


def batch_agreement(batch: str, infos: list[_ImageInfo]) -> BatchAgreement:
    """Verdict agreement of one batch's annotators (adjudicated revisions left out)."""
    per_image = [{a: lab.verdict for a, lab in i.annotator_labels().items() if lab.verdict} for i in infos]
    per_image = [v for v in per_image if len(v) >= 2]
    annotators = sorted({a for v in per_image for a in v})
    if not per_image:
        return BatchAgreement(batch, annotators, 0, "none", None, None)
    pairs = []
    for a, b in combinations(annotators, 2):
        both = [v for v in per_image if a in v and b in v]
        if both:
            ra, rb = [v[a] for v in both], [v[b] for v in both]
            pairs.append(PairAgreement(a, b, len(both), cohen_kappa(ra, rb), sum(x == y for x, y in zip(ra, rb)) / len(both)))
    observed = sum(len(set(v.values())) == 1 for v in per_image) / len(per_image)
    if len(annotators) == 2:
        return BatchAgreement(batch, annotators, len(per_image), "cohen", pairs[0].kappa, observed, pairs)
    kappa = fleiss_kappa([list(v.values()) for v in per_image])
    return BatchAgreement(batch, annotators, len(per_image), "fleiss", kappa, observed, pairs)


def find_findings(
    project,
    batch: str | None = None,
    model_revision_id: int | None = None,
    k_good: float = 2.0,
    k_defect: float = 0.0,
    iou_threshold: float = 0.5,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> FindingsReport:
    """Run every check over the project (or one batch); findings sorted by severity, highest first."""
    infos, model_revision_id = _load(project, batch, model_revision_id)
    findings: list[Finding] = []
    records: list[ImageAgreement] = []
    by_item: dict[int, list[_ImageInfo]] = defaultdict(list)
    by_batch: dict[str, list[_ImageInfo]] = defaultdict(list)
    total = max(1, len(infos))
    for n, info in enumerate(infos.values()):
        if n % 50 == 0:
            cancel.check()
            progress(n / total, "checking labels")
        by_item[info.item_id].append(info)
        by_batch[info.batch].append(info)
        people = info.annotator_labels()
        if len(people) >= 2:
            record = ImageAgreement(
                info.image_id, info.batch, info.item, info.view, sorted(people),
                {a: lab.verdict for a, lab in sorted(people.items())}, resolved=info.resolved(),
            )
            if not record.resolved:
                verdict = _verdict_check(info)
                if verdict is not None:
                    findings.append(verdict)
                findings.extend(_mask_checks(project, info, record, iou_threshold))
            records.append(record)
        model = _model_check(info, k_good, k_defect)
        if model is not None:
            findings.append(model)
    items = []
    for views in by_item.values():
        if len(views) >= 2:
            findings.extend(_view_checks(views))
            summary = item_summary(views, k_good)
            if summary is not None:
                items.append(summary)
    agreement = [batch_agreement(name, group) for name, group in by_batch.items()]
    findings.sort(key=lambda f: (-f.severity, f.batch, f.item, f.image_ids, f.kind))
    progress(1.0, f"{len(findings)} findings")
    return FindingsReport(findings, agreement, records, model_revision_id, items)


@dataclass
class Comparison:
    """Everything the adjudication view shows for one image."""

    image_id: int
    shape: tuple[int, int]
    annotations: list[LabelRecord]
    masks: list[np.ndarray]
    votes: np.ndarray  # per pixel, how many of the masks mark it
    regions: list = field(default_factory=list)


def compare_annotations(project, image_id: int, include_adjudicated: bool = False) -> Comparison:
    """The current revision of each annotator on one image, their masks and the vote map."""
    with project.session(readonly=True) as s:
        shape = image_shape(s, image_id)
        anns = [a for a in current_labels(s, image_ids=[image_id])
                if include_adjudicated or a.annotator != ADJUDICATED]
    masks = [load_mask(project, a, shape) for a in anns]
    votes = vote_map(masks) if masks else np.zeros(shape, dtype=np.uint8)
    regions = region_overlaps(masks) if len(masks) >= 2 else []
    return Comparison(image_id, shape, anns, masks, votes, regions)
