"""chatops: a change process for Slack, with plans, approvals, audited runs over SSH."""

__version__ = "0.2.0"
