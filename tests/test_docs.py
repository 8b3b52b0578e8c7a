"""Every policy key and every CLI command is documented."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel

from leadledger.cli import app
from leadledger.policyfile import PolicyIn

DOCS = Path(__file__).parent.parent / "docs"


def policy_keys(model: type[BaseModel]) -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        keys.add(field.alias or name)
        for arg in typing.get_args(field.annotation) or (field.annotation,):
            inner = typing.get_args(arg) or (arg,)
            for t in inner:
                if isinstance(t, type) and issubclass(t, BaseModel):
                    keys |= policy_keys(t)
    return keys


def test_every_policy_key_is_documented() -> None:
    text = (DOCS / "policy.md").read_text()
    missing = sorted(k for k in policy_keys(PolicyIn) if f"`{k}" not in text)
    assert missing == []


def test_every_command_is_in_the_readme() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    missing = [n for n in names if f"leadledger {n}" not in readme]
    assert missing == []
