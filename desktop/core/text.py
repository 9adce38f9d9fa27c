"""Text helpers shared by verifiers, builds and the agent: excerpts and redaction."""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from collections.abc import Iterable

__all__ = ["failure_excerpt", "redact"]

_INTERESTING = re.compile(
    r"error|fail|exception|traceback|assert|panic|fatal|cannot|could not|undefined|not found",
    re.IGNORECASE,
)
REDACTED = "[redacted]"
_MIN_SECRET = 8


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
    """Replace every occurrence of each secret (of 8+ characters) with a marker.

    Also caught: a secret broken across lines or spaces (wrapped output), and its base64,
    hex and URL-encoded forms, since tools print credentials in those shapes too.
    """
    for form in _forms(secrets):
        text = text.replace(form, REDACTED)
        spaced = r"\s*".join(re.escape(ch) for ch in form)
        if form[0] in text:
            text = re.sub(spaced, REDACTED, text)
    return text


def _forms(secrets: Iterable[str]) -> list[str]:
    """Each secret and its encodings, longest first so a longer form is never half-replaced."""
    forms: set[str] = set()
    for secret in {s for s in secrets if len(s) >= _MIN_SECRET}:
        raw = secret.encode("utf-8")
        forms.update((secret, binascii.hexlify(raw).decode(), urllib.parse.quote(secret, "")))
        for shift in range(3):  # base64 depends on where the secret starts in the data
            for encode in (base64.b64encode, base64.urlsafe_b64encode):
                encoded = encode(b"\0" * shift + raw).decode()
                # Keep only the 4-character groups made of the secret's bytes alone.
                core = encoded[4 if shift else 0 : (shift + len(raw)) // 3 * 4]
                if len(core) >= _MIN_SECRET:
                    forms.add(core)
    return sorted(forms, key=len, reverse=True)
