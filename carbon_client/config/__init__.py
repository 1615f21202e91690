"""Configuration: one YAML key per option, validated with the key's path.

Precedence: built-in defaults, then the YAML file, then command-line flags.
Every error is a ConfigError naming the key path (``FILE: carbon[1]``,
``--interval``), the bad value and what is allowed; the CLI exits 2 with it,
never with a traceback for a user's mistake.

- ``keys``: the Config dataclass, its keys (default and validator each) and build();
- ``values``: validators for strings, numbers, durations, choices and lists;
- ``schema``: mappings declared on dataclasses, lists of them (``probes[2].timeout``);
- ``destinations``: Destination and parse_destination (the sender gets them parsed);
- ``loader``: reading a file (size, alias and depth limits; ``${VAR}``), the default path,
  the example config shipped in the package (carbon-client.yaml).
"""

from carbon_client.config.destinations import Destination, parse_destination
from carbon_client.config.errors import ConfigError
from carbon_client.config.keys import (
    COUNTERS, LAYOUTS, LOG_LEVELS, MODES, PROTOCOLS, VALIDATORS, Config, build, shadowed, show,
    short_hostname, validate,
)
from carbon_client.config.loader import (
    DEFAULT_PATH, PATH_VARIABLE, example_text, find_config, load_file,
)

__all__ = [
    "COUNTERS", "LAYOUTS", "LOG_LEVELS", "MODES", "PROTOCOLS", "VALIDATORS", "DEFAULT_PATH",
    "PATH_VARIABLE", "Config", "ConfigError", "Destination", "build", "example_text", "find_config",
    "load_file", "parse_destination", "shadowed", "short_hostname", "show", "validate",
]
