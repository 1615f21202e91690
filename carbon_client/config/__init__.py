"""Configuration: one YAML key per option, validated with the key's path.

- ``keys``: the Config dataclass, its validators, load_file() and build();
- ``destinations``: Destination and parse_destination (the sender gets them parsed).
"""

from carbon_client.config.destinations import Destination, parse_destination
from carbon_client.config.keys import (
    COUNTERS, LAYOUTS, LOG_LEVELS, MODES, PROTOCOLS, VALIDATORS, Config, ConfigError, build, load_file,
    short_hostname, validate,
)

__all__ = [
    "COUNTERS", "LAYOUTS", "LOG_LEVELS", "MODES", "PROTOCOLS", "VALIDATORS", "Config", "ConfigError",
    "Destination", "build", "load_file", "parse_destination", "short_hostname", "validate",
]
