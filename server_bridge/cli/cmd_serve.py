"""`hartomat serve [--host] [--port] [--data DIR]`: the farm's queue server."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("serve", help="run the farm queue server")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 = any free port; default 8765)")
    parser.add_argument("--data", default=None, help="data folder (default $HARTOMAT_DATA or ./hartomat-farm)")
    parser.add_argument("--lease", type=float, default=None, help="job lease in seconds (default 30)")
    parser.add_argument("--max-upload", type=int, default=None, help="largest upload in bytes")
    parser.add_argument("--library", default=None, help="product library folder of NAME.step files")
    parser.add_argument("--webhook-allow", default=None,
                        help="where order webhooks may go: 'public', hosts, networks, comma-separated "
                             "(default $HARTOMAT_WEBHOOK_ALLOW or public; loopback/private need listing)")
    parser.add_argument("--max-json", type=int, default=None,
                        help="largest JSON request body in bytes (default 1 MiB; uploads have --max-upload)")
    parser.add_argument("--cache-max-gb", type=float, default=None,
                        help="size bound of the farm-wide artifact cache in GB, least recently used evicted "
                             "first (default 20; $HARTOMAT_CACHE_MAX_GB)")
    parser.add_argument("--upload-quota-gb", type=float, default=None,
                        help="bytes of uploads each submit token may keep, in GB (default 10; 0 = none; "
                             "$HARTOMAT_UPLOAD_QUOTA_GB)")
    parser.add_argument("--upload-retention-h", type=float, default=None,
                        help="hours after which uploads no order uses are removed (default 168; "
                             "$HARTOMAT_UPLOAD_RETENTION_H)")
    parser.add_argument("--test-mode", action="store_true", default=None,
                        help="tests only: mount the fault switch POST /api/test/fault (also HARTOMAT_TEST_MODE=1)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from server_bridge.server import serve
    from server_bridge.settings import ServerSettings

    settings = ServerSettings.from_env(args.data, lease_s=args.lease, max_upload_bytes=args.max_upload,
                                       max_json_bytes=args.max_json, test_mode=args.test_mode,
                                       library_dir=Path(args.library) if args.library else None,
                                       webhook_allow=args.webhook_allow,
                                       cache_max_bytes=None if args.cache_max_gb is None
                                       else int(args.cache_max_gb * 1024**3),
                                       upload_quota_bytes=None if args.upload_quota_gb is None
                                       else int(args.upload_quota_gb * 1024**3),
                                       upload_retention_s=None if args.upload_retention_h is None
                                       else args.upload_retention_h * 3600)
    serve(settings, args.host, args.port)
    return 0
