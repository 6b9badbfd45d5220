"""Forged codes and tokens for tests: the genuine value with its tail changed.

A tail replaced by fixed characters ("x", "AA") equals the genuine tail now and then (1 in 32
for one base32 character), and the test then fails in one random run out of many. These
helpers change every replaced character to one that differs from it.
"""


def tampered(value: str, count: int = 1) -> str:
    """`value` with its last `count` characters each replaced by a different character."""
    head, tail = value[:-count], value[-count:]
    return head + "".join("1" if char == "0" else "0" for char in tail)
