# Sourced by scripts/*: create .venv on first use and keep the package installed in it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "Создаю виртуальное окружение $VENV" >&2
    "$PY" -m venv "$VENV"
fi
# Reinstall only when pyproject.toml changed since the last install.
STAMP="$VENV/.nastavnik-installed"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
    echo "Устанавливаю nastavnik и зависимости (один раз)…" >&2
    LOG="$VENV/install.log"
    if ! { "$VENV/bin/python" -m pip install -q --disable-pip-version-check -U pip &&
           "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[dev]"; \
         } >"$LOG" 2>&1; then
        tail -n 40 "$LOG" >&2
        echo "Установка не удалась; полный журнал: $LOG" >&2
        exit 1
    fi
    touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
