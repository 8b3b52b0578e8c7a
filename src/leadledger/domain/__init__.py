"""The pure core: records, policy, gates, classifier, scoring, transitions, sweeps.

Nothing in this package touches a database, a clock, the network or a framework:
functions take records, a policy and `now`, and return results.
"""
