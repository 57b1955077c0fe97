"""What the front ends (Slack, the console, agents) are given of the engine: its services in
one record. A package of its own, above the concerns it gathers: the ports and the events
at the engine's top level are under every concern and import none of them."""
