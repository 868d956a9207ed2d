"""Citations: BibTeX for single papers and reading-list exports."""
