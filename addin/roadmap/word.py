"""Roadmaps in Word (.docx, python-docx), and .doc/.odt/.rtf/.html converted to .docx by
LibreOffice headless where ``soffice`` is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from addin.roadmap.table import RoadmapImportError, Row, SourceTable, clean

#: Seconds LibreOffice may take to convert one document.
CONVERT_TIMEOUT = 180



def docx_tables(path: Path, name: str) -> list[SourceTable]:
    """Every table of the document with the paragraphs before it (nested tables are not
    looked into)."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise RoadmapImportError(
            f"Файл «{name}» не читается как документ Word (.docx). Откройте его в Word "
            "или LibreOffice и сохраните заново.") from exc
    tables: list[SourceTable] = []
    before: list[str] = []
    for block in document.iter_inner_content():
        if not isinstance(block, Table):
            if block.text.strip():
                before.append(block.text.strip())
            continue
        tables.append(SourceTable(_docx_rows(block), before="\n".join(before),
                                  where=f"таблица {len(tables) + 1}"))
        before = []
    return tables


def _docx_rows(table: Any) -> list[Row]:
    rows: list[Row] = []
    above: list[Any] = []
    for tr in table.rows:
        cells = tr.cells
        tcs = [cell._tc for cell in cells]  # lxml keeps one proxy per element while held
        texts: list[str] = []
        merged: set[int] = set()
        for j, tc in enumerate(tcs):
            if j and tc is tcs[j - 1]:
                texts.append("")  # the same cell spanning columns
                continue
            if j < len(above) and tc is above[j]:
                merged.add(j)
            texts.append(clean(cells[j].text))
        distinct = {id(tc) for tc in tcs}
        rows.append(Row(texts, merged_above=frozenset(merged),
                        spanning=len(tcs) > 1 and len(distinct) == 1))
        above = tcs
    return rows


def find_soffice() -> str | None:
    """LibreOffice's ``soffice``: the SOFFICE variable when set (empty: none), else PATH."""
    exe = os.environ.get("SOFFICE")
    if exe is not None:
        return shutil.which(exe) if exe.strip() else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def via_libreoffice(path: Path) -> list[SourceTable]:
    """Convert .doc/.odt/.rtf/.html to .docx with LibreOffice headless (own temporary
    profile)."""
    kind = path.suffix.lower()
    exe = find_soffice()
    if exe is None:
        raise RoadmapImportError(
            f"Файл «{path.name}»: чтобы прочитать документ {kind}, нужен LibreOffice "
            "(программа soffice), а он на этом компьютере не найден. Установите LibreOffice "
            "или сохраните документ в формате .docx (в Word или LibreOffice: «Файл» → "
            "«Сохранить как» → «Документ Word (.docx)») и импортируйте его.")
    with tempfile.TemporaryDirectory(prefix="nastavnik-lo-") as tmp:
        profile, outdir = Path(tmp) / "profile", Path(tmp) / "out"
        cmd = [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               # the filter named: a web page opens in Writer/Web, which has no plain «docx»
               "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(outdir),
               str(path.resolve())]
        failed = ""
        try:
            subprocess.run(cmd, capture_output=True, timeout=CONVERT_TIMEOUT,
                           stdin=subprocess.DEVNULL, env=dict(os.environ, HOME=str(profile)))
        except subprocess.TimeoutExpired:
            failed = f" (не уложился в {CONVERT_TIMEOUT} с)"
        except OSError:
            failed = " (soffice не запускается)"
        out = outdir / f"{path.stem}.docx"
        if failed or not out.is_file():  # soffice may exit 0 without writing anything
            raise RoadmapImportError(
                f"Файл «{path.name}»: LibreOffice не смог преобразовать его в .docx{failed}. "
                "Откройте документ в Word или LibreOffice и сохраните его в формате .docx.")
        return docx_tables(out, path.name)
