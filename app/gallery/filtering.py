"""Which images the gallery lists, and in what order (Qt-free)."""

from __future__ import annotations

from app.store_access import ImageRow
from core.io.mvtec import GROUND_TRUTH
from core.labels.editing import ADJUDICATED

REFERENCE_ANNOTATORS = (ADJUDICATED, GROUND_TRUTH)
ANY = "any"  # label source: mine, else adjudicated, else ground truth, else what the other annotators agree on
MINE = "mine"

FILTERS = {
    "all": "All images",
    "unreviewed": "Not reviewed by me",
    "unlabelled": "No label",
    "good": "Labelled good",
    "defect": "Labelled defect",
    "unsure": "Labelled unsure",
    "detected": "Detected by the model",
    "disagreement": "Annotators disagree",
    "failed": "Unreadable files",
}
SORTS = {
    "import": "Import order",
    "score_desc": "Score, highest first",
    "score_asc": "Score, lowest first",
}


def shown_label(row: ImageRow, source: str = ANY) -> tuple[str | None, str | None]:
    """(verdict, who gave it) of an image as the gallery shows it; who is "me" for the user's own verdict.

    `source` is ANY, MINE or an annotator name. ANY takes the user's own verdict, else the adjudicated one,
    else the imported ground truth, else the verdict the other annotators agree on (none when they differ)."""
    if source == MINE:
        return (row.my_verdict, "me") if row.my_verdict else (None, None)
    if source != ANY:
        verdict = row.other_verdicts.get(source)
        return (verdict, source) if verdict else (None, None)
    if row.my_verdict:
        return row.my_verdict, "me"
    for who in REFERENCE_ANNOTATORS:
        if row.other_verdicts.get(who):
            return row.other_verdicts[who], who
    others = {v for v in row.other_verdicts.values() if v}
    if len(others) == 1:
        return others.pop(), ", ".join(sorted(row.other_verdicts))
    return None, None


def label_sources(rows: list[ImageRow]) -> list[str]:
    """The annotators other than the user who labelled some image, reference annotators first."""
    names = {who for r in rows for who, v in r.other_verdicts.items() if v}
    return [n for n in REFERENCE_ANNOTATORS if n in names] + sorted(names - set(REFERENCE_ANNOTATORS))


def matches(row: ImageRow, mode: str, k: float, source: str = ANY) -> bool:
    if mode == "all":
        return True
    if mode == "unreviewed":
        return row.my_verdict is None
    if mode == "unlabelled":
        return shown_label(row, source)[0] is None
    if mode in ("good", "defect", "unsure"):
        return shown_label(row, source)[0] == mode
    if mode == "detected":
        return row.detected(k)
    if mode == "disagreement":
        return row.disagreement()
    if mode == "failed":
        return row.failed
    raise ValueError(f"unknown filter {mode!r}")


def select_rows(rows: list[ImageRow], mode: str = "all", sort: str = "import", batch_id: int | None = None,
                k: float = 2.0, source: str = ANY) -> list[int]:
    """Indices into `rows` that pass the batch and filter, in the chosen order (unscored images last)."""
    idx = [i for i, r in enumerate(rows)
           if (batch_id is None or r.batch_id == batch_id) and matches(r, mode, k, source)]
    if sort == "score_desc":
        idx.sort(key=lambda i: (rows[i].score is None, -(rows[i].score or 0.0), i))
    elif sort == "score_asc":
        idx.sort(key=lambda i: (rows[i].score is None, rows[i].score or 0.0, i))
    elif sort != "import":
        raise ValueError(f"unknown sort {sort!r}")
    return idx
