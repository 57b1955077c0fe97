"""Executors: run a command on a host (over SSH with Fabric, or locally), one result type."""
