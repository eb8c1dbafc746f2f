"""Search backends beyond one machine, each reached only through the `policyqa.engines` entry
point (and `policyqa.publishers` for writing): nothing in the core imports them.
May import: search, indexer."""
