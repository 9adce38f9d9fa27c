"""free_port: a loopback port a server can take, never one the kernel hands clients."""

from __future__ import annotations

import socket
import sys

import pytest

from desktop.sim.adb_device import VirtualAdbDevice
from desktop.sim.stand_ins import ephemeral_floor, free_port


@pytest.mark.skipif(sys.platform != "linux", reason="reads Linux's ip_local_port_range")
def test_free_ports_lie_below_the_kernels_ephemeral_range() -> None:
    # A port a client may also get as its source port can self-connect (adb read back its
    # own "000chost:version" in CI); below the range that cannot happen.
    low = ephemeral_floor()
    ports = {free_port() for _ in range(50)}
    assert all(1024 <= port < low for port in ports), sorted(ports)
    assert len(ports) > 1  # picked at random, so parallel users rarely race for one


def test_a_free_port_can_be_listened_on() -> None:
    port = free_port()
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass


@pytest.mark.skipif(sys.platform != "linux", reason="reads Linux's ip_local_port_range")
async def test_a_virtual_phone_listens_below_the_ephemeral_range() -> None:
    # adb keeps reconnecting to a phone that stopped; that port must never be a client's.
    device = VirtualAdbDevice()
    await device.start()
    try:
        assert 1024 <= device.port < ephemeral_floor()
    finally:
        await device.stop()
