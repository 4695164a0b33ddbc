"""Dependencies point one way (docs/ARCHITECTURE.md): checked on the import graph."""

from __future__ import annotations

import ast
from pathlib import Path

import gan_augment
from gan_augment import cli

PACKAGE = Path(gan_augment.__file__).parent


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every import in a source file; ``name`` is "" for ``import module``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [(node.module or "", alias.name) for alias in node.names]
    return found


def test_the_library_never_imports_the_pipeline():
    # `run` reaches the CLI as a plugin (entry point), not an import
    offenders = [f"{path.relative_to(PACKAGE)}: {module}" for path in PACKAGE.rglob("*.py")
                 for module, _ in _imports(path) if module.split(".")[0] == "pipelines"]
    assert not offenders
    assert "run" in cli.plugin_commands()  # registered by pyproject.toml's entry point


def test_validation_and_models_do_not_import_downstream_evaluation():
    # the gates' feature space comes from gan_augment.data.matrix, below both
    offenders = [str(path.relative_to(PACKAGE)) for folder in ("validation", "models", "data")
                 for path in (PACKAGE / folder).rglob("*.py")
                 if any(module == "gan_augment.downstream" for module, _ in _imports(path))]
    assert not offenders


def test_the_table_gan_uses_no_private_names_of_the_image_gan():
    private = [name for module, name in _imports(PACKAGE / "models" / "tabular.py")
               if module == "gan_augment.models.gan" and name.startswith("_")]
    assert not private


def test_both_gans_share_a_base_and_the_table_gan_is_not_an_image_gan():
    from gan_augment.models import ConditionalGAN, GANBase, TabularGAN

    assert not issubclass(TabularGAN, ConditionalGAN)
    assert issubclass(TabularGAN, GANBase) and issubclass(ConditionalGAN, GANBase)
