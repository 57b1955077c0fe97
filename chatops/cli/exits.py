"""Exit codes of `chatops`: 0 done, 1 failed, 2 usage or config, 3 refused by a rule."""

EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 1, 2, 3
