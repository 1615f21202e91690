"""Destinations: parsed once in the config; the sender receives them parsed."""

from __future__ import annotations

import pytest

from carbon_client.config import Destination, parse_destination


@pytest.mark.parametrize("text,expected", [
    ("carbon", Destination("carbon", 2003)),
    ("carbon:2004", Destination("carbon", 2004)),
    ("[::1]:2003", Destination("::1", 2003)),
    ("[fe80::1]", Destination("fe80::1", 2003)),
], ids=["host", "host-port", "v6-port", "v6"])
def test_parse_destination(text, expected):
    assert parse_destination(text) == expected


@pytest.mark.parametrize("text", ["", "host:0", "host:70000", "host:http", "[::1", "a b:1", ":2003"])
def test_parse_destination_rejects(text):
    with pytest.raises(ValueError):
        parse_destination(text)


def test_destination_is_the_senders():
    from carbon_client import sender

    assert sender.Destination is Destination
