"""The files a Python Lambda function's code asset holds: a package of the project and every
project module it imports (read from the source, not imported), so the function ships the
modules it shares with the rest of the project (runtime_scripts/contract.py) instead of copies.

Lambda puts the asset's root on sys.path, so the asset is the project's own layout cut down to
those files; the handler is then named by its full module path (e.g.
"runtime_scripts.pipeline_input.handler.handler") and runs exactly as it does in the tests.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Lambda's Python runtimes run the code "in an environment that includes the SDK for Python
# (Boto3)" (AWS Lambda developer guide): the one library beyond the standard one a package
# may import without shipping it.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore"})


class AssetImportError(ValueError):
    """The package imports something the Lambda runtime cannot provide."""


def package_files(package: str, root: Path = PROJECT_ROOT) -> list[str]:
    """Every file (relative to `root`, '/'-separated) that `package` (e.g.
    "runtime_scripts.pipeline_input") needs: its modules, the project modules they import,
    transitively, and the `__init__.py` of every package on the way. Raises AssetImportError
    for a module that is neither the standard library's nor the project's."""
    project = package.split(".")[0]
    needed: set[Path] = set()
    pending = sorted((root / package.replace(".", "/")).glob("*.py"))
    while pending:
        path = pending.pop()
        if path in needed:
            continue
        needed.add(path)
        pending.extend(_parents(path, root))
        for module in _imports(path, root):
            if module.split(".")[0] == project:
                pending.extend(_module_files(module, root))
            elif module.split(".")[0] not in sys.stdlib_module_names | {"__future__"} \
                    | RUNTIME_PROVIDED:
                raise AssetImportError(f"{path.relative_to(root)} imports {module}, which the "
                                       "Lambda runtime does not have (standard library and "
                                       "boto3 only)")
    return sorted(p.relative_to(root).as_posix() for p in needed)


def exclude_patterns(files: list[str]) -> list[str]:
    """Asset `exclude` patterns (CDK's glob ignore mode) that keep exactly `files`: everything,
    dotfiles too, is excluded, then each file and the folders above it are let back in."""
    folders = {"/".join(f.split("/")[:i]) for f in files for i in range(1, f.count("/") + 1)}
    return ["*", ".*", *(f"!{name}" for name in sorted(folders)), *(f"!{f}" for f in files)]


def _parents(path: Path, root: Path) -> list[Path]:
    return [folder / "__init__.py" for folder in path.parents
            if folder != root and root in folder.parents and (folder / "__init__.py").is_file()]


def _module_files(module: str, root: Path) -> list[Path]:
    """The file of `module`, or of the package `module`'s names come from."""
    base = root / module.replace(".", "/")
    found = [p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()]
    if not found:
        raise AssetImportError(f"no module {module} under {root}")
    return found


def _imports(path: Path, root: Path) -> list[str]:
    """The absolute names of the modules `path` imports (`from .. import x` gives the package's
    module `x` when there is one, else the package)."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    if path.name == "__init__.py":
        package = path.relative_to(root).parts[:-1]
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > len(package):
                raise AssetImportError(f"{path.relative_to(root)}: relative import beyond "
                                       "its top-level package")
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                is_module = (root / candidate.replace(".", "/")).with_suffix(".py").is_file()
                names.append(candidate if is_module else module)
    return names
