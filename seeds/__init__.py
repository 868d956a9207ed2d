"""Bundled captures of Hugging Face daily-papers pages, shipped as package data."""
