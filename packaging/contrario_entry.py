"""Entry point of the frozen application folder (dist/contrario/contrario).

`contrario ARGS` is the ordinary command line (core.cli). Two internal commands exist only here:
`_worker PROJECT JOB_ID` is how core.jobs.runner starts a job process when `sys.frozen` is set, and
`_desktop [PROJECT]` is what the .desktop entry runs: the workbench, on PROJECT when one is given.
"""

from __future__ import annotations

import multiprocessing
import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["_worker"]:
        from core.jobs.worker import main as worker_main

        return worker_main(argv[1:])
    if argv[:1] == ["_desktop"]:
        from app.main import run_gui

        return run_gui(project=argv[1] if len(argv) > 1 else None)
    from core.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    multiprocessing.freeze_support()
    raise SystemExit(main(sys.argv[1:]))
