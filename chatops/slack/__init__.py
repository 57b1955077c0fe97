"""The Slack face of chatops: a bolt app whose listeners translate and call the engine."""
