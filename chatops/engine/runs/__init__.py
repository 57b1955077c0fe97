"""Runs: the state machine, the runner that executes claimed runs, what follows decisions."""
