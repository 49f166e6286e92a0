"""`nastavnik backup` and `nastavnik restore`: the collection folder as one .tar.gz archive.

The archive holds ``nastavnik-backup.json`` (the manifest: every file with its size and
SHA-256) and the files under ``data/``, by their paths in the collection folder. It is taken
while the server runs:

- the folder's lock (``addin.folder_lock``) is held exclusively while everything but the
  archive of submitted versions is copied aside: no submission and no «Собрать свод» is
  half-way through then (both hold the lock shared for their whole step);
- SQLite files (the journal, the history beside the master) are copied with SQLite's online
  backup API, never as bytes that a writer may be changing; a sync job that was waiting for
  the lock is marked interrupted in the copy (it will not run in the restored folder);
- the archived versions (``archive/``) are never changed once written, so they are read after
  the lock is released.

`restore` unpacks into an empty or new folder, checks every file's SHA-256 against the
manifest, and moves the result into place only when all of them match.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from addin.atomic_file import replacing
from addin.folder_lock import LOCK_NAME, FolderBusy, folder_lock

MANIFEST = "nastavnik-backup.json"
FORMAT = "nastavnik-backup"
VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
#: Names that are never copied: the lock, SQLite's side files, half-written temporary files.
SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal")
TEMP_PREFIX = ".tmp-"
#: What makes a folder a collection folder (any of them).
MARKS = ("schools", "archive", "workspace", "submissions.jsonl")
INTERRUPTED_BY_BACKUP_RU = ("Сбор прерван: при резервном копировании он ещё не начался. "
                            "Запустите сбор снова.")


class BackupError(Exception):
    """A backup or restore refused or failed (Russian message)."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


@dataclass(frozen=True)
class Summary:
    """What a backup wrote or a restore unpacked."""

    files: int
    databases: int
    size: int
    path: Path


def check_collect_dir(collect_dir: Path) -> Path:
    """The folder, or a Russian refusal when it is missing or not a collection folder."""
    folder = Path(collect_dir)
    if not folder.exists():
        raise BackupError(f"Папка сбора {folder} не найдена. Укажите папку, которую сервер "
                          "получает в --collect-dir.")
    if not folder.is_dir():
        raise BackupError(f"{folder} — файл, а нужна папка сбора (--collect-dir сервера).")
    if not any((folder / mark).exists() for mark in MARKS):
        raise BackupError(f"Папка {folder} не похожа на папку сбора: в ней нет ни schools/, "
                          "ни archive/, ни workspace/. Укажите папку --collect-dir сервера.")
    return folder


def backup(collect_dir: Path, out: Path, *, wait: float = 600,
           waiting: Callable[[], None] | None = None) -> Summary:
    """Write the archive of `collect_dir` to `out` (.tar.gz), consistent while the server runs.

    `wait`: seconds to wait for a running «Собрать свод» to end; `waiting()` is called once
    when the folder is busy.
    """
    folder = check_collect_dir(collect_dir)
    out = Path(out)
    if not out.name.endswith(".tar.gz"):
        raise BackupError(f"Архив нужен с расширением .tar.gz, а указан «{out.name}».")
    if _inside(out, folder):
        raise BackupError("Архив нельзя класть внутрь самой папки сбора: укажите --out в "
                          "другой папке или на другом диске.")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".nastavnik-backup-", dir=out.parent) as tmp:
        staging = Path(tmp)
        copied, later = _copy_under_lock(folder, staging, wait, waiting)
        entries = [_entry(rel, staging / rel, kind) for rel, kind in copied]
        entries += [_entry(rel, folder / rel, "file") for rel in later
                    if (folder / rel).is_file()]  # a purge may have removed one since
        manifest = {"format": FORMAT, "version": VERSION,
                    "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
                    "collect_dir": folder.name, "files": entries}
        sources = {rel: staging / rel for rel, _ in copied}
        with replacing(out, mode=0o600) as target:
            _write_tar(target, manifest, sources, folder)
    return Summary(len(entries), sum(e["kind"] == "sqlite" for e in entries),
                   sum(e["size"] for e in entries), out)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _files(folder: Path) -> Iterator[str]:
    """Relative POSIX paths of the files to keep, in a stable order."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            if name == LOCK_NAME or name.startswith(TEMP_PREFIX) \
                    or name.endswith(SKIPPED_SUFFIXES):
                continue
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            yield path.relative_to(folder).as_posix()


def _copy_under_lock(folder: Path, staging: Path, wait: float,
                     waiting: Callable[[], None] | None) -> tuple[list[tuple[str, str]], list[str]]:
    """Copy all but archive/ into `staging` under the exclusive lock; list archive/ files."""
    try:
        with folder_lock(folder, shared=False, wait=0):
            return _copy_now(folder, staging)
    except FolderBusy:
        if waiting is not None:
            waiting()
    try:
        with folder_lock(folder, shared=False, wait=wait):
            return _copy_now(folder, staging)
    except FolderBusy:
        raise BackupError(f"Папка сбора занята дольше {int(wait)} с (идёт «Собрать свод» или "
                          "удаление по сроку хранения). Повторите копирование позже.") from None


def _copy_now(folder: Path, staging: Path) -> tuple[list[tuple[str, str]], list[str]]:
    copied: list[tuple[str, str]] = []
    later: list[str] = []
    for rel in _files(folder):
        if rel.startswith("archive/"):
            later.append(rel)
            continue
        source, target = folder / rel, staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if _is_sqlite(source):
            _sqlite_copy(source, target)
            copied.append((rel, "sqlite"))
        else:
            shutil.copy2(source, target)
            copied.append((rel, "file"))
    return copied, later


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup (a consistent snapshot even with writers), then sync jobs that
    were only waiting for the lock are marked interrupted in the copy."""
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive
        if dst.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='jobs'"
                       ).fetchone():
            dst.execute("UPDATE jobs SET state='failed', message=? WHERE state='running'",
                        (INTERRUPTED_BY_BACKUP_RU,))
            dst.commit()
    finally:
        src.close()
        dst.close()


def _entry(rel: str, path: Path, kind: str) -> dict:
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return {"path": rel, "kind": kind, "size": path.stat().st_size, "sha256": digest}


def _write_tar(target: Path, manifest: dict, staged: dict[str, Path], folder: Path) -> None:
    data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now().timestamp())
        tar.addfile(info, io.BytesIO(data))
        for entry in manifest["files"]:
            rel = entry["path"]
            source = staged.get(rel, folder / rel)
            tar.add(source, arcname=f"data/{rel}", recursive=False)


# -- restore ---------------------------------------------------------------------------------
def restore(archive: Path, into: Path) -> Summary:
    """Unpack `archive` into `into` (missing or empty), every file checked by its SHA-256."""
    archive, into = Path(archive), Path(into)
    if not archive.is_file():
        raise BackupError(f"Архив {archive} не найден.")
    if into.exists() and not into.is_dir():
        raise BackupError(f"{into} — файл, а восстанавливать нужно в папку.")
    if into.is_dir() and any(into.iterdir()):
        raise BackupError(f"Папка {into} не пуста: восстановление пишет только в новую или "
                          "пустую папку, чтобы ничего не затереть. Укажите другую папку.")
    into.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".nastavnik-restore-", dir=into.parent) as tmp:
        unpacked = Path(tmp) / "data"
        manifest = _unpack(archive, Path(tmp))
        _verify(manifest, unpacked)
        unpacked.mkdir(exist_ok=True)
        if into.is_dir():
            for child in unpacked.iterdir():
                os.replace(child, into / child.name)
        else:
            os.replace(unpacked, into)
    files = manifest["files"]
    return Summary(len(files), sum(e["kind"] == "sqlite" for e in files),
                   sum(e["size"] for e in files), into)


NOT_ARCHIVE_RU = "Файл {name} — не архив nastavnik backup ({why}). Укажите файл .tar.gz, " \
                 "который записала команда nastavnik backup."


def _unpack(archive: Path, tmp: Path) -> dict:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            try:
                member = tar.getmember(MANIFEST)
                manifest = json.loads(tar.extractfile(member).read())  # type: ignore[union-attr]
            except (KeyError, AttributeError, ValueError):
                raise BackupError(NOT_ARCHIVE_RU.format(name=archive.name,
                                                        why="в нём нет описи файлов")) from None
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise BackupError(NOT_ARCHIVE_RU.format(name=archive.name,
                                                        why="опись другого формата"))
            wanted = {f"data/{_safe(e['path'], archive)}" for e in manifest["files"]}
            members = [m for m in tar.getmembers() if m.name in wanted and m.isfile()]
            # only regular files under checked names are unpacked; the "data" filter (Python
            # 3.11.4+, PEP 706) refuses anything odd once more where the Python has it
            safety = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(tmp, members=members, **safety)
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, OSError) and not isinstance(exc, EOFError) and exc.errno:
            raise
        raise BackupError(NOT_ARCHIVE_RU.format(name=archive.name,
                                                why="архив повреждён или не .tar.gz")) from None
    return manifest


def _safe(rel: str, archive: Path) -> str:
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(NOT_ARCHIVE_RU.format(name=archive.name,
                                                why=f"недопустимый путь «{rel}»"))
    return path.as_posix()


def _verify(manifest: dict, root: Path) -> None:
    for entry in manifest["files"]:
        path = root / entry["path"]
        if not path.is_file():
            raise BackupError(f"В архиве нет файла {entry['path']}, хотя он есть в описи: "
                              "архив неполон, ничего не восстановлено.")
        with path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        if digest != entry["sha256"]:
            raise BackupError(f"Файл {entry['path']} в архиве повреждён (SHA-256 не совпадает "
                              "с описью), ничего не восстановлено.")
