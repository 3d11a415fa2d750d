"""Stacks compose constructs and hold no logic: no import circle between them, no IAM role,
policy, rule or key policy built inline (ml_constructs/ has those), and no configuration check
(config/ has those). Read from the source, so a lazy import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STACKS = sorted((ROOT / "stacks").glob("*.py"))
# What an inline builder needs: IAM, EventBridge and Scheduler constructs, or policy calls.
BUILDER_MODULES = {"aws_cdk.aws_iam", "aws_cdk.aws_events", "aws_cdk.aws_events_targets",
                   "aws_cdk.aws_scheduler", "aws_cdk.aws_scheduler_targets"}
BUILDER_CALLS = {"add_to_policy", "add_to_resource_policy", "add_to_principal_policy",
                 "PolicyStatement", "Role"}


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_no_stack_module_imports_another_that_imports_it_back():
    graph = {path.stem: {name.split(".")[1] for name in _imports(ast.parse(path.read_text()))
                         if name.startswith("stacks.") and name.count(".") >= 1}
             for path in STACKS}
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        for target in sorted(graph.get(module, ())):
            if target in trail:
                cycles.append(" -> ".join([*trail[trail.index(target):], target]))
            else:
                visit(target, [*trail, target])

    for module in graph:
        visit(module, [module])
    assert cycles == []


def test_stacks_build_no_role_policy_rule_or_key_policy_inline():
    inline = []
    for path in STACKS:
        tree = ast.parse(path.read_text())
        inline += [f"{path.name} imports {m}" for m in sorted(_imports(tree) & BUILDER_MODULES)]
        inline += [f"{path.name}:{node.lineno} calls {node.func.attr}" for node in ast.walk(tree)
                   if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                   and node.func.attr in BUILDER_CALLS]
    assert inline == []


def test_stacks_check_no_configuration():
    """A wrong configuration is config's to report (config/delivery.py checks stages against
    each other), before any construct exists."""
    raising = [f"{path.name}:{node.lineno}" for path in STACKS
               for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.Raise) and "ConfigError" in ast.unparse(node)]
    assert raising == []
