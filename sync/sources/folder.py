"""School files in a folder (.xlsx/.xlsm/.ods), read with fastexcel
(``addin.model.load_sheets``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from addin.errors import WorkbookError, WorkbookNotFoundError, corrupt
from addin.model import RawSheet, load_sheets
from sync.sources.base import Fetched, SchoolEntry, utc_now
from workbook_templates.contract import REGISTRY_HEADER


class FolderSource:
    """School files in a folder; registry sources are paths relative to ``root``.

    A `confined` source reads nothing outside ``root`` (the server's workspace, whose
    registry staff upload): «../» or an absolute path leaves the school «не представлен»."""

    def __init__(self, root: Path, *, confined: bool = False) -> None:
        self.root = Path(root)
        self.confined = confined

    def path(self, entry: SchoolEntry) -> Path:
        return self.root / entry.source

    def _outside(self, path: Path) -> bool:
        return self.confined and not path.resolve().is_relative_to(self.root.resolve())

    def unread(self, entry: SchoolEntry) -> Fetched:
        """The file's SHA-256 and origin without reading its sheets (for a re-sync that
        reuses stored results of unchanged files)."""
        path = self.path(entry)
        digest = None
        if entry.source.strip() and not self._outside(path) and path.is_file():
            with path.open("rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
        return Fetched(entry, None, None, origin=str(path), sha256=digest, fetched_at=utc_now(),
                       source=path.name)

    def fetch(self, entry: SchoolEntry) -> Fetched:
        path = self.path(entry)
        digest: str | None = None
        sheets: dict[str, RawSheet] | None = None
        error: WorkbookError | None = None
        try:
            if not entry.source.strip():
                raise WorkbookNotFoundError(
                    f"В реестре не указан файл книги ОО {entry.code} (столбец "
                    f"«{REGISTRY_HEADER[3]}»).", source=entry.code)
            if self._outside(path):
                raise WorkbookNotFoundError(
                    f"Файл книги ОО {entry.code} указан вне папки сбора ({entry.source}): "
                    "сервер читает книги только из папки сбора.", source=entry.code)
            if path.is_file():
                with path.open("rb") as fh:
                    digest = hashlib.file_digest(fh, "sha256").hexdigest()
            sheets = load_sheets(path)
        except Exception as exc:  # noqa: BLE001 (one bad school never stops the run)
            error = corrupt(exc, path.name)  # a reading failure: «файл повреждён»
        return Fetched(entry, sheets, error, origin=str(path), sha256=digest,
                       fetched_at=utc_now(), source=path.name)
