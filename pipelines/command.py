"""The ``gan-augment run`` command, added to the library's CLI as a plugin.

The library never imports `pipelines`: ``pyproject.toml`` registers `COMMAND` under the
``gan_augment.commands`` entry-point group, and `gan_augment.cli` adds every command of that group
it finds. Loading this module is light (no Dagster, no TensorFlow) so ``gan-augment --help``
stays fast; the pipeline is imported when the command runs.
"""

from __future__ import annotations

from gan_augment.cli import PluginCommand


def _main(argv: list[str], prog: str) -> int:
    from pipelines.run import main

    return main(argv, prog=prog)


COMMAND = PluginCommand(
    help="run the whole Dagster pipeline (ingest → train → generate → validate → augment → "
         "downstream evaluation) for one data set; `run --help` lists its options",
    main=_main,
)
