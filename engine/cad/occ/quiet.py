"""Silence OCCT's console messenger: its transfer statistics would drown the run's own log."""

from __future__ import annotations

_done = False


def silence_occt() -> None:
    """Raise the default printers' level to failures only (once per process)."""
    global _done
    if _done:
        return
    from OCP.Message import Message, Message_Gravity

    printers = Message.DefaultMessenger_s().Printers()
    for index in range(1, printers.Size() + 1):
        printers.Value(index).SetTraceLevel(Message_Gravity.Message_Fail)
    _done = True
