"""`nastavnik sync` over a REAL WebDAV server (wsgidav with Basic authentication on 127.0.0.1,
tests/webdav_server.py): the demo municipality and hostile files in a shared folder, as a centre
keeps them on Яндекс Диск or Nextcloud.

Covered: the statuses of a folder (missing, forbidden, not a workbook, damaged, too large —
refused before download —, a zip bomb), a file replaced during the sync, a slow file and a
server that stops answering (the run goes on), a 401, a re-sync that downloads only the changed
file (counted on the server's side), and no password in any log line, the master or the
history.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import logging
import shutil
import socket
import sqlite3
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sync import master as M
from tests.cli import run
from tests.webdav_server import LOGIN, PASSWORD, DavServer
from workbook_templates.build import write_school_workbook
from workbook_templates.contract import REGISTRY_HEADER
from workbook_templates.demo import generate_municipality, write_municipality

PERIOD = "2026-11"
FOLDER = "Наставничество"
#: Extra files beside the demo schools: code -> (file name, what it is).
FORBIDDEN, NOT_A_BOOK, HUGE, BOMB, SILENT = "ОО-091", "ОО-092", "ОО-093", "ОО-094", "ОО-095"
EXTRA = {FORBIDDEN: "Закрытый доступ.xlsx", NOT_A_BOOK: "Не книга.xlsx",
         HUGE: "Огромный.xlsx", BOMB: "Бомба.xlsx", SILENT: "Молчит.xlsx"}
TIMEOUT = "0.5"  # seconds without an answer (--webdav-timeout)


def sheet(path: Path, name: str) -> dict[str, dict]:
    rows = list(load_workbook(path, read_only=True)[name].iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if r and r[0] == "Код ОО")
    return {r[0]: dict(zip(rows[at], r, strict=False)) for r in rows[at + 1:] if r and r[0]}


def zip_bomb(base: bytes, megabytes: int = 450) -> bytes:
    """A workbook with one more member of zeros, compressed a thousandfold."""
    out = io.BytesIO(base)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("xl/media/bomb.bin", "w", force_zip64=True) as fh:
            for _ in range(megabytes):
                fh.write(bytes(1024 * 1024))
    return out.getvalue()


def sync(registry: Path, out: Path, *args: object) -> object:
    return run("sync", "--registry", registry, "--period", PERIOD, "--out", out,
               "--webdav-timeout", TIMEOUT, *args)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """The municipality on the WebDAV server and on disk, one sync of each, and a re-sync."""
    tmp = tmp_path_factory.mktemp("webdav")
    muni = generate_municipality(n_schools=8)
    disk = write_municipality(muni, tmp / "disk")
    schools = disk / "schools"
    ok = [s for s in muni.schools if s.submission == "ok"]
    shutil.copy(schools / f"{ok[0].code}.xlsx", schools / EXTRA[FORBIDDEN])
    shutil.copy(schools / f"{ok[1].code}.xlsx", schools / EXTRA[SILENT])
    (schools / EXTRA[NOT_A_BOOK]).write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>>\n")
    with (schools / EXTRA[HUGE]).open("wb") as fh:  # 200 MB, sparse: costs no disk
        fh.truncate(200 * 1024 * 1024)
    (schools / EXTRA[BOMB]).write_bytes(zip_bomb((schools / f"{ok[2].code}.xlsx").read_bytes()))
    lines = (disk / "registry.csv").read_text(encoding="utf-8-sig").splitlines()
    lines += [f"{code};Школа {code};ОО;schools/{name}" for code, name in EXTRA.items()]
    (disk / "registry.csv").write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    dav_root = tmp / "dav"
    shutil.copytree(disk, dav_root / FOLDER)
    on_dav = dav_root / FOLDER / "schools"
    # the school whose file is replaced while the sync runs: its next version
    replaced = ok[0]
    data = copy.deepcopy(replaced.data)
    data["mentors"][0]["position"] = "заместитель директора"
    new_version = write_school_workbook(tmp / "new.xlsx", data).read_bytes()
    target = on_dav / f"{replaced.code}.xlsx"

    def replace_file() -> None:
        part = target.with_suffix(".part")
        part.write_bytes(new_version)
        part.replace(target)

    out = {"tmp": tmp, "muni": muni, "disk": disk, "replaced": replaced,
           "new_sha": hashlib.sha256(new_version).hexdigest()}
    with DavServer(dav_root) as dav, pytest.MonkeyPatch.context() as env:
        env.setenv("NASTAVNIK_WEBDAV_PASSWORD", PASSWORD)
        dav.statuses[f"/{FOLDER}/schools/{EXTRA[FORBIDDEN]}"] = 403
        dav.hanging.add(f"/{FOLDER}/schools/{EXTRA[SILENT]}")
        dav.after_listing = replace_file
        registry = dav_root / FOLDER / "registry.csv"
        started = time.monotonic()
        out["first"] = sync(registry, tmp / "свод.xlsx", "--source-webdav",
                            dav.folder_url(FOLDER), "--webdav-login", LOGIN)
        out["seconds"] = time.monotonic() - started
        out["gets"] = [p for m, p in dav.calls if m == "GET"]
        out["first_log"] = sheet(tmp / "свод.xlsx", M.SHEET_LOG)
        out["first_summary"] = sheet(tmp / "свод.xlsx", M.SHEET_SUMMARY)
        # the month goes on: one school uploads a corrected book, the slow file answers now
        dav.reset()
        dav.hanging.clear()
        changed = ok[1]
        data = copy.deepcopy(changed.data)
        data["mentors"][0]["position"] = "методист"
        write_school_workbook(on_dav / f"{changed.code}.xlsx", data)
        out["changed"] = changed
        out["again"] = sync(registry, tmp / "свод.xlsx", "--source-webdav",
                            dav.folder_url(FOLDER), "--webdav-login", LOGIN)
        out["again_gets"] = {p.rsplit("/", 1)[1] for m, p in dav.calls if m == "GET"}
        out["again_listings"] = dav.count("PROPFIND")
    out["folder"] = run("sync", "--registry", disk / "registry.csv", "--period", PERIOD,
                        "--out", tmp / "folder.xlsx")
    return out


def test_statuses_as_from_a_folder(cloud):
    """Every school gets the status the same file gets from a folder: the file guard judges
    the downloaded bytes as a local file (a missing file, a damaged one, a zip bomb, …)."""
    first, folder = cloud["first"], cloud["folder"]
    assert first.returncode == 1, first.stdout + first.stderr
    assert folder.returncode == 1, folder.stdout + folder.stderr
    assert "Traceback" not in first.stderr
    dav = cloud["first_summary"]
    disk = sheet(cloud["tmp"] / "folder.xlsx", M.SHEET_SUMMARY)
    assert dav.keys() == disk.keys()
    status, reason = "Статус", "Причина"
    same = set(dav) - {FORBIDDEN, SILENT, HUGE, cloud["replaced"].code}
    missing = [s.code for s in cloud["muni"].schools if s.submission == "missing"]
    for code in same:
        assert dav[code][status] == disk[code][status], code
        if code not in missing:
            assert dav[code][reason] == disk[code][reason], code
    assert dav[NOT_A_BOOK][status] == "файл повреждён"
    assert "не является книгой" in dav[NOT_A_BOOK][reason]
    assert dav[BOMB][status] == "файл повреждён" and "слишком" in dav[BOMB][reason]
    for code in missing:
        assert dav[code][status] == "не представлен"
        assert "не найден на сервере WebDAV" in dav[code][reason]


def test_forbidden_and_huge_files_get_their_reason(cloud):
    dav = cloud["first_summary"]
    assert dav[FORBIDDEN]["Статус"] == "не представлен"
    assert "Нет доступа к файлу книги" in dav[FORBIDDEN]["Причина"]
    assert "403" in dav[FORBIDDEN]["Причина"]
    assert dav[HUGE]["Статус"] == "файл повреждён"
    assert "200 МБ, больше предела 50 МБ, и не загружался" in dav[HUGE]["Причина"]
    # refused from the listing's size: never downloaded
    assert not [p for p in cloud["gets"] if p.endswith(EXTRA[HUGE])]


def test_a_silent_file_times_out_and_the_run_goes_on(cloud):
    dav = cloud["first_summary"]
    assert dav[SILENT]["Статус"] == "не представлен"
    assert "не ответил после 3 попыток" in dav[SILENT]["Причина"]
    assert sum(p.endswith(EXTRA[SILENT]) for p in cloud["gets"]) == 3
    accepted = [c for c, r in dav.items() if r["Статус"].startswith("принят")]
    assert len(accepted) >= 3
    assert cloud["seconds"] < 60


def test_a_file_replaced_during_the_sync_is_read_as_one_version(cloud):
    """The school replaced its file between the listing and the download: the run read the
    new version whole (its SHA-256 in the log), and keeps it under that version, so the
    re-sync does not download it again."""
    code = cloud["replaced"].code
    assert cloud["first_log"][code]["SHA-256"] == cloud["new_sha"]
    assert cloud["first_summary"][code]["Статус"].startswith("принят")
    assert f"{code}.xlsx" not in cloud["again_gets"]


def test_a_resync_downloads_only_the_changed_file(cloud):
    """PROPFIND (Depth 1) gives each file's ETag: the unchanged are not downloaded again;
    what failed (403) or timed out last time is asked again."""
    again = cloud["again"]
    assert again.returncode == 1, again.stdout + again.stderr
    assert cloud["again_listings"] == 1
    assert cloud["again_gets"] == {f"{cloud['changed'].code}.xlsx", EXTRA[FORBIDDEN],
                                   EXTRA[SILENT]}
    assert "(не перечитывались):" in again.stdout
    summary = sheet(cloud["tmp"] / "свод.xlsx", M.SHEET_SUMMARY)
    assert summary[SILENT]["Статус"] != "не представлен"  # answered this time: read
    log = sheet(cloud["tmp"] / "свод.xlsx", M.SHEET_LOG)
    assert log[cloud["changed"].code]["Источник"].startswith("http://127.0.0.1:")
    assert log[cloud["changed"].code]["Источник"].endswith(f"/{FOLDER}/schools/"
                                                         f"{cloud['changed'].code}.xlsx")


def _registry(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = [";".join(REGISTRY_HEADER)] + [f"{c};Школа {c};ОО;{s}" for c, s in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Three demo books in a WebDAV folder, and the folder's registry."""
    tmp = tmp_path_factory.mktemp("webdav-small")
    muni = generate_municipality(n_schools=3, seed=5)
    disk = write_municipality(muni, tmp / "dav" / FOLDER)
    registry = _registry(tmp / "реестр.csv", [(s.code, f"schools/{s.code}.xlsx")
                                              for s in muni.schools])
    return tmp, disk, registry, muni


def test_a_wrong_password_is_one_401_and_a_russian_reason(small, tmp_path):
    tmp, _, registry, muni = small
    wrong = tmp_path / "пароль.txt"
    wrong.write_text("not-the-password\n", encoding="utf-8")
    with DavServer(tmp / "dav") as dav:
        result = sync(registry, tmp_path / "свод.xlsx", "--source-webdav",
                      dav.folder_url(FOLDER), "--webdav-login", LOGIN,
                      "--webdav-password-file", wrong)
        calls = list(dav.calls)
    assert result.returncode == 1, result.stdout + result.stderr
    summary = sheet(tmp_path / "свод.xlsx", M.SHEET_SUMMARY)
    assert {r["Статус"] for r in summary.values()} == {"не представлен"}
    assert all("не принял логин и пароль приложения (HTTP 401)" in r["Причина"]
               for r in summary.values())
    assert calls == [("PROPFIND", f"/{FOLDER}/schools/")]  # nothing asked file by file
    assert "not-the-password" not in result.stdout + result.stderr


def test_a_server_that_stops_answering_does_not_hold_the_run(small, tmp_path):
    """The server answers the listing, then nothing: two files time out (3 attempts each),
    the rest are not asked; the schools on disk are read as usual."""
    tmp, disk, _, muni = small
    local = tmp_path / "local"
    shutil.copytree(disk / "schools", local / "schools")
    with DavServer(tmp / "dav") as dav:
        def stop() -> None:
            dav.all_hang = True

        dav.after_listing = stop
        rows = [(f"ОО-1{n:02d}", dav.folder_url(FOLDER) + f"schools/{s.code}.xlsx")
                for n, s in enumerate(muni.schools * 4)]
        rows += [(s.code, f"local/schools/{s.code}.xlsx") for s in muni.schools]
        registry = _registry(tmp_path / "реестр.csv", rows)
        started = time.monotonic()
        result = sync(registry, tmp_path / "свод.xlsx", "--webdav-login", LOGIN,
                      "--webdav-password-file", _password_file(tmp_path))
        took = time.monotonic() - started
        gets = dav.count("GET")
    assert result.returncode == 1, result.stdout + result.stderr
    summary = sheet(tmp_path / "свод.xlsx", M.SHEET_SUMMARY)
    remote = [r for c, r in summary.items() if c.startswith("ОО-1")]
    assert len(remote) == 12 and {r["Статус"] for r in remote} == {"не представлен"}
    assert any("не ответил после 3 попыток" in r["Причина"] for r in remote)
    assert any("перестал отвечать во время сбора, файл не запрашивался" in r["Причина"]
               for r in remote)
    assert gets <= 2 * 2 * 3  # per worker process: two files of three attempts at most
    local_ok = [summary[s.code] for s in muni.schools if s.submission == "ok"]
    assert local_ok and all(r["Статус"] != "не представлен" for r in local_ok)
    assert took < 45


def test_a_server_that_never_answers_costs_one_listing(tmp_path):
    """A host that accepts connections and never answers (a hung proxy): the listing times
    out after its attempts and no file is asked."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/{FOLDER}/"
        registry = _registry(tmp_path / "реестр.csv", [(f"ОО-{i:03d}", f"{url}ОО-{i:03d}.xlsx")
                                                      for i in range(1, 6)])
        started = time.monotonic()
        result = sync(registry, tmp_path / "свод.xlsx")
        took = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    summary = sheet(tmp_path / "свод.xlsx", M.SHEET_SUMMARY)
    assert all("Сервер WebDAV не ответил после 3 попыток (сервер не ответил за 0.5 с)"
               in r["Причина"] for r in summary.values())
    assert took < 30


def _password_file(folder: Path) -> Path:
    path = folder / "webdav-пароль.txt"
    path.write_text(PASSWORD + "\n", encoding="utf-8")
    return path


def test_refusals_before_anything_runs(small, tmp_path):
    _, _, registry, _ = small
    out = tmp_path / "свод.xlsx"
    with_password = sync(registry, out, "--source-webdav",
                         f"https://{LOGIN.split('@')[0]}:{PASSWORD}@example.org/папка/")
    assert with_password.returncode == 2
    assert "логин или пароль" in with_password.stderr
    assert PASSWORD not in with_password.stdout + with_password.stderr
    no_password = run("sync", "--registry", registry, "--period", PERIOD, "--out", out,
                      "--source-webdav", "https://example.org/папка/", "--webdav-login", LOGIN)
    assert no_password.returncode == 2
    assert "не задан пароль приложения" in no_password.stderr
    assert not out.exists()


def _texts_of(path: Path) -> bytes:
    """A file's bytes, and every member's when it is a zip (the master, the results)."""
    data = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            data += b"".join(zf.read(n) for n in zf.namelist())
            for n in zf.namelist():
                if n.endswith(".bin"):
                    try:
                        data += zlib.decompress(zf.read(n))
                    except Exception:  # noqa: BLE001 (not every member is compressed JSON)
                        pass
    return data


def test_no_password_or_token_in_logs_master_or_history(small, tmp_path, caplog):
    """In-process with every logger at DEBUG (httpx's and httpcore's too), then the CLI: no
    line, no cell of the master, nothing in the history or the results holds the password or
    the Basic token."""
    from sync.service import SyncOptions, run_sync
    from sync.sources.webdav import WebDavSettings

    tmp, _, registry, muni = small
    token = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    secrets = (PASSWORD, token, PASSWORD.replace("-", "%2D"))
    with DavServer(tmp / "dav") as dav:
        settings = WebDavSettings(folder=dav.folder_url(FOLDER), login=LOGIN, password=PASSWORD)
        opts = SyncOptions(registry=registry, period=PERIOD, out=tmp_path / "свод.xlsx",
                           webdav=settings)
        caplog.set_level(logging.DEBUG)
        result = run_sync(opts)
        run_sync(opts)  # the re-sync path too
        cli = sync(registry, tmp_path / "cli.xlsx", "--source-webdav", dav.folder_url(FOLDER),
                   "--webdav-login", LOGIN, "--webdav-password-file", _password_file(tmp_path))
        present = sum(s.submission != "missing" for s in muni.schools)
        # the in-process run, not its re-sync, then the CLI's own master
        assert dav.count("GET") == 2 * present, dav.calls
    assert result.consolidation.schools
    assert cli.returncode in (0, 1), cli.stdout + cli.stderr
    lines = [r.getMessage() for r in caplog.records] + [
        str(r.args) for r in caplog.records] + cli.stdout.splitlines() + cli.stderr.splitlines()
    assert any("HTTP Request" in line for line in lines)  # httpx did log its requests
    assert PASSWORD not in repr(opts) and PASSWORD not in repr(settings)
    for secret in secrets:
        assert not [line for line in lines if secret in line]
    files = [p for p in tmp_path.iterdir() if p.is_file() and p.suffix != ".txt"]
    assert {p.suffix for p in files} >= {".xlsx", ".sqlite", ".zip"}
    for path in files:
        blob = _texts_of(path)
        for secret in secrets:
            assert secret.encode() not in blob, path.name
    with sqlite3.connect(tmp_path / "свод.history.sqlite") as db:
        dump = "\n".join(db.iterdump())
    assert PASSWORD not in dump and token not in dump


# -- «Собрать свод» in the workspace -------------------------------------------------------------
def test_workspace_sync_reads_the_registry_from_webdav(small, tmp_path):
    """`nastavnik serve --source-webdav … --webdav-login … --webdav-password-file …`: the
    staff's «Собрать свод» reads the registry's WebDAV addresses with the centre's account
    (kept on the server), refuses an address outside that folder, and logs no password."""
    import httpx

    from addin.web.access import add_staff
    from tests.web_bench import csrf_of, start_server

    tmp, _, _, muni = small
    collect = tmp_path / "сдача"
    (collect / "schools").mkdir(parents=True)
    codes = tmp_path / "коды.txt"
    add_staff(codes, "metodist1", "staff-secret-001")
    with DavServer(tmp / "dav") as dav:
        folder = dav.folder_url(FOLDER)
        rows = [(s.code, f"{folder}schools/{s.code}.xlsx") for s in muni.schools]
        rows.append(("ОО-099", f"{dav.url}Чужая%20папка/ОО-099.xlsx"))
        registry = _registry(tmp_path / "реестр.csv", rows)
        server = start_server("--collect-dir", collect, "--access-file", codes, "--registry",
                              registry, "--period", PERIOD, "--source-webdav", folder,
                              "--webdav-login", LOGIN, "--webdav-password-file",
                              _password_file(tmp_path), log_path=tmp_path / "serve.log")
        try:
            with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as c:
                c.post("/login", data={"csrf": csrf_of(c.get("/login").text),
                                       "school": "metodist1", "code": "staff-secret-001"})
                html = c.get("/staff/sync").text
                c.post("/staff/sync", data={"csrf": csrf_of(html), "after": "0",
                                            "period": PERIOD})
                deadline = time.monotonic() + 120
                while (state := c.get("/staff/sync/1/progress").json())["state"] == "running":
                    assert time.monotonic() < deadline, state
                    time.sleep(0.3)
                assert state["state"] == "done", state
        finally:
            server.stop()
        asked = {p for m, p in dav.calls if m == "GET"}
    summary = sheet(collect / "workspace" / "свод.xlsx", M.SHEET_SUMMARY)
    for s in muni.schools:
        if s.submission == "missing":
            assert summary[s.code]["Статус"] == "не представлен"
        else:
            assert summary[s.code]["Статус"] in ("принят", "принят с предупреждениями",
                                                 "отклонён"), summary[s.code]  # read
    assert "вне папки WebDAV" in summary["ОО-099"]["Причина"]
    assert asked == {f"/{FOLDER}/schools/{s.code}.xlsx" for s in muni.schools
                     if s.submission != "missing"}  # nothing outside the folder
    token = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    log = server.log()
    assert "sync job 1 started" in log
    assert PASSWORD not in log and token not in log


# -- addresses and versions (no server) ----------------------------------------------------------
def test_addresses_resolve_like_a_folder_and_stay_inside_it():
    from addin.errors import WorkbookNotFoundError
    from sync.sources.base import SchoolEntry, SourceError
    from sync.sources.webdav import WebDavSettings, WebDavSource

    folder = "https://webdav.yandex.ru/Наставничество/"
    source = WebDavSource(WebDavSettings(folder=folder, login=LOGIN, password=PASSWORD))
    entry = SchoolEntry("ОО-001", "Школа", "ОО", "школы/ОО 001#1.xlsx")
    assert source.url(entry) == ("https://webdav.yandex.ru/%D0%9D%D0%B0%D1%81%D1%82%D0%B0%D0%B2"
                                 "%D0%BD%D0%B8%D1%87%D0%B5%D1%81%D1%82%D0%B2%D0%BE/%D1%88%D0%BA"
                                 "%D0%BE%D0%BB%D1%8B/%D0%9E%D0%9E%20001%231.xlsx")
    server = WebDavSource(WebDavSettings(root=folder, login=LOGIN, password=PASSWORD,
                                         confined=True))
    for outside in (f"{folder}../Чужое/ОО-001.xlsx", "https://webdav.yandex.ru/ОО-001.xlsx",
                    "https://evil.example/Наставничество/ОО-001.xlsx"):
        with pytest.raises(WorkbookNotFoundError, match="вне папки WebDAV"):
            server.url(SchoolEntry("ОО-001", "Школа", "ОО", outside))
    assert server.url(SchoolEntry("ОО-001", "Школа", "ОО", f"{folder}ОО-001.xlsx"))
    # credentials go to the folder's server only; never written into an address
    assert source._auth(folder + "x.xlsx") == (LOGIN, PASSWORD)
    assert source._auth("https://evil.example/x.xlsx") is None
    with pytest.raises(SourceError) as refused:
        source.url(SchoolEntry("ОО-001", "Школа", "ОО", f"https://u:{PASSWORD}@h.example/x.xlsx"))
    assert PASSWORD not in str(refused.value)


def test_versions_of_a_listing_and_of_a_download_agree():
    from datetime import UTC, datetime

    from sync.sources.webdav import version_of

    # wsgidav lists the ETag bare and sends it quoted; Nextcloud quotes both; weak is weak
    assert version_of("abc-1", None, 5) == version_of('"abc-1"', None, 5) == "webdav:abc-1"
    assert version_of('W/"abc-1"', None, 5) == "webdav:abc-1"
    moment = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    assert version_of(None, moment, 10) == "webdav:2026-11-03T10:00:00+00:00:10"
    assert version_of(None, moment, 10) != version_of(None, moment, 11)
    assert version_of(None, None, 10) is None


def test_a_file_not_listed_is_asked_alone_and_the_size_cap_holds_on_download(small):
    """Without the folder's listing the file is asked alone (PROPFIND, Depth 0) and refused
    from its size; when no listing told the size, the answer's length refuses it."""
    from addin.errors import WorkbookTooLargeError
    from sync.sources.base import SchoolEntry
    from sync.sources.webdav import RemoteFile, WebDavSettings, WebDavSource

    tmp, _, _, muni = small
    school = next(s for s in muni.schools if s.submission != "missing")
    with DavServer(tmp / "dav") as dav:
        settings = WebDavSettings(folder=dav.folder_url(FOLDER), login=LOGIN, password=PASSWORD,
                                  max_bytes=1000)
        entry = SchoolEntry(school.code, "Школа", "ОО", f"schools/{school.code}.xlsx")
        alone = WebDavSource(settings).fetch(entry)
        assert dav.calls == [("PROPFIND", f"/{FOLDER}/schools/{school.code}.xlsx")]
        source = WebDavSource(settings)
        source.listing[entry.code] = RemoteFile(source.url(entry), None, None)
        streamed = source.fetch(entry)
        assert dav.count("GET") == 1
    for fetched in (alone, streamed):
        assert isinstance(fetched.error, WorkbookTooLargeError)
        assert fetched.sheets is None and fetched.origin.endswith(f"{school.code}.xlsx")
        # refused from the answer's Content-Length, before its body was read
        assert "не загружался" in fetched.error.message_ru
