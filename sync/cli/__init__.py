"""`nastavnik`: one command line over the library, a module per group of commands beside this
one. Commands parse options, make one library call and format the result; library errors
become Russian messages and exit codes, never tracebacks.
"""

from __future__ import annotations

import sys

import click

from sync.cli import ru
from sync.cli.remind import remind_cmd

# click's messages in Russian from here on. remind's options are built before it, as they
# always were (their path types keep click's English names); every other command after it.
ru.install()

from sync.cli import backup, books, collect, plans, region, serve  # noqa: E402
from sync.cli.common import EXIT_UNREADABLE, err_console  # noqa: E402


@click.group(cls=ru.RuGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nastavnik", message="nastavnik %(version)s")
def cli() -> None:
    """Наставничество: стандартные книги, проверка, показатели и муниципальный свод."""


for _module in (books, serve, collect, plans, region, backup):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
cli.add_command(remind_cmd)


def main() -> None:
    """Console entry point: a Russian message instead of a traceback on anything unexpected."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        err_console.print("Прервано пользователем.")
        sys.exit(130)
    except MemoryError:
        err_console.print("Не хватило памяти: файл слишком велик для обработки.")
        sys.exit(EXIT_UNREADABLE)
    except Exception as exc:  # noqa: BLE001 (the last net: a Russian line, no traceback)
        err_console.print(f"Внутренняя ошибка программы ({type(exc).__name__}). Сообщите "
                          "разработчикам, какой командой и с каким файлом это случилось.")
        sys.exit(EXIT_UNREADABLE)
