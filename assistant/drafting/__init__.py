"""The drafters' tools: precedents and their targets, two sections compared, a draft checked against the
latest plan, and their Word and Markdown exports.
May import: answers, search, indexer."""
