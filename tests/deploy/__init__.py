"""Tests of the deployment manifests against the code they deploy."""
