"""Listeners: each module registers its handlers with `register(app, services)`, one
module per surface (a plan's buttons, a step's, steering a run, links, escalations, the
change form, forms submitted, events, on-call commands, post-mortems, debugging, freezes);
`clicks.py` is what every button shares."""
