"""Whether there is enough history to learn from: a refusal is a value with its reason."""

from __future__ import annotations

DEFAULT_MINIMUM_PER_OUTCOME = 200


def training_refusal(
    positives: int, negatives: int, minimum: int = DEFAULT_MINIMUM_PER_OUTCOME
) -> str | None:
    """Why training would be refused (too few of either outcome), or None when it may go ahead."""
    short = [f"{n:,} {what}" for n, what in ((positives, "converted"), (negatives, "not converted"))
             if n < minimum]
    if not short:
        return None
    return (
        f"too little history to learn from: {' and '.join(short)} lead(s), fewer than the {minimum:,} "
        "of each outcome needed for figures that mean something"
    )
