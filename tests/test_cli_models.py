"""`contrario models`: list revisions with figures and lineage, promote one from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from PIL import Image as PILImage

from core.cli import main
from core.io.importer import import_paths
from core.labels.revisions import add_annotation
from core.store.project import Project
from core.store.schema import InferenceResult, ModelRevision, Region


def _project(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        PILImage.fromarray(rng.integers(0, 255, (24, 32), dtype=np.uint8)).save(folder / f"{i}.png")
    project = Project.create(tmp_path / "proj")
    import_paths(project, [folder], "lot", workers=1)
    with project.session() as s:
        parent = ModelRevision(kind="uflow", name="first", config={},
                               calibration={"regions": {"calibration": {"n_images": 76}, "scale_calibrations": [{}, {}]}})
        s.add(parent)
        s.flush()
        child = ModelRevision(kind="uflow", name="fine-tuned",
                              config={"config": {"image_flips": 3, "exposure_gain": True,
                                                 "scale_context": False}},
                              figures={"training": {"exposure_reference": [96.5], "scale_context_chosen": True,
                                                    "layout_check": {"samples": 16, "tiles": False, "kept": 7}}},
                              parent_id=parent.id, calibration={"regions": {"calibration": {"n_images": 16}, "notes": [
                                  "one curve for every scale: a scale has only 24 held-out region scores"]}})
        s.add(child)
        s.flush()
        for image_id, verdict in zip((1, 2, 3, 4), ("good", "good", "defect", "defect")):
            add_annotation(s, image_id, "alice", verdict=verdict)
            for rev, score in ((parent.id, image_id / 10), (child.id, 1 - image_id / 10)):
                res = InferenceResult(image_id=image_id, model_revision_id=rev, score=score)
                s.add(res)
                s.flush()
                if verdict == "defect":
                    s.add(Region(result_id=res.id, label=1, log10_nfa=-3.0, area=4, x0=0, y0=0, x1=2, y1=2, scale=0))
        ids = parent.id, child.id
    project.close()
    return tmp_path / "proj", ids


def test_models_lists_figures_lineage_and_the_active_one_and_promotes(tmp_path, capsys):
    root, (first, second) = _project(tmp_path)
    assert main(["models", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    by_id = {r["id"]: r for r in report["revisions"]}
    assert report["active_model_revision_id"] == second  # nothing promoted yet: the newest
    assert by_id[second]["lineage"] == [second, first] and by_id[second]["active"]
    assert (by_id[first]["image_flips"], by_id[second]["image_flips"]) == (0, 3)
    assert (by_id[first]["exposure_reference"], by_id[second]["exposure_reference"]) == (None, [96.5])
    assert (by_id[first]["scale_context"], by_id[second]["scale_context"]) == (True, False)
    assert (by_id[first]["scale_context_chosen"], by_id[second]["scale_context_chosen"]) == (False, True)
    assert (by_id[first]["layout_sample"], by_id[second]["layout_sample"]) == (None, "images")  # flips set by hand
    assert by_id[first]["region_calibration"] == ("false alarms measured on 76 held-out normal images, one curve per "
                                                  "latent scale")
    assert by_id[second]["region_calibration"].endswith("one curve for every latent scale; a scale has only 24 "
                                                        "held-out region scores")
    assert by_id[first]["figures"]["image_auroc"] == 1.0 and by_id[second]["figures"]["image_auroc"] == 0.0
    assert by_id[first]["figures"]["defect_flagged"] == 1.0 and by_id[first]["figures"]["n_evaluated"] == 4

    done = subprocess.run([sys.executable, "-m", "core", "models", str(root), "--promote", str(first)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"model revision {first} is active" in done.stderr
    active_line = next(line for line in done.stdout.splitlines() if line.startswith("*"))
    assert active_line.split()[1] == str(first) and "first" in active_line
    assert main(["findings", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model_revision_id"] == first

    bad = subprocess.run([sys.executable, "-m", "core", "models", str(root), "--promote", "99"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "no model revision 99" in bad.stderr
