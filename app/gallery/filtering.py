"""Which images the gallery lists, and in what order (Qt-free)."""

from __future__ import annotations

from app.store_access import ImageRow

FILTERS = {
    "all": "All images",
    "unreviewed": "Unreviewed",
    "good": "Good",
    "defect": "Defect",
    "unsure": "Unsure",
    "detected": "Detected by the model",
    "disagreement": "Annotators disagree",
    "failed": "Unreadable files",
}
SORTS = {
    "import": "Import order",
    "score_desc": "Score, highest first",
    "score_asc": "Score, lowest first",
}


def matches(row: ImageRow, mode: str, k: float) -> bool:
    if mode == "all":
        return True
    if mode == "unreviewed":
        return row.my_verdict is None
    if mode in ("good", "defect", "unsure"):
        return row.my_verdict == mode
    if mode == "detected":
        return row.detected(k)
    if mode == "disagreement":
        return row.disagreement()
    if mode == "failed":
        return row.failed
    raise ValueError(f"unknown filter {mode!r}")


def select_rows(rows: list[ImageRow], mode: str = "all", sort: str = "import", batch_id: int | None = None,
                k: float = 2.0) -> list[int]:
    """Indices into `rows` that pass the batch and filter, in the chosen order (unscored images last)."""
    idx = [i for i, r in enumerate(rows) if (batch_id is None or r.batch_id == batch_id) and matches(r, mode, k)]
    if sort == "score_desc":
        idx.sort(key=lambda i: (rows[i].score is None, -(rows[i].score or 0.0), i))
    elif sort == "score_asc":
        idx.sort(key=lambda i: (rows[i].score is None, rows[i].score or 0.0, i))
    elif sort != "import":
        raise ValueError(f"unknown sort {sort!r}")
    return idx
