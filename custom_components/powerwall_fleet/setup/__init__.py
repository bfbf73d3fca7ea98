"""Config-flow helpers: partner registration, account checks, server, OAuth, options form."""
