"""Android device problems in plain words: adb's device states and the installer's codes."""

from __future__ import annotations

import re

from desktop.core.errors import HonkError

__all__ = ["DeviceError", "failure_from_reply", "failure_in_words", "hint_for"]

_HINTS = {
    "device": "",
    "unauthorized": "Unlock the phone and accept the 'Allow USB debugging?' prompt "
    "for this computer, then retry.",
    "authorizing": "The phone is deciding whether to trust this computer: check its screen.",
    "offline": "The device does not answer: unplug and plug it back in "
    "(or `adb reconnect`), then retry.",
    "connecting": "adb is still connecting to the device: wait a moment.",
    "no permissions": "adb may not open this USB device: add a udev rule for it "
    "(developer.android.com/studio/run/device) and plug it in again.",
    "bootloader": "The device is in its bootloader: boot it into Android.",
    "recovery": "The device is in recovery mode: boot it into Android.",
    "sideload": "The device is in sideload mode: boot it into Android.",
    "rescue": "The device is in rescue mode: boot it into Android.",
}

# The installer's codes people actually meet, in plain words.
_FAILURES = {
    "INSTALL_FAILED_INSUFFICIENT_STORAGE": "the device is out of storage space; free some "
    "space on it (or uninstall old builds) and retry",
    "INSTALL_FAILED_UPDATE_INCOMPATIBLE": "a copy of the app signed with a different key is "
    "installed; uninstall it from the device first",
    "INSTALL_FAILED_VERSION_DOWNGRADE": "the device has a newer version of the app; uninstall "
    "it first or raise the build's versionCode",
    "INSTALL_FAILED_ALREADY_EXISTS": "the app is already installed and may not be replaced",
    "INSTALL_FAILED_OLDER_SDK": "the app needs a newer Android version than the device has",
    "INSTALL_FAILED_NO_MATCHING_ABIS": "the app has no native code for this device's CPU",
    "INSTALL_FAILED_TEST_ONLY": "the build is marked test-only; the device refuses it "
    "without `-t`",
    "INSTALL_FAILED_USER_RESTRICTED": "installing over USB is switched off on the phone "
    "(Developer options → Install via USB)",
    "INSTALL_FAILED_INVALID_APK": "the device says the APK is invalid",
    "INSTALL_FAILED_ABORTED": "the install was aborted before it finished",
    "INSTALL_PARSE_FAILED_NOT_APK": "the device could not read the file as an APK",
    "INSTALL_PARSE_FAILED_NO_CERTIFICATES": "the APK is not signed",
    "INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION": "the device could not parse the APK",
    "INSTALL_PARSE_FAILED_MANIFEST_MALFORMED": "the APK's AndroidManifest.xml is malformed",
}

_FAILURE_RE = re.compile(r"Failure \[(\w+)(?::\s*([^\]]*))?\]")


class DeviceError(HonkError):
    """A device operation failed; ``str()`` says what happened and what to do, in plain words.

    ``code`` is machine-readable: an installer code such as
    ``INSTALL_FAILED_INSUFFICIENT_STORAGE`` or one of Honk's own (``NO_DEVICE``, ...).
    """

    def __init__(self, message: str, code: str = "ADB_ERROR") -> None:
        super().__init__(message)
        self.code = code


def hint_for(state: str) -> str:
    """What to do about a device in ``state`` (empty when it is ready)."""
    return _HINTS.get(state, f"adb reports the device as '{state}'.")


def failure_in_words(code: str, detail: str = "") -> str:
    """An installer failure code in plain words (the code itself stays in the message)."""
    words = _FAILURES.get(code, "the device's installer refused the APK")
    return f"{words} ({code}{': ' + detail if detail else ''})"


def failure_from_reply(serial: str, reply: str) -> DeviceError | None:
    """The installer's ``Failure [CODE: detail]`` in a reply as an error; None if absent."""
    found = _FAILURE_RE.search(reply)
    if found is None:
        return None
    reason = failure_in_words(found.group(1), (found.group(2) or "").strip())
    return DeviceError(f"Install on {serial} failed: {reason}.", found.group(1))
