"""The review workbench: gallery on the left, the item's views on the canvas, keyboard-first verdicts."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from app import store_access
from app.canvas.canvas import ImageCanvas, ViewData
from app.canvas.score_histogram import ScoreHistogramView
from app.canvas.threshold_scale import ThresholdScale, label_text
from app.canvas.threshold_slider import ThresholdSlider
from app.gallery.filtering import ANY, FILTERS, MINE, SORTS, label_sources, shown_label
from app.gallery.gallery import VERDICT_COLORS, GalleryDelegate, GalleryModel, GalleryView
from app.gallery.thumbs import ThumbnailLoader
from app.jobs_bar import JobsBar
from app.resources import resource_path
from app.review.actions import ActionRegistry
from app.review.help_overlay import HelpOverlay
from app.review.shortcuts_dialog import ShortcutsDialog
from app.store_access import ImageRow
from app.labels.integration import LabelIntegration
from app.labels.label_io import load_reference_outline
from app.labels.annotators_view import AnnotatorsView
from app.labels.live_labels import LiveLabels
from app.layout import fitted_size
from app.training.integration import TrainingIntegration
from app.workers import TaskRunner
from core.errors import ContrarioError
from core.io.thumbnails import ThumbnailCache, default_cache_dir

RECENT_KEY = "recentProjects"
MAX_RECENT = 8
DEFAULT_K = 2.0
VIEW_SETTINGS_KEY = "workbench_view"  # project setting: threshold, filter, sort, label source
KEY_STEP = 25  # slider positions per [ or ] press (of 1000, log scale)
VIEW_CACHE = 24  # decoded views kept in memory (current item, neighbours, a little history)


def load_view(project, row: ImageRow, model_revision_id: int | None) -> ViewData:
    """Worker-thread side of showing one view: decode, fetch the result, trace outlines."""
    if row.failed:
        return ViewData(row.image_id, row.title, None, error=row.error or "import failed")
    try:
        pixels = store_access.decode_for_display(row.path, row.sha256, row.file_size)
    except ContrarioError as exc:
        return ViewData(row.image_id, row.title, None, error=str(exc))
    h, w = pixels.shape[:2]
    overlay = store_access.load_overlay(project, row.image_id, model_revision_id, (h, w))
    truth = load_reference_outline(project, row.image_id)
    return ViewData(row.image_id, row.title, pixels, overlay=overlay, truth=truth)


class MainWindow(QtWidgets.QMainWindow):
    viewShown = QtCore.Signal(int)  # image id whose item is now fully on the canvas

    def __init__(self, annotator: str | None = None, settings: QtCore.QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QtCore.QSettings()
        # The name given last time is used again: asked once, not every session (verdicts show under it).
        self.annotator = annotator or (str(self.settings.value("annotator", "") or "").strip() or None)
        self.project = None
        self.model_revision_id: int | None = None
        self.rows: list[ImageRow] = []
        self.item_images: dict[int, list[int]] = {}
        self.current_image_id: int | None = None
        self.undo_stack: list[tuple[int, str | None]] = []
        self._views: OrderedDict[int, ViewData] = OrderedDict()
        self._loading: set[int] = set()
        self._shown_item: tuple[int, ...] | None = None

        self.runner = TaskRunner(max_threads=2, parent=self)
        self.thumb_pool = QtCore.QThreadPool(self)
        self.thumb_pool.setMaxThreadCount(1)
        self.loader: ThumbnailLoader | None = None

        self.setWindowTitle("Contrario")
        self.resize(fitted_size(QtCore.QSize(1440, 900), self.screen()))
        self.registry = ActionRegistry(self, self.settings)
        self._build_ui()
        self._build_menus()
        self._bind_actions()
        self.training = TrainingIntegration(self)  # Model menu: Train model, revisions dock; job runner
        self.labels = LabelIntegration(self)  # label mode, Findings dock, Adjudicate, Export
        self.live_labels = LiveLabels(self)  # other annotators' new revisions of the item on screen
        self.annotators_view = AnnotatorsView(self)  # Labels → Annotators: who labelled what and when
        self.training.jobFinished.connect(self._on_job_finished)
        self.help = HelpOverlay(self.registry, self)
        QtWidgets.QApplication.instance().installEventFilter(self)
        self._update_enabled()

    # ================================================================ layout
    def _build_ui(self) -> None:
        left = QtWidgets.QWidget()
        lv = QtWidgets.QVBoxLayout(left)
        lv.setContentsMargins(6, 6, 0, 6)
        lv.setSpacing(4)
        self.batch_box = QtWidgets.QComboBox()
        self.filter_box = QtWidgets.QComboBox()
        for key, text in FILTERS.items():
            self.filter_box.addItem(text, key)
        self.sort_box = QtWidgets.QComboBox()
        for key, text in SORTS.items():
            self.sort_box.addItem(text, key)
        self.label_box = QtWidgets.QComboBox()
        self.label_box.setToolTip("Whose labels the gallery shows and filters on")
        form = QtWidgets.QFormLayout()
        form.setContentsMargins(0, 0, 6, 0)
        form.addRow("Batch", self.batch_box)
        form.addRow("Show", self.filter_box)
        form.addRow("Labels", self.label_box)
        form.addRow("Sort", self.sort_box)
        lv.addLayout(form)
        self.gallery = GalleryView()
        self.gallery.setMinimumWidth(self.gallery.gridSize().width() + 24)  # one column when a dock needs room
        lv.addWidget(self.gallery, 1)
        self.count_label = QtWidgets.QLabel("")
        self.count_label.setStyleSheet("color: #9aa0a8;")
        lv.addWidget(self.count_label)

        right = QtWidgets.QWidget()
        rv = QtWidgets.QVBoxLayout(right)
        rv.setContentsMargins(0, 6, 6, 6)
        rv.setSpacing(4)
        header = QtWidgets.QHBoxLayout()
        self.title_label = QtWidgets.QLabel("No project open")
        self.title_label.setObjectName("itemTitle")
        self.verdict_label = QtWidgets.QLabel("")
        self.verdict_label.setObjectName("verdictBadge")
        self.region_label = QtWidgets.QLabel("")
        self.region_label.setStyleSheet("color: #9aa0a8;")
        header.addWidget(self.title_label)
        header.addWidget(self.verdict_label)
        header.addStretch(1)
        header.addWidget(self.region_label)
        rv.addLayout(header)
        self.canvas = ImageCanvas()
        rv.addWidget(self.canvas, 1)
        rv.addWidget(self._build_controls())

        self.splitter = QtWidgets.QSplitter()
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([330, 1110])
        self.left_panel, self.right_panel = left, right
        self.setCentralWidget(self.splitter)

        sb = self.statusBar()
        self.status_label = QtWidgets.QLabel("")
        self.progress_label = QtWidgets.QLabel("")
        self.annotator_label = QtWidgets.QLabel("")
        self.regions_status = QtWidgets.QLabel("")
        self.jobs_bar = JobsBar()
        sb.addWidget(self.status_label, 1)
        sb.addPermanentWidget(self.regions_status)
        sb.addPermanentWidget(self.jobs_bar)
        sb.addPermanentWidget(self.progress_label)
        sb.addPermanentWidget(self.annotator_label)

        self.filter_box.currentIndexChanged.connect(self.apply_filter)
        self.sort_box.currentIndexChanged.connect(self.apply_filter)
        self.batch_box.currentIndexChanged.connect(self.apply_filter)
        self.label_box.currentIndexChanged.connect(self.apply_filter)
        # During review the canvas owns the keys: the drop-downs take focus only when clicked and give it
        # back once a choice is made, so Space, Enter and the letter keys never reach them by accident.
        self.canvas.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        for box in (self.batch_box, self.filter_box, self.label_box, self.sort_box):
            box.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)
            # Long batch or annotator names elide in the box instead of widening the window.
            box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(12)
            box.activated.connect(lambda _i: self.focus_canvas())
        self.canvas.regionHovered.connect(self._on_region_hovered)
        self.canvas.activeViewChanged.connect(self._on_active_view_clicked)

    def _build_controls(self) -> QtWidgets.QWidget:
        """Two rows (threshold; overlay and verdicts) so the window fits a 1280-pixel-wide screen."""
        bar = QtWidgets.QWidget()
        rows = QtWidgets.QVBoxLayout(bar)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(2)
        top = QtWidgets.QHBoxLayout()
        top.setSpacing(8)
        h = QtWidgets.QHBoxLayout()
        h.setSpacing(8)
        rows.addLayout(top)
        rows.addLayout(h)
        self.threshold_scale = ThresholdScale()
        self._k = DEFAULT_K
        self._exact_k: float | None = None
        self.threshold_slider = ThresholdSlider()
        self.threshold_slider.set_scale(self.threshold_scale)
        self.threshold_slider.setValue(self.threshold_scale.to_position(DEFAULT_K))
        self.threshold_slider.setMinimumWidth(160)
        self.threshold_label = QtWidgets.QLabel()
        self._fit_threshold_label()
        self.score_histogram = ScoreHistogramView()
        self.opacity_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(55)
        self.opacity_slider.setFixedWidth(110)
        self.overlay_check = QtWidgets.QCheckBox("Anomaly map")
        self.overlay_check.setChecked(True)
        self.outline_check = QtWidgets.QCheckBox("Regions")
        self.outline_check.setChecked(True)
        self.truth_check = QtWidgets.QCheckBox("Label masks")
        self.truth_check.setChecked(True)
        self.truth_check.setToolTip("Dashed outline of the reference mask (adjudicated, else imported ground truth)")
        top.addWidget(QtWidgets.QLabel("Threshold"))
        top.addWidget(self.threshold_slider, 2)
        top.addWidget(self.threshold_label)
        top.addWidget(self.score_histogram, 1)
        h.addWidget(self.overlay_check)
        h.addWidget(QtWidgets.QLabel("Opacity"))
        h.addWidget(self.opacity_slider)
        h.addWidget(self.outline_check)
        h.addWidget(self.truth_check)
        h.addStretch(1)
        self.verdict_buttons = {}
        for verdict in ("good", "defect", "unsure"):
            action_id = f"verdict_{verdict}"
            button = QtWidgets.QPushButton(verdict.capitalize())
            button.setObjectName(action_id)
            keys = self.registry.keys(action_id)
            button.setToolTip(f"{self.registry.specs[action_id].text} ({', '.join(keys)})")
            button.clicked.connect(lambda _=False, v=verdict: self.set_verdict(v))
            button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            self.verdict_buttons[verdict] = button
            h.addWidget(button)
        self.threshold_slider.valueChanged.connect(self._on_threshold)
        self.opacity_slider.valueChanged.connect(lambda v: self.canvas.set_opacity(v / 100.0))
        self.overlay_check.toggled.connect(self.canvas.set_overlays_visible)
        self.outline_check.toggled.connect(self.canvas.set_outlines_visible)
        self.truth_check.toggled.connect(self.canvas.set_truth_visible)
        for w in (self.threshold_slider, self.opacity_slider, self.overlay_check, self.outline_check, self.truth_check):
            w.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self._on_threshold(self.threshold_slider.value())
        self.canvas.set_opacity(self.opacity_slider.value() / 100.0)
        return bar

    def _build_menus(self) -> None:
        a = self.registry.action
        mb = self.menuBar()
        m = mb.addMenu("&Project")
        m.addAction(a("new_project"))
        m.addAction(a("open_project"))
        self.recent_menu = m.addMenu("Open &recent")
        m.addSeparator()
        m.addAction(a("import_folder"))
        m.addSeparator()
        m.addAction(a("quit"))
        m = mb.addMenu("&Review")
        for i in ("verdict_good", "verdict_defect", "verdict_unsure", None, "next_image", "previous_image",
                  "next_view", None, "undo_verdict"):
            m.addSeparator() if i is None else m.addAction(a(i))
        m = mb.addMenu("&View")
        for i in ("toggle_overlay", "toggle_outlines", "threshold_up", "threshold_down", "opacity_up",
                  "opacity_down", None, "fit_view", "next_region", "previous_region", "toggle_gallery"):
            m.addSeparator() if i is None else m.addAction(a(i))
        m = mb.addMenu("&Model")
        m.addAction(a("score_batch"))
        m = mb.addMenu("&Help")
        m.addAction(a("help"))
        m.addAction(a("edit_shortcuts"))
        m.addSeparator()
        self.docs_action = m.addAction("Documentation (README)")
        self.docs_action.triggered.connect(self.open_documentation)
        self.about_action = m.addAction("About Contrario")
        self.about_action.triggered.connect(self.show_about)
        self._refresh_recent_menu()

    def _bind_actions(self) -> None:
        r = self.registry
        r.bind("verdict_good", lambda: self.set_verdict("good"))
        r.bind("verdict_defect", lambda: self.set_verdict("defect"))
        r.bind("verdict_unsure", lambda: self.set_verdict("unsure"))
        r.bind("next_image", lambda: self.step(1))
        r.bind("previous_image", lambda: self.step(-1))
        r.bind("undo_verdict", self.undo)
        r.bind("next_view", lambda: self.canvas.set_active_index(self.canvas.active_index + 1))
        r.bind("toggle_overlay", self.overlay_check.toggle)
        r.bind("toggle_outlines", self.outline_check.toggle)
        r.bind("threshold_up", lambda: self.threshold_slider.setValue(self.threshold_slider.value() + KEY_STEP))
        r.bind("threshold_down", lambda: self.threshold_slider.setValue(self.threshold_slider.value() - KEY_STEP))
        r.bind("opacity_up", lambda: self.opacity_slider.setValue(self.opacity_slider.value() + 10))
        r.bind("opacity_down", lambda: self.opacity_slider.setValue(self.opacity_slider.value() - 10))
        r.bind("fit_view", self.canvas.fit)
        r.bind("next_region", lambda: self.step_region(1))
        r.bind("previous_region", lambda: self.step_region(-1))
        r.bind("toggle_gallery", self.toggle_gallery_mode)
        r.bind("help", lambda: self.help.toggle())
        r.bind("edit_shortcuts", lambda: ShortcutsDialog(self.registry, self).exec())
        r.bind("new_project", self._ask_new_project)
        r.bind("open_project", self._ask_open_project)
        r.bind("import_folder", self._ask_import_folder)
        r.bind("score_batch", self.score_batch)
        r.bind("quit", self.request_quit)
        self.gallery.clicked.connect(self._on_gallery_clicked)

    # ================================================================ project
    def open_project(self, folder: str | Path) -> bool:
        """Open a project folder; shows a message box and returns False when it is not usable."""
        from core.store.project import Project

        if not self.labels.confirm_leave("opening another project"):
            return False
        try:
            project = Project.open(folder)
        except ContrarioError as exc:
            self.show_error("Cannot open project", str(exc))
            return False
        self.set_project(project)
        return True

    def set_project(self, project) -> None:
        self._close_project()
        self.project = project
        self.loader = ThumbnailLoader(ThumbnailCache(default_cache_dir(project.root)), self.thumb_pool, parent=self)
        self.model = GalleryModel(self.loader, self)
        self.gallery.setModel(self.model)
        self.gallery.setItemDelegate(GalleryDelegate(self.loader, self.gallery))
        self.gallery.selectionModel().currentChanged.connect(lambda cur, _prev: self.show_position(cur.row()))
        self.setWindowTitle(f"Contrario — {project.name}")
        self._remember_recent(str(project.root))
        self.jobs_bar.set_project(project)
        self.training.set_project(project)
        self.labels.set_project(project)
        self._restore_view_settings()
        self.reload()
        self.focus_canvas()

    def _restore_view_settings(self) -> None:
        """Threshold, filter, sort and label source as they were when this project was last closed."""
        saved = self.project.get_setting(VIEW_SETTINGS_KEY) or {}
        if not isinstance(saved, dict):
            return
        for box, key in ((self.filter_box, "filter"), (self.sort_box, "sort")):
            index = box.findData(saved.get(key))
            if index >= 0:
                box.blockSignals(True)
                box.setCurrentIndex(index)
                box.blockSignals(False)
        if isinstance(saved.get("k"), (int, float)):
            self._k = float(saved["k"])
        self._saved_label_source = saved.get("labels")

    def _save_view_settings(self) -> None:
        try:
            self.project.set_setting(VIEW_SETTINGS_KEY, {
                "k": self.k, "filter": self.filter_box.currentData(), "sort": self.sort_box.currentData(),
                "labels": self.label_box.currentData()})
        except ContrarioError:
            pass  # a read-only or vanished project: the view is simply not remembered

    def focus_canvas(self) -> None:
        self.canvas.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def reload(self) -> None:
        """Re-read rows, batches and the active model from the store; keeps the current image if possible."""
        if self.project is None:
            return
        self.model_revision_id = store_access.active_model_revision_id(self.project)
        self.rows = store_access.load_rows(self.project, self.annotator, self.model_revision_id)
        self._set_threshold_scale()
        self.item_images = {}
        for r in self.rows:
            self.item_images.setdefault(r.item_id, []).append(r.image_id)
        self.batch_box.blockSignals(True)
        self.batch_box.clear()
        self.batch_box.addItem(f"All batches ({len(self.rows)})", None)
        for bid, name, n in store_access.batches(self.project):
            self.batch_box.addItem(f"{name} ({n})", bid)
        self.batch_box.blockSignals(False)
        self._fill_label_box()
        self._views.clear()
        self._shown_item = None  # scores or labels may have changed: the item on screen is loaded again
        self.model.set_rows(self.rows)
        self.apply_filter()
        self._update_enabled()

    def _fill_label_box(self) -> None:
        keep = getattr(self, "_saved_label_source", None) or self.label_box.currentData() or ANY
        self._saved_label_source = None
        self.label_box.blockSignals(True)
        self.label_box.clear()
        self.label_box.addItem("Any", ANY)
        self.label_box.setItemData(0, "Mine, else adjudicated, else imported ground truth, else what the other "
                                      "annotators agree on", QtCore.Qt.ItemDataRole.ToolTipRole)
        self.label_box.addItem(f"Mine ({self.annotator or 'no name yet'})", MINE)
        for who in label_sources(self.rows):
            self.label_box.addItem(who, who)
        self.label_box.setCurrentIndex(max(0, self.label_box.findData(keep)))
        self.label_box.blockSignals(False)

    def _close_project(self) -> None:
        self.training.set_project(None)
        self.labels.set_project(None)
        if self.loader is not None:
            self.loader.close()
        self.runner.cancel_all()
        self.runner.wait()
        self.thumb_pool.waitForDone(10000)
        if self.project is not None:
            self._save_view_settings()
            self.jobs_bar.set_project(None)
            self.project.close()
        self.project = None
        self._views.clear()
        self.undo_stack.clear()
        self.current_image_id = None
        self._shown_item = None

    # ================================================================ gallery
    def apply_filter(self) -> None:
        if self.project is None:
            return
        keep = self.current_image_id
        self.model.apply(self.filter_box.currentData(), self.sort_box.currentData(), self.batch_box.currentData(), self.k,
                         self.label_box.currentData() or ANY)
        self._update_counts()
        self.update_score_histogram()
        pos = self.model.position_of(keep) if keep is not None else None
        if pos is None and self.model.rowCount():
            pos = 0
        if pos is not None:
            self.show_position(pos)
        else:
            self.current_image_id = None
            self.canvas.clear_views()
            self._shown_item = None
            self.title_label.setText("No image matches this filter")
            self.verdict_label.setText("")
            self.score_histogram.set_current(None)

    def set_filter(self, key: str) -> None:
        self.filter_box.setCurrentIndex(self.filter_box.findData(key))

    def set_sort(self, key: str) -> None:
        self.sort_box.setCurrentIndex(self.sort_box.findData(key))

    def toggle_gallery_mode(self) -> None:
        """Gallery layout: the grid fills the window; review layout: grid on the side, canvas large."""
        self.set_gallery_mode(self.right_panel.isVisible())

    def set_gallery_mode(self, on: bool) -> None:
        self.right_panel.setVisible(not on)

    # ================================================================ navigation
    def step(self, delta: int) -> None:
        if self.project is None or not self.model.rowCount():
            return
        pos = self.model.position_of(self.current_image_id) if self.current_image_id is not None else None
        pos = 0 if pos is None else max(0, min(self.model.rowCount() - 1, pos + delta))
        self.show_position(pos)

    def _on_gallery_clicked(self, idx: QtCore.QModelIndex) -> None:
        if self.gallery.selectionModel().currentIndex().row() == idx.row():  # else the move was cancelled
            self.show_position(idx.row())
        self.focus_canvas()

    def show_position(self, pos: int) -> None:
        if not (0 <= pos < self.model.rowCount()):
            return
        row = self.model.row_at(pos)
        if not self.labels.confirm_leave("moving to another image", keep=row.image_id):
            self._select_current()  # the user stays on the image with unsaved mask edits
            return
        idx = self.model.index(pos)
        sel = self.gallery.selectionModel()
        if sel.currentIndex().row() != pos:
            sel.blockSignals(True)
            sel.setCurrentIndex(idx, QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect)
            sel.blockSignals(False)
            self.gallery.viewport().update()
        self.gallery.scrollTo(idx)
        self.show_image(row.image_id)

    def _select_current(self) -> None:
        """Put the gallery's selection back on the image on screen (after a move was cancelled)."""
        pos = self.model.position_of(self.current_image_id) if self.current_image_id is not None else None
        sel = self.gallery.selectionModel()
        sel.blockSignals(True)
        if pos is None:
            sel.clearSelection()
        else:
            sel.setCurrentIndex(self.model.index(pos), QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect)
        sel.blockSignals(False)
        self.gallery.viewport().update()

    def show_image(self, image_id: int) -> None:
        row = self.model.row_by_image(image_id)
        if row is None:
            return
        self.labels.before_show(image_id)  # saves the mask being edited on the previous image
        self.current_image_id = image_id
        self._update_header(row)
        ids = tuple(self.item_images.get(row.item_id, [image_id]))
        if self._shown_item == ids:
            self.canvas.active_index = ids.index(image_id)
            self.canvas._mark_active()
            self.viewShown.emit(image_id)
        else:
            self._request_item(ids, display=True)
        self._prefetch_neighbours()

    def _request_item(self, ids: tuple[int, ...], display: bool) -> None:
        missing = [i for i in ids if i not in self._views]
        if not missing and display:
            self._display(ids)
            return
        for i in missing:
            if i in self._loading:
                continue
            self._loading.add(i)
            row = self.model.row_by_image(i)
            self.runner.start(load_view, self.project, row, self.model_revision_id,
                              on_done=self._on_view_loaded, on_error=lambda msg, i=i: self._on_view_failed(i, msg))

    def _on_view_loaded(self, data: ViewData) -> None:
        self._loading.discard(data.image_id)
        self._store_view(data)
        self._maybe_display()

    def _on_view_failed(self, image_id: int, message: str) -> None:
        self._loading.discard(image_id)
        row = self.model.row_by_image(image_id)
        self._store_view(ViewData(image_id, row.title if row else str(image_id), None, error=message))
        self._maybe_display()

    def _store_view(self, data: ViewData) -> None:
        self._views[data.image_id] = data
        self._views.move_to_end(data.image_id)
        while len(self._views) > VIEW_CACHE:
            self._views.popitem(last=False)

    def _maybe_display(self) -> None:
        if self.current_image_id is None:
            return
        row = self.model.row_by_image(self.current_image_id)
        ids = tuple(self.item_images.get(row.item_id, [row.image_id]))
        if self._shown_item != ids and all(i in self._views for i in ids):
            self._display(ids)

    def _display(self, ids: tuple[int, ...]) -> None:
        views = [self._views[i] for i in ids]
        for i in ids:
            self._views.move_to_end(i)
        self.canvas.set_views(views, active_image_id=self.current_image_id)
        self._shown_item = ids
        self._update_region_summary()
        self.viewShown.emit(self.current_image_id)

    def _prefetch_neighbours(self) -> None:
        pos = self.model.position_of(self.current_image_id)
        if pos is None:
            return
        for p in (pos + 1, pos - 1, pos + 2):
            if 0 <= p < self.model.rowCount():
                row = self.model.row_at(p)
                self._request_item(tuple(self.item_images.get(row.item_id, [row.image_id])), display=False)

    def _on_active_view_clicked(self, image_id: int) -> None:
        pos = self.model.position_of(image_id)
        if pos is not None:
            self.show_position(pos)
        else:
            self.current_image_id = image_id
            row = self.model.row_by_image(image_id)
            if row:
                self._update_header(row)

    # ================================================================ verdicts
    def ensure_annotator(self) -> bool:
        if self.annotator:
            return True
        default = str(self.settings.value("annotator", "") or "")
        name, ok = QtWidgets.QInputDialog.getText(self, "Annotator", "Your name (saved with every verdict):",
                                                  text=default)
        name = name.strip()
        if not ok or not name:
            return False
        self.set_annotator(name)
        return True

    def set_annotator(self, name: str) -> None:
        self.annotator = name
        self.settings.setValue("annotator", name)
        self.annotator_label.setText(f"Annotator: {name}")
        if self.project is not None:
            self.reload()

    def set_verdict(self, verdict: str | None, advance: bool = True) -> None:
        """Save the verdict of the active view at once (one transaction), then move on."""
        if self.project is None or self.current_image_id is None or not self.ensure_annotator():
            return
        image_id = self.current_image_id
        row = self.model.row_by_image(image_id)
        try:
            store_access.save_verdict(self.project, image_id, self.annotator, verdict)
        except ContrarioError as exc:
            self.show_error("Verdict not saved", str(exc))
            return
        self.undo_stack.append((image_id, row.my_verdict))
        row.my_verdict = verdict
        self.model.refresh_image(image_id)
        self._update_header(row)
        self._update_counts()
        self.update_score_histogram()
        self.status_label.setText(f"{row.title}: {verdict or 'verdict cleared'}")
        if advance:
            self.step(1)

    def undo(self) -> None:
        if not self.undo_stack or self.project is None:
            return
        image_id, previous = self.undo_stack.pop()
        store_access.save_verdict(self.project, image_id, self.annotator, previous)
        row = self.model.row_by_image(image_id)
        row.my_verdict = previous
        self.model.refresh_image(image_id)
        self._update_counts()
        self.update_score_histogram()
        pos = self.model.position_of(image_id)
        if pos is not None:
            self.show_position(pos)
        self.status_label.setText(f"Undone: {row.title} is {previous or 'unreviewed'} again")

    # ================================================================ canvas controls
    @property
    def k(self) -> float:
        return self._k

    def set_k(self, k: float) -> None:
        """Set the threshold to exactly k (the slider shows the nearest position)."""
        k = min(max(float(k), 0.0), self.threshold_scale.k_max)
        position = self.threshold_scale.to_position(k)
        self._exact_k = k
        if self.threshold_slider.value() == position:
            self._on_threshold(position)
        else:
            self.threshold_slider.setValue(position)

    def _fit_threshold_label(self) -> None:
        """Wide enough for the longest text of the current scale: never cut, never jumping."""
        longest = label_text(self.threshold_scale.k_max + 0.5)
        self.threshold_label.setMinimumWidth(self.threshold_label.fontMetrics().horizontalAdvance(longest) + 8)

    def _set_threshold_scale(self) -> None:
        self.threshold_scale = ThresholdScale(-r.best_log10_nfa for r in self.rows if r.best_log10_nfa is not None)
        self.threshold_slider.set_scale(self.threshold_scale)
        self._fit_threshold_label()
        k = min(self._k, self.threshold_scale.k_max)
        self.threshold_slider.blockSignals(True)
        self.threshold_slider.setValue(self.threshold_scale.to_position(k))
        self.threshold_slider.blockSignals(False)
        self._k = k
        self.threshold_label.setText(label_text(k))
        self.canvas.set_threshold(k)

    def _on_threshold(self, value: int) -> None:
        exact, self._exact_k = self._exact_k, None
        k = exact if exact is not None else self.threshold_scale.to_k(value)
        self._k = k
        self.threshold_label.setText(label_text(k))
        self.canvas.set_threshold(k)
        if self.project is not None:
            self.model.k = k
            self.gallery.viewport().update()
            if self.current_image_id is not None:
                self._update_header(self.model.row_by_image(self.current_image_id))

    def step_region(self, delta: int) -> None:
        """Zoom to the next (or previous) region of the active view visible at k, strongest first."""
        panels = self.canvas.panels
        data = panels[self.canvas.active_index].data if panels else None
        regions = sorted(data.overlay.visible_regions(self.k), key=lambda r: r.log10_nfa) \
            if data is not None and data.overlay is not None else []
        if not regions:
            self.status_label.setText(f"No region at k = {self.k:g} on this view")
            return
        key = (data.image_id, self.k)
        index = self._region_index + delta if getattr(self, "_region_key", None) == key else (0 if delta > 0 else -1)
        self._region_key, self._region_index = key, index % len(regions)
        region = regions[self._region_index]
        self.canvas.zoom_to(region.bbox)
        self.status_label.setText(f"Region {self._region_index + 1} of {len(regions)}: −log10 NFA "
                                  f"{region.strength:.1f}, area {region.area} px (F fits the image again)")

    def _on_region_hovered(self, region) -> None:
        if region is None:
            self._update_region_summary()
        else:
            self.region_label.setText(f"Region: −log10 NFA = {region.strength:.2f}, area {region.area} px")

    def _update_region_summary(self) -> None:
        """Header and status line: score and how many regions the image on screen has at the current k."""
        row = self.model.row_by_image(self.current_image_id) if self.current_image_id is not None else None
        if row is None or row.score is None:
            self.region_label.setText("not scored" if row else "")
            self.regions_status.setText("")
            return
        data = self._views.get(row.image_id)
        if data is None or self._shown_item is None or row.image_id not in self._shown_item:
            self.region_label.setText(f"score {row.score:.3f}  ·  loading regions")
            return
        n = len(data.overlay.visible_regions(self.k)) if data.overlay else 0
        total = len(data.overlay.regions) if data.overlay else 0
        text = f"{n} region{'s' if n != 1 else ''} at k = {self.k:g}"
        others = sum(len(self._views[i].overlay.visible_regions(self.k)) for i in self._shown_item
                     if i != row.image_id and i in self._views and self._views[i].overlay)
        self.region_label.setText(f"score {row.score:.3f}  ·  {text}" + (f" (+{others} on other views)" if others else ""))
        self.regions_status.setText(f"{row.title}: {text}, {total} in all")

    def update_score_histogram(self) -> None:
        """The distributions beside the slider: scores of the images labelled good and defect, by the label
        source the gallery shows (called when rows are read again, e.g. after scoring, and when labels change)."""
        source = self.label_box.currentData() or ANY
        by_label: dict[str, list[float]] = {"good": [], "defect": []}
        for r in self.rows:
            if r.score is not None:
                verdict, _who = shown_label(r, source)
                if verdict in by_label:
                    by_label[verdict].append(r.score)
        self.score_histogram.set_scores(by_label["good"], by_label["defect"])

    def _update_header(self, row: ImageRow | None) -> None:
        if row is None:
            return
        self.score_histogram.set_current(row.score)
        self.title_label.setText(f"{row.batch_name}  /  {row.title}")
        v, who = shown_label(row, self.model.label_source)
        self.verdict_label.setText((v if who == "me" else f"{v} ({who})") if v else "unreviewed")
        color = VERDICT_COLORS.get(v or "", "#4a4f57")
        style = f"background: {color}; color: white;" if who == "me" or not v else f"border: 1px solid {color}; color: {color};"
        self.verdict_label.setStyleSheet(style)
        self._update_region_summary()

    def _update_counts(self) -> None:
        total = len(self.rows)
        done = sum(1 for r in self.rows if r.my_verdict)
        self.progress_label.setText(f"Reviewed {done} / {total}")
        self.count_label.setText(f"{self.model.rowCount()} of {total} images shown")
        self.annotator_label.setText(f"Annotator: {self.annotator or '—'}")

    def _update_enabled(self) -> None:
        score = self.registry.action("score_batch")
        has_project = self.project is not None
        if not has_project:
            score.setEnabled(False)
            score.setToolTip("Open a project first")
        elif self.model_revision_id is None:
            score.setEnabled(False)
            score.setToolTip("No model revision yet: train a model before scoring a batch")
        else:
            score.setEnabled(True)
            score.setToolTip(f"Queue scoring of the selected batch with model revision {self.model_revision_id}")
        for action_id in ("import_folder",):
            self.registry.action(action_id).setEnabled(has_project)

    # ================================================================ jobs
    def score_batch(self) -> int | None:
        """Queue an inference job for the selected batch (or the current image's batch)."""
        if self.project is None or self.model_revision_id is None:
            return None
        batch_id = self.batch_box.currentData()
        if batch_id is None and self.current_image_id is not None:
            batch_id = self.model.row_by_image(self.current_image_id).batch_id
        if batch_id is None:
            return None
        job_id = store_access.queue_score_job(self.project, batch_id, self.model_revision_id)
        self.status_label.setText(f"Scoring queued (job #{job_id})")
        self.jobs_bar.poll()
        return job_id

    def _on_job_finished(self, job_id: int, kind: str, status: str) -> None:
        """Replaces "Scoring queued (job #N)" and the like once the job has ended."""
        what = {"infer": "Scoring", "train": "Training"}.get(kind, kind.capitalize())
        self.status_label.setText(f"{what} job #{job_id} {status}")

    # ================================================================ help
    def documentation_path(self) -> Path | None:
        """The README that ships with the application (the repository's, or the bundle's)."""
        path = resource_path().parent / "README.md"
        return path if path.is_file() else None

    def open_documentation(self) -> bool:
        path = self.documentation_path()
        if path is None:
            self.status_label.setText("The documentation (README.md) is not installed with this copy")
            return False
        return QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(path)))

    def about_text(self) -> str:
        from core import __version__

        return (f"<b>Contrario {__version__}</b><br>Visual inspection with U-Flow anomaly maps and a contrario "
                "defect regions: a region is reported when its NFA is below 10^-k, about one false alarm per "
                "10^k defect-free images.<br><br>Press F1 for the keyboard shortcuts.")

    def show_about(self) -> None:
        QtWidgets.QMessageBox.about(self, "About Contrario", self.about_text())

    # ================================================================ dialogs
    def show_error(self, title: str, message: str) -> None:
        QtWidgets.QMessageBox.critical(self, title, message)

    def _ask_open_project(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Open project")
        if folder:
            self.open_project(folder)

    def _ask_new_project(self) -> None:
        from core.store.project import Project

        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "New project folder")
        if not folder or not self.labels.confirm_leave("opening another project"):
            return
        try:
            project = Project.create(folder)
        except ContrarioError as exc:
            self.show_error("Cannot create project", str(exc))
            return
        self.set_project(project)

    def _ask_import_folder(self) -> None:
        if self.project is None:
            return
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Import a folder of images")
        if folder:
            self.import_folder(folder)

    def import_folder(self, folder: str | Path, batch_name: str | None = None):
        """Import image files off the GUI thread; the gallery reloads when done."""
        from core.io.importer import import_paths

        folder = Path(folder)
        self.status_label.setText(f"Importing {folder} ...")
        def done(report) -> None:
            failed = len(getattr(report, "failed", []) or [])
            added = getattr(report, "added", 0)
            self.status_label.setText(f"Imported {added} images from {folder.name}"
                                      + (f", {failed} unreadable" if failed else ""))
            self.reload()

        return self.runner.start(
            import_paths, self.project, [folder], batch_name or folder.name, with_progress=True,
            on_done=done, on_error=lambda msg: self.show_error("Import failed", msg),
            on_progress=lambda f, msg: self.status_label.setText(f"Importing {folder.name}: {f:.0%} {msg}"),
        )

    def _remember_recent(self, folder: str) -> None:
        recent = [f for f in self.recent_projects() if f != folder]
        self.settings.setValue(RECENT_KEY, [folder] + recent[: MAX_RECENT - 1])
        self._refresh_recent_menu()

    def recent_projects(self) -> list[str]:
        value = self.settings.value(RECENT_KEY) or []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_projects()
        for folder in recent:
            act = self.recent_menu.addAction(folder)
            act.triggered.connect(lambda _=False, f=folder: self.open_project(f))
        self.recent_menu.setEnabled(bool(recent))

    # ================================================================ events
    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind in (QtCore.QEvent.Type.KeyPress, QtCore.QEvent.Type.KeyRelease) and self.isActiveWindow():
            if self.registry.matches_held("hold_hide_overlays", event):
                focus = QtWidgets.QApplication.focusWidget()
                if not isinstance(focus, (QtWidgets.QLineEdit, QtWidgets.QKeySequenceEdit, QtWidgets.QAbstractSpinBox)):
                    if not event.isAutoRepeat():
                        self.canvas.hold_hide(kind == QtCore.QEvent.Type.KeyPress)
                    return True  # auto-repeats too: a held Space must not reach a button or drop-down
            elif kind == QtCore.QEvent.Type.KeyPress and event.key() == QtCore.Qt.Key.Key_Escape and self.help.isVisible():
                self.help.hide()
                return True
        return False

    def wait_idle(self, timeout_ms: int = 20000) -> bool:
        """Process events until no view or thumbnail is being loaded (screenshots, tests)."""
        timer = QtCore.QElapsedTimer()
        timer.start()
        while timer.elapsed() < timeout_ms:
            QtCore.QCoreApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
            busy = self._loading or (self.loader is not None and self.loader._pending)
            if not busy and self.runner.pool.activeThreadCount() == 0 and self.thumb_pool.activeThreadCount() == 0:
                QtCore.QCoreApplication.processEvents()
                if not self._loading and not (self.loader and self.loader._pending):
                    return True
            QtCore.QThread.msleep(5)
        return False

    def confirm_quit(self) -> bool:
        """Asked when jobs are queued or running; they stop now and resume at the next open."""
        if self.project is None:
            return True
        try:
            jobs = store_access.active_jobs(self.project)
        except ContrarioError:
            return True
        if not jobs:
            return True
        names = ", ".join(f"#{j.job_id} {j.kind} ({j.status})" for j in jobs[:4])
        return self.ask_quit("Jobs are running",
                             f"{len(jobs)} job{'s are' if len(jobs) != 1 else ' is'} not finished: {names}.\n\n"
                             "Quit anyway? They stop now and resume when the project is opened again.")

    def ask_quit(self, title: str, text: str) -> bool:  # replaced in tests
        buttons = QtWidgets.QMessageBox.StandardButton
        return QtWidgets.QMessageBox.question(self, title, text, buttons.Yes | buttons.No, buttons.No) == buttons.Yes

    def confirm_close(self) -> bool:
        """Jobs still running, then unsaved mask edits (Save / Discard / Cancel): may the window close?"""
        return self.confirm_quit() and self.labels.confirm_leave("closing the window")

    def request_quit(self) -> None:
        """Project → Quit (Ctrl+Q)."""
        if self.confirm_close():
            self._quit_confirmed = True
            self.close()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        # The window's close button asks too; a close() from code (screenshots, tests) does not.
        if event.spontaneous() and not getattr(self, "_quit_confirmed", False) and not self.confirm_close():
            event.ignore()
            return
        QtWidgets.QApplication.instance().removeEventFilter(self)
        self._close_project()
        super().closeEvent(event)
