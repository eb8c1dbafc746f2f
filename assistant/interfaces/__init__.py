"""What other systems call: the JSON records every interface shares (the CLI's `--json`, the HTTP
API, the MCP tools) and the MCP server. One schema, versioned by RECORDS_VERSION.
May import: answers, drafting, search, indexer."""
