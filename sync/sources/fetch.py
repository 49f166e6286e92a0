"""Which source reads a registry entry, and fetching a whole registry in order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sync.sources.base import (
    NO_KEY_MESSAGE,
    Fetched,
    SchoolEntry,
    SourceError,
    is_google_source,
    utc_now,
)
from sync.sources.folder import FolderSource

if TYPE_CHECKING:
    from sync.sources.google import GoogleSheetsSource


def make_source(entry: SchoolEntry, *, source_dir: Path | None,
                google: GoogleSheetsSource | None
                ) -> FolderSource | GoogleSheetsSource:
    """The source that reads ``entry``: Google for a spreadsheet ID/URL, else the folder.

    Relative paths resolve against ``source_dir`` (the current folder when None). A Google
    entry without a configured GoogleSheetsSource raises SourceError (fetch_all reports it).
    """
    if is_google_source(entry.source):
        if google is None:
            raise SourceError(NO_KEY_MESSAGE, source=entry.code)
        return google
    return FolderSource(source_dir if source_dir is not None else Path("."))


def fetch_all(entries: Iterable[SchoolEntry], source_dir: Path | None,
              google: GoogleSheetsSource | None,
              progress: Callable[[SchoolEntry], Any] | None = None) -> Iterator[Fetched]:
    """Fetch every entry in order; progress(entry) is called before each school."""
    folder = FolderSource(source_dir if source_dir is not None else Path("."))
    for entry in entries:
        if progress is not None:
            progress(entry)
        try:
            source = make_source(entry, source_dir=source_dir, google=google)
        except SourceError as exc:
            yield Fetched(entry, None, exc, origin=entry.source, sha256=None, fetched_at=utc_now())
            continue
        if isinstance(source, FolderSource):
            source = folder
        yield source.fetch(entry)
