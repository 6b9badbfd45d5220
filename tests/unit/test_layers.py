"""The house (docs/architecture.md, conventions): who may import whom. Faces call the domain;
the domain reads models, db, payments and webhooks; the layers below never reach back up.
Read from the source with `ast`, imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "widget_server"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _modules(*parts: str) -> list[Path]:
    target = PACKAGE.joinpath(*parts)
    return sorted(target.rglob("*.py")) if target.is_dir() else [target]


# (modules, packages they must not import, why)
RULES = [
    (("db.py",), ("widget_server.domain",), "db.py sits below the domain"),
    (("models",), ("widget_server.domain",), "the models sit below the domain"),
    (("domain",), ("widget_server.oauth",), "the domain does not import a face (OAuth)"),
    (
        ("payments",),
        ("widget_server.domain", "flask"),
        "payments move money and decide nothing; no route lives there",
    ),
]


@pytest.mark.parametrize(("where", "forbidden", "why"), RULES, ids=[r[2] for r in RULES])
def test_no_layer_reaches_back_up(where, forbidden, why):
    crossings = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _modules(*where)
        for name in sorted(_imports(path))
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]
    assert crossings == [], why
