"""Predictive scoring, the pure parts: feature specs, naive Bayes, metrics, leakage, explanations.

No model fitting happens here (that is `services.training`); everything is plain Python over
lists, small enough to check by hand.
"""
