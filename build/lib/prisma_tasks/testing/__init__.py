"""Test-side entry points: the pytest plugin, factories, the template database and nox helpers."""
