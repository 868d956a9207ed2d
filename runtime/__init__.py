"""The composition root: the only package that names concrete classes and wires them.

`runtime.settings` reads the environment, `runtime.core` builds the database, the stores,
the search index and the command core (each on first use), `runtime.sinks` the digest
sinks and runner, `runtime.serve` the serving process, and `runtime.cli` the console
script. See docs/architecture.md.
"""
