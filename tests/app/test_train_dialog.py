"""The train dialog does not invite leakage: an MVTec import trains on its train batch only, a validation
share is kept out, the dialog names the images "use at most N" takes, and it remembers the choices."""

from __future__ import annotations

from test_imported_labels import _mvtec_folder

from app import store_access
from app.training.train_dialog import CHOICES_KEY, TrainDialog
from core.io.mvtec import import_mvtec
from core.store.project import Project


def _dialog(qtbot, project):
    d = TrainDialog(project, store_access.batches(project))
    qtbot.addWidget(d)
    return d


def test_mvtec_project_trains_on_its_train_batch_and_keeps_a_validation_share(qtbot, tmp_path):
    """It used to default to every verified-good image, test/good included, which then counted in figures."""
    project = Project.create(tmp_path / "p")
    import_mvtec(project, _mvtec_folder(tmp_path / "mv", n_train=10), "mv")
    try:
        rows = store_access.load_rows(project, None, None)
        train_batch = {r.image_id for r in rows if r.batch_name == "mv/train"}
        test_good = {r.image_id for r in rows if r.batch_name == "mv/test" and r.item_name.startswith("good/")}
        d = _dialog(qtbot, project)
        assert d.source == "batch" and d.batch_box.currentText().startswith("mv/train")
        chosen, validation = d.split()
        ids = {i for i, _ in chosen}
        assert ids <= train_batch and not ids & test_good
        assert len(validation) == 2 and not ids & set(validation) and len(ids) == 8
        d.shots.setValue(3)
        chosen, _ = d.split()
        assert [name for _, name in chosen] == sorted(name for _, name in chosen)
        assert "first by file name" in d.count_label.text() and chosen[0][1] in d.count_label.text()
        assert "2 kept for validation" in d.count_label.text()
        payload = d.payload()
        assert payload["image_ids"] == [i for i, _ in chosen] and payload["shots"] is None
        assert d.flips.currentData() == "auto" and "image_flips" not in payload["config"]  # the model's check
        assert d.even_exposure.isChecked() and "exposure_gain" not in payload["config"]  # the model's default: on
        assert d.scales.currentData() == "auto" and "scale_context" not in payload["config"]  # chosen in training
        d.flips.setCurrentIndex(d.flips.findData("off"))
        assert d.payload()["config"]["image_flips"] == 0
        d.flips.setCurrentIndex(d.flips.findData("on"))
        d.even_exposure.setChecked(False)
        d.scales.setCurrentIndex(d.scales.findData("independent"))
        assert d.payload()["config"]["image_flips"] == 3 and d.payload()["config"]["exposure_gain"] is False
        assert d.payload()["config"]["scale_context"] is False
        d.validation.setValue(30)
        d.save_choices()
        again = _dialog(qtbot, project)
        assert (again.shots.value(), again.validation.value(), again.source) == (3, 30, "batch")
        assert again.flips.currentData() == "on" and not again.even_exposure.isChecked()
        assert again.scales.currentData() == "independent"
        again.scales.setCurrentIndex(again.scales.findData("u-shape"))
        assert again.payload()["config"]["scale_context"] is True
        project.set_setting(CHOICES_KEY, {"independent_scales": True})  # a choice saved when it was a tick
        assert _dialog(qtbot, project).scales.currentData() == "independent"
    finally:
        project.close()


def test_fine_tuning_keeps_the_parents_exposure_and_scales(qtbot, tmp_path):
    from core.store.schema import ModelRevision

    project = Project.create(tmp_path / "p")
    import_mvtec(project, _mvtec_folder(tmp_path / "mv", n_train=4), "mv")
    try:
        with project.session() as s:
            for name, gain in (("evened", True), ("as stored", False)):
                s.add(ModelRevision(kind="uflow", name=name,
                                    config={"config": {"exposure_gain": gain, "scale_context": gain}},
                                    figures={"training": {"exposure_reference": [90.0] if gain else None}}))
        d = _dialog(qtbot, project)
        by_name = {d.start_box.itemText(i): i for i in range(d.start_box.count())}
        for name, checked in (("evened", True), ("as stored", False)):
            d.start_box.setCurrentIndex(next(i for text, i in by_name.items() if name in text))
            assert not d.even_exposure.isEnabled() and d.even_exposure.isChecked() is checked
            assert not d.scales.isEnabled()
            assert d.scales.currentData() == ("u-shape" if checked else "independent")
            assert "scale_context" not in d.payload()["config"]  # training takes the parent's
        d.start_box.setCurrentIndex(next(i for text, i in by_name.items() if d.start_box.itemData(i) is None))
        assert d.even_exposure.isEnabled() and d.scales.isEnabled()
        assert d.scales.currentData() == "auto"  # from scratch: the user's choice again, not the parent's layout
        d.scales.setCurrentIndex(d.scales.findData("independent"))
        d.start_box.setCurrentIndex(next(i for text, i in by_name.items() if "evened" in text))
        assert d.scales.currentData() == "u-shape"
        d.save_choices()  # while fine-tuning: the user's choice is saved, not the parent's layout
        d.start_box.setCurrentIndex(next(i for text, i in by_name.items() if d.start_box.itemData(i) is None))
        assert d.scales.currentData() == "independent"
        assert project.get_setting(CHOICES_KEY)["scales"] == "independent"
    finally:
        project.close()


def test_the_revision_details_name_the_copies_it_learned():
    from types import SimpleNamespace

    from app.training.revisions_panel import _copies_text
    from core.models.uflow.orientation import TRANSFORMS

    assert _copies_text(SimpleNamespace(orientations=TRANSFORMS, image_flips=7)) == \
        "every flip and turn of the square (7 copies)"
    assert _copies_text(SimpleNamespace(orientations=TRANSFORMS[:1], image_flips=1)) == "flip left-right"
    assert _copies_text(SimpleNamespace(orientations=(), image_flips=3)) == "flipped 3 ways"  # stored before


def test_the_revision_details_say_when_each_scale_has_its_own_flow_and_why():
    from types import SimpleNamespace

    from app.training.revisions_panel import _layout_text

    assert _layout_text(SimpleNamespace(scale_context=True, scale_context_chosen=True)) == ""  # the U shape
    assert _layout_text(SimpleNamespace(scale_context=False, scale_context_chosen=False)) == "one flow per scale"
    assert _layout_text(SimpleNamespace(scale_context=True, scale_context_chosen=True), "U shape") == "U shape"
    assert "every flip and turn of the images looked normal" in \
        _layout_text(SimpleNamespace(scale_context=False, scale_context_chosen=True, layout_sample=None))
    assert "every flip and turn of tile-sized windows of the images looked normal" in \
        _layout_text(SimpleNamespace(scale_context=False, scale_context_chosen=True, layout_sample="tiles"))
