"""The domain's records, pure and with no import of the rest of chatops: a run and its state
machine (`TRANSITIONS`), a command's result, an agent's identity, a post-mortem. The
services and the ports are built on them; they are built on nothing."""
