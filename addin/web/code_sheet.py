"""The printable list of access codes (`nastavnik serve add-school-codes --out коды.xlsx`).

One block per organisation: its name, its code ОО, the access code, the page's address and a
QR code of the address (segno), four blocks to an A4 page, never a block split across pages,
one page wide. The sheet says that the codes are shown only this once. The workbook holds the
codes in clear text: it is to be printed and deleted, never mailed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import segno
import xlsxwriter

from addin.atomic_file import write_bytes

SHEET = "Коды доступа"
BLOCKS_PER_PAGE = 4
ROWS_PER_BLOCK = 7
A4 = 9  # the paper code of A4 in the xlsx page setup
ONCE_RU = ("Коды доступа показаны только в этом файле и только один раз: на сервере хранятся "
           "лишь их хэши. Распечатайте, передайте каждой организации её лист и удалите файл.")
HOW_RU = ("Откройте адрес в браузере (или наведите камеру телефона на QR-код), введите код ОО "
          "и код доступа. Код — как пароль: не пересылайте его по почте и в мессенджерах.")


@dataclass(frozen=True)
class CodeLetter:
    """What one organisation is given."""

    school_code: str
    name: str
    secret: str


def qr_png(url: str, scale: int = 4) -> bytes:
    """A QR code of `url` as PNG (segno writes PNG itself, no Pillow)."""
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=scale, border=2)
    return out.getvalue()


def write_code_sheet(path: Path, letters: list[CodeLetter], url: str) -> None:
    """Write the printable workbook of `letters` for the page at `url` (mode 0600: it holds
    the codes in clear text; written atomically, so no half list is left)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet(SHEET)
    f = _formats(book)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 42)
    ws.set_column(2, 2, 20)
    ws.set_paper(A4)
    ws.set_portrait()
    ws.set_margins(left=0.6, right=0.6, top=0.8, bottom=0.8)
    ws.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
    ws.set_header(f"&L&8{SHEET}&R&8стр. &P из &N")
    ws.set_footer("&C&8Коды показаны только один раз. Храните как пароль.")
    ws.merge_range(0, 0, 0, 2, ONCE_RU, f["once"])
    ws.set_row(0, 48)
    qr = qr_png(url)
    breaks = []
    for i, letter in enumerate(letters):
        top = 1 + i * ROWS_PER_BLOCK
        if i and i % BLOCKS_PER_PAGE == 0:
            breaks.append(top)
        _block(ws, f, top, letter, url, qr)
    if breaks:
        ws.set_h_pagebreaks(breaks)
    last = 1 + len(letters) * ROWS_PER_BLOCK
    ws.print_area(0, 0, max(last - 1, 0), 2)
    book.close()
    write_bytes(Path(path), buffer.getvalue(), mode=0o600, durable=True)


def _block(ws, f: dict, top: int, letter: CodeLetter, url: str, qr: bytes) -> None:  # noqa: ANN001
    ws.merge_range(top, 0, top, 2, letter.name or letter.school_code, f["name"])
    ws.set_row(top, 30)
    rows = (("Код ОО", letter.school_code, f["value"]),
            ("Код доступа", letter.secret, f["secret"]),
            ("Адрес страницы", url, f["value"]))
    for n, (label, value, fmt) in enumerate(rows, 1):
        ws.write(top + n, 0, label, f["label"])
        ws.write_string(top + n, 1, value, fmt)
        ws.set_row(top + n, 26)
    ws.merge_range(top + 4, 0, top + 5, 1, HOW_RU, f["how"])
    ws.set_row(top + 6, 14, f["gap"])
    ws.insert_image(top + 1, 2, "qr.png", {"image_data": io.BytesIO(qr), "x_offset": 10,
                                           "y_offset": 2, "object_position": 1,
                                           "description": f"QR-код адреса {url}"})


def _formats(book) -> dict:  # noqa: ANN001
    wrap = {"text_wrap": True, "valign": "vcenter", "font_name": "Arial"}
    return {
        "once": book.add_format({**wrap, "bold": True, "font_size": 11, "border": 2}),
        "name": book.add_format({**wrap, "bold": True, "font_size": 13, "top": 2}),
        "label": book.add_format({**wrap, "font_size": 10, "font_color": "#555555"}),
        "value": book.add_format({**wrap, "font_size": 11}),
        "secret": book.add_format({"valign": "vcenter", "font_name": "Courier New",
                                   "font_size": 16, "bold": True}),
        "how": book.add_format({**wrap, "font_size": 9, "italic": True}),
        "gap": book.add_format({"bottom": 4}),
    }
