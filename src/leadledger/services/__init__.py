"""Use cases: each takes an engine (or connection), the active policy and `now`."""
