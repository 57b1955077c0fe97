"""Planning: runbooks, the inventory and parameters make a plan; policies judge it."""
