"""The package's source as the architecture tests read it: each file parsed once per run."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path


@cache
def nodes(path: Path) -> tuple[ast.AST, ...]:
    """Every node of a file's syntax tree, in `ast.walk` order."""
    return tuple(ast.walk(ast.parse(path.read_text())))
