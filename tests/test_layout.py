"""The layout's rules hold and would fail if broken: no import circle (the circles the layout
removed are put back one at a time and import-linter must refuse each), and no module imports
another module's private name."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("addin", "sync", "workbook_templates")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

#: (module file, the import that closes an old circle)
OLD_CIRCLES = [
    ("addin/web/config.py", "from addin.web import remote"),  # server <-> remote buttons
    ("addin/web/site.py", "from addin.web import check"),  # shared page <-> page module
    ("addin/web/plan.py", "from addin.web import check"),  # one page area imports another
    ("addin/roadmap/table.py", "from addin.roadmap import pdf"),  # pdf <-> sources
    ("sync/sources/base.py", "from sync.sources import google"),  # google <-> sources
    ("workbook_templates/build.py", "from workbook_templates import xlsm"),  # build <-> xlsm
]


def lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, text=True,
                          capture_output=True, timeout=300)


def copy_of_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root)
    for pkg in PACKAGES:
        shutil.copytree(REPO / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_the_layout_keeps_every_contract(tmp_path: Path) -> None:
    result = lint(copy_of_repo(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "broken" not in result.stdout.split("Contracts:")[-1].replace("0 broken", "")


@pytest.mark.parametrize(("module", "line"), OLD_CIRCLES,
                         ids=[m for m, _ in OLD_CIRCLES])
def test_an_old_circle_brought_back_is_refused(tmp_path: Path, module: str, line: str) -> None:
    root = copy_of_repo(tmp_path)
    path = root / module
    text = path.read_text(encoding="utf-8")
    marker = "from __future__ import annotations\n"
    assert marker in text
    path.write_text(text.replace(marker, f"{marker}\n{line}  # noqa\n", 1), encoding="utf-8")
    result = lint(root)
    assert result.returncode != 0, f"{module}: {line} was not refused"
    assert "BROKEN" in result.stdout


def private_imports(root: Path) -> list[str]:
    """`from ours import _name` anywhere in our packages."""
    found = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module \
                        and node.module.split(".")[0] in PACKAGES:
                    found += [f"{path.relative_to(root)}:{node.lineno} {node.module}.{a.name}"
                              for a in node.names if a.name.startswith("_")]
    return found


def test_no_module_imports_another_modules_private_name(tmp_path: Path) -> None:
    assert private_imports(REPO) == []
    root = copy_of_repo(tmp_path)  # and the check itself finds one
    (root / "sync" / "bad.py").write_text("from sync.master import _sync_file\n")
    assert private_imports(root) == ["sync/bad.py:1 sync.master._sync_file"]
