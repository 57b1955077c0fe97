"""How Slack reaches the bot: signed HTTP (`http`, screened first by `intake`) or Socket Mode
(`socket_mode`, its health in `socket_health`); either way a request acked before it is
handled is kept in the `inbox` until it is."""
