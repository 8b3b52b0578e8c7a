"""YAML read with its line numbers kept, so errors about a file can name the line."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar


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


# ---------------------------------------------------------------- plain values, fast

# YAML 1.2 core scalars as ruamel's round-trip loader resolves them. `plain_values` resolves the
# unambiguous forms itself; a plain scalar ruamel would read as any other type (0x1F, 1_000, 1e3,
# .inf, 017, a date, a merge key) is refused rather than guessed.
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:0|-?[1-9][0-9]*)$")
_FLOAT = re.compile(r"^-?(?:0|[1-9][0-9]*)\.[0-9]+$")
_TYPED = re.compile(  # ruamel's YAML 1.2 int, float, timestamp, merge and value resolvers
    r"""^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+
    |[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[\ \t]+)
     [0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[\ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?
    |<<|=)$""",
    re.X,
)
_DIRECTIVE = re.compile(r"^%", re.M)
_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_NOT_PLAIN = "tag:leadledger,2026:not-plain"  # constructed by nothing: refused
_WORDS = dict.fromkeys(("", "~", "null", "Null", "NULL"), _TAG + "null") | dict.fromkeys(
    ("true", "True", "TRUE", "false", "False", "FALSE"), _TAG + "bool"
)
_TYPED_FIRST = frozenset("-+.0123456789<=")  # the first characters of _TYPED's forms


class NotPlain(ValueError):
    """The YAML holds something `plain_values` does not read exactly as the round-trip loader would."""


def plain_values(text: str) -> Any:
    """Dicts, lists, str, int, float, bool and None from YAML 1.2 text, through libyaml (fast).

    Reads what the round-trip loader reads, without line numbers, for text already validated (a
    stored policy): a few milliseconds instead of 70. Raises NotPlain (or a yaml.YAMLError) for
    anything it cannot read exactly as ruamel would: the caller falls back to the full loader.
    """
    if _DIRECTIVE.search(text):  # %YAML 1.1 would change how ruamel resolves scalars
        raise NotPlain("the text has a YAML directive")
    loader = _plain_loader()(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


@cache
def _plain_loader() -> Any:
    """The libyaml loader class with the scalar rules above (built once, on first use)."""
    import yaml  # PyYAML, imported here: only stored policies take this path

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        yaml_constructors: ClassVar[dict[str | None, Any]] = {}  # only the ones added below

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is yaml.ScalarNode:
                if not implicit[0]:
                    return _STR
                word = _WORDS.get(value)
                if word is not None:
                    return word
                if value[:1] not in _TYPED_FIRST:  # most scalars: a word, plainly a string
                    return _STR
                if _INT.match(value):
                    return _TAG + "int"
                if _FLOAT.match(value):
                    return _TAG + "float"
                return _NOT_PLAIN if _TYPED.match(value) else _STR
            return _TAG + ("seq" if kind is yaml.SequenceNode else "map")

    def scalar(convert: Callable[[str], Any], pattern: re.Pattern[str] | None) -> Any:
        def construct(loader: Any, node: Any) -> Any:
            value = loader.construct_scalar(node)
            if pattern is not None and not pattern.match(value):  # an explicit !!int 0x1F and the like
                raise NotPlain(f"line {node.start_mark.line + 1}: {value!r} is not a plain {node.tag}")
            return convert(value)

        return construct

    def refuse(_loader: Any, node: Any) -> Any:
        what = "a typed plain scalar" if node.tag == _NOT_PLAIN else f"tag {node.tag}"
        raise NotPlain(f"line {node.start_mark.line + 1}: {what} is not read here")

    Loader.add_constructor(_TAG + "str", scalar(str, None))
    Loader.add_constructor(_TAG + "null", scalar(lambda _v: None, _NULL))
    Loader.add_constructor(_TAG + "bool", scalar(lambda v: v in ("true", "True", "TRUE"), _BOOL))
    Loader.add_constructor(_TAG + "int", scalar(int, _INT))
    Loader.add_constructor(_TAG + "float", scalar(float, _FLOAT))
    Loader.add_constructor(_TAG + "seq", base.construct_yaml_seq)
    Loader.add_constructor(_TAG + "map", base.construct_yaml_map)
    Loader.add_constructor(None, refuse)  # every other tag: a typed plain scalar, or explicit (!!set, !foo)
    return Loader
