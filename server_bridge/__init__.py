"""The farm: an HTTP job queue (server), its client, and the worker loop that runs jobs.

Modules: `db` (SQLite store and schema), `jobstate` (the only place a job status changes),
`auth` (tokens and roles), `storage` (uploaded files), `uploads` (whose they are: scoping, quota,
retention), `redact` (paths as relative names for submitters), `catalog` (workflows and output types),
`orders`, `queue` (claim, heartbeat, complete), `notify` (webhooks), `app` (FastAPI),
`client` (requests), `publisher` (uploads outputs), `worker` (the loop).
"""
