"""Tests of the Slack adapter against a loopback fake Slack API."""
