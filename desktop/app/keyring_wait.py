"""A run's first secret reads, watched: the API key and every secret to redact come from the
keyring on a background thread, and when that takes longer than a moment (a locked keyring
asking for its password, or a desktop asking to create a new keyring) the change says it is
waiting for the keyring instead of sitting "queued" in silence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.core.events import Notice, StageProgress
from desktop.core.stages import Stage

if TYPE_CHECKING:
    from desktop.app.context import AppContext
    from desktop.core.pipeline import ChangeContext

__all__ = ["KEYRING_PATIENCE_S", "WAITING_FOR_KEYRING", "prepare_run_watched"]

# An unlocked Secret Service answers in a few ms; a second means a person is being asked.
KEYRING_PATIENCE_S = 1.0
WAITING_FOR_KEYRING = ("waiting for the keyring: unlock it or answer its prompt (Honk reads "
                       "the API key and the secrets to hide from logs)")


async def prepare_run_watched(app: AppContext, ctx: ChangeContext,
                              patience_s: float = KEYRING_PATIENCE_S) -> None:
    """:meth:`AppContext.prepare_run` off the loop; says so on the change when it keeps the
    run waiting longer than ``patience_s``."""
    import asyncio  # lazy for start-up, as in change_runs

    reading = asyncio.ensure_future(app.offload(app.prepare_run))
    try:
        done, _ = await asyncio.wait({reading}, timeout=patience_s)
        if not done:
            ctx.emit(Notice(change=ctx.change_id, level="warning", message=WAITING_FOR_KEYRING))
            ctx.emit(StageProgress(change=ctx.change_id, stage=Stage.AGENT,
                                   message="waiting for the keyring"))
        await reading
    except asyncio.CancelledError:
        reading.cancel()  # the thread finishes its read; nobody waits for it
        raise
