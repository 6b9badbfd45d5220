"""Owns the fan widget face: the iframe pages under `/w/<partner>/` and the widget JSON API.

What it shares with the public and driver faces (theme, rendering, links, CSP) is `fan/`.
"""
