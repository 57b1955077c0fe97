"""Agents' front ends: the HTTP API under /api/v1 and the MCP server."""
