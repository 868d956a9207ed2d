"""Command core: parses slash-command text and answers with a neutral Reply."""
