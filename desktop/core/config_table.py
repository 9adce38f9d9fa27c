"""Reading one honk.toml table with errors that name the file, the key, the value and what
was expected; keys nobody read are errors too (a typo must not silently do nothing)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from desktop.core.errors import HonkError

__all__ = ["ConfigError", "Table"]


class ConfigError(HonkError, ValueError):
    """Invalid configuration: ``str()`` is the whole message a person reads."""

    def __init__(self, file: str, key: str, value: object, expected: str) -> None:
        self.file, self.key, self.value, self.expected = file, key, value, expected
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{file}: {key} = {shown}: expected {expected}")


class Table:
    """Reads one TOML table, tracking which keys were used so leftovers are errors."""

    def __init__(self, file: str, prefix: str, data: object) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(file, prefix, data, "a table")
        self.file, self.prefix, self.data = file, prefix, dict(data)
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, expected: str) -> ConfigError:
        return ConfigError(self.file, self.key(name), self.data.get(name), expected)

    def get(self, name: str) -> Any:
        self.used.add(name)
        return self.data.get(name)

    def string(self, name: str, default: str, choices: tuple[str, ...] = ()) -> str:
        value = self.get(name)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, "a non-empty string")
        if choices and value not in choices:
            raise self.fail(name, "one of " + ", ".join(repr(c) for c in choices))
        return value

    def positive_int(self, name: str, default: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(name, "a positive integer")
        return value

    def positive_number(self, name: str, default: float) -> float:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(name, "a positive number")
        return float(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(name, "true or false")
        return value

    def command(self, name: str, *, required: bool) -> tuple[str, ...]:
        """A command as a string (split like a shell would, but never run by one) or a list."""
        value = self.get(name)
        if value is None:
            if required:
                raise self.fail(name, "a command (string or list of strings)")
            return ()
        if isinstance(value, str):
            try:
                argv = tuple(shlex.split(value))
            except ValueError as exc:
                raise self.fail(name, f"a command that splits cleanly ({exc})") from None
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            argv = tuple(value)
        else:
            raise self.fail(name, "a command (string or list of strings)")
        if not argv or not argv[0]:
            raise self.fail(name, "a non-empty command")
        return argv

    def strings(
        self, name: str, default: tuple[str, ...], allowed: tuple[str, ...]
    ) -> tuple[str, ...]:
        value = self.get(name)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(name, "a list of strings")
        for item in value:
            if item not in allowed:
                raise ConfigError(
                    self.file, self.key(name), item, "one of " + ", ".join(map(repr, allowed))
                )
        return tuple(value)

    def paths(self, name: str) -> tuple[str, ...]:
        """Host paths: absolute or "~/...", without "..", never "/" or "~" itself."""
        value = self.get(name)
        if value is None:
            return ()
        one = "an absolute path or one starting with '~/' (no '..'; not '/' or '~' itself)"
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(name, "a list of paths, each " + one)
        for item in value:
            ok = item.startswith("/") or item.startswith("~/")
            if not ok or ".." in Path(item).parts or item.rstrip("/") in ("", "~"):
                raise ConfigError(self.file, self.key(name), item, one)
        return tuple(value)

    def finish(self) -> None:
        for extra in sorted(set(self.data) - self.used):
            raise ConfigError(self.file, self.key(extra), self.data[extra], "no such key")
