"""YAML read with its line numbers kept, so errors about a file can name the line."""

from __future__ import annotations

from typing import Any


def line_of(node: Any, loc: tuple[str | int, ...]) -> int | None:
    """1-based line of the deepest YAML node on the `loc` path that ruamel recorded."""
    line = None
    for key in loc:
        lc = getattr(node, "lc", None)
        try:
            if lc is not None and isinstance(key, str) and hasattr(node, "keys") and key in node:
                line = lc.key(key)[0] + 1
            elif lc is not None and isinstance(key, int) and isinstance(node, list) and key < len(node):
                line = lc.item(key)[0] + 1
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    if line is None and getattr(node, "lc", None) is not None:
        line = node.lc.line + 1
    return line


def plain(node: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists (what pydantic validates)."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node
