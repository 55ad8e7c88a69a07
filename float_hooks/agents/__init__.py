"""Agents: the MCP server, its tools and their argument checks, `agents install`."""
