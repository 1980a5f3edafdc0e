"""Ask what to export: format, batch and destination folder."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

FORMAT_TITLES = {
    "mvtec": "MVTec layout (images + ground-truth masks)",
    "coco": "COCO JSON (instance masks as RLE)",
    "csv": "CSV tables (images, labels, regions)",
    "report": "Agreement report (HTML)",
}


class ExportDialog(QtWidgets.QDialog):
    def __init__(self, project_root: Path, project_name: str, batches: list[str],
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export labels")
        self.project_root = Path(project_root)
        self.project_name = project_name
        self.format_box = QtWidgets.QComboBox()
        for key, title in FORMAT_TITLES.items():
            self.format_box.addItem(title, key)
        self.batch_box = QtWidgets.QComboBox()
        self.batch_box.addItem("All batches", None)
        for name in batches:
            self.batch_box.addItem(name, name)
        self.folder_edit = QtWidgets.QLineEdit()
        self.folder_edit.setMinimumWidth(380)
        browse = QtWidgets.QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        note = QtWidgets.QLabel("The folder is created; an earlier export there is replaced, other content is not.")
        note.setStyleSheet("color: #9aa0a8;")
        form = QtWidgets.QFormLayout()
        form.addRow("Format", self.format_box)
        form.addRow("Batch", self.batch_box)
        form.addRow("Folder", row)
        form.addRow("", note)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._parent_dir = self.project_root.parent
        self.format_box.currentIndexChanged.connect(lambda _i: self._suggest())
        self._suggest()

    def default_name(self) -> str:
        return f"{self.project_name}-{self.format_box.currentData()}"

    def _suggest(self) -> None:
        self.folder_edit.setText(str(self._parent_dir / self.default_name()))

    def _browse(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Export into", str(self._parent_dir))
        if folder:
            self._parent_dir = Path(folder)
            self._suggest()

    def choice(self) -> tuple[str, Path, str | None]:
        """(format, destination folder, batch name or None)."""
        return self.format_box.currentData(), Path(self.folder_edit.text()).expanduser(), self.batch_box.currentData()
