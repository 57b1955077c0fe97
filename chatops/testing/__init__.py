"""Test support shipped with chatops: a stand-in for Slack's Web API and a chat harness."""
