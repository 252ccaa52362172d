"""`hartomat worker --server URL --token T`: a warm farm worker on this interpreter's bpy."""

from __future__ import annotations

import argparse

from ._farm import add_connection


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("worker", help="run a farm worker (claims and runs jobs until stopped)")
    add_worker_options(parser)
    parser.set_defaults(func=run)


def add_worker_options(parser: argparse.ArgumentParser) -> None:
    add_connection(parser)
    parser.add_argument("--name", default="", help="worker name shown on the server (default host-pid)")
    parser.add_argument("--work-dir", default=None, help="scratch folder for jobs and the node cache")
    parser.add_argument("--capabilities", default=None,
                        help="comma-separated capabilities to offer (default: detected bpy, ocp, browser)")
    parser.add_argument("--tags", default="", help="comma-separated tags (e.g. studio-a,big-memory): jobs whose "
                        "output type or order line requires tags go only to workers that have all of them")
    parser.add_argument("--wait", type=float, default=20.0, help="long-poll wait per claim, seconds")
    parser.add_argument("--no-farm-cache", action="store_true",
                        help="run every node here instead of taking outputs from the farm-wide artifact cache")
    parser.add_argument("--cad-processes", type=int, default=2,
                        help="warm processes that run the CAD (OCP) nodes for the worker's whole life (default 2; "
                             "0: each job starts its own)")
    parser.add_argument("--cad-max-rss", type=float, default=4096.0, metavar="MIB",
                        help="a CAD process grown past this resident memory is replaced after its node (default 4096)")
    parser.add_argument("--max-jobs", type=int, default=None, help="exit after this many jobs")
    parser.add_argument("--idle-exit", type=float, default=None, help="exit after this long without a job")
    parser.add_argument("--retry", type=float, default=float("inf"),
                        help="give up after this many seconds of continuous server trouble (default: never; "
                             "the worker waits out restarts, 5xx and 429, and exits only on 401/403 or a signal)")
    parser.add_argument("--library", action="append", default=[], metavar="DIR",
                        help="product library a job's path settings may name (repeatable)")
    parser.add_argument("--templates", action="append", default=[], metavar="DIR",
                        help="template library a job's path settings may name (repeatable)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NODE.FIELD=VALUE",
                        help="this worker's own setting for every job (operator settings too, e.g. "
                             "step.library_dir=DIR); wins over the order's, paths stay inside the folders above")


def run(args: argparse.Namespace) -> int:
    return start_worker(args)


def start_worker(args: argparse.Namespace) -> int:
    """Shared by `hartomat worker` and scripts/farm_worker.py inside Blender."""
    import tempfile
    from pathlib import Path

    from engine.model.capabilities import capability_report
    from engine.model.overrides import parse_sets
    from server_bridge.client import FarmClient
    from server_bridge.worker import Worker, WorkerStop

    lacking: dict[str, str] = {}
    if args.capabilities is not None:
        capabilities = [c for c in args.capabilities.split(",") if c]
    else:
        report = capability_report(verify=True)
        capabilities = sorted(name for name, problem in report.items() if problem is None)
        lacking = {name: problem for name, problem in report.items() if problem is not None}
    client = FarmClient(args.server, args.token, retry_s=args.retry)
    work_dir = Path(args.work_dir or tempfile.mkdtemp(prefix="hartomat-worker-"))
    worker = Worker(client, capabilities, work_dir, name=args.name, wait_s=args.wait, max_jobs=args.max_jobs,
                    idle_exit_s=args.idle_exit,
                    libraries={"products": [Path(p) for p in args.library],
                               "templates": [Path(p) for p in args.templates]},
                    overrides=parse_sets(args.sets), farm_cache=not args.no_farm_cache,
                    tags=[t.strip() for t in args.tags.split(",") if t.strip()],
                    cad_processes=args.cad_processes, cad_max_rss_mb=args.cad_max_rss)
    worker.print(f"capabilities: {', '.join(capabilities) or 'none'}")
    for name, problem in lacking.items():
        worker.print(f"lacks {name}: {problem}")
    worker.install_signal_handlers()
    try:
        worker.warm_up()
        return worker.run()
    except WorkerStop:  # stopped before it registered
        return 0
