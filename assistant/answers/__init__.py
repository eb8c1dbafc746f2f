"""Answers from found passages: what a question asks, relative years, follow-ups, extracted points with
citations, and the optional language model.
May import: search, indexer."""
