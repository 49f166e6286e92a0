"""`nastavnik serve --config сервер.toml`: the server's settings in one file.

The keys are the fields of ``ServerConfig`` (``host``, ``port``, ``collect_dir``,
``access_file``, ``registry_path``, ``tls_cert``…), whatever fields it has: a field added to
the dataclass is a key of the file with no code here. Values are converted by the field's type
(paths relative to the file's folder). Flags given on the command line win over the file.
Secrets never go in the file: a key naming a token, password or secret is refused (the token
stays in ``--token-file``, the codes in the access file).
"""

from __future__ import annotations

import dataclasses
import re
import sys
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from addin.web.config import ServerConfig, ServerConfigError

#: Fields holding a secret itself (not the path of a file that holds one).
SECRET_RE = re.compile(r"(token|password|passwd|secret)", re.IGNORECASE)
#: `serve` options whose parameter is named otherwise than the field they set.
FLAG_FIELDS = {"targets": "targets_path", "registry": "registry_path",
               "max_upload_mb": "max_body_bytes", "token_file": "token",
               "webdav_password_file": "webdav_key_file"}
#: Files that must exist (as the flags check them; the access file and the registry are
#: checked by ServerConfig.check itself).
MUST_EXIST = {"targets_path": "Файл целевых значений"}
#: Whole-number fields with a range (what the flags' IntRange checks).
RANGES = {"port": (1, 65535), "deadline_day": (1, 31), "max_body_bytes": (1, 2**40),
          "check_workers": (0, 64)}


def load(path: Path) -> dict[str, Any]:
    """The file's settings as ServerConfig field values; ServerConfigError (Russian) when the
    file is missing, is not TOML, names an unknown key or a secret, or has a wrong value."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ServerConfigError(f"Файл настроек сервера не найден: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ServerConfigError(f"Файл настроек сервера {path} не читается: "
                                f"{getattr(exc, 'strerror', None) or 'не текст UTF-8'}."
                                ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ServerConfigError(f"Файл настроек {Path(path).name} — не TOML: {exc}.") from None
    data = data.get("server", data)  # a [server] table or keys at the top, both fine
    fields = {f.name: f for f in dataclasses.fields(ServerConfig)}
    hints = _field_types()
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if SECRET_RE.search(key):
            raise ServerConfigError(
                f"Ключ «{key}» в файле настроек: секреты (токены, пароли) в этот файл не "
                "пишутся. Токен кнопок укажите файлом --token-file, коды — в файле доступа.")
        if key not in fields:
            allowed = ", ".join(n for n in fields if not SECRET_RE.search(n))
            raise ServerConfigError(f"Неизвестный ключ «{key}» в файле настроек "
                                    f"{Path(path).name}. Допустимые ключи: {allowed}.")
        values[key] = _convert(key, raw, hints[key], Path(path).parent)
        if key in MUST_EXIST and not Path(values[key]).is_file():
            raise ServerConfigError(f"{MUST_EXIST[key]} не найден: {values[key]} (ключ «{key}» "
                                    f"в файле настроек {Path(path).name}).")
    return values


def merge(flags: ServerConfig, file_values: dict[str, Any], given: set[str]) -> ServerConfig:
    """The configuration from the flags, with the file's values for every field whose flag was
    not given on the command line (`given`: the parameter names given there)."""
    fields_given = {FLAG_FIELDS.get(name, name) for name in given}
    kept = {k: v for k, v in file_values.items() if k not in fields_given}
    return dataclasses.replace(flags, **kept)


def _field_types() -> dict[str, Any]:
    """Each field's type; a field whose annotation cannot be resolved here (a name imported
    for type checking only) takes the TOML value as it is."""
    try:
        return typing.get_type_hints(ServerConfig)
    except NameError:
        namespace = vars(sys.modules[ServerConfig.__module__])
        types_of: dict[str, Any] = {}
        for f in dataclasses.fields(ServerConfig):
            try:
                types_of[f.name] = (eval(f.type, namespace) if isinstance(f.type, str)  # noqa: S307
                                    else f.type)
            except NameError:
                types_of[f.name] = object
        return types_of


def _convert(key: str, raw: Any, hint: Any, base: Path) -> Any:
    """`raw` as the field's type (Path, int, float, bool, str, or an Optional of one)."""
    kinds = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    target = next((k for k in kinds if k is not type(None)), str)
    if target is Path:
        if not isinstance(raw, str) or not raw.strip():
            raise _wrong(key, raw, "путь к файлу или папке в кавычках")
        found = Path(raw).expanduser()
        return found if found.is_absolute() else base / found
    if target is bool:
        if not isinstance(raw, bool):
            raise _wrong(key, raw, "true или false")
        return raw
    if target is int:
        low, high = RANGES.get(key, (-(2**63), 2**63))
        if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
            raise _wrong(key, raw, "целое число" if key not in RANGES
                         else f"целое число от {low} до {high}")
        return raw
    if target is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise _wrong(key, raw, "число")
        return float(raw)
    if target is str:
        if not isinstance(raw, str):
            raise _wrong(key, raw, "текст в кавычках")
        return raw
    return raw  # a type this loader does not know: passed as TOML gave it


def _wrong(key: str, raw: Any, expected: str) -> ServerConfigError:
    return ServerConfigError(f"Ключ «{key}» в файле настроек: значение {raw!r} не подходит, "
                             f"нужно {expected}.")
