"""The demo service: a real little program on this machine that chatops deploys, restarts,
migrates and checks, so every process can be tried end to end without servers or Slack."""
