"""How records read: HTML for the page, text for the terminal, snippets with the question's words marked.
May import: drafting, answers, search, indexer."""
