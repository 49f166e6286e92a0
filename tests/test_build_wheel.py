"""scripts/build-wheel: the wheel a municipal centre hands out for the local-Python buttons.

It is installed into a fresh virtual environment, away from the source tree, and works there:
`nastavnik --help` runs, `build-templates` writes both .xlsm variants' sources from the
package data, and the code imported is the wheel's. The third-party dependencies come from
this test environment through a path file (the wheel itself is installed with --no-deps: this
machine need not download pandas again); the wheel's metadata names them for a real install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sh(*cmd: object, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def test_the_wheel_installs_into_a_fresh_venv_and_runs(tmp_path):
    dist = tmp_path / "dist"
    built = sh(REPO / "scripts" / "build-wheel", dist, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("nastavnik-*.whl")
    assert "pip install" in built.stdout
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = next(zf.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    for part in ("workbook_templates/vba/Nastavnik.bas",
                 "workbook_templates/vba/NastavnikServer.bas",
                 "workbook_templates/appsscript/Code.gs", "addin/web/templates/book.html",
                 "addin/web/static/style.css", "addin/targets.toml",
                 "sync/migrations/versions/0001_initial.py"):
        assert part in names, part
    assert "Requires-Dist: xlwings==0.37.8" in meta and "Requires-Dist: openpyxl" in meta

    venv = tmp_path / "fresh"
    assert sh(sys.executable, "-m", "venv", venv, cwd=tmp_path).returncode == 0
    py = venv / "bin" / "python"
    site = Path(sh(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                   cwd=tmp_path).stdout.strip())
    (site / "_deps_of_the_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = sh(py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel,
                   cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr

    helped = sh(venv / "bin" / "nastavnik", "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "import-roadmap" in helped.stdout and "serve" in helped.stdout
    where = sh(py, "-c", "import sync, addin; print(sync.__file__); print(addin.__file__)",
               cwd=tmp_path).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    templates = sh(venv / "bin" / "nastavnik", "build-templates", "--out", tmp_path / "t",
                   cwd=tmp_path)
    assert templates.returncode == 0, templates.stderr
    assert (tmp_path / "t" / "school.xlsm").stat().st_size > 50_000
