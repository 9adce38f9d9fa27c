"""iOS tools as a command contract: scripted executables on PATH record their arguments and
answer with output in the formats the real tools print (devicectl's --json-output file,
ideviceinstaller's status lines, idevicedebug's and idevice_id's messages)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from desktop.adapters.ios.devices import IosDevices, IosError, IosInstaller, parse_idevice_id

UDID_PHONE = "00008130-001A2B3C4D5E801E"
CORE_ID_PHONE = "7F3E0C2A-1B4D-4E5F-9A8B-0C1D2E3F4A5B"

# Shaped like `xcrun devicectl list devices --json-output FILE` (Xcode 16): a wired phone,
# an unpaired iPad on the network and a watch (not an install target).
DEVICECTL_LIST: dict[str, Any] = {
    "info": {"commandType": "devicectl.list.devices", "jsonVersion": 2, "outcome": "success",
             "version": "397.24"},
    "result": {"devices": [
        {"capabilities": [], "identifier": CORE_ID_PHONE, "visibilityClass": "default",
         "connectionProperties": {"authenticationType": "manualPairing", "pairingState": "paired",
                                  "transportType": "wired", "tunnelState": "disconnected"},
         "deviceProperties": {"developerModeStatus": "enabled", "name": "QA iPhone",
                              "osBuildUpdate": "22B83", "osVersionNumber": "18.1"},
         "hardwareProperties": {"deviceType": "iPhone", "marketingName": "iPhone 15 Pro",
                                "platform": "iOS", "productType": "iPhone16,1",
                                "udid": UDID_PHONE}},
        {"identifier": "0A1B2C3D-0000-4000-8000-00000000B002",
         "connectionProperties": {"pairingState": "unpaired", "transportType": "localNetwork"},
         "deviceProperties": {"name": "Studio iPad", "osVersionNumber": "17.6"},
         "hardwareProperties": {"deviceType": "iPad", "platform": "iOS", "productType": "iPad13,1",
                                "udid": "00008103-000E1D2C3B4A001E"}},
        {"identifier": "0A1B2C3D-0000-4000-8000-00000000B003",
         "connectionProperties": {"pairingState": "paired", "tunnelState": "unavailable"},
         "deviceProperties": {"name": "Watch"},
         "hardwareProperties": {"deviceType": "appleWatch", "platform": "watchOS",
                                "udid": "00008301-0001"}},
    ]},
}

DEVICECTL_INSTALLED = {
    "info": {"commandType": "devicectl.device.install.app", "outcome": "success", "version": "397"},
    "result": {"deviceIdentifier": CORE_ID_PHONE, "installedApplications": [
        {"bundleID": "com.example.honk", "databaseSequenceNumber": 1412,
         "installationURL": "file:///private/var/containers/Bundle/Application/X/Honk.app/",
         "launchServicesIdentifier": "unknown", "options": {}}]},
}

DEVICECTL_INSTALL_FAILED = {
    "error": {"code": 3002, "domain": "com.apple.dt.CoreDeviceError", "userInfo": {
        "NSLocalizedDescription": {"string": "Failed to install the app on the device."},
        "NSUnderlyingError": {"error": {"code": -402620388, "domain": "MIInstallerErrorDomain",
                                        "userInfo": {}}}}},
    "info": {"commandType": "devicectl.device.install.app", "outcome": "failed", "version": "397"},
}

DEVICECTL_LAUNCHED = {
    "info": {"commandType": "devicectl.device.process.launch", "outcome": "success"},
    "result": {"deviceIdentifier": CORE_ID_PHONE, "launchOptions": {
        "startStopped": False, "terminateExistingInstances": True},
        "process": {"executable": "file:///private/var/containers/Bundle/Application/X/Honk.app/"
                                  "Honk", "processIdentifier": 4242}},
}

# ideviceinstaller 1.1.x: "\r" redraws within a status, "\n" when the status changes.
IDEVICEINSTALLER_OK = (
    "WARNING: could not locate iTunesMetadata.plist in archive!\n"
    "Copying 'Honk.ipa' to device... DONE.\n"
    "Installing 'com.example.honk'\n"
    "Install: CreatingStagingDirectory (5%)\n"
    "Install: ExtractingPackage (15%)\rInstall: ExtractingPackage (25%)\n"
    "Install: PreflightingApplication (30%)\n"
    "Install: VerifyingApplication (40%)\n"
    "Install: InstallingApplication (60%)\n"
    "Install: GeneratingApplicationMap (90%)\n"
    "Install: Complete\n"
)
IDEVICEINSTALLER_UNSIGNED = (
    "Copying 'Honk.ipa' to device... DONE.\n"
    "Installing 'com.example.honk'\n"
    "Install: CreatingStagingDirectory (5%)\n"
    "Install: VerifyingApplication (40%)\n"
    'ERROR: Install failed. Got error "ApplicationVerificationFailed" with code 0xe8008015: '
    "Failed to verify code signature of /private/var/installd/Library/Caches/"
    "com.apple.mobile.installd.staging/temp.Zq1/extracted/Payload/Honk.app : 0xe8008015 "
    "(A valid provisioning profile for this executable was not found.)\n"
)

FAKE_TOOL = textwrap.dedent(
    """\
    #!{python}
    import json, os, sys
    here = os.path.dirname(os.path.abspath(__file__))
    name = os.path.basename(sys.argv[0])
    args = sys.argv[1:]
    with open(os.path.join(here, "calls.jsonl"), "a") as f:
        f.write(json.dumps([name, *args]) + "\\n")
    with open(os.path.join(here, "scenario.json")) as f:
        answers = json.load(f).get(name, {{}})
    key = max((k for k in answers if " ".join(args).startswith(k)), key=len, default=None)
    answer = answers.get(key, {{"stdout": "unexpected call", "exit": 64}})
    if "json" in answer and "--json-output" in args:
        with open(args[args.index("--json-output") + 1], "w") as f:
            json.dump(answer["json"], f)
    sys.stdout.write(answer.get("stdout", ""))
    sys.stderr.write(answer.get("stderr", ""))
    sys.exit(answer.get("exit", 0))
    """
)


class FakeTools:
    """A bin dir of scripted tools; ``answers[tool][argv prefix]`` says what each prints."""

    def __init__(self, root: Path, answers: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        (self.bin / "scenario.json").write_text(json.dumps(answers))
        for tool in answers:
            path = self.bin / tool
            path.write_text(FAKE_TOOL.format(python=sys.executable))
            path.chmod(0o755)

    def calls(self) -> list[list[str]]:
        log = self.bin / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]


def devicectl(tmp_path: Path, **answers: dict[str, Any]) -> tuple[FakeTools, IosDevices]:
    tools = FakeTools(tmp_path, {"xcrun": {
        "devicectl list devices": {"json": DEVICECTL_LIST},
        "devicectl device install app": {"json": DEVICECTL_INSTALLED,
                                         "stdout": "App installed:\n"},
        "devicectl device process launch": {"json": DEVICECTL_LAUNCHED,
                                            "stdout": "Launched application\n"},
        **answers,
    }})
    return tools, IosDevices(platform="darwin", path=str(tools.bin))


def libimobile(tmp_path: Path, installer: dict[str, Any],
               debug: dict[str, Any] | None = None) -> tuple[FakeTools, IosDevices]:
    tools = FakeTools(tmp_path, {
        "idevice_id": {"-l": {"stdout": f"{UDID_PHONE}\n"}, UDID_PHONE: {"stdout": "QA iPhone\n"}},
        "ideviceinstaller": {"": installer},
        "idevicedebug": {"": debug or {"stdout": ""}},
    })
    return tools, IosDevices(platform="linux", path=str(tools.bin))


def ipa(tmp_path: Path) -> Path:
    path = tmp_path / "build" / "Honk.ipa"
    path.parent.mkdir()
    path.write_bytes(b"PK\x03\x04 not really an ipa")
    return path


async def test_devicectl_lists_devices_with_states(tmp_path: Path) -> None:
    tools, devices = devicectl(tmp_path)
    found = await devices.list()
    assert [(d.name, d.state) for d in found] == [("QA iPhone", "ready"),
                                                 ("Studio iPad", "unpaired")]
    phone = found[0]
    assert (phone.identifier, phone.udid, phone.model, phone.os_version) == (
        CORE_ID_PHONE, UDID_PHONE, "iPhone 15 Pro", "18.1")
    assert "Trust" in found[1].hint
    call = tools.calls()[0]
    assert call[:6] == ["xcrun", "devicectl", "list", "devices", "--timeout", "5"]
    assert call[6] == "--json-output" and call[7].endswith("result.json")


async def test_devicectl_install_and_launch(tmp_path: Path) -> None:
    tools, devices = devicectl(tmp_path)
    artifact = ipa(tmp_path)
    installer = IosInstaller(devices, UDID_PHONE, "com.example.honk")
    seen: list[float] = []
    assert await installer.install(artifact, lambda f, _m: seen.append(f)) == "com.example.honk"
    assert await installer.launch() == "com.example.honk"
    assert installer.describe() == f"QA iPhone ({UDID_PHONE})"
    install, launch = tools.calls()[1:]
    assert install[:8] == ["xcrun", "devicectl", "device", "install", "app", "--device",
                           CORE_ID_PHONE, str(artifact)]
    assert install[8] == "--json-output"
    assert launch[:8] == ["xcrun", "devicectl", "device", "process", "launch", "--device",
                          CORE_ID_PHONE, "--terminate-existing"]
    assert launch[8] == "--json-output" and launch[10] == "com.example.honk"
    assert seen[0] == 0.0 and seen[-1] == 1.0


async def test_devicectl_install_failure_reads_the_error(tmp_path: Path) -> None:
    _, devices = devicectl(tmp_path, **{"devicectl device install app": {
        "json": DEVICECTL_INSTALL_FAILED, "exit": 1,
        "stderr": "ERROR: Failed to install the app on the device. "
                  "(com.apple.dt.CoreDeviceError error 3002.)\n"}})
    with pytest.raises(IosError) as err:
        await devices.install(CORE_ID_PHONE, ipa(tmp_path), lambda _f, _m: None)
    assert "Failed to install the app on the device." in str(err.value)
    assert "com.apple.dt.CoreDeviceError error 3002" in str(err.value)
    assert err.value.code == "DEVICECTL_3002"


async def test_devicectl_without_json_names_stderr(tmp_path: Path) -> None:
    _, devices = devicectl(tmp_path, **{"devicectl device process launch": {
        "exit": 1, "stderr": "ERROR: The device is locked. (com.apple.dt.CoreDeviceError "
                             "error 10002.)\n"}})
    with pytest.raises(IosError, match="The device is locked"):
        await devices.launch(CORE_ID_PHONE, "com.example.honk")


async def test_xcode_without_devicectl(tmp_path: Path) -> None:
    tools = FakeTools(tmp_path, {"xcrun": {"devicectl": {
        "exit": 72, "stderr": 'xcrun: error: unable to find utility "devicectl", not a '
                              "developer tool or in PATH\n"}}})
    devices = IosDevices(platform="darwin", path=str(tools.bin))
    with pytest.raises(IosError, match="Xcode 15 or newer") as err:
        await devices.list()
    assert err.value.code == "TOOL_MISSING"


async def test_choose_needs_a_choice_and_a_ready_device(tmp_path: Path) -> None:
    _, devices = devicectl(tmp_path)
    with pytest.raises(IosError) as err:
        await devices.choose(None)
    assert err.value.code == "SEVERAL_DEVICES" and "QA iPhone" in str(err.value)
    with pytest.raises(IosError) as err:
        await devices.choose("Studio iPad")
    assert err.value.code == "UNPAIRED" and "Trust" in str(err.value)
    with pytest.raises(IosError, match="No iOS device 'nope'"):
        await devices.choose("nope")


async def test_ideviceinstaller_install_with_progress_and_launch(tmp_path: Path) -> None:
    tools, devices = libimobile(tmp_path, {"stdout": IDEVICEINSTALLER_OK})
    artifact = ipa(tmp_path)
    installer = IosInstaller(devices, None, "com.example.honk")
    progress: list[tuple[float, str]] = []
    await installer.install(artifact, lambda f, m: progress.append((f, m)))
    assert await installer.launch() == "com.example.honk"
    assert (0.25, "ExtractingPackage") in progress and (0.9, "GeneratingApplicationMap") in progress
    assert progress[-1][0] == 1.0
    assert tools.calls() == [
        ["idevice_id", "-l"],
        ["idevice_id", UDID_PHONE],
        ["ideviceinstaller", "-u", UDID_PHONE, "-i", str(artifact)],
        ["idevicedebug", "-u", UDID_PHONE, "--detach", "run", "com.example.honk"],
    ]
    assert installer.describe() == f"QA iPhone ({UDID_PHONE})"


async def test_ideviceinstaller_error_in_plain_words(tmp_path: Path) -> None:
    _, devices = libimobile(tmp_path, {"stderr": IDEVICEINSTALLER_UNSIGNED, "exit": 1})
    with pytest.raises(IosError) as err:
        await devices.install(UDID_PHONE, ipa(tmp_path), lambda _f, _m: None)
    assert err.value.code == "ApplicationVerificationFailed"
    assert "provisioning profile does not allow it on this device" in str(err.value)
    assert "0xe8008015" in str(err.value)


async def test_ideviceinstaller_device_gone(tmp_path: Path) -> None:
    _, devices = libimobile(
        tmp_path, {"stderr": f"No device found with udid {UDID_PHONE}.\n", "exit": 255})
    with pytest.raises(IosError) as err:
        await devices.install(UDID_PHONE, ipa(tmp_path), lambda _f, _m: None)
    assert err.value.code == "DEVICE_DISCONNECTED"


async def test_ideviceinstaller_exit_zero_without_complete_is_a_failure(tmp_path: Path) -> None:
    _, devices = libimobile(tmp_path, {"stdout": "Install: VerifyingApplication (40%)\n"})
    with pytest.raises(IosError, match="did not complete"):
        await devices.install(UDID_PHONE, ipa(tmp_path), lambda _f, _m: None)


async def test_idevicedebug_unknown_bundle(tmp_path: Path) -> None:
    _, devices = libimobile(tmp_path, {"stdout": IDEVICEINSTALLER_OK}, {
        "stderr": "Invalid bundle identifier: com.example.nope\n", "exit": 255})
    with pytest.raises(IosError) as err:
        await devices.launch(UDID_PHONE, "com.example.nope")
    assert err.value.code == "LAUNCH_FAILED"
    assert "Invalid bundle identifier: com.example.nope" in str(err.value)
    assert "[device] package" in str(err.value)


@pytest.mark.parametrize("platform", ["darwin", "linux"])
async def test_tools_missing(tmp_path: Path, platform: str) -> None:
    devices = IosDevices(platform=platform, path=str(tmp_path))
    with pytest.raises(IosError) as err:
        await devices.list()
    assert err.value.code == "TOOL_MISSING"
    assert "xcrun devicectl" in str(err.value) and "ideviceinstaller" in str(err.value)


async def test_idevicedebug_missing_is_named(tmp_path: Path) -> None:
    tools = FakeTools(tmp_path, {"idevice_id": {"-l": {"stdout": ""}},
                                 "ideviceinstaller": {"": {"stdout": ""}}})
    devices = IosDevices(platform="linux", path=str(tools.bin))
    with pytest.raises(IosError, match="`idevicedebug` is not installed"):
        await devices.launch(UDID_PHONE, "com.example.honk")
    with pytest.raises(IosError) as err:
        await devices.choose(None)
    assert err.value.code == "NO_DEVICE"


def test_parse_idevice_id_with_connection_suffix() -> None:
    out = f"{UDID_PHONE} (USB)\n00008103-000E1D2C3B4A001E (Network)\n\n"
    assert parse_idevice_id(out) == [UDID_PHONE, "00008103-000E1D2C3B4A001E"]
