"""Operator portal tests hash passwords cheaply, as the console's do."""

from tests.functional.admin.conftest import quick_hashes  # noqa: F401  (an autouse fixture)
