"""Secrets in URLs, decided by route: which URL rule variables and query parameters carry a
token, and what follows from it.

A route variable carries a secret when its name is `token` or ends in `_token` (the manage
link `/w/<p>/manage/<token>`, the confirmation page `/w/<p>/pledged/<token>`, the driver's
`/d/<token>`, the console's `/admin/password/<purpose>/<token>`, waitlist holds
`/w/<p>/waitlist/<token>`, and every route added later under such a name). A query parameter
carries one when it is in `SECRET_QUERY_PARAMETERS` (the console's signed `preview`). Every
other route variable must be listed in `PUBLIC_VARIABLES`: the URL-map test fails for a name
that is in neither list, so a new token-bearing route cannot be logged by oversight.

From the URL map, `init_app` compiles one pattern per token-bearing rule; the log formatter
(`observability.logs.redact`) replaces the token in every line that holds such a path, whether
or not a request is running (the dev server's access line, gunicorn's error log, tracebacks),
and, during a request, every occurrence of that request's token values. Pages whose URL holds a
token send `Referrer-Policy: no-referrer` (`security_headers`). Metric labels are URL rules
(`<token>`, never its value).
"""

from __future__ import annotations

import re

from flask import Flask, g, has_request_context, request
from werkzeug.routing import Map, Rule

REDACTED = "[redacted]"
SECRET_QUERY_PARAMETERS = frozenset({"preview"})
# Route variables that are not secret: ids (shape-checked by `path_ids`), partner slugs,
# asset names and versions, the purpose of a password link.
PUBLIC_VARIABLES = frozenset(
    {"partner_slug", "slug", "purpose", "version", "name", "file_name", "filename"}
)
_VARIABLE = re.compile(r"<(?:(?P<converter>[A-Za-z_]\w*)(?:\([^)]*\))?:)?(?P<name>[A-Za-z_]\w*)>")
# One path segment as it may appear in a log line (not a separator, quote or space).
_SEGMENT = r"[^/\s?#\"'<>&]+"
# Tokens this service gives out are long; a shorter segment (`/d/sw.js`) is not one.
_LONG_SEGMENT = r"[^/\s?#\"'<>&]{8,}"

_patterns: dict[str, re.Pattern] = {}


def is_secret_variable(name: str) -> bool:
    """Whether a route variable holds a token."""
    return name == "token" or name.endswith("_token")


def secret_variables(rule: Rule) -> list[str]:
    """The names of `rule`'s variables that hold tokens."""
    return [name for name in rule.arguments if is_secret_variable(name)]


def rule_pattern(rule: Rule) -> re.Pattern | None:
    """A pattern finding `rule`'s paths in any text, up to its last token variable, with each
    token in a group named `secret<n>`; None when the rule holds no token."""
    if not secret_variables(rule):
        return None
    parts, position, last_secret_end, index = [], 0, 0, 0
    for match in _VARIABLE.finditer(rule.rule):
        parts.append(re.escape(rule.rule[position : match.start()]))
        if is_secret_variable(match["name"]):
            parts.append(f"(?P<secret{index}>{_LONG_SEGMENT})")
            index += 1
            last_secret_end = len(parts)
        elif match["converter"] == "path":
            parts.append(r"[^\s?#\"'<>]+?")
        else:
            parts.append(_SEGMENT)
        position = match.end()
    return re.compile("".join(parts[:last_secret_end]))


def compile_patterns(url_map: Map) -> dict[str, re.Pattern]:
    """One pattern per distinct token-bearing rule prefix of `url_map`."""
    found: dict[str, re.Pattern] = {}
    for rule in url_map.iter_rules():
        pattern = rule_pattern(rule)
        if pattern is not None:
            found.setdefault(pattern.pattern, pattern)
    return found


def redact_paths(text: str) -> str:
    """`text` with the token of every token-bearing route path replaced, and, during a
    request, every token value of that request (wherever it was interpolated)."""
    for pattern in _patterns.values():
        text = pattern.sub(_redact_groups, text)
    for value in _request_secrets():
        text = text.replace(value, REDACTED)
    return text


def _redact_groups(match: re.Match) -> str:
    whole, start = match.group(), match.start()
    pieces, position = [], 0
    for name, value in match.groupdict().items():
        if value is None or not name.startswith("secret"):
            continue
        begin = match.start(name) - start
        pieces.append(whole[position:begin])
        pieces.append(REDACTED)
        position = match.end(name) - start
    pieces.append(whole[position:])
    return "".join(pieces)


def _request_secrets() -> list[str]:
    if not has_request_context():
        return []
    return [value for value in g.get("_path_secrets", ()) if value and len(value) >= 4]


def url_holds_secret() -> bool:
    """Whether this request's URL carries a token (path variable or secret query parameter)."""
    rule = request.url_rule
    if rule is not None and secret_variables(rule):
        return True
    return any(name in request.args for name in SECRET_QUERY_PARAMETERS)


def _remember_secrets(_endpoint, values) -> None:
    """App-wide URL value preprocessor (runs before the blueprints', which may pop values)."""
    secrets = [str(v) for k, v in (values or {}).items() if is_secret_variable(k)]
    secrets += [request.args[name] for name in SECRET_QUERY_PARAMETERS if request.args.get(name)]
    if secrets:
        g._path_secrets = secrets


def init_app(app: Flask) -> None:
    """Compile this app's token-bearing routes into the log redactor and remember each
    request's token values. Call after every blueprint is registered."""
    _patterns.update(compile_patterns(app.url_map))
    app.url_value_preprocessors.setdefault(None, []).insert(0, _remember_secrets)
