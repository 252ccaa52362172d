"""Helper-interpreter entry: `python -m engine.runtime.node_worker` reads one JSON call on stdin
and writes one JSON result on stdout. Used when the running interpreter lacks a capability
(e.g. no OCP inside a desktop Blender) and RunOptions.helper_python names one that has it.
"""

from __future__ import annotations

import json
import sys

from .calls import execute_payload

RESULT_MARK = "@@HARTOMAT-RESULT@@"


def main() -> int:
    payload = json.loads(sys.stdin.read())
    result = execute_payload(payload)
    sys.stdout.write(RESULT_MARK + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
