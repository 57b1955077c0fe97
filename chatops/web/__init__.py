"""The run's web page, served by `chatops serve` beside /healthz (both modes): plain
server-rendered HTML behind personal links, nothing fetched from elsewhere."""
