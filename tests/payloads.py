"""Payloads shaped exactly as the xlwings clients send them, built from real workbooks.

xlwings.js (Google Apps Script, xlwings 0.37.8, ``runPython``) posts::

    {"client": "Google Apps Script", "version": "<xlwings version>",
     "book": {"name": <spreadsheet name>, "active_sheet_index": <0-based>,
              "selection": <A1 notation of the active range>},
     "names": [<named ranges: name, sheet_index, address, scope_sheet_name,
                scope_sheet_index, book_scope>],
     "sheets": [{"name": ..., "values": <2-D array>, "pictures": [...], "tables": []}, ...]}

* every sheet, hidden ones included, in tab order;
* ``values`` is ``getRange(1, 1, lastRow, lastColumn).getValues()``: a rectangle from A1 to the
  last row and column holding content (``[[""]]`` for an empty sheet, ``[[]]`` for an excluded
  one);
* empty cells are ``""``; numbers are JSON numbers (``6``, not ``6.0``); booleans are
  ``true``/``false``; text stays text;
* date cells are ISO strings of the wall-clock time in the spreadsheet's time zone written
  with a ``Z``: a date 15.09.2026 arrives as ``"2026-09-15T00:00:00.000Z"``;
* defined names that are constants (our NASTAVNIK_TEMPLATE_VERSION) are not named ranges and
  are not sent.

``bench_roundtrip`` measures the button round trip against a real ``nastavnik serve``.
"""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

# Before xlwings is imported anywhere in the test process (see addin.web.remote).
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

NASTAVNIK = Path(sys.executable).parent / "nastavnik"
GOOGLE = "Google Apps Script"


def xlwings_version() -> str:
    from importlib.metadata import version

    return version("xlwings")


def js_value(v: Any) -> Any:
    """One cell as JSON.stringify(getValues()) writes it."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return v
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    if isinstance(v, date):
        return f"{v.isoformat()}T00:00:00.000Z"
    if isinstance(v, dtime):  # a time cell is a Date on 30.12.1899
        return f"1899-12-30T{v.strftime('%H:%M:%S')}.000Z"
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def sheet_values(rows: list[list[Any]]) -> list[list[Any]]:
    """The rectangle A1..(last row with content, last column with content), JS-encoded."""
    cells = [[js_value(v) for v in row] for row in rows]
    last_row = max((i for i, r in enumerate(cells, 1) if any(v != "" for v in r)), default=0)
    last_col = max((j for r in cells for j, v in enumerate(r, 1) if v != ""), default=0)
    if last_row == 0 or last_col == 0:
        return [[""]]
    return [(r + [""] * last_col)[:last_col] for r in cells[:last_row]]


def payload_from_values(sheets: dict[str, list[list[Any]]], *, name: str = "Книга",
                        client: str = GOOGLE, active_sheet_index: int = 0,
                        selection: str = "A1") -> dict[str, Any]:
    """A payload of the given sheets (name -> rows of Python values), in the given order."""
    return {
        "client": client,
        "version": xlwings_version(),
        "book": {"name": name, "active_sheet_index": active_sheet_index,
                 "selection": selection},
        "names": [],
        "sheets": [{"name": sheet, "values": sheet_values(rows), "pictures": [], "tables": []}
                   for sheet, rows in sheets.items()],
    }


def payload_from_xlsx(path: str | Path, *, client: str = GOOGLE,
                      name: str | None = None) -> dict[str, Any]:
    """The payload Apps Script sends for `path` imported into Google Sheets."""
    import python_calamine as pc

    path = Path(path)
    book = pc.CalamineWorkbook.from_path(str(path))
    sheets = {n: book.get_sheet_by_name(n).to_python(skip_empty_area=False)
              for n in book.sheet_names}
    return payload_from_values(sheets, name=name or path.stem, client=client)


def actions_of(result: dict[str, Any], func: str | None = None) -> list[dict[str, Any]]:
    """The actions of a book.json() answer, optionally of one function."""
    return [a for a in result["actions"] if func is None or a["func"] == func]


def sheet_position(payload: dict[str, Any], sheet: str) -> int:
    return [s["name"] for s in payload["sheets"]].index(sheet)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`nastavnik serve` in a subprocess, its log in a file (context manager)."""

    def __init__(self, workdir: Path, token: str | None = "test-token-7f3a9c",
                 extra: tuple[str, ...] = ()) -> None:
        self.workdir = Path(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        self.log_path = self.workdir / "server.log"
        self.extra = extra
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        args = [str(NASTAVNIK), "serve", "--port", str(self.port), *self.extra]
        if self.token is not None:
            token_file = self.workdir / "token.txt"
            token_file.write_text(self.token + "\n", encoding="utf-8")
            args += ["--token-file", str(token_file)]
        self._log = self.log_path.open("wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=self.workdir)
        self._wait()
        return self

    def _wait(self, timeout: float = 30) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def post(self, action: str, body: bytes | dict, token: str | None = "default",
             timeout: float = 60):
        import httpx

        headers = {"Content-Type": "application/json"}
        token = self.token if token == "default" else token
        if token is not None:
            headers["Authorization"] = token
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        return httpx.post(f"{self.url}/xlwings/{action}", content=data, headers=headers,
                          timeout=timeout)


def big_school_xlsx(out: Path, n_participants: int = 5000, seed: int = 5000) -> Path:
    """A clean school of about `n_participants` people written as a template workbook."""
    from workbook_templates.build import write_school_workbook
    from workbook_templates.demo import make_school

    data = make_school("ОО-500", random.Random(seed), n_participants=n_participants)
    return write_school_workbook(out, data)


def bench_roundtrip(n_participants: int = 5000, repeats: int = 5) -> dict[str, Any]:
    """Time the «Проверить» round trip of a large school over loopback.

    The payload is built once; each repeat is one POST /xlwings/validate to a real
    `nastavnik serve` (the first is a warm-up and is not counted). Returns the figures.
    """
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        xlsx = big_school_xlsx(tmp_path / "big.xlsx", n_participants)
        payload = payload_from_xlsx(xlsx)
        body = json.dumps(payload, ensure_ascii=False).encode()
        rows = sum(len(s["values"]) for s in payload["sheets"])
        times = []
        with Server(tmp_path) as server:
            for i in range(repeats + 1):
                t0 = time.perf_counter()
                response = server.post("validate", body)
                elapsed = time.perf_counter() - t0
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
                if i:
                    times.append(elapsed)
            actions = len(response.json()["actions"])
    return {
        "n_participants": n_participants,
        "rows": rows,
        "payload_mb": round(len(body) / 1e6, 2),
        "actions": actions,
        "roundtrip_s_best": round(min(times), 3),
        "roundtrip_s_median": round(statistics.median(times), 3),
        "target_s": 1.5,
    }


# --------------------------------------------------------------- Google Sheets, simulated
#: A fake of the Apps Script services Code.gs and xlwings.gs use (SpreadsheetApp, UrlFetchApp
#: through curl, PropertiesService), run by Node.js: the real client code against the real
#: server. Cells given as {"d": "YYYY-MM-DD"} become Date objects at local midnight, as
#: getValues() returns date cells; run it with TZ set to the spreadsheet's time zone.
APPS_SCRIPT_HARNESS = r"""// Fake Google Sheets: one menu function of Code.gs, real server.
// argv: <dir with Code.gs and xlwings.gs> <input.json> <output.json>
"use strict";
const fs = require("fs");
const vm = require("vm");
const cp = require("child_process");

const [dir, inputPath, outputPath] = process.argv.slice(2);
const input = JSON.parse(fs.readFileSync(inputPath, "utf8"));
const alerts = [];
const toasts = [];
let active = 0;
let nextId = 1000;

function decode(v) {
  if (v && typeof v === "object" && "d" in v) {
    if (v.d.length > 10) return new Date(v.d);
    const [y, m, d] = v.d.split("-").map(Number);
    return new Date(y, m - 1, d); // local midnight (TZ = the spreadsheet's time zone)
  }
  return v === null || v === undefined ? "" : v;
}

function makeSheet(name, rows) {
  const sheet = {
    name, id: nextId++, rows: rows.map((r) => r.map(decode)), bg: {}, links: {},
    getName: () => sheet.name,
    getSheetId: () => sheet.id,
    getIndex: () => book.sheets.indexOf(sheet) + 1,
    getLastRow: () => {
      for (let r = sheet.rows.length; r > 0; r--) {
        if (sheet.rows[r - 1].some((v) => v !== "")) return r;
      }
      return 0;
    },
    getLastColumn: () => Math.max(0, ...sheet.rows.map((r) => {
      for (let c = r.length; c > 0; c--) if (r[c - 1] !== "") return c;
      return 0;
    })),
    getRange: (row, col, nr = 1, nc = 1) => makeRange(sheet, row, col, nr, nc),
    getImages: () => [],
    activate: () => { active = book.sheets.indexOf(sheet); },
    get: (r, c) => ((sheet.rows[r - 1] || [])[c - 1] ?? ""),
    put: (r, c, v) => {
      while (sheet.rows.length < r) sheet.rows.push([]);
      const row = sheet.rows[r - 1];
      while (row.length < c) row.push("");
      row[c - 1] = v;
    },
  };
  return sheet;
}

function makeRange(sheet, row, col, nr, nc) {
  const cells = (f) => {
    for (let i = 0; i < nr; i++) for (let j = 0; j < nc; j++) f(row + i, col + j, i, j);
  };
  const range = {
    getSheet: () => sheet,
    getA1Notation: () => "A1",
    getValues: () => {
      const out = [];
      for (let i = 0; i < nr; i++) {
        out.push([]);
        for (let j = 0; j < nc; j++) out[i].push(sheet.get(row + i, col + j));
      }
      return out;
    },
    getDisplayValues: () => range.getValues().map((r) => r.map((v) => String(v))),
    setValues: (values) => {
      if (values.length !== nr || values.some((r) => r.length !== nc)) {
        throw new Error("setValues: wrong dimensions");
      }
      // A leading apostrophe keeps text as text and is not part of the value.
      cells((r, c, i, j) => {
        const v = values[i][j];
        sheet.put(r, c, typeof v === "string" && v.startsWith("'") ? v.slice(1) : v);
      });
    },
    setBackground: (color) => cells((r, c) => {
      if (color === null) delete sheet.bg[`${r},${c}`]; else sheet.bg[`${r},${c}`] = color;
    }),
    clear: () => cells((r, c) => {
      sheet.put(r, c, ""); delete sheet.bg[`${r},${c}`]; delete sheet.links[`${r},${c}`];
    }),
    clearContent: () => cells((r, c) => sheet.put(r, c, "")),
    clearFormat: () => cells((r, c) => { delete sheet.bg[`${r},${c}`]; }),
    activate: () => sheet.activate(),
    setRichTextValues: (values) => cells((r, c, i, j) => {
      const v = values[i][j];
      sheet.put(r, c, v.text);
      if (v.link) sheet.links[`${r},${c}`] = v.link; else delete sheet.links[`${r},${c}`];
    }),
    setRichTextValue: (v) => range.setRichTextValues([[v]]),
  };
  return range;
}

const book = {
  sheets: input.sheets.map((s) => Object.assign(makeSheet(s.name, s.rows),
    { bg: s.bg || {}, links: s.links || {} })),
  getName: () => input.name,
  getSheets: () => book.sheets.slice(),
  getSheetByName: (n) => book.sheets.find((s) => s.name === n) || null,
  getActiveSheet: () => book.sheets[active],
  getActiveRange: () => makeRange(book.sheets[active], 1, 1, 1, 1),
  getNamedRanges: () => [],
  getSpreadsheetTimeZone: () => input.tz,
  insertSheet: (name, index) => {
    const s = makeSheet(name, []);
    book.sheets.splice(index, 0, s);
    return s;
  },
  toast: (msg) => toasts.push(msg),
};

const ui = {
  ButtonSet: { OK: "OK", OK_CANCEL: "OK_CANCEL", YES_NO: "YES_NO", YES_NO_CANCEL: "YNC" },
  Button: { OK: "ok", CANCEL: "cancel", YES: "yes", NO: "no" },
  alert: (title, prompt) => { alerts.push({ title, prompt }); return "ok"; },
  createMenu: () => ({ addItem() { return this; }, addSeparator() { return this; },
    addToUi() {} }),
};

function richText() {
  const v = { text: "", link: null };
  const b = { setText: (t) => { v.text = t; return b; },
    setLinkUrl: (l) => { v.link = l; return b; }, build: () => ({ ...v }) };
  return b;
}

const context = {
  console,
  SpreadsheetApp: { getActive: () => book, getUi: () => ui, flush: () => {},
    newRichTextValue: richText },
  PropertiesService: { getScriptProperties: () => ({
    getProperty: (k) => (k in input.props ? input.props[k] : null) }) },
  UrlFetchApp: { fetch: (url, options) => {
    const args = ["-s", "-X", "POST", url, "--data-binary", "@-", "-w", "\n%{http_code}",
      "-H", "Content-Type: " + options.contentType];
    for (const [k, v] of Object.entries(options.headers)) args.push("-H", `${k}: ${v}`);
    const out = cp.execFileSync("curl", args, { input: options.payload,
      maxBuffer: 1 << 28 }).toString("utf8");
    const cut = out.lastIndexOf("\n");
    return { getResponseCode: () => Number(out.slice(cut + 1)),
      getContentText: () => out.slice(0, cut) };
  } },
};
vm.createContext(context);
for (const file of ["xlwings.gs", "Code.gs"]) {
  vm.runInContext(fs.readFileSync(`${dir}/${file}`, "utf8"), context, { filename: file });
}
vm.runInContext(`${input.call}()`, context);

const iso = (v) => (v instanceof Date ? { d: v.toISOString() } : v);
fs.writeFileSync(outputPath, JSON.stringify({
  alerts, toasts, active,
  sheets: book.sheets.map((s) => ({ name: s.name, id: s.id, rows: s.rows.map((r) => r.map(iso)),
    bg: s.bg, links: s.links })),
}));
"""


def apps_script_sheets(path: str | Path) -> list[dict[str, Any]]:
    """The sheets of a workbook as the fake Google Sheets holds them (dates as {"d": ...})."""
    import python_calamine as pc

    book = pc.CalamineWorkbook.from_path(str(path))
    out = []
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        out.append({"name": name, "rows": [
            [{"d": v.isoformat()[:10]} if isinstance(v, date) else v for v in r] for r in rows]})
    return out


def run_apps_script(workdir: Path, sheets: list[dict[str, Any]], call: str,
                    props: dict[str, str], tz: str = "Europe/Moscow",
                    server_url: str = "https://ВАШ-СЕРВЕР/xlwings") -> dict[str, Any]:
    """Run the menu function `call` of Code.gs in the fake Google Sheets; its final state.

    Returns {"alerts": [{title, prompt}], "toasts", "active", "sheets": [{name, id, rows, bg,
    links}]} where bg and links are keyed "row,column" (1-based).
    """
    import shutil

    from workbook_templates.xlsm import write_appsscript

    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise FileNotFoundError("node")
    workdir.mkdir(parents=True, exist_ok=True)
    gas = workdir / "gas"
    write_appsscript(gas, server_url)
    (workdir / "harness.js").write_text(APPS_SCRIPT_HARNESS, encoding="utf-8")
    source = workdir / "in.json"
    result = workdir / "out.json"
    source.write_text(json.dumps({"name": "Книга", "tz": tz, "props": props, "sheets": sheets,
                                  "call": call}, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.run([node, str(workdir / "harness.js"), str(gas), str(source),
                           str(result)], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, TZ=tz))
    if proc.returncode != 0:
        raise RuntimeError(f"node failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(result.read_text(encoding="utf-8"))


if __name__ == "__main__":
    print(json.dumps(bench_roundtrip(int(sys.argv[1]) if len(sys.argv) > 1 else 5000),
                     indent=1))
