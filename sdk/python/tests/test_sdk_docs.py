"""The SDK's documentation stays true to the code: its Python examples compile, and every
`client.<resource>.<method>` they (and the guide's tables) name exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import ridepledge

REPO_ROOT = Path(__file__).resolve().parents[3]
DOCS = [REPO_ROOT / "sdk/python/README.md", REPO_ROOT / "docs/sdk.md"]
CALL = re.compile(r"client\.(\w+)\.(\w+)\(")


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_python_examples_compile(path):
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), re.S)
    assert blocks
    for number, block in enumerate(blocks):
        compile(block, f"{path.name}[{number}]", "exec")


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_named_methods_exist(path):
    """Each named call is a method of the partner `Client` or of the `OperatorClient`."""
    clients = [
        ridepledge.Client("cli_x", "sk_x", "http://127.0.0.1:9"),
        ridepledge.OperatorClient("cli_x", "sk_x", "http://127.0.0.1:9"),
    ]
    try:
        calls = set(CALL.findall(path.read_text()))
        assert calls
        for resource, method in calls:
            found = [getattr(getattr(c, resource, None), method, None) for c in clients]
            assert any(callable(item) for item in found), (resource, method)
    finally:
        for client in clients:
            client.close()


def test_the_guide_lists_every_resource_method():
    guide = (REPO_ROOT / "docs/sdk.md").read_text()
    client = ridepledge.Client("cli_x", "sk_x", "http://127.0.0.1:9")
    try:
        for resource in [
            "partner", "events", "trips", "pledges", "demand", "fans",
            "webhook_endpoints", "webhook_deliveries", "trip_requests",
        ]:  # fmt: skip
            row = next(line for line in guide.splitlines() if f"`client.{resource}`" in line)
            public = [
                name for name in vars(type(getattr(client, resource))) if not name.startswith("_")
            ]
            for name in public:
                assert f"`{name}(" in row or f" {name}(" in row, (resource, name)
    finally:
        client.close()
