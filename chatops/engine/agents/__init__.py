"""Agents: the AI Architect and Coder as principals of their own, with revocable tokens."""
