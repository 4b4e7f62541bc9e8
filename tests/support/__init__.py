"""Helpers shared by the tests: paths, data writers, readers, simulators and test doubles."""
