"""The CLI path the SDK starts: it becomes the real Claude Code CLI with Honk's environment
only, leading a process session of its own.

The SDK starts its CLI with the parent's whole environment under ``ClaudeAgentOptions.env``
(which can add and override variables, never remove them) and in the parent's process
group. So the SDK is pointed at a two-line shell wrapper running this file
(``python -I -S launch.py``, standard library only), which

- keeps only the variables named in ``HONK_CLAUDE_KEEP`` (everything else, credentials
  under any name, Honk's own ``HONK_*``, is gone);
- calls ``setsid()``, so the CLI and whatever it starts (ripgrep for Grep and Glob) form
  one group that a cancel or a hang can kill with one ``killpg``;
- writes its pid (the group's id) to ``HONK_CLAUDE_PID_FILE`` and ``exec``s the CLI in
  place, so the pid the SDK waits on is the CLI's own.
"""

from __future__ import annotations

import os
import sys

KEEP = "HONK_CLAUDE_KEEP"
REAL_CLI = "HONK_CLAUDE_REAL_CLI"
PID_FILE = "HONK_CLAUDE_PID_FILE"


def main() -> None:
    env = os.environ
    real = env[REAL_CLI]
    keep = [name for name in env.get(KEEP, "").split(",") if name]
    clean = {name: env[name] for name in keep if name in env}
    os.setsid()
    if pid_file := env.get(PID_FILE):
        tmp = f"{pid_file}.tmp"
        with open(tmp, "w") as out:
            out.write(str(os.getpid()))
        os.replace(tmp, pid_file)
    os.execve(real, [real, *sys.argv[1:]], clean)


if __name__ == "__main__":
    main()
