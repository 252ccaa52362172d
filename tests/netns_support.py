"""A network namespace with only loopback, for tests that let a webhook go out.

`loopback_only()` moves the calling thread into a fresh network namespace (made by `unshare -n`)
with `lo` up, and back out at the end. Threads and processes it starts meanwhile (a receiver, a
`hartomat serve`, workers) live in that namespace too, so whatever a bug lets them send can reach
nothing but 127.0.0.1 of the namespace. Needs root (CAP_SYS_ADMIN), as the CI and these machines
run tests; elsewhere run pytest under `sudo` or `unshare -r -n` (then it nests one namespace deeper).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import struct
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns(CLONE_NEWNET) failed: {os.strerror(errno)}; the webhook tests need root "
                             "(CAP_SYS_ADMIN) to run in a loopback-only network namespace")


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def interfaces() -> list[str]:
    """The network interfaces the calling thread sees."""
    return sorted(name for _, name in socket.if_nameindex())


@contextmanager
def loopback_only() -> Iterator[None]:
    holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "echo ready && exec sleep infinity"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    if holder.stdout.readline().strip() != "ready":
        holder.wait(10)
        raise AssertionError(f"unshare -n failed (the webhook tests need root): {holder.stderr.read()}")  # type: ignore[union-attr]
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    inside = os.open(f"/proc/{holder.pid}/ns/net", os.O_RDONLY)
    try:
        _setns(inside)
        _loopback_up()
        assert interfaces() == ["lo"], interfaces()
        yield
    finally:
        _setns(own)
        os.close(own)
        os.close(inside)
        holder.kill()
        holder.wait(10)
