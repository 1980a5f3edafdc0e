"""Item 6: text a spreadsheet would run as a formula is quoted in CSV exports; numbers stay numbers."""

from __future__ import annotations

import csv

from hostile_project import cli, write_images


def test_formula_cells_are_neutralised(scored_project, tmp_path):
    folder = tmp_path / "in"
    src = write_images(folder, n=1, seed=21)[0]
    src.rename(folder / "=HYPERLINK(evil)+1.png")
    assert cli("import", ".", str(folder), "--batch", "@SUM(A1)", cwd=scored_project).returncode == 0
    assert cli("export", ".", "--format", "csv", "--out", str(tmp_path / "csv"), cwd=scored_project).returncode == 0
    with open(tmp_path / "csv" / "images.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    row = next(r for r in rows if "SUM" in r["batch"])
    assert row["item"] == "'=HYPERLINK(evil)+1" and row["batch"] == "'@SUM(A1)"
    cells = [v for r in rows for v in r.values()]
    assert not any(v.startswith(("=", "+", "@", "\t", "\r")) for v in cells)
    scored = [r for r in rows if r["score"]]
    assert len(scored) == 4 and all(isinstance(float(r["score"]), float) and int(r["width"]) == 64 for r in scored)


def test_csv_cell_keeps_numbers_and_plain_text():
    from core.io.exports import csv_cell

    assert csv_cell(-3.5) == -3.5 and csv_cell(0) == 0 and csv_cell(None) == ""
    assert csv_cell("-3.5") == "'-3.5" and csv_cell("tile 4") == "tile 4" and csv_cell("\t=1") == "'\t=1"
