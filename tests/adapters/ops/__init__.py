"""Tests of the ops HTTP endpoints."""
