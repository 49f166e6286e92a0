"""What xlwings' VBA client (``RunServerPython`` of the Remote module) sends and replays, read
from the VBA project of a server-bound .xlsm by an independent parser (oletools' olevba).

Nothing here is taken from xlwings.js or from our server: the JSON keys are the ones Remote.bas
adds to its dictionaries, the version is the XLWINGS_VERSION constant of the project, the URL
and the Authorization header are what NastavnikServer.bas and Remote.bas read through GetConfig
from the hidden «xlwings.conf» sheet, the User-Agent is VBA-Web's, dates are written as
WebHelpers.ConvertToIso formats them, and the actions a response may hold are the Subs of
Remote.bas with the signature ``(wb As Workbook, action As Dictionary)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook


@dataclass
class VbaClient:
    """The client as the workbook's VBA project defines it."""

    modules: dict[str, str]

    @classmethod
    def of(cls, xlsm: Path) -> VbaClient:
        from oletools.olevba import VBA_Parser

        parser = VBA_Parser(str(xlsm))
        try:
            modules = {Path(name).stem: code for _f, _s, name, code in parser.extract_macros()}
        finally:
            parser.close()
        return cls(modules)

    @property
    def remote(self) -> str:
        return self.modules["Remote"]

    def keys(self, dictionary: str) -> list[str]:
        """The keys RunServerPython adds to one of its dictionaries, in order."""
        return list(dict.fromkeys(re.findall(rf'\b{dictionary}\.Add "(\w+)"', self.remote)))

    def constant(self, name: str) -> str:
        for code in self.modules.values():
            m = re.search(rf'Const {name} As String = "([^"]*)"', code)
            if m:
                return m.group(1)
        raise AssertionError(f"no constant {name} in the VBA project")

    def client_name(self) -> str:
        return re.search(r'payload\.Add "client", "(\w+)"', self.remote).group(1)

    def replayed(self) -> set[str]:
        """The actions the client can replay: Application.Run action("func"), wb, action."""
        assert 'Application.Run action("func"), wb, action' in self.remote
        return set(re.findall(r"^Sub (\w+)\(wb As Workbook, action As Dictionary\)",
                              self.remote, re.M))

    def user_agent(self) -> str:
        return self.constant("WebUserAgent")

    def button_url_key(self, macro: str) -> tuple[str, str]:
        """(config key, path) the button macro passes to RunServerPython."""
        m = re.search(rf'Sub {macro}\(\)\s+RunServerPython GetConfig\("(\w+)"\) & "([^"]+)"',
                      self.modules["NastavnikServer"])
        assert m, f"{macro} does not call RunServerPython"
        return m.group(1), m.group(2)

    def auth_key(self) -> str:
        assert 'myRequest.AddHeader "Authorization", auth' in self.remote
        return re.search(r'auth = GetConfig\("(\w+)", ""\)', self.remote).group(1)


def conf(xlsm: Path) -> dict[str, str]:
    """The «xlwings.conf» sheet as GetConfigFromSheet reads it (key upper case)."""
    wb = load_workbook(xlsm, read_only=True)
    try:
        rows = wb["xlwings.conf"].iter_rows(values_only=True)
        return {str(r[0]).upper(): "" if r[1] is None else str(r[1]) for r in rows if r[0]}
    finally:
        wb.close()


def _json_value(v: Any) -> Any:
    """One cell as ConvertToJson writes Range.Value: dates by ConvertToIso, Empty as null."""
    if isinstance(v, datetime | date):
        d = v if isinstance(v, datetime) else datetime(v.year, v.month, v.day)
        return d.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return v


def payload(client: VbaClient, xlsm: Path) -> dict[str, Any]:
    """The JSON RunServerPython posts for `xlsm` opened on its first sheet, built with the
    keys Remote.bas adds (and only those)."""
    wb = load_workbook(xlsm)
    sheets = []
    for ws in wb.worksheets:  # wb.Worksheets: hidden ones too
        values: Any = [[]]
        if ws.max_row and (ws.max_row > 1 or ws.max_column > 1 or ws["A1"].value is not None):
            values = [[_json_value(c) for c in row]
                      for row in ws.iter_rows(min_row=1, max_row=ws.max_row, min_col=1,
                                              max_col=ws.max_column, values_only=True)]
        sheet = {"name": ws.title, "pictures": [], "tables": [], "values": values}
        assert list(sheet) == client.keys("sheetDict"), client.keys("sheetDict")
        sheets.append(sheet)
    book = {"name": xlsm.name, "active_sheet_index": 0, "selection": "A1"}
    assert list(book) == client.keys("bookPayload"), client.keys("bookPayload")
    names = named_ranges(xlsm, wb.sheetnames)
    for n in names:
        assert list(n) == client.keys("nameDict"), client.keys("nameDict")
    body = {"client": client.client_name(), "version": client.constant("XLWINGS_VERSION"),
            "book": book, "names": names, "sheets": sheets}
    assert list(body) == client.keys("payload"), client.keys("payload")
    return body


def named_ranges(xlsm: Path, sheet_names: list[str]) -> list[dict[str, Any]]:
    """The names Remote.bas sends: those whose RefersToRange is a range (a constant such as
    the template version is left out), as Excel names them («'Лист'!имя» when sheet-scoped)."""
    import zipfile

    with zipfile.ZipFile(xlsm) as zf:
        workbook = zf.read("xl/workbook.xml").decode("utf-8")
    out = []
    for attrs, ref in re.findall(r"<definedName\b([^>]*)>([^<]*)</definedName>", workbook):
        m = re.fullmatch(r"'?(.+?)'?!\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?",
                         ref.replace("''", "'"))
        if m is None:
            continue
        name = re.search(r'name="([^"]+)"', attrs).group(1).replace("_xlnm.", "")
        local = re.search(r'localSheetId="(\d+)"', attrs)
        address = f"{m[2]}{m[3]}" + (f":{m[4]}{m[5]}" if m[4] else "")
        scope = sheet_names[int(local.group(1))] if local else None
        out.append({"name": f"'{scope}'!{name}" if scope else name,
                    "sheet_index": sheet_names.index(m[1]), "address": address,
                    "book_scope": scope is None, "scope_sheet_name": scope,
                    "scope_sheet_index": sheet_names.index(scope) if scope else None})
    return out


def references(xlsm: Path) -> str:
    """The dir stream of the VBA project (its references), read with olefile and olevba's
    decompressor, as text."""
    import io
    import zipfile

    import olefile
    from oletools.olevba import decompress_stream

    with zipfile.ZipFile(xlsm) as zf:
        ole = olefile.OleFileIO(io.BytesIO(zf.read("xl/vbaProject.bin")))
    try:
        raw = ole.openstream("VBA/dir").read()
    finally:
        ole.close()
    return bytes(decompress_stream(bytearray(raw))).decode("cp1252", "replace")
