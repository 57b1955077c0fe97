"""Exit codes of `chatops`: 0 done, 1 failed, 2 usage or config, 3 refused by a rule,
4 something it needs (the database, Slack) cannot be reached or refused it."""

EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED, EXIT_UNAVAILABLE = 1, 2, 3, 4
