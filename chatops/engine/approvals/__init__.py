"""Approvals: requests, approvals, refusals and people's parts of a run, by role."""
