"""A run's Slack thread: the notifier's plumbing (posts keyed by event, the desk that keeps
messages current, the records of what was posted) and the parts that tell each event."""
