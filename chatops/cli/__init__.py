"""The `chatops` command line."""
