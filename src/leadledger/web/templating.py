"""The Jinja2 environment for leadledger's HTML: package templates, autoescaping, number filters."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from leadledger.web import format as fmt


@cache
def environment() -> Environment:
    """Templates from `leadledger/web/templates`, HTML-escaped, failing on undefined names."""
    env = Environment(
        loader=PackageLoader("leadledger.web", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        count=fmt.count,
        money=fmt.money,
        percent=fmt.percent,
        number=fmt.number,
        ratio=fmt.ratio,
    )
    return env


def render(template: str, **context: Any) -> str:
    """Render one template with `context`."""
    return environment().get_template(template).render(**context)


def trusted(svg: str) -> Markup:
    """Mark markup built (and escaped) by our own code, e.g. a chart, as safe to insert."""
    return Markup(svg)  # the charts escape every text they contain
