"""`contrario findings` and `contrario export`: once as a real process, then through core.cli.main."""

import json
import subprocess
import sys

from labels_helpers import box_mask

from core.cli import main
from core.labels.editing import save_mask


def test_findings_and_export_commands(lab, tmp_path, capsys):
    p = lab.project
    t1 = lab.image_id("tile1", "cam1")
    save_mask(p, t1, "ana", box_mask(2, 2, 10, 10))
    save_mask(p, t1, "ben", box_mask(0, 0, 0, 0))
    root = str(p.root)
    done = subprocess.run([sys.executable, "-m", "core.cli", "findings", root, "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert [f["kind"] for f in doc["findings"]] == ["verdict_disagreement"]
    assert doc["findings"][0]["image_ids"] == [t1] and doc["agreement"][0]["method"] == "cohen"

    assert main(["findings", root]) == 0
    text = capsys.readouterr().out
    assert "verdict_disagreement" in text and "cohen kappa 0.000" in text
    out = tmp_path / "csv"
    assert main(["export", root, "--format", "csv", "--out", str(out), "--annotator", "ana"]) == 0
    assert "exported 8 images" in capsys.readouterr().out and (out / "images.csv").is_file()
    assert main(["export", root, "--format", "csv", "--out", str(out), "--batch", "nope"]) == 1
    assert "no batch named 'nope'" in capsys.readouterr().err
