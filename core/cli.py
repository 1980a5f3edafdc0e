"""The `contrario` command line: parse arguments, call core, print. Each command lives in core/commands/."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from core import __version__
from core.errors import ContrarioError, one_line

# Each module defines `register(subparsers)`, which adds its sub-command with `set_defaults(func=...)`.
COMMAND_MODULES = [
    "core.commands.project_cmds",
    "core.commands.eval_cmd",
    "core.commands.job_cmds",
    "core.commands.model_cmds",
    "core.commands.export_cmds",
    "core.commands.annotator_cmds",
    "core.commands.maintenance_cmds",
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
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # `contrario jobs P | head`: the reader has gone, which is no error of ours
        _silence_stdout()
        return 141
    except ContrarioError as exc:
        return _fail(args.command, exc)
    except OSError as exc:  # permission denied, disk full, ...: the file and the reason, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(args.command, f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        print(f"contrario {args.command}: interrupted", file=sys.stderr)
        return 130


def _fail(command: str, message: object) -> int:
    print(f"contrario {command}: error: {one_line(message)}", file=sys.stderr)
    return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
