"""The review workbench: gallery on the left, the item's views on the canvas, keyboard-first verdicts."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from app import store_access
from app.canvas.canvas import ImageCanvas, ViewData
from app.gallery.gallery_panel import GalleryPanel
from app.gallery.thumbs import ThumbnailLoader
from app.job_monitor import JobMonitor
from app.jobs_bar import JobsBar
from app.labels.annotators_view import AnnotatorsView
from app.labels.integration import LabelIntegration
from app.labels.live_labels import LiveLabels
from app.layout import fitted_size
from app.project_files import ProjectFiles
from app.project_lifecycle import ProjectLifecycle
from app.resources import resource_path
from app.review.actions import ActionRegistry
from app.review.controls import ReviewControls
from app.review.help_overlay import HelpOverlay
from app.review.item_header import ItemHeader
from app.review.item_views import ItemViews
from app.review.menus import bind_actions, build_menus
from app.review.navigation import Navigation
from app.review.regions import Regions
from app.review.verdict_entry import VerdictEntry
from app.store_access import ImageRow
from app.training.integration import TrainingIntegration
from app.workers import TaskRunner
from core.domain.review_session import ReviewSession


class MainWindow(QtWidgets.QMainWindow):
    viewShown = QtCore.Signal(int)  # image id whose item is now fully on the canvas

    def __init__(self, annotator: str | None = None, settings: QtCore.QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QtCore.QSettings()
        self.verdict_entry = VerdictEntry(self, annotator)  # who reviews, their verdicts saved and undone
        self.project = None
        self.model_revision_id: int | None = None
        self.rows: list[ImageRow] = []
        self.item_images: dict[int, list[int]] = {}
        self.session = ReviewSession()  # the images listed, the one on screen, my verdicts and their undo

        self.runner = TaskRunner(max_threads=2, parent=self)
        self.job_monitor = JobMonitor(self)  # the jobs table, read off the GUI thread, for every job display
        self.thumb_pool = QtCore.QThreadPool(self)
        self.thumb_pool.setMaxThreadCount(1)
        self.loader: ThumbnailLoader | None = None

        self.setWindowTitle("Contrario")
        self.resize(fitted_size(QtCore.QSize(1440, 900), self.screen()))
        self.registry = ActionRegistry(self, self.settings)
        self._build_ui()
        self.views = ItemViews(self.canvas, self.runner, self)
        self.views.displayed.connect(self._on_item_displayed)
        self.navigation = Navigation(self)  # next/previous, gallery clicks, the view clicked on the canvas
        self.regions = Regions(self)  # stepping through the regions at k; their count in header and status bar
        self.files = ProjectFiles(self)  # Project menu: new, open, recent, import
        self.lifecycle = ProjectLifecycle(self)  # open, read again, close; the view kept per project; quitting
        build_menus(self)
        bind_actions(self)
        self.training = TrainingIntegration(self)  # Model menu: Train model, revisions dock; job runner
        self.labels = LabelIntegration(self)  # label mode, Findings dock, Adjudicate, Export
        self.live_labels = LiveLabels(self)  # other annotators' new revisions of the item on screen
        self.annotators_view = AnnotatorsView(self)  # Labels → Annotators: who labelled what and when
        self.training.jobFinished.connect(self._on_job_finished)
        self.help = HelpOverlay(self.registry, self)
        QtWidgets.QApplication.instance().installEventFilter(self)
        self.update_enabled()

    @property
    def current_image_id(self) -> int | None:
        return self.session.current

    @current_image_id.setter
    def current_image_id(self, image_id: int | None) -> None:
        self.session.current = image_id

    # ================================================================ layout
    def _build_ui(self) -> None:
        self.gallery_panel = GalleryPanel(self)  # batch, filter, labels and sort drop-downs; thumbnails; count
        gp = self.gallery_panel
        self.batch_box, self.filter_box, self.label_box, self.sort_box = gp.batch_box, gp.filter_box, gp.label_box, gp.sort_box
        self.gallery, self.count_label = gp.gallery, gp.count_label

        right = QtWidgets.QWidget()
        rv = QtWidgets.QVBoxLayout(right)
        rv.setContentsMargins(0, 6, 6, 6)
        rv.setSpacing(4)
        self.item_header = ItemHeader(self)  # title, verdict badge and region summary above the canvas
        self.title_label, self.verdict_label = self.item_header.title_label, self.item_header.verdict_label
        self.region_label = self.item_header.region_label
        rv.addLayout(self.item_header.layout)
        self.canvas = ImageCanvas()
        rv.addWidget(self.canvas, 1)
        self.controls = ReviewControls(self.canvas, self.registry)
        self.controls.kChanged.connect(self._on_k_changed)
        self.controls.verdictClicked.connect(self.set_verdict)
        rv.addWidget(self.controls)

        self.splitter = QtWidgets.QSplitter()
        self.splitter.addWidget(gp.widget)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([330, 1110])
        self.left_panel, self.right_panel = gp.widget, right
        self.setCentralWidget(self.splitter)

        sb = self.statusBar()
        self.status_label = QtWidgets.QLabel("")
        self.progress_label = QtWidgets.QLabel("")
        self.annotator_label = QtWidgets.QLabel("")
        self.regions_status = QtWidgets.QLabel("")
        self.jobs_bar = JobsBar(self.job_monitor)
        sb.addWidget(self.status_label, 1)
        sb.addPermanentWidget(self.regions_status)
        sb.addPermanentWidget(self.jobs_bar)
        sb.addPermanentWidget(self.progress_label)
        sb.addPermanentWidget(self.annotator_label)

        self.canvas.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)  # the drop-downs hand focus back to it

    # ================================================================ project
    def open_project(self, folder: str | Path) -> bool:
        """Open a project folder; shows a message box and returns False when it is not usable."""
        return self.lifecycle.open_project(folder)

    def set_project(self, project) -> None:
        self.lifecycle.set_project(project)

    def focus_canvas(self) -> None:
        self.canvas.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def reload(self) -> None:
        """Re-read rows, batches and the active model from the store; keeps the current image if possible."""
        self.lifecycle.reload()

    def refresh_label_sources(self, keep: str | None = None) -> None:
        """The Labels drop-down: Any, Mine and every annotator of the rows (the choice is kept, or `keep`)."""
        self.gallery_panel.refresh_label_sources(keep)

    def offers_label_source(self, annotator: str) -> bool:
        """Whether the Labels drop-down lists `annotator`."""
        return self.gallery_panel.offers_label_source(annotator)

    # ================================================================ gallery
    def apply_filter(self) -> None:
        self.gallery_panel.apply_filter()

    def set_filter(self, key: str) -> None:
        self.gallery_panel.set_filter(key)

    def set_batch(self, batch_id: int | None) -> None:
        """Show one batch in the gallery, or all of them (None)."""
        self.gallery_panel.set_batch(batch_id)

    def set_sort(self, key: str) -> None:
        self.gallery_panel.set_sort(key)

    def toggle_gallery_mode(self) -> None:
        """Gallery layout: the grid fills the window; review layout: grid on the side, canvas large."""
        self.set_gallery_mode(self.right_panel.isVisible())

    def set_gallery_mode(self, on: bool) -> None:
        self.right_panel.setVisible(not on)

    # ================================================================ navigation
    def step(self, delta: int) -> None:
        self.navigation.step(delta)

    def show_position(self, pos: int) -> None:
        self.navigation.show_position(pos)

    def show_image(self, image_id: int) -> None:
        self.navigation.show_image(image_id)

    def view_data(self, image_id: int) -> ViewData | None:
        """The decoded view of `image_id`, if it is loaded (the item on screen always is)."""
        return self.views.get(image_id)

    def _on_item_displayed(self, image_id: int) -> None:
        self.regions.update_summary()
        self.viewShown.emit(image_id)

    # ================================================================ verdicts
    @property
    def annotator(self) -> str | None:
        return self.verdict_entry.annotator

    def ensure_annotator(self) -> bool:
        return self.verdict_entry.ensure_annotator()

    def set_annotator(self, name: str) -> None:
        self.verdict_entry.set_annotator(name)

    def set_verdict(self, verdict: str | None, advance: bool = True) -> None:
        self.verdict_entry.set_verdict(verdict, advance)

    def undo(self) -> None:
        self.verdict_entry.undo()

    def show_my_verdict(self, image_id: int, verdict: str | None, header: bool = True) -> None:
        self.verdict_entry.show_my_verdict(image_id, verdict, header)

    # ================================================================ canvas controls
    @property
    def k(self) -> float:
        return self.controls.k

    def set_k(self, k: float) -> None:
        """Set the threshold to exactly k (the slider shows the nearest position)."""
        self.controls.set_k(k)

    def _on_k_changed(self, k: float) -> None:
        if self.project is not None:
            self.model.k = k
            self.gallery.viewport().update()
            self.refresh_header()

    def step_region(self, delta: int) -> None:
        """Zoom to the next (or previous) region of the active view visible at k, strongest first."""
        self.regions.step(delta)

    def update_score_histogram(self) -> None:
        """The good and defect score distributions beside the slider, by the label source the gallery shows."""
        self.gallery_panel.update_score_histogram()

    def refresh_header(self) -> None:
        """The header of the image on screen (its verdict, label, score and regions) read again from its row."""
        self.item_header.refresh()

    def refresh_counts(self) -> None:
        total = len(self.rows)
        done = sum(1 for r in self.rows if r.my_verdict)
        self.progress_label.setText(f"Reviewed {done} / {total}")
        self.gallery_panel.refresh_count()
        self.annotator_label.setText(f"Annotator: {self.annotator or '—'}")

    def update_enabled(self) -> None:
        """Actions that need a project, or an active model, are enabled when there is one."""
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

    def show_status(self, text: str) -> None:
        """One line in the status bar, replacing the one before."""
        self.status_label.setText(text)

    def menu(self, title: str) -> QtWidgets.QMenu | None:
        """The menu bar's menu called `title` (without its & mnemonic), for features that add entries to it."""
        for action in self.menuBar().actions():
            if action.menu() is not None and action.text().replace("&", "") == title:
                return action.menu()
        return None

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
            busy = self.views.busy or (self.loader is not None and self.loader._pending)
            if not busy and self.runner.pool.activeThreadCount() == 0 and self.thumb_pool.activeThreadCount() == 0:
                QtCore.QCoreApplication.processEvents()
                if not self.views.busy and not (self.loader and self.loader._pending):
                    return True
            QtCore.QThread.msleep(5)
        return False

    def ask_quit(self, title: str, text: str) -> bool:  # replaced in tests
        buttons = QtWidgets.QMessageBox.StandardButton
        return QtWidgets.QMessageBox.question(self, title, text, buttons.Yes | buttons.No, buttons.No) == buttons.Yes

    def request_quit(self) -> None:
        """Project → Quit (Ctrl+Q): asks first when jobs are running or mask edits are unsaved."""
        self.lifecycle.request_quit()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self.lifecycle.may_close(event):
            event.ignore()
            return
        QtWidgets.QApplication.instance().removeEventFilter(self)
        self.lifecycle.close_project()
        super().closeEvent(event)
