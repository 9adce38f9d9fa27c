"""Random-kill soak: N rounds (default 50) of `honk run` and `honk approve` killed with
SIGKILL at random points, each checked and finished; prints one line per round and how
many rounds lost anything.

    .venv/bin/python bench/kill_soak.py [ROUNDS] [SEED]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from desktop.demo.environment import DemoEnvironment
from tests.reliability.killsoak import soak

ADB_KEYS = ("ANDROID_ADB_SERVER_PORT", "HONK_ADB", "HOME", "ADB_MDNS", "ADB_EMU", "ADB_LIBUSB")


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 2024
    with tempfile.TemporaryDirectory(prefix="honk-kill-soak-") as tmp, DemoEnvironment() as phone:
        env = {**os.environ, "GIT_AUTHOR_NAME": "Soak", "GIT_AUTHOR_EMAIL": "soak@example.invalid",
               "GIT_COMMITTER_NAME": "Soak", "GIT_COMMITTER_EMAIL": "soak@example.invalid",
               "GIT_CONFIG_NOSYSTEM": "1"}
        env.update({k: phone.env[k] for k in ADB_KEYS if k in phone.env})
        results = soak(rounds, Path(tmp), env, phone.serial, seed=seed, log=True)
    lost = [r for r in results if not r.lost_nothing]
    interrupted = sum(r.killed_in == "interrupted" for r in results)
    approve_cut = sum(r.approve_killed_in != "merged" for r in results)
    print(f"\n{rounds} rounds (seed {seed}): {rounds - len(lost)} lost nothing, {len(lost)} lost "
          f"something; runs left interrupted by the kill: {interrupted}; approvals cut before "
          f"their record was written: {approve_cut}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
