"""Policy replay: the recorded history re-run under another policy, as pure functions."""
