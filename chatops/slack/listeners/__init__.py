"""Listeners: each module registers its handlers with `register(app, services)`."""
