"""`hartomat schema`: the workflow JSON Schema, generated from the pydantic models."""

import argparse
import json
from pathlib import Path

from ..model.workflow import workflow_json_schema

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "workflow.schema.json"


def schema_text() -> str:
    return json.dumps(workflow_json_schema(), indent=2, sort_keys=True) + "\n"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("schema", help="print (or --write) the workflow JSON Schema")
    parser.add_argument("--write", action="store_true", help=f"write it to {SCHEMA_PATH.name} in the package")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    text = schema_text()
    if args.write:
        SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
        SCHEMA_PATH.write_text(text)
        print(SCHEMA_PATH)
    else:
        print(text, end="")
    return 0
