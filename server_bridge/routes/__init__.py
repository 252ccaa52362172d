"""The farm API's routes, one router per area; server_bridge.app wires them into the app.

- admin: API tokens, output types (mode, parity), the worker list and blocks
- workflows: stored workflows and the node definitions
- orders: orders, and reading or cancelling one job
- workers: what a worker does with a job: register, claim, heartbeat, uploads, complete, hand back, sign off
- files: STEP files, published assets, the farm-wide artifact cache
- monitoring: /metrics for Prometheus, render statistics of an output type
"""

from __future__ import annotations

from . import admin, files, monitoring, orders, workers, workflows

# Starlette tries routes in order: the busy workers' routes (claim, complete, heartbeat) first.
ROUTERS = (workers.router, orders.router, files.router, workflows.router, admin.router, monitoring.router)

__all__ = ["ROUTERS"]
