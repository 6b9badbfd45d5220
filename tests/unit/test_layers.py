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
    (
        ("payments",),
        ("widget_server.domain", "flask"),
        "payments move money and decide nothing; no route lives there",
    ),
]

# The faces: each answers its own callers and never imports another (what the fan-facing ones
# share is the `fan` package, which imports none of them).
FACES = ("widget", "public", "driver", "admin", "operator", "api", "oauth", "inbound")
RULES += [
    (
        (face,),
        tuple(
            f"widget_server.{other}"
            for other in FACES
            # The API is built on OAuth's bearer-token guard (checked below), nothing else.
            if other != face and (face, other) != ("api", "oauth")
        ),
        f"the {face} face imports no other face",
    )
    for face in FACES
]
RULES += [
    (
        ("fan",),
        tuple(f"widget_server.{face}" for face in FACES),
        "the shared fan presentation imports no face",
    ),
    (
        ("backoffice",),
        tuple(f"widget_server.{face}" for face in FACES),
        "the back offices' shared sign-in imports no face",
    ),
    (
        ("domain",),
        tuple(f"widget_server.{face}" for face in (*FACES, "fan", "backoffice")),
        "the domain imports no face",
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


def test_the_api_uses_only_the_oauth_token_guard():
    names = {
        name
        for path in _modules("api")
        for name in _imports(path)
        if name == "widget_server.oauth" or name.startswith("widget_server.oauth.")
    }
    guard = "widget_server.oauth.protect"
    assert names, "the API is protected by the OAuth token guard"
    assert all(name == guard or name.startswith(guard + ".") for name in names), names


LAYERS = (
    "domain",
    "models",
    "payments",
    "webhooks",
    "jobs",
    "api",
    "widget",
    "admin",
    "driver",
    "public",
    "fan",
    "oauth",
    "notifications",
    "inbound",
    "observability",
    "cli",
    "domain/pledges",
    "domain/accounts",
    "domain/operators",
    "operator",
    "backoffice",
    "api/operator",
)


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_says_in_one_line_what_it_owns(layer):
    docstring = ast.get_docstring(ast.parse((PACKAGE / layer / "__init__.py").read_text()))
    assert docstring is not None and docstring.startswith("Owns "), layer
