"""deviceio.macro: the apply-macro encoding of the ATP Cloud settings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deviceio import macro
from store.model import FIELD_NAMES, Policy
from tests.conftest_deviceio import HOSTILE, MULTILINE_HOSTILE, hostile_policy

SAFE = set(chr(c) for c in range(0x20, 0x7F)) - set("%\"\\'#;{}[]")


@pytest.mark.parametrize("text", [*HOSTILE, *MULTILINE_HOSTILE, "", " ", "%"])
def test_encoding_round_trips_and_stays_plain(text):
    encoded = macro.encode_value(text)
    assert set(encoded) <= SAFE | {"%"}
    assert not encoded.startswith(" ") and not encoded.endswith(" ")
    assert macro.decode_value(encoded) == text


@given(st.text())
@settings(max_examples=200)
def test_any_text_round_trips(text):
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    assert macro.decode_value(macro.encode_value(text)) == text


def test_ordinary_text_stays_readable():
    assert macro.encode_value("Malware Detected") == "Malware Detected"
    assert macro.encode_value('Say "hi"') == "Say %22hi%22"


@pytest.mark.parametrize("bad", ["%", "%4", "%zz", "%C3"])
def test_broken_encoding_is_refused(bad):
    with pytest.raises((ValueError, UnicodeDecodeError)):
        macro.decode_value(bad)


def test_long_text_is_cut_into_numbered_parts():
    policy = Policy(custom_message="é" * 1000)
    pairs = dict(macro.encode_settings(policy))
    parts = sorted(k for k in pairs if k.startswith("custom-message-part-"))
    assert parts[0] == "custom-message-part-001"
    assert len(parts) == -(-6000 // macro.CHUNK)
    assert all(len(pairs[k]) <= macro.CHUNK for k in parts)
    assert "custom-message" not in pairs


def test_keys_and_values_of_default_policy():
    pairs = macro.encode_settings(Policy())
    keys = [k for k, _ in pairs]
    assert keys == [
        "format",
        "action",
        "server-scope",
        "learn-more-url",
        "subject",
        "custom-message",
        "custom-link-text",
    ]
    assert dict(pairs)["learn-more-url"] is None


def test_servers_and_administrators_are_numbered():
    policy = hostile_policy(0)
    pairs = dict(macro.encode_settings(policy))
    assert pairs["server-001"] == "imap.example.com"
    assert pairs["server-002"] == "mail.xn--bcher-kva.example"
    assert pairs["admin-001"] == "soc@example.com"
    assert pairs["admin-001-notify"] == "block"
    assert pairs["admin-002-notify"] == "none"


def test_decode_is_independent_of_order():
    policy = hostile_policy(3)
    pairs = list(reversed(macro.encode_settings(policy)))
    fields, warnings = macro.decode_settings(dict(pairs))
    assert warnings == []
    rebuilt = Policy.from_dict({**fields, **_srx_side(policy)})
    assert rebuilt == policy


def _srx_side(policy: Policy) -> dict:
    data = policy.to_dict()
    return {k: v for k, v in data.items() if k not in macro.MACRO_FIELDS}


def test_unknown_format_is_not_guessed():
    fields, warnings = macro.decode_settings({"format": "2", "action": "block"})
    assert fields == {}
    assert "format '2'" in warnings[0]


def test_missing_and_damaged_values_are_reported():
    fields, warnings = macro.decode_settings(
        {
            "format": "1",
            "action": "permit",
            "subject": "%ZZ",
            "admin-001": "a@example.com",
            "admin-001-notify": "sometimes",
        }
    )
    assert fields["action"] == "permit"
    assert "subject" not in fields
    assert fields["administrators"] == []
    text = " ".join(warnings)
    assert "subject is damaged" in text
    assert "administrator number 1" in text
    assert "server_scope" in text


def test_enforcement_covers_every_field():
    mapping = macro.enforcement()
    assert set(mapping) == set(FIELD_NAMES)
    assert {e.place for e in mapping.values()} == {"srx", "atp-cloud"}
    for field in macro.MACRO_FIELDS:
        assert mapping[field].place == "atp-cloud"
    assert mapping["verdict_threshold"].place == "srx"
    assert all(e.note.endswith(".") for e in mapping.values())
