"""Incidents: on-call reads (logs, status) and post-mortems that follow every hotfix."""
