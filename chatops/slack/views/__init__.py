"""What the bot shows: Block Kit for plans, prompts, incidents and forms, text escaped."""
