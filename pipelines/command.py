"""The ``gan-augment run`` command, added to the library's CLI as a plugin.

The library never imports `pipelines`: ``pyproject.toml`` registers `COMMAND` under the
``gan_augment.commands`` entry-point group, and `gan_augment.cli` adds every command of that group
it finds. Loading this module is light (no Dagster, no TensorFlow) so ``gan-augment --help``
stays fast; the pipeline is imported when the command runs.
"""

from __future__ import annotations

from gan_augment.cli import PluginCommand


def _main(argv: list[str], prog: str) -> int:
    import os

    from pipelines import PROJECT_DIR_ENV

    argv, project_dir = _take_project_dir(argv)
    if project_dir is not None:  # before the pipeline reads data/datasets.yaml on import
        os.environ[PROJECT_DIR_ENV] = project_dir
    if _asks_for(argv, "--executor", "multiprocess") and not _asks_for(argv, "--config"):
        # the step processes' imports start before this one imports Dagster (a --config may
        # choose another start method: then run_pipeline starts the server once it has read it)
        from pipelines.forkserver import start_forkserver

        start_forkserver()
    from pipelines.run import main

    return main(argv, prog=prog)


def _asks_for(argv: list[str], option: str, value: str | None = None) -> bool:
    """Whether ``argv`` holds ``option`` (with ``value``, as ``option value`` or ``option=value``)."""
    for i, arg in enumerate(argv):
        if arg == option and (value is None or argv[i + 1 : i + 2] == [value]):
            return True
        if arg.startswith(option + "=") and (value is None or arg == f"{option}={value}"):
            return True
    return False


def _take_project_dir(argv: list[str]) -> tuple[list[str], str | None]:
    """``argv`` without ``--project-dir DIR`` / ``--project-dir=DIR``, and DIR (None if absent)."""
    rest, found = [], None
    args = iter(argv)
    for arg in args:
        if arg == "--project-dir":
            found = next(args, "")
        elif arg.startswith("--project-dir="):
            found = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return rest, found


COMMAND = PluginCommand(
    help="run the whole Dagster pipeline (ingest → train → generate → validate → augment → "
         "downstream evaluation) for one data set; `run --help` lists its options",
    main=_main,
)
