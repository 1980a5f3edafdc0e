"""The `contrario` command line: parse arguments, call core, print. Each command lives in core/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys

from core import __version__
from core.errors import ContrarioError

# Each module defines `register(subparsers)`, which adds its sub-command with `set_defaults(func=...)`.
COMMAND_MODULES = [
    "core.commands.project_cmds",
    "core.commands.eval_cmd",
    "core.commands.job_cmds",
    "core.commands.model_cmds",
    "core.commands.export_cmds",
]
# `gui` and `demo` start the workbench, so they belong to app/ (core never imports app); loaded by name.
GUI_COMMAND_MODULE = "app.commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contrario", description="Industrial visual inspection.")
    parser.add_argument("--version", action="version", version=f"contrario {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES[:3] + [GUI_COMMAND_MODULE] + COMMAND_MODULES[3:]:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ContrarioError as exc:
        print(f"contrario {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"contrario {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
