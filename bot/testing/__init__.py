"""Test doubles for the ports, shipped with the package: see `bot.testing.fakes`."""
