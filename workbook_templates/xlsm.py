"""school.xlsm (the template with the «Проверить» and «Показатели» buttons) and the Google
Sheets script: the button clients shipped with the templates.

school.xlsm is the contract template of ``build.build_school_workbook`` plus:

* a VBA project (``xl/vbaProject.bin``) written from source here: the xlwings VBA module of the
  installed xlwings (``xlwings/xlwings.bas``, which provides ``RunPython``), its ``Dictionary``
  class (read from xlwings' own ``quickstart_standalone.xlsm``; needed on macOS), our module
  ``vba/Nastavnik.bas`` (``CheckBook`` and ``ShowIndicators``), and a document module for the
  workbook and every sheet;
* two form buttons on the Инструкция sheet wired to those two macros;
* a hidden «xlwings.conf» sheet (xlwings' settings sheet).

The VBA project follows [MS-OVBA]: module source is stored compressed with no compiled
p-code, and the ``_VBA_PROJECT`` stream carries version 0xFFFF, which tells Office to compile
the project from source when the file is opened; this is how a writer other than Office is
meant to write a project, and how xlwings' own quickstart_standalone.xlsm is stored. The
container is a Compound File [MS-CFB] version 3. Nothing here needs Excel; the output is
byte-stable.

``server_xlsm`` writes the server-bound variant: the same workbook and buttons, but the VBA
project carries xlwings' own server client (``addin/Remote.bas`` of the installed xlwings, its
``RunServerPython``, with the VBA-Web modules it needs) and ``vba/NastavnikServer.bas``, and
the hidden «xlwings.conf» sheet holds the server address and the school's button token.
Nothing is installed on the school PC. ``bind_to_server`` puts another address and token
into a workbook built so (the server does that per download).

``write_appsscript`` writes the Google Sheets client: Code.gs (the «Наставничество» menu),
xlwings.gs (xlwings.js of the installed xlwings) and the appsscript.json manifest.
"""

from __future__ import annotations

import importlib.util
import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

from workbook_templates import contract as C
from workbook_templates.build import (
    FIXED_TIMESTAMP,
    SchoolData,
    build_school_workbook,
    workbook_bytes,
    write_atomically,
)
from workbook_templates.prefill import fill_cells
from workbook_templates.vba_project import (
    OFFICE_LIBRARY,
    VbaModule,
    vba_module_sources,
    vba_project_bin,
)

HERE = Path(__file__).parent
VBA_DIR = HERE / "vba"
APPSSCRIPT_DIR = HERE / "appsscript"

#: Our VBA module and its two macros (ASCII names: the project's code page is single-byte).
BUTTONS_MODULE = VBA_DIR / "Nastavnik.bas"
CHECK_MACRO = "CheckBook"
INDICATORS_MACRO = "ShowIndicators"
#: Captions and placement of the buttons on the Инструкция sheet (column B, rows 1–2).
BUTTONS: tuple[tuple[str, str], ...] = (("Проверить", CHECK_MACRO),
                                         ("Показатели", INDICATORS_MACRO))
BUTTON_COLUMN = 1  # 0-based: column B, whose row 1 is empty (the title overflows into it)
BUTTON_LEFT_PX, BUTTON_GAP_PX, BUTTON_WIDTH_PX, BUTTON_HEIGHT_PX = 420, 14, 130, 34
#: xlwings' settings sheet (hidden). ADD_WORKBOOK_TO_PYTHONPATH=false: a file next to the
#: workbook must not shadow the installed package. An interpreter path, if Python is not on
#: PATH, goes into a new row «Interpreter_Win» (see docs/buttons.md).
CONF_SHEET = "xlwings.conf"
CONF_ROWS: tuple[tuple[str, str], ...] = (("ADD_WORKBOOK_TO_PYTHONPATH", "false"),)

#: The server-bound variant: its module, and its rows of «xlwings.conf» (read by GetConfig of
#: the xlwings module: the key in column A, upper case, the value in B). AUTH is the
#: Authorization header RunServerPython sends; TIMEOUT (ms) gives a big book time.
SERVER_MODULE = VBA_DIR / "NastavnikServer.bas"
SERVER_URL_KEY, SERVER_TOKEN_KEY = "NASTAVNIK_URL", "AUTH"
SERVER_CONF_ROWS: tuple[tuple[str, str], ...] = ((SERVER_URL_KEY, ""), (SERVER_TOKEN_KEY, ""),
                                                 ("TIMEOUT", "120000"))
#: xlwings' server client and what it needs, in the installed xlwings (xlwings/addin/):
#: Remote (RunServerPython and the actions it replays), the VBA-Web HTTP client and JSON
#: (WebHelpers, WebClient, WebRequest, WebResponse, IWebAuthenticator). GetConfig,
#: XLWINGS_VERSION and the helpers it calls are in the xlwings module, Dictionary as above.
REMOTE_MODULES: tuple[tuple[str, str], ...] = (
    ("Remote", "module"), ("WebHelpers", "module"), ("WebClient", "class"),
    ("WebRequest", "class"), ("WebResponse", "class"), ("IWebAuthenticator", "class"))
#: VB_Base of a class module as Office stores it ([MS-OVBA] class modules of a project).
_CLASS_BASE = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"

DEFAULT_SERVER_URL = "https://ВАШ-СЕРВЕР/xlwings"
URL_PLACEHOLDER = DEFAULT_SERVER_URL

_WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
_WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"
CT_MACRO_WORKBOOK = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
CT_WORKBOOK = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_VBA = "application/vnd.ms-office.vbaProject"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
REL_VML = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
BUTTONS_VML = "xl/drawings/vmlDrawingNastavnikButtons.vml"


class XlsmBuildError(Exception):
    """school.xlsm cannot be built (e.g. the installed xlwings lacks a file we need)."""


# ------------------------------------------------------------------------------ public API
def build_school_xlsm(out: str | Path) -> Path:
    """Write school.xlsm: the contract template with the xlwings VBA project and two buttons."""
    out = Path(out)
    wb = build_school_workbook()
    conf = wb.create_sheet(CONF_SHEET)
    conf.sheet_state = "hidden"
    for key, value in CONF_ROWS:
        conf.append([key, value])
        conf.cell(row=conf.max_row, column=2).data_type = "s"
    wb.code_name = "ThisWorkbook"
    code_names = []
    for i, ws in enumerate(wb.worksheets, start=1):
        ws.sheet_properties.codeName = f"Sheet{i}"
        code_names.append(ws.sheet_properties.codeName)
    vba = vba_project_bin(school_modules(code_names))
    instructions = wb.sheetnames.index(C.INSTRUCTIONS.name)
    payload = _make_macro_enabled(workbook_bytes(wb), vba, instructions)
    write_atomically(out, payload)
    return out


def server_xlsm(workbook: bytes | SchoolData | None, server_url: str, token: str) -> bytes:
    """A server-bound school.xlsm: «Проверить» and «Показатели» post the book to
    `server_url` (the /xlwings address of a nastavnik server) with `token`.

    `workbook` is the contract template's data (None: blank) or the bytes of a school's
    .xlsx/.xlsm, whose sheets and values are kept (its old VBA project and buttons are
    replaced by the server-bound ones).
    """
    if isinstance(workbook, bytes | bytearray):
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(workbook))
        if CONF_SHEET in wb.sheetnames:
            del wb[CONF_SHEET]
    else:
        wb = build_school_workbook(workbook)
    conf = wb.create_sheet(CONF_SHEET)
    conf.sheet_state = "hidden"
    for key, value in SERVER_CONF_ROWS:
        conf.append([key, value or None])
        conf.cell(row=conf.max_row, column=2).data_type = "s"
    wb.code_name = "ThisWorkbook"
    code_names = []
    for i, ws in enumerate(wb.worksheets, start=1):
        ws.sheet_properties.codeName = f"Sheet{i}"
        code_names.append(ws.sheet_properties.codeName)
    vba = vba_project_bin(server_modules(code_names), references=(OFFICE_LIBRARY,))
    names = wb.sheetnames
    at = names.index(C.INSTRUCTIONS.name) if C.INSTRUCTIONS.name in names else 0
    return bind_to_server(_make_macro_enabled(workbook_bytes(wb), vba, at), server_url, token)


def bind_to_server(xlsm: bytes, server_url: str, token: str) -> bytes:
    """A server-bound .xlsm (made by ``server_xlsm``) with another server address and token;
    nothing else of the file changes."""
    url = server_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise XlsmBuildError(f"server address must start with http:// or https://: {url!r}")
    rows = {key: n for n, (key, _) in enumerate(SERVER_CONF_ROWS, start=1)}
    return fill_cells(xlsm, {CONF_SHEET: {(rows[SERVER_URL_KEY], 2): url,
                                          (rows[SERVER_TOKEN_KEY], 2): token}})


def server_modules(sheet_code_names: Iterable[str]) -> list[VbaModule]:
    """The modules of the server-bound school.xlsm: documents, xlwings (GetConfig and the
    version), Dictionary, xlwings' Remote client with the VBA-Web modules, and ours."""
    modules = [m for m in school_modules(sheet_code_names) if m.name != "Nastavnik"]
    addin = _xlwings_dir() / "addin"
    for name, kind in REMOTE_MODULES:
        path = addin / (f"{name}.bas" if kind == "module" else f"{name}.cls")
        try:
            text = _crlf(path.read_bytes())
        except OSError as exc:
            raise XlsmBuildError(f"xlwings lacks {path.name} of its server client: {exc}") \
                from exc
        modules.append(VbaModule(name, kind, text if kind == "module" else _stored_class(text)))
    modules.append(VbaModule("NastavnikServer", "module", _crlf(SERVER_MODULE.read_bytes())))
    for m in modules:
        declared = re.match(rb'Attribute VB_Name = "([^"]+)"', m.source)
        if declared is None or declared.group(1).decode("ascii") != m.name:
            raise XlsmBuildError(f"VBA module {m.name} does not declare its name first")
    return modules


def _stored_class(cls: bytes) -> bytes:
    """A class module's source as a project stores it: the exported file's «VERSION 1.0
    CLASS … END» header dropped, VB_Base and the two attributes Office adds put in place."""
    start = cls.find(b"Attribute VB_Name")
    if start < 0:
        raise XlsmBuildError("class module without VB_Name")
    text = cls[start:]
    name_end = text.index(b"\r\n") + 2
    text = (text[:name_end] + f'Attribute VB_Base = "{_CLASS_BASE}"\r\n'.encode("ascii")
            + text[name_end:])
    exposed = re.search(rb"Attribute VB_Exposed = \w+\r\n", text)
    if exposed is not None and b"VB_TemplateDerived" not in text:
        text = (text[:exposed.end()] + b"Attribute VB_TemplateDerived = False\r\n"
                b"Attribute VB_Customizable = False\r\n" + text[exposed.end():])
    return text


def build_button_templates(out_dir: str | Path,
                           server_url: str = DEFAULT_SERVER_URL) -> list[Path]:
    """school.xlsm and the Google Sheets script folder, for `nastavnik build-templates`."""
    out = Path(out_dir)
    return [build_school_xlsm(out / "school.xlsm"),
            *write_appsscript(out / "google-apps-script", server_url)]


def write_appsscript(out_dir: str | Path, server_url: str = DEFAULT_SERVER_URL) -> list[Path]:
    """Write Code.gs (with `server_url`), xlwings.gs and appsscript.json into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    code = (APPSSCRIPT_DIR / "Code.gs").read_text(encoding="utf-8")
    if URL_PLACEHOLDER not in code:
        raise XlsmBuildError("Code.gs has lost its server URL placeholder")
    url = server_url.rstrip("/")
    code = code.replace(URL_PLACEHOLDER, url.replace("\\", "\\\\").replace('"', '\\"'))
    paths = [out / "Code.gs", out / "xlwings.gs", out / "appsscript.json"]
    paths[0].write_text(code, encoding="utf-8")
    paths[1].write_text(xlwings_gs(), encoding="utf-8")
    paths[2].write_text((APPSSCRIPT_DIR / "appsscript.json").read_text(encoding="utf-8"),
                        encoding="utf-8")
    return paths


def xlwings_gs() -> str:
    """xlwings.js of the installed xlwings, for Apps Script (its version must match the
    server's: xlwings refuses a payload from another version).

    Two edits, both marked in the file: the demo function ``hello`` is dropped, and the call
    ``Session.getActiveUser().getEmail()`` (there only to request the e-mail scope) is removed,
    so the script needs no access to the user's e-mail address.
    """
    text = (_xlwings_dir() / "js" / "xlwings.js").read_text(encoding="utf-8")
    hello = re.compile(r"\Afunction hello\(\) \{\n.*?\n\}\n", re.S)
    email = "  Session.getActiveUser().getEmail();\n"
    if not hello.search(text) or email not in text:
        raise XlsmBuildError("xlwings.js has changed: review xlwings_gs() in xlsm.py")
    text = hello.sub("", text, count=1)
    text = text.replace(email, "  // nastavnik: e-mail scope request removed (appsscript.json "
                               "lists the scopes).\n")
    return ("// xlwings.js of xlwings " + _xlwings_version() + " (BSD-3-Clause, see below), "
            "shipped by nastavnik\n// with two marked edits. Do not change the version: the "
            "server must run the same xlwings.\n" + text)


# ------------------------------------------------------------------------------ VBA modules
def school_modules(sheet_code_names: Iterable[str]) -> list[VbaModule]:
    """The modules of school.xlsm: documents, xlwings, Dictionary and ours."""
    modules = [_document("ThisWorkbook", _WORKBOOK_BASE)]
    modules += [_document(name, _WORKSHEET_BASE) for name in sheet_code_names]
    modules.append(VbaModule("xlwings", "module", _crlf((_xlwings_dir() / "xlwings.bas")
                                                        .read_bytes())))
    modules.append(VbaModule("Dictionary", "class", _xlwings_dictionary()))
    modules.append(VbaModule("Nastavnik", "module", _crlf(BUTTONS_MODULE.read_bytes())))
    for m in modules:
        declared = re.match(rb'Attribute VB_Name = "([^"]+)"', m.source)
        if declared is None or declared.group(1).decode("ascii") != m.name:
            raise XlsmBuildError(f"VBA module {m.name} does not declare its name first")
    return modules


def _document(name: str, base: str) -> VbaModule:
    lines = [f'Attribute VB_Name = "{name}"', f'Attribute VB_Base = "{base}"',
             "Attribute VB_GlobalNameSpace = False", "Attribute VB_Creatable = False",
             "Attribute VB_PredeclaredId = True", "Attribute VB_Exposed = True",
             "Attribute VB_TemplateDerived = False", "Attribute VB_Customizable = True", ""]
    return VbaModule(name, "document", "\r\n".join(lines).encode("ascii"))


def _crlf(data: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", data)


def _xlwings_dir() -> Path:
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise XlsmBuildError("xlwings is not installed: pip install xlwings")
    return Path(list(spec.submodule_search_locations)[0])


def _xlwings_version() -> str:
    from importlib.metadata import version

    return version("xlwings")


def _xlwings_dictionary() -> bytes:
    """The Dictionary class module (VBA-Dictionary, MIT) from xlwings' standalone quickstart."""
    path = _xlwings_dir() / "quickstart_standalone.xlsm"
    try:
        with zipfile.ZipFile(path) as zf:
            modules = vba_module_sources(zf.read("xl/vbaProject.bin"), decode=False)
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise XlsmBuildError(f"cannot read the Dictionary class from {path}: {exc}") from exc
    if "Dictionary" not in modules:
        raise XlsmBuildError(f"{path.name} has no Dictionary class module")
    return modules["Dictionary"]


# ---------------------------------------------------------------------- the .xlsm package
def _make_macro_enabled(xlsx: bytes, vba: bytes, buttons_sheet_index: int) -> bytes:
    """Turn the .xlsx bytes into .xlsm bytes: VBA project, content types, buttons."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    parts = {name: src.read(name) for name in src.namelist()}
    infos = {i.filename: i for i in src.infolist()}
    sheet_part = _sheet_part(parts, buttons_sheet_index)
    sheet_rels = sheet_part.replace("worksheets/", "worksheets/_rels/") + ".rels"
    if sheet_rels in parts or b"<legacyDrawing" in parts[sheet_part]:
        raise XlsmBuildError(f"{sheet_part} already has drawings or relations")

    types = parts["[Content_Types].xml"].decode("utf-8")
    if CT_WORKBOOK not in types:
        raise XlsmBuildError("workbook content type not found")
    types = types.replace(CT_WORKBOOK, CT_MACRO_WORKBOOK)
    defaults = '<Default Extension="bin" ContentType="' + CT_VBA + '"/>'
    if 'Extension="vml"' not in types:
        defaults += '<Default Extension="vml" ContentType="' + CT_VML + '"/>'
    types = types.replace("<Override ", defaults + "<Override ", 1)
    parts["[Content_Types].xml"] = types.encode("utf-8")

    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    rels = rels.replace("</Relationships>", '<Relationship Id="rIdNastavnikVba" Type="'
                        + REL_VBA + '" Target="vbaProject.bin"/></Relationships>')
    parts["xl/_rels/workbook.xml.rels"] = rels.encode("utf-8")
    parts["xl/vbaProject.bin"] = vba
    _attach_buttons(parts, sheet_part)

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = infos[name].external_attr if name in infos else 0o600 << 16
            zf.writestr(info, data)
    return out.getvalue()


def has_buttons(book: bytes) -> bool:
    """Whether a workbook carries the two buttons of school.xlsm."""
    with zipfile.ZipFile(io.BytesIO(book)) as zf:
        return BUTTONS_VML in zf.namelist()


def add_buttons(book: bytes) -> bytes:
    """The .xlsm `book` with the two buttons put back on its Инструкция sheet (openpyxl, which
    writes the roadmap import, keeps the VBA project but drops form buttons); unchanged when
    they are there or the book has no Инструкция sheet."""
    with zipfile.ZipFile(io.BytesIO(book)) as src:
        parts = {i.filename: src.read(i) for i in src.infolist()}
    if BUTTONS_VML in parts:
        return book
    workbook = parts["xl/workbook.xml"].decode("utf-8")
    names = re.findall(r'<sheet\b[^>]*?name="([^"]+)"', workbook)
    if C.INSTRUCTIONS.name not in names:
        return book
    sheet_part = _sheet_part(parts, names.index(C.INSTRUCTIONS.name))
    rels = sheet_part.replace("worksheets/", "worksheets/_rels/") + ".rels"
    if BUTTONS_VML.rsplit("/", 1)[1].encode() in parts.get(rels, b""):
        # openpyxl kept the sheet's reference to the drawing but not the drawing itself
        parts[BUTTONS_VML] = buttons_vml().encode("utf-8")
    elif b"<legacyDrawing" in parts[sheet_part] or rels in parts:
        return book  # the sheet has drawings of the user's: leave it as it is
    else:
        _attach_buttons(parts, sheet_part)
    types = parts["[Content_Types].xml"].decode("utf-8")
    if 'Extension="vml"' not in types:
        types = types.replace("<Default ", '<Default Extension="vml" ContentType="' + CT_VML
                              + '"/><Default ', 1)
        parts["[Content_Types].xml"] = types.encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out.getvalue()


def _attach_buttons(parts: dict[str, bytes], sheet_part: str) -> None:
    """The buttons' legacy drawing on `sheet_part`, with its relations and the VML part."""
    sheet_rels = sheet_part.replace("worksheets/", "worksheets/_rels/") + ".rels"
    sheet = parts[sheet_part].decode("utf-8")
    legacy = f'<legacyDrawing xmlns:r="{NS_R}" r:id="rIdNastavnikButtons"/>'
    for follower in ("<legacyDrawingHF", "<picture", "<oleObjects", "<controls",
                     "<webPublishItems", "<tableParts", "<extLst", "</worksheet>"):
        if follower in sheet:
            sheet = sheet.replace(follower, legacy + follower, 1)
            break
    parts[sheet_part] = sheet.encode("utf-8")
    parts[sheet_rels] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rIdNastavnikButtons" Type="{REL_VML}" '
        f'Target="../drawings/{BUTTONS_VML.rsplit("/", 1)[1]}"/></Relationships>'
    ).encode()
    parts[BUTTONS_VML] = buttons_vml().encode("utf-8")


def _sheet_part(parts: dict[str, bytes], index: int) -> str:
    """Zip path of the index-th sheet (0-based), through workbook.xml and its relations."""
    workbook = parts["xl/workbook.xml"].decode("utf-8")
    ids = re.findall(r'<sheet\b[^>]*?r:id="([^"]+)"', workbook)
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    targets = dict(re.findall(r'<Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels)
                   + [(b, a) for a, b in re.findall(
                       r'<Relationship\b[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)])
    target = targets[ids[index]].lstrip("/")
    return target if target.startswith("xl/") else "xl/" + target


def buttons_vml() -> str:
    """Legacy drawing with the two form buttons (the markup Excel and xlsxwriter write)."""
    shapes = []
    for k, (caption, macro) in enumerate(BUTTONS):
        left = BUTTON_LEFT_PX + k * (BUTTON_WIDTH_PX + BUTTON_GAP_PX)
        right = left + BUTTON_WIDTH_PX
        anchor = (f"{BUTTON_COLUMN}, {left}, 0, 2, {BUTTON_COLUMN}, {right}, 1, "
                  f"{BUTTON_HEIGHT_PX - 18}")
        pt = 0.75
        shapes.append(
            f'<v:shape id="_x0000_s{102401 + k}" type="#_x0000_t201" style="position:absolute;'
            f"margin-left:{(282 + left) * pt:g}pt;margin-top:{2 * pt:g}pt;"
            f"width:{BUTTON_WIDTH_PX * pt:g}pt;height:{BUTTON_HEIGHT_PX * pt:g}pt;"
            f'z-index:{k + 1};mso-wrap-style:tight" o:button="t" fillcolor="buttonFace [67]" '
            'strokecolor="windowText [64]" o:insetmode="auto">'
            '<v:fill color2="buttonFace [67]" o:detectmouseclick="t"/>'
            '<o:lock v:ext="edit" rotation="t"/>'
            '<v:textbox style="mso-direction-alt:auto" o:singleclick="f">'
            '<div style="text-align:center"><font face="Calibri" size="220" color="#000000">'
            f"{caption}</font></div></v:textbox>"
            '<x:ClientData ObjectType="Button">'
            f"<x:Anchor>{anchor}</x:Anchor>"
            "<x:PrintObject>False</x:PrintObject><x:AutoFill>False</x:AutoFill>"
            f"<x:FmlaMacro>[0]!{macro}</x:FmlaMacro>"
            "<x:TextHAlign>Center</x:TextHAlign><x:TextVAlign>Center</x:TextVAlign>"
            "</x:ClientData></v:shape>")
    return (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" '
        'xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">'
        '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="100"/></o:shapelayout>'
        '<v:shapetype id="_x0000_t201" coordsize="21600,21600" o:spt="201" '
        'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
        '<v:path shadowok="f" o:extrusionok="f" strokeok="f" fillok="f" o:connecttype="rect"/>'
        '<o:lock v:ext="edit" shapetype="t"/></v:shapetype>'
        + "".join(shapes) + "</xml>")
