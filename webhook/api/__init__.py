"""Reading the maps: the REST read API and the agents' tools over MCP's HTTP transport."""
