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

``write_appsscript`` writes the Google Sheets client: Code.gs (the «Наставничество» menu),
xlwings.gs (xlwings.js of the installed xlwings) and the appsscript.json manifest.
"""

from __future__ import annotations

import importlib.util
import io
import re
import struct
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from workbook_templates import contract as C

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

DEFAULT_SERVER_URL = "https://ВАШ-СЕРВЕР/xlwings"
URL_PLACEHOLDER = DEFAULT_SERVER_URL

#: Fixed project GUID and encryption seed: the same build gives the same bytes.
PROJECT_ID = "{6E1A3F52-9C4B-4D27-8B1E-3A5D2C7F9E10}"
_SEED = 0x8D
_CODEPAGE = 1252
_VBA_VERSION = b"\xcc\x61\xff\xff\x00\x01\x00"  # [MS-OVBA] 2.3.4.1: no performance cache
_WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
_WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"
_STDOLE = ("stdole", "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#"
                     "C:\\Windows\\System32\\stdole2.tlb#OLE Automation")

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
    from workbook_templates.build import _write_atomically, build_school_workbook, workbook_bytes

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
    _write_atomically(out, payload)
    return out


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
@dataclass(frozen=True)
class VbaModule:
    """One module of a VBA project: its name, kind and source (code page bytes, CRLF)."""

    name: str
    kind: str  # "module", "class" or "document"
    source: bytes


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


# -------------------------------------------------------------------- the VBA project (OVBA)
def vba_project_bin(modules: list[VbaModule], project_id: str = PROJECT_ID) -> bytes:
    """A vbaProject.bin holding `modules` as source only ([MS-OVBA], [MS-CFB] version 3)."""
    streams = {
        "PROJECT": _project_stream(modules, project_id),
        "PROJECTwm": b"".join(m.name.encode("cp1252") + b"\x00" + m.name.encode("utf-16-le")
                              + b"\x00\x00" for m in modules) + b"\x00\x00",
        "VBA/_VBA_PROJECT": _VBA_VERSION,
        "VBA/dir": compress(_dir_stream(modules)),
    }
    for m in modules:
        streams[f"VBA/{m.name}"] = compress(m.source)  # MODULEOFFSET 0: no p-code
    return cfb_write(streams)


def _project_stream(modules: list[VbaModule], project_id: str) -> bytes:
    key = sum(project_id.encode("cp1252")) & 0xFF
    lines = [f'ID="{project_id}"']
    for m in modules:
        if m.kind == "document":
            lines.append(f"Document={m.name}/&H00000000")
        elif m.kind == "class":
            lines.append(f"Class={m.name}")
        else:
            lines.append(f"Module={m.name}")
    not_protected, no_password, visible = bytes(4), bytes(1), bytes([0xFF])
    lines += ['Name="VBAProject"', 'HelpContextID="0"', 'VersionCompatible32="393222000"',
              f'CMG="{encrypt(not_protected, key)}"', f'DPB="{encrypt(no_password, key)}"',
              f'GC="{encrypt(visible, key)}"',
              "", "[Host Extender Info]",
              "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000", "",
              "[Workspace]"]
    lines += [f"{m.name}=0, 0, 0, 0, C" for m in modules]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def _rec(rec_id: int, data: bytes) -> bytes:
    return struct.pack("<HI", rec_id, len(data)) + data


def _named(rec_id: int, unicode_id: int, text: str) -> bytes:
    return _rec(rec_id, text.encode("cp1252")) + _rec(unicode_id, text.encode("utf-16-le"))


def _dir_stream(modules: list[VbaModule]) -> bytes:
    """The decompressed dir stream ([MS-OVBA] 2.3.4.2)."""
    out = bytearray()
    out += _rec(0x0001, struct.pack("<I", 3))  # SYSKIND: 64-bit Windows (recompiled anyway)
    out += _rec(0x0002, struct.pack("<I", 0x0409))  # LCID
    out += _rec(0x0014, struct.pack("<I", 0x0409))  # LCIDINVOKE
    out += _rec(0x0003, struct.pack("<H", _CODEPAGE))
    out += _rec(0x0004, b"VBAProject")
    out += _named(0x0005, 0x0040, "")  # DOCSTRING
    out += _named(0x0006, 0x003D, "")  # HELPFILEPATH (1 and 2)
    out += _rec(0x0007, struct.pack("<I", 0))  # HELPCONTEXT
    out += _rec(0x0008, struct.pack("<I", 0))  # LIBFLAGS
    out += struct.pack("<HIIH", 0x0009, 4, 1, 0)  # VERSION: reserved 4, major, minor
    out += _named(0x000C, 0x003C, "")  # CONSTANTS
    name, libid = _STDOLE  # REFERENCES: OLE Automation only; Excel and VBA are implicit
    out += _named(0x0016, 0x003E, name)
    lib = libid.encode("cp1252")
    out += _rec(0x000D, struct.pack("<I", len(lib)) + lib + struct.pack("<IH", 0, 0))
    out += _rec(0x000F, struct.pack("<H", len(modules)))  # MODULES count
    out += _rec(0x0013, struct.pack("<H", 0xFFFF))  # PROJECTCOOKIE
    for m in modules:
        out += _named(0x0019, 0x0047, m.name)  # MODULENAME, MODULENAMEUNICODE
        out += _named(0x001A, 0x0032, m.name)  # MODULESTREAMNAME
        out += _named(0x001C, 0x0048, "")  # MODULEDOCSTRING
        out += _rec(0x0031, struct.pack("<I", 0))  # MODULEOFFSET: source at 0
        out += _rec(0x001E, struct.pack("<I", 0))  # MODULEHELPCONTEXT
        out += _rec(0x002C, struct.pack("<H", 0xFFFF))  # MODULECOOKIE
        out += _rec(0x0021 if m.kind == "module" else 0x0022, b"")  # MODULETYPE
        out += _rec(0x002B, b"")  # terminator
    out += _rec(0x0010, b"")  # end of dir
    return bytes(out)


def encrypt(data: bytes, project_key: int, seed: int = _SEED) -> str:
    """[MS-OVBA] 2.4.3.2 data encryption of a PROJECT stream value, as hex."""
    version = 2
    out = [seed, seed ^ version, seed ^ project_key]
    unencrypted1, encrypted1, encrypted2 = project_key, out[2], out[1]
    plain = bytes((seed & 6) // 2) + struct.pack("<I", len(data)) + data
    for byte in plain:
        enc = byte ^ ((encrypted2 + unencrypted1) & 0xFF)
        out.append(enc)
        encrypted2, encrypted1, unencrypted1 = encrypted1, enc, byte
    return bytes(out).hex().upper()


def decrypt(hex_text: str) -> bytes:
    """Inverse of `encrypt` (used by the tests and to read other projects)."""
    raw = bytes.fromhex(hex_text)
    seed, version_enc, key_enc = raw[0], raw[1], raw[2]
    project_key = seed ^ key_enc
    unencrypted1, encrypted1, encrypted2 = project_key, key_enc, version_enc
    plain = bytearray()
    for enc in raw[3:]:
        byte = enc ^ ((encrypted2 + unencrypted1) & 0xFF)
        plain.append(byte)
        encrypted2, encrypted1, unencrypted1 = encrypted1, enc, byte
    ignored = (seed & 6) // 2
    length = struct.unpack_from("<I", plain, ignored)[0]
    data = bytes(plain[ignored + 4:])
    if version_enc ^ seed != 2 or len(data) != length:
        raise ValueError("not an encrypted PROJECT value")
    return data


# ---------------------------------------------------------------- compression ([MS-OVBA] 2.4.1)
_CHUNK = 4096


def compress(data: bytes) -> bytes:
    """A CompressedContainer of `data`."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), _CHUNK):
        chunk = data[start:start + _CHUNK]
        body = _compress_chunk(chunk)
        if len(body) <= _CHUNK:
            out += struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body
        elif len(chunk) == _CHUNK:  # incompressible: stored raw
            out += struct.pack("<H", 0x3000 | (_CHUNK + 2 - 3)) + chunk
        else:  # a raw chunk decompresses to 4096 bytes: padding would change the source
            raise ValueError("incompressible data in the last chunk (not VBA source text)")
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    out = bytearray()
    heads: dict[bytes, list[int]] = {}
    pos, n = 0, len(chunk)

    def remember(upto: int) -> None:
        for p in range(remember.next, min(upto, n - 2)):  # type: ignore[attr-defined]
            heads.setdefault(chunk[p:p + 3], []).append(p)
        remember.next = max(remember.next, upto)  # type: ignore[attr-defined]

    remember.next = 0  # type: ignore[attr-defined]
    while pos < n:
        flag_at = len(out)
        out.append(0)
        for bit in range(8):
            if pos >= n:
                break
            remember(pos)
            length, offset = 0, 0
            if pos and pos + 3 <= n:
                bit_count = max((pos - 1).bit_length(), 4)
                max_length = min((0xFFFF >> bit_count) + 3, n - pos)
                for cand in reversed(heads.get(chunk[pos:pos + 3], [])[-64:]):
                    m = 3
                    while m < max_length and chunk[cand + m] == chunk[pos + m]:
                        m += 1
                    if m > length:
                        length, offset = m, pos - cand
                        if m == max_length:
                            break
            if length >= 3:
                token = ((offset - 1) << (16 - bit_count)) | (length - 3)
                out += struct.pack("<H", token)
                out[flag_at] |= 1 << bit
                pos += length
            else:
                out.append(chunk[pos])
                pos += 1
    return bytes(out)


def decompress(data: bytes) -> bytes:
    """The bytes of a CompressedContainer ([MS-OVBA] 2.4.1.3.1)."""
    if not data or data[0] != 1:
        raise ValueError("not a compressed container")
    out = bytearray()
    i = 1
    while i < len(data):
        header = struct.unpack_from("<H", data, i)[0]
        size = (header & 0x0FFF) + 3
        body = data[i + 2:i + size]
        i += size
        if not header & 0x8000:
            out += body[:_CHUNK]
            continue
        start, j = len(out), 0
        while j < len(body):
            flags = body[j]
            j += 1
            for bit in range(8):
                if j >= len(body):
                    break
                if not flags >> bit & 1:
                    out.append(body[j])
                    j += 1
                    continue
                token = struct.unpack_from("<H", body, j)[0]
                j += 2
                bit_count = max((len(out) - start - 1).bit_length(), 4)
                offset = (token >> (16 - bit_count)) + 1
                length = (token & (0xFFFF >> bit_count)) + 3
                for _ in range(length):
                    out.append(out[-offset])
    return bytes(out)


def vba_module_sources(vba_bin: bytes, decode: bool = True) -> dict[str, str | bytes]:
    """Module name -> source of a vbaProject.bin (text in the project's code page)."""
    streams = cfb_read(vba_bin)
    d = decompress(streams["VBA/dir"])
    i, codepage, modules, current = 0, _CODEPAGE, [], {}
    while i + 6 <= len(d):
        rec_id, size = struct.unpack_from("<HI", d, i)
        if rec_id == 0x0009:  # PROJECTVERSION: its "size" is a reserved 4 + 6 bytes
            size = 6
        value = d[i + 6:i + 6 + size]
        i += 6 + size
        if rec_id == 0x0003:
            codepage = struct.unpack("<H", value)[0]
        elif rec_id == 0x0019:
            current = {"name": value}
        elif rec_id == 0x001A:
            current["stream"] = value
        elif rec_id == 0x0031:
            current["offset"] = struct.unpack("<I", value)[0]
            modules.append(current)
    encoding = f"cp{codepage}"
    out: dict[str, str | bytes] = {}
    for m in modules:
        name = m["name"].decode(encoding)
        raw = streams["VBA/" + m.get("stream", m["name"]).decode(encoding)]
        source = decompress(raw[m["offset"]:])
        out[name] = source.decode(encoding) if decode else source
    return out


# ---------------------------------------------------------------- compound file ([MS-CFB] v3)
_SECTOR, _MINI, _CUTOFF = 512, 64, 4096
_FREE, _END, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    children: list[_Entry] | None = None
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    black: bool = True
    start: int = _END
    index: int = 0


def cfb_write(streams: dict[str, bytes]) -> bytes:
    """A compound file holding `streams` ("STORAGE/NAME" paths) with empty timestamps."""
    root = _Entry("Root Entry", 5, children=[])
    for path, data in streams.items():
        parent = root
        *storages, name = path.split("/")
        for s in storages:
            found = next((c for c in parent.children if c.name == s and c.kind == 1), None)
            if found is None:
                found = _Entry(s, 1, children=[])
                parent.children.append(found)
            parent = found
        parent.children.append(_Entry(name, 2, data=data))
    entries: list[_Entry] = []

    def number(e: _Entry) -> None:
        e.index = len(entries)
        entries.append(e)
        for c in e.children or []:
            number(c)

    number(root)
    for e in entries:
        if e.children:
            n = len(e.children)
            e.child = _tree(sorted(e.children, key=_cfb_key), 1, n.bit_length(),
                            (n + 1) & n == 0)
    small = [e for e in entries if e.kind == 2 and len(e.data) < _CUTOFF]
    big = [e for e in entries if e.kind == 2 and len(e.data) >= _CUTOFF]
    mini = bytearray()
    minifat: list[int] = []
    for e in small:
        count = -(-len(e.data) // _MINI)
        e.start = len(minifat) if count else _END
        minifat += [len(minifat) + k + 1 for k in range(count - 1)] + ([_END] if count else [])
        mini += e.data.ljust(count * _MINI, b"\x00")
    n_dir = -(-len(entries) // 4)
    n_minifat = -(-len(minifat) // 128)
    n_mini = -(-len(mini) // _SECTOR)
    n_big = [-(-len(e.data) // _SECTOR) for e in big]
    rest = n_dir + n_minifat + n_mini + sum(n_big)
    n_fat = 1
    while n_fat * 128 < n_fat + rest:
        n_fat += 1
    if n_fat > 109:
        raise ValueError("compound file too large for a header-only DIFAT")
    fat = [_FATSECT] * n_fat
    chains: list[tuple[int, int]] = []  # (first sector, count)

    def chain(count: int) -> int:
        first = len(fat)
        fat.extend(first + k + 1 for k in range(count - 1))
        if count:
            fat.append(_END)
        chains.append((first, count))
        return first if count else _END

    dir_start = chain(n_dir)
    minifat_start = chain(n_minifat)
    root.start = chain(n_mini)
    for e, count in zip(big, n_big, strict=True):
        e.start = chain(count)
    fat += [_FREE] * (n_fat * 128 - len(fat))
    header = bytearray(_SECTOR)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHHH", header, 24, 0x003E, 0x0003, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, n_fat, dir_start, 0, _CUTOFF,
                     minifat_start if n_minifat else _END, n_minifat, _END, 0)
    difat = list(range(n_fat)) + [_FREE] * (109 - n_fat)
    struct.pack_into("<109I", header, 76, *difat)
    root.data = bytes(mini)
    body = bytearray(header)
    body += struct.pack(f"<{len(fat)}I", *fat)
    directory = b"".join(_dir_entry(e) for e in entries)
    directory += _unused_entry() * (n_dir * 4 - len(entries))
    body += directory
    body += _pad(struct.pack(f"<{len(minifat)}I", *minifat), _FREE)
    body += _pad(bytes(mini))
    for e in big:
        body += _pad(e.data)
    return bytes(body)


def _pad(data: bytes, fill: int | None = None) -> bytes:
    missing = -len(data) % _SECTOR
    if fill is None:
        return data + b"\x00" * missing
    return data + struct.pack("<I", fill) * (missing // 4)


def _cfb_key(e: _Entry) -> tuple[int, str]:
    return len(e.name), e.name.upper()


def _tree(nodes: list[_Entry], depth: int, lowest: int, perfect: bool) -> int:
    """Link `nodes` (sorted) as a red-black tree by median splits; returns the root's index.

    Median splits fill every level but the lowest; colouring the lowest level red when it is
    not full keeps the same number of black nodes on every path, as [MS-CFB] 2.6.4 requires.
    """
    if not nodes:
        return _NOSTREAM
    mid = len(nodes) // 2
    node = nodes[mid]
    node.black = perfect or depth < lowest
    node.left = _tree(nodes[:mid], depth + 1, lowest, perfect)
    node.right = _tree(nodes[mid + 1:], depth + 1, lowest, perfect)
    return node.index


def _dir_entry(e: _Entry) -> bytes:
    name = e.name.encode("utf-16-le")
    if len(name) > 62:
        raise ValueError(f"compound file name too long: {e.name}")
    out = bytearray(128)
    out[0:len(name)] = name
    size = len(e.data) if e.kind != 1 else 0
    start = e.start if e.kind != 1 else 0
    struct.pack_into("<HBBIII", out, 64, len(name) + 2, e.kind, 1 if e.black else 0, e.left,
                     e.right, e.child)
    struct.pack_into("<IQ", out, 116, start if (e.kind != 5 or size) else _END, size)
    return bytes(out)


def _unused_entry() -> bytes:
    out = bytearray(128)
    struct.pack_into("<III", out, 68, _NOSTREAM, _NOSTREAM, _NOSTREAM)
    return bytes(out)


def cfb_read(data: bytes) -> dict[str, bytes]:
    """Every stream of a compound file, by "STORAGE/NAME" path (enough for VBA projects)."""
    if data[:8] != bytes.fromhex("D0CF11E0A1B11AE1"):
        raise ValueError("not a compound file")
    sector = 1 << struct.unpack_from("<H", data, 30)[0]
    mini_size = 1 << struct.unpack_from("<H", data, 32)[0]
    n_fat, dir_start = struct.unpack_from("<II", data, 44)
    cutoff, minifat_start, _n_minifat, difat_start, n_difat = struct.unpack_from(
        "<IIIII", data, 56)
    difat = list(struct.unpack_from("<109I", data, 76))
    s = difat_start
    for _ in range(n_difat):
        values = struct.unpack_from(f"<{sector // 4}I", data, sector + s * sector)
        difat += values[:-1]
        s = values[-1]

    def sector_bytes(k: int) -> bytes:
        return data[sector + k * sector: sector + (k + 1) * sector]

    fat: list[int] = []
    for k in difat[:n_fat]:
        fat += struct.unpack(f"<{sector // 4}I", sector_bytes(k))

    def read_chain(start: int) -> bytes:
        out, k, seen = bytearray(), start, 0
        while k < _FATSECT and seen <= len(fat):
            out += sector_bytes(k)
            k, seen = fat[k], seen + 1
        return bytes(out)

    directory = read_chain(dir_start)
    entries = []
    for k in range(len(directory) // 128):
        raw = directory[k * 128:(k + 1) * 128]
        name_len, kind, _colour, left, right, child = struct.unpack_from("<HBBIII", raw, 64)
        start, size = struct.unpack_from("<IQ", raw, 116)
        entries.append((raw[:max(name_len - 2, 0)].decode("utf-16-le"), kind, left, right,
                        child, start, size & 0xFFFFFFFF))
    root = entries[0]
    mini_stream = read_chain(root[5]) if root[5] < _FATSECT else b""
    minifat: list[int] = []
    if minifat_start < _FATSECT:
        raw = read_chain(minifat_start)
        minifat = list(struct.unpack(f"<{len(raw) // 4}I", raw))

    def read_mini(start: int, size: int) -> bytes:
        out, k = bytearray(), start
        while k < _FATSECT and len(out) < size:
            out += mini_stream[k * mini_size:(k + 1) * mini_size]
            k = minifat[k]
        return bytes(out[:size])

    streams: dict[str, bytes] = {}

    def walk(k: int, prefix: str, depth: int = 0) -> None:
        if k == _NOSTREAM or depth > len(entries):
            return
        name, kind, left, right, child, start, size = entries[k]
        walk(left, prefix, depth + 1)
        walk(right, prefix, depth + 1)
        path = f"{prefix}{name}"
        if kind == 2:
            streams[path] = (read_mini(start, size) if size < cutoff
                             else read_chain(start)[:size])
        elif kind == 1:
            walk(child, path + "/", depth + 1)

    walk(root[4], "")
    return streams


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

    from workbook_templates.build import FIXED_TIMESTAMP

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = infos[name].external_attr if name in infos else 0o600 << 16
            zf.writestr(info, data)
    return out.getvalue()


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
