"""Channel taste (issue 13): a per-channel classifier over paper features, learned from votes."""
