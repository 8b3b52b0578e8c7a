"""Predictive scoring, the fitting side: read a leads table, fit models, cross-validate, report.

scikit-learn and LightGBM are imported inside functions so that `leadledger --help` stays fast.
"""
