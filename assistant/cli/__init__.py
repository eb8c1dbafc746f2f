"""The `policyqa` command's core: its parser, batch files and one function per command.
May import: office, present, drafting, answers, search, indexer."""
