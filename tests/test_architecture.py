"""Dependencies point one way (docs/ARCHITECTURE.md): checked on the import graph."""

from __future__ import annotations

import ast
from pathlib import Path

import gan_augment
import gan_augment.kinds
import gan_augment.validation.gates
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


def _kind_literal_comparisons(path: Path) -> list[int]:
    """Lines comparing something's ``.kind`` (a Dataset's, a GAN's) with a data kind's name."""
    names = set(gan_augment.kinds.KIND_NAMES)
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            on_kind = any(isinstance(s, ast.Attribute) and s.attr == "kind" for s in sides)
            literals = {s.value for s in sides if isinstance(s, ast.Constant)}
            literals |= {e.value for s in sides if isinstance(s, (ast.Tuple, ast.Set, ast.List))
                         for e in s.elts if isinstance(e, ast.Constant)}
            if on_kind and literals & names:
                lines.append(node.lineno)
    return lines


def test_only_the_kind_modules_branch_on_the_data_kind():
    # everything else asks kind_of(data) (gan_augment/kinds/)
    roots = [PACKAGE, PACKAGE.parent / "pipelines"]
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line}" for root in roots for path in root.rglob("*.py")
                 if "kinds" not in path.relative_to(root).parts for line in _kind_literal_comparisons(path)]
    assert not offenders


def test_every_kind_implements_the_whole_protocol():
    from gan_augment.kinds import KIND_NAMES, DataKind, kind_of

    for name in KIND_NAMES:
        kind = kind_of(name)
        assert isinstance(kind, DataKind) and kind.name == name
        assert not getattr(type(kind), "__abstractmethods__", None)
        assert kind.gates == gan_augment.validation.gates.GATES_BY_KIND[name]
