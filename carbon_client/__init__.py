"""carbon-client: a Graphite push agent for Linux."""

__version__ = "0.1.0"
