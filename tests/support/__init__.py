"""Helpers shared between test modules: stub servers, sandbox requests, the browser login,
dashboard data and readers, settings loaded in fresh interpreters.

A test module takes shared code from here, or fixtures from a conftest.py, never from another
test module or a conftest (`lint-imports` checks it): a test module stays free to change its own
helpers, and moving tests between folders breaks no other module.
"""
