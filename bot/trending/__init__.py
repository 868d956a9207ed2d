"""Trending: ranks papers by upvotes, upvote growth and recency."""
