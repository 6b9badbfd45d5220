"""The OpenAPI document says everything the server checks that OpenAPI 3.0 can say, generically.

Two apispec hooks, so a new schema or route gets it for free:

- `field_properties`, an attribute function of the marshmallow converter: every `Text` field
  gets a `pattern` (no control characters or bidi overrides; not blank when it must not be
  empty) next to the `minLength`/`maxLength` its metadata carries; time zones and currencies
  get their `enum`; `Url` fields `format: uri`.
- `RidePledgePlugin`, an apispec plugin: every operation gets an `operationId` (its view's
  name), a `Location` header on 201, the problem responses its input can cause (400, 413, 415,
  422), and, once every route is registered, OpenAPI links: creating an object leads to
  retrieving, changing and acting on it (`$response.body#/id`), lists lead to their first
  item (`$response.body#/data/0/id`), and an object's id feeds every filter and body member
  named after it (`event_id`, `trip_id`, `endpoint_id`), so stateful tests reach every
  operation with real ids.

Rules the schema cannot state are named in each operation's description (its docstring).
"""

from __future__ import annotations

import re

from apispec import BasePlugin
from marshmallow import fields

from widget_server.api.fields import Currency, TimeZone, time_zone_names
from widget_server.domain.text import Text

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

# What `domain.text.text_problem` refuses, as one ECMA-262 / Python character class body.
_CONTROLS = r"\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Multi-line text takes LF, and CR (made LF).
_CONTROLS_MULTILINE = _CONTROLS.replace(r"\u0000-\u001f", r"\u0000-\u0009\u000b\u000c\u000e-\u001f")


# The very end of the string in ECMA-262 and Python alike (`$` also matches before a final
# newline in Python, which is what JSON Schema validators written in Python use).
_END = r"(?![\s\S])"


def text_pattern(*, multiline: bool, min_length: int) -> str:
    """The pattern of a `Text` field: no control characters; at least one non-space character
    when the field may not be empty (the server trims, so "   " is empty)."""
    allowed = f"[^{_CONTROLS_MULTILINE if multiline else _CONTROLS}]"
    if not min_length:
        return f"^{allowed}*{_END}"
    visible = allowed[:-1] + r"\s]"
    return f"^{allowed}*{visible}{allowed}*{_END}"


def field_properties(self, field, ret: dict, **kwargs) -> dict:
    """apispec attribute function: the constraints our own field types check."""
    properties: dict = {}
    if isinstance(field, TimeZone) and "enum" not in ret:
        properties["enum"] = sorted(time_zone_names())
    elif isinstance(field, Currency) and "enum" not in ret:
        from widget_server.domain.partners import CURRENCIES

        properties["enum"] = sorted(CURRENCIES)
    elif isinstance(field, Text) and not {"pattern", "format", "enum"} & set(ret):
        # (An enum, a format or an id pattern already says more than the text rules.)
        properties["pattern"] = text_pattern(multiline=field.multiline, min_length=field.min_length)
    elif isinstance(field, Text) and ret.get("pattern", "").startswith("^"):
        # A field's own anchored pattern (an id's), made exact: `$` would also admit a final
        # newline, which the server refuses; and an optional text field takes "" as "not
        # given" (an empty filter or form field), so its pattern must admit "" too.
        body = ret["pattern"][1:].removesuffix("$")
        optional = "" if field.required else "?"
        properties["pattern"] = f"^(?:{body}){optional}{_END}"
    if isinstance(field, fields.Url):
        properties["format"] = "uri"
    if properties.get("enum") and field.allow_none:
        properties["enum"] = [*properties["enum"], None]
    return properties


class RidePledgePlugin(BasePlugin):
    """operationIds, Location headers, input problems, and links (see the module docstring)."""

    def __init__(self):
        self._operations: dict[str, dict] = {}  # path -> {method: operation}
        self._spec = None
        self._optional_bodies: list[dict] = []

    def init_spec(self, spec) -> None:
        self._spec = spec

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            created = responses.get(201) or responses.get("201")  # apispec cleans keys later
            if created is not None:
                created.setdefault("headers", {})["Location"] = {
                    "description": "The new object's address, such as `/v1/trips/trp_01...`.",
                    "schema": {"type": "string"},
                    "required": True,
                }
            if "requestBody" in operation:
                self._optional_bodies.append(operation["requestBody"])
                _problem(responses, "400", "The body is not one JSON object (or is malformed)")
                _problem(responses, "413", "The body is larger than the API accepts")
                _problem(responses, "415", "The body is not `application/json`")
                _problem(responses, "422", "Invalid fields: `errors` names each one")
            elif operation.get("parameters"):
                _problem(responses, "422", "Invalid parameters: `errors` names each one")
        self._operations.setdefault(path, {}).update(operations or {})

    def finish(self) -> None:
        """Link the operations to each other, once every route is registered."""
        for body in self._optional_bodies:
            # A body whose every member is optional (PATCH) may be left out: "change nothing".
            if not self._body_schema(body).get("required"):
                body["required"] = False
        id_sources = self._id_sources()
        for path, operations in self._operations.items():
            for method, operation in operations.items():
                self._link_consumers(path, method, operation, id_sources)

    def _id_sources(self) -> dict[str, list[tuple[str, str, str]]]:
        """Id name (`trip_id`) -> [(path, method, expression)] of responses carrying such ids."""
        sources: dict[str, list[tuple[str, str, str]]] = {}
        for path in self._operations:
            match = re.fullmatch(r"(.+)/\{(\w+_id)\}", path)
            if not match:
                continue
            collection, name = match.groups()
            found = sources.setdefault(name, [])
            collection_ops = self._operations.get(collection, {})
            if "post" in collection_ops:
                found.append((collection, "post", "$response.body#/id"))
            if "get" in collection_ops:
                found.append((collection, "get", "$response.body#/data/0/id"))
            if "get" in self._operations[path]:
                found.append((path, "get", "$response.body#/id"))
        return sources

    def _link_consumers(self, path, method, operation, id_sources) -> None:
        """Every id this operation takes (path, query, body member) links from its sources."""
        wanted = []
        for name in re.findall(r"\{(\w+_id)\}", path):
            wanted.append((f"path.{name}", name))
        for parameter in operation.get("parameters", []):
            query = isinstance(parameter, dict) and parameter.get("in") == "query"
            if query and parameter["name"] in id_sources:
                wanted.append((f"query.{parameter['name']}", parameter["name"]))
        body_ids = [name for name in self._body_members(operation) if name in id_sources]
        for target, name in wanted:
            for source_path, source_method, expression in id_sources.get(name, []):
                if (source_path, source_method) == (path, method):
                    continue
                self._add_link(
                    source_path,
                    source_method,
                    operation,
                    parameters={target: expression},
                )
        for name in body_ids:
            for source_path, source_method, expression in id_sources.get(name, []):
                self._add_link(
                    source_path, source_method, operation, request_body={name: expression}
                )

    def _body_schema(self, body: dict) -> dict:
        reference = body.get("content", {}).get("application/json", {}).get("schema", {})
        return self._spec.components.schemas.get(reference.get("$ref", "").rpartition("/")[2], {})

    def _body_members(self, operation) -> list[str]:
        return list(self._body_schema(operation.get("requestBody", {})).get("properties", {}))

    def _add_link(self, source_path, source_method, target, *, parameters=None, request_body=None):
        source = self._operations[source_path][source_method]
        status = "201" if "201" in source["responses"] else "200"
        response = source["responses"].get(status)
        if response is None or "$ref" in response:
            return
        link = {"operationId": target["operationId"]}
        if parameters:
            link["parameters"] = parameters
        if request_body:
            link["requestBody"] = request_body
        name = target["operationId"]
        links = response.setdefault("links", {})
        if name in links:  # the same target through another id: merge what it fills in
            links[name].setdefault("parameters", {}).update(parameters or {})
            if request_body:
                links[name].setdefault("requestBody", {}).update(request_body)
            return
        links[name] = link


def _problem(responses: dict, status: str, description: str) -> None:
    """Document a problem response unless the operation documents that status itself."""
    if status in responses or int(status) in responses:
        return
    content = {"application/problem+json": {"schema": PROBLEM_REF}}
    responses[status] = {"description": description, "content": content}
