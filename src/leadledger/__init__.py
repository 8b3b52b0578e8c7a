"""leadledger: a system of record for leads, prospects and customers.

Every label follows a versioned stage policy, every stage change points at its evidence,
and the funnel math comes from that record.
"""

__version__ = "0.1.0"
