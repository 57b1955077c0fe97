"""`chatops console`: the real bot, the local Slack stand-in, and a chat in the terminal."""
