"""`contrario gui` and `contrario demo`: open the review workbench (Qt is imported only when they run).

They live in app/ because they start the GUI and core never imports app; core.cli loads this module by
name (GUI_COMMAND_MODULE), so the command line still offers them.
"""

from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("gui", help="open the review workbench on a project")
    p.add_argument("project", help="project folder")
    p.add_argument("--annotator", help="name saved with every verdict (asked once otherwise)")
    p.add_argument("--screenshot", metavar="PNG", help="render the first scored image to PNG and exit")
    p.set_defaults(func=cmd_gui)

    p = sub.add_parser("demo", help="create a demo project from generated images and open it")
    p.add_argument("--folder", help="where to create it (default: the user data folder of Contrario)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the generated images")
    p.add_argument("--annotator", help="name saved with every verdict (asked once otherwise)")
    p.add_argument("--screenshot", metavar="PNG",
                   help="train and score the demo first, render the first scored image to PNG and exit")
    p.add_argument("--headless", action="store_true",
                   help="create, train and score the demo project without opening a window")
    p.add_argument("--case", choices=("textures", "leather-hides", "fruit"), default="textures",
                   help="textures (default: small textures and multi-view parts); leather-hides: hides rendered "
                        "under one diffuse and four grazing lights (4000x3000); fruit: three cameras per fruit")
    p.add_argument("--items", type=int, metavar="N",
                   help="hides or fruit to generate (leather-hides: 10, fruit: 15); 2/5 defective, 1/5 good test")
    p.add_argument("--size", metavar="WxH", help="image size of a case (leather-hides: 4000x3000, fruit: 512x512)")
    p.set_defaults(func=cmd_demo)


def require_display() -> None:
    """Raise a one-line error when no window can open here (Qt would abort the process instead)."""
    from app.display_check import display_problem
    from core.errors import ContrarioError

    problem = display_problem()
    if problem:
        raise ContrarioError(problem)


def cmd_gui(args) -> int:
    from core.store.project import Project

    project = Project.open(args.project)  # bad path: ProjectError, printed as one line
    require_display()
    from app.main import run_gui

    return run_gui(annotator=args.annotator, screenshot=args.screenshot, project_obj=project)


def default_demo_folder() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("contrario")) / "demo-project"


def _case_options(args) -> dict:
    """The checked --items and --size of a rendered case ({} for the textures demo, which takes neither)."""
    from core.demo.cases import Split, parse_size
    from core.errors import ContrarioError

    if args.case == "textures":
        if args.items is not None or args.size is not None:
            raise ContrarioError("--items and --size apply to --case leather-hides or fruit")
        return {}
    if args.items is not None:
        Split.of(args.items)
    return {"items": args.items, "size": parse_size(args.size, args.case) if args.size else None}


def _create_case(folder: Path, args, options: dict):
    from core.demo import queue_demo_model
    from core.demo.cases import create_case_project

    project = create_case_project(args.case, folder, seed=args.seed,
                                  progress=lambda message: print(f"  {message}", file=sys.stderr), **options)
    job_id = queue_demo_model(project, batch=f"demo-{args.case}/train")
    print(f"{args.case}: planted masks imported as ground truth; training on demo-{args.case}/train and "
          f"scoring queued as job {job_id}", file=sys.stderr)
    return project


def cmd_demo(args) -> int:
    from core.demo import confirm_demo_goods, create_demo_project, queue_demo_model
    from core.store.project import Project, is_project

    options = _case_options(args)
    folder = Path(args.folder) if args.folder else default_demo_folder()
    if args.case != "textures" and not args.folder:
        folder = folder.with_name(f"demo-{args.case}")
    if not args.headless:
        require_display()  # before any job is queued: a queued job only a window would run stays queued
    if is_project(folder):
        print(f"opening the existing demo project in {folder}", file=sys.stderr)
        project = Project.open(folder)
    else:
        print(f"creating a demo project in {folder} ...", file=sys.stderr)
        if args.case != "textures":
            project = _create_case(folder, args, options)
        else:
            project = create_demo_project(folder, seed=args.seed)
            marked = confirm_demo_goods(project)
            job_id = queue_demo_model(project)
            print(f"{marked} images confirmed good; training and scoring queued as job {job_id}", file=sys.stderr)
    if args.headless or args.screenshot:
        from core.commands.job_cmds import run_queued

        run_queued(project, quiet=False)
        if args.headless:
            print(f"demo project ready in {folder}; open it with: contrario gui {folder}", file=sys.stderr)
            project.close()
            return 0
    from app.main import run_gui

    return run_gui(annotator=args.annotator, screenshot=args.screenshot, project_obj=project, sort="score_desc")
