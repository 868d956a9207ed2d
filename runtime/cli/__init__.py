"""The `papers-bot` command line (typer)."""
