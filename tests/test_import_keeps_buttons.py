"""`nastavnik import-roadmap` into school.xlsm keeps the «Проверить» and «Показатели» buttons
(openpyxl, which writes the copy, keeps the VBA project but drops form buttons, and left the
sheet pointing at a drawing it did not write)."""

from __future__ import annotations

import re
import zipfile

from tests import roadmap_docs as docs
from tests.cli import run
from workbook_templates.xlsm import BUTTONS_VML, build_school_xlsm


def test_import_into_school_xlsm_keeps_the_buttons(tmp_path):
    book = build_school_xlsm(tmp_path / "school.xlsm")
    doc = docs.split_docx(tmp_path / "карта.docx", docs.INVENTED, cut_item="1.2")
    out = tmp_path / "out.xlsm"
    res = run("import-roadmap", doc, "--into", book, "--out", out)
    assert res.returncode == 0, res.stderr
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert BUTTONS_VML in names and "xl/vbaProject.bin" in names
        vml = zf.read(BUTTONS_VML).decode()
        types = zf.read("[Content_Types].xml").decode()
        # every drawing a sheet refers to is in the package
        for rels in (n for n in names if n.startswith("xl/worksheets/_rels/")):
            for target in re.findall(r'Target="([^"]+\.vml)"', zf.read(rels).decode()):
                assert target.lstrip("/").replace("../", "xl/") in names, target
    assert "[0]!CheckBook" in vml and "[0]!ShowIndicators" in vml
    assert 'Extension="vml"' in types
