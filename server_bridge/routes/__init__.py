"""The farm API's routes, one router per area; server_bridge.app wires them into the app.

- admin: API tokens, output types (mode, parity), the worker list and blocks
- workflows: stored workflows and the node definitions
- orders: orders, and reading or cancelling one job
- workers: what a worker does with a job: register, claim, heartbeat, uploads, complete, hand back, sign off
- files: STEP files, published assets, the farm-wide artifact cache
"""

from __future__ import annotations

from . import admin, files, orders, workers, workflows

# Starlette tries routes in order: the busy workers' routes (claim, complete, heartbeat) first.
ROUTERS = (workers.router, orders.router, files.router, workflows.router, admin.router)

__all__ = ["ROUTERS"]
