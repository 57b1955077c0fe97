"""The engine: runbooks, plans, policies and runs. Imports no Slack, SSH or SQL library."""
