"""The demo data set: a deterministic, realistic year of B2B funnel activity with planted truths."""

from leadledger.services.demo.load import GROUND_TRUTH_KEY, DemoReport, build_world, load_demo

__all__ = ["GROUND_TRUTH_KEY", "DemoReport", "build_world", "load_demo"]
