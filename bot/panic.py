"""Recognise a panic from a native (Rust, via pyo3) extension such as tantivy.

pyo3 raises `pyo3_runtime.PanicException`, which derives from `BaseException`, not
`Exception`, so `except Exception` lets it through. The class lives in a module that
cannot be imported, hence the check by name: callers that promise never to raise catch
`BaseException`, keep the panic, and re-raise everything else (KeyboardInterrupt, ...).
"""

from __future__ import annotations


def is_native_panic(exc: BaseException) -> bool:
    kind = type(exc)
    return kind.__name__ == "PanicException" and kind.__module__ == "pyo3_runtime"
