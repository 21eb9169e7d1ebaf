"""Registers the js7ha harness plugin for every test under this tree."""

pytest_plugins = ["harness.pytest_plugin"]
pytest_plugins.append("reports.plugin")  # the conformance report (issue 8)
