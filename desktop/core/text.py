"""Text helpers shared by verifiers, builds and the agent: excerpts and redaction."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["failure_excerpt", "redact", "slugify"]

_INTERESTING = re.compile(
    r"error|fail|exception|traceback|assert|panic|fatal|cannot|could not|undefined|not found",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def failure_excerpt(output: str, *, max_lines: int = 60, max_chars: int = 4000) -> str:
    """The lines of a failed command's output a person (or the model) needs.

    Keeps lines that look like errors (with one line of context after each) plus the tail,
    which is where most tools print their summary; never more than the limits.
    """
    lines = output.splitlines()
    if len(lines) <= max_lines and len(output) <= max_chars:
        return output.strip()
    keep: set[int] = set(range(max(0, len(lines) - max_lines // 2), len(lines)))
    for i, line in enumerate(lines):
        if len(keep) >= max_lines:
            break
        if _INTERESTING.search(line):
            keep.update((i, i + 1))
    chosen = sorted(i for i in keep if i < len(lines))[-max_lines:]
    out: list[str] = []
    previous = -1
    for i in chosen:
        if i != previous + 1:
            out.append(f"[... {i - previous - 1} lines omitted ...]")
        out.append(lines[i])
        previous = i
    text = "\n".join(out)
    if len(text) > max_chars:
        text = "[... trimmed ...]\n" + text[-max_chars:]
    return text


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret (of 8+ characters) with a marker."""
    for secret in sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def slugify(text: str, max_len: int = 40) -> str:
    """A branch-name-safe slug: lowercase ASCII words joined by dashes."""
    words = re.findall(r"[a-z0-9]+", text.lower().encode("ascii", "ignore").decode())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_len:
            break
        slug = candidate
    return slug or "change"
