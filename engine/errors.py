"""Errors a person can act on: each names the file, node, field or request at fault."""


class HartomatError(Exception):
    """Base of expected failures; the CLI prints the message without a traceback."""


class NodeInputError(HartomatError):
    """A node got input it cannot work with (missing file, broken STEP, ...)."""


class CancelledError(HartomatError):
    """The run was cancelled; raised between nodes and inside long nodes that poll."""


class NodeTimeoutError(HartomatError):
    """A node ran past its policy's timeout_s; raised where it polls, or by the runtime."""
