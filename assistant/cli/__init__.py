"""The `policyqa` command's core: its parser, batch files and one function per command.
May import: office, present, interfaces, drafting, answers, search, indexer."""
