"""Feature routers, each built by a factory so tests can make a fresh dispatcher."""
