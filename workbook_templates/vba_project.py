"""A VBA project written from source ([MS-OVBA]) in a Compound File ([MS-CFB] version 3),
and read back (for tests and for the Dictionary class taken from xlwings' own workbook).

Module source is stored compressed with no compiled p-code, and the ``_VBA_PROJECT`` stream
carries version 0xFFFF, which tells Office to compile the project from source when the file is
opened; this is how a writer other than Office is meant to write a project. The output is
byte-stable.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

#: Fixed project GUID and encryption seed: the same build gives the same bytes.
PROJECT_ID = "{6E1A3F52-9C4B-4D27-8B1E-3A5D2C7F9E10}"
_SEED = 0x8D
_CODEPAGE = 1252
_VBA_VERSION = b"\xcc\x61\xff\xff\x00\x01\x00"  # [MS-OVBA] 2.3.4.1: no performance cache
_STDOLE = ("stdole", "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#"
                     "C:\\Windows\\System32\\stdole2.tlb#OLE Automation")
#: The Microsoft Office object library (msoPicture and the like), which projects Excel makes
#: reference too; xlwings' Remote module needs it (as in xlwings.xlam). Office finds the
#: library by its GUID and version; the path is a hint.
OFFICE_LIBRARY = ("Office", "*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#C:\\Program Files"
                            "\\Common Files\\Microsoft Shared\\OFFICE16\\MSO.DLL#Microsoft "
                            "Office 16.0 Object Library")



@dataclass(frozen=True)
class VbaModule:
    """One module of a VBA project: its name, kind and source (code page bytes, CRLF)."""

    name: str
    kind: str  # "module", "class" or "document"
    source: bytes


# -------------------------------------------------------------------- the VBA project (OVBA)
def vba_project_bin(modules: list[VbaModule], project_id: str = PROJECT_ID,
                    references: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A vbaProject.bin holding `modules` as source only ([MS-OVBA], [MS-CFB] version 3);
    `references`: (name, libid) of type libraries beyond OLE Automation."""
    streams = {
        "PROJECT": _project_stream(modules, project_id),
        "PROJECTwm": b"".join(m.name.encode("cp1252") + b"\x00" + m.name.encode("utf-16-le")
                              + b"\x00\x00" for m in modules) + b"\x00\x00",
        "VBA/_VBA_PROJECT": _VBA_VERSION,
        "VBA/dir": compress(_dir_stream(modules, (_STDOLE, *references))),
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


def _dir_stream(modules: list[VbaModule], references: tuple[tuple[str, str], ...]) -> bytes:
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
    for name, libid in references:  # REFERENCES registered; Excel and VBA are implicit
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
