"""Slack, simulated on this machine: a stand-in for Slack's Web API that records every call,
and a harness that talks to the real app as Slack does (signed requests). The console runs
on it, and so do the tests."""
