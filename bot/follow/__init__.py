"""Following authors and saved-search alerts: name identity and alert matching."""
