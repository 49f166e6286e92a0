"""Every command of `nastavnik` is registered and answers --help through the installed console
script: the commands `nastavnik --help` lists are the expected ones (each module of sync/cli/
registers its COMMANDS), and each of them, and each subcommand of its groups, shows its own
help with exit 0."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.cli import run

COMMANDS = ("backup", "build-templates", "calendar", "checks", "demo-data", "federal-form",
            "import-roadmap", "indicators", "purge", "region", "remind", "restore", "serve",
            "suggest-pairs", "sync", "upgrade-book", "validate")
SUBCOMMANDS = {"region": ("grant",),
               "serve": ("add-school-code", "add-school-codes", "add-staff", "revoke-buttons")}


def listed(help_text: str) -> list[str]:
    """The command names under «Команды:» of a help page, in its order."""
    _, _, tail = help_text.partition("\nКоманды:\n")
    return [line.split()[0] for line in tail.splitlines() if line.startswith("  ")
            and not line.startswith("   ")]


def test_the_top_level_help_lists_every_command_in_order() -> None:
    res = run("--help")
    assert res.returncode == 0, res.stderr
    assert listed(res.stdout) == list(COMMANDS)


def test_every_command_and_subcommand_answers_help() -> None:
    paths = [(name,) for name in COMMANDS]
    paths += [(group, sub) for group, subs in SUBCOMMANDS.items() for sub in subs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda path: run(*path, "--help"), paths))
    for path, res in zip(paths, results, strict=True):
        assert res.returncode == 0, (path, res.stderr)
        assert res.stdout.startswith(f"Использование: nastavnik {' '.join(path)} "), path
        if path[0] in SUBCOMMANDS and len(path) == 1:
            assert listed(res.stdout) == list(SUBCOMMANDS[path[0]]), path
