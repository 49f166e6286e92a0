"""Read the tables of the document a roadmap arrives in, whatever its format.

``read_tables`` returns every table of a document, in order, as rows of cleaned cell texts:
.docx (python-docx), .pdf (``addin.roadmap.pdf``), .xlsx/.xlsm/.ods
(python-calamine: one table per sheet), .txt (a table copied out of Word), and .doc, .odt,
.rtf, .html converted to .docx by LibreOffice headless where ``soffice`` is installed
(one module per format: ``text``, ``word``, ``pdf``, ``sheet``). Which table
is a roadmap, and which column holds what, is decided by ``addin.roadmap.importer``.

Each table keeps the text that stood before it (titles such as «Приложение 2. Дорожная
карта …», used to tell a second roadmap from the continuation of the first).
"""

from __future__ import annotations

from pathlib import Path

from addin.roadmap.sheet import sheet_tables
from addin.roadmap.table import SourceTable
from addin.roadmap.text import text_tables
from addin.roadmap.word import docx_tables, via_libreoffice

#: Read directly.
DIRECT_SUFFIXES = (".txt", ".docx", ".xlsx", ".xlsm", ".ods", ".pdf")
#: Converted to .docx by LibreOffice first (.html: a web page saved from the browser).
LIBREOFFICE_SUFFIXES = (".doc", ".odt", ".rtf", ".html", ".htm")
SUPPORTED_SUFFIXES = DIRECT_SUFFIXES + LIBREOFFICE_SUFFIXES


def read_tables(path: Path) -> list[SourceTable]:
    """Every table of the document at ``path`` (its suffix is one of SUPPORTED_SUFFIXES)."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return text_tables(path)
    if suffix == ".docx":
        return docx_tables(path, path.name)
    if suffix == ".pdf":
        from addin.roadmap.pdf import pdf_tables  # pdfplumber is imported only for a PDF

        return pdf_tables(path)
    if suffix in LIBREOFFICE_SUFFIXES:
        return via_libreoffice(path)
    return sheet_tables(path)
