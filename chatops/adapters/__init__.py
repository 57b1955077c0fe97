"""Small adapters of the process: the clock, HTTP GET, leader election, liveness of owners."""
