"""The policy model: every field's rules, limits and normalisation."""

from __future__ import annotations

import pytest

from store.model import (
    LIMITS,
    Policy,
    ValidationError,
    display_hostname,
    normalize_hostname,
)


def errors_of(**fields) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        Policy.from_dict(fields)
    return info.value.errors


def test_defaults_are_valid():
    assert Policy.from_dict({}) == Policy()
    assert Policy().action == "block"
    assert Policy().inspection_profile == "default_profile"
    assert Policy().verdict_threshold == "recommended"


@pytest.mark.parametrize("name", ["a", "A" * 63, "imap-policy_2", "Branch_Office-7"])
def test_good_names(name):
    assert Policy.from_dict({"name": name}).name == name


@pytest.mark.parametrize(
    "name", ["", "A" * 64, "1abc", "-abc", "p; delete", "a b", "é", "a.b", "a\n"]
)
def test_bad_names(name):
    assert "name" in errors_of(name=name)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Mail.Example.COM", "mail.example.com"),
        ("mail.example.com.", "mail.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("localhost", "localhost"),
        ("a" * 63 + ".example", "a" * 63 + ".example"),
    ],
)
def test_hostnames_are_normalised(given, stored):
    assert normalize_hostname(given) == stored


@pytest.mark.parametrize(
    "literal", ["192.0.2.1", "::1", "[2001:db8::1]", "fe80::1%eth0", "2001:db8::"]
)
def test_ip_literals_need_a_hostname(literal):
    with pytest.raises(ValueError, match="hostname"):
        normalize_hostname(literal)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "a" * 64 + ".example",
        ".".join(["abcdefghi"] * 26),
        "-lead.example",
        "trail-.example",
        "under_score.example",
        "spa ce.example",
        "tab\t.example",
        "1.2.3",
        "a..b",
        "<script>.example",
    ],
)
def test_bad_hostnames(bad):
    with pytest.raises(ValueError):
        normalize_hostname(bad)


def test_unicode_form_is_shown():
    assert display_hostname("xn--bcher-kva.example") == "bücher.example"
    assert display_hostname("mail.example.com") == "mail.example.com"


def test_duplicate_servers_compare_without_case_or_trailing_dot():
    errors = errors_of(server_scope="specific", servers=["a.example", "A.EXAMPLE."])
    assert errors == {"servers[1]": "a.example is already listed."}


def test_specific_servers_need_at_least_one():
    assert "servers" in errors_of(server_scope="specific", servers=[])
    assert Policy.from_dict({"server_scope": "all", "servers": []}).servers == ()


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.com",
        "data:text/html,x",
        "http://",
        "https://exa mple.com",
        "https://example.com/a\nb",
        "example.com",
    ],
)
def test_bad_urls(url):
    assert "learn_more_url" in errors_of(learn_more_url=url)


def test_blank_url_is_allowed():
    assert Policy.from_dict({"learn_more_url": "  "}).learn_more_url == ""


@pytest.mark.parametrize(
    "subject", ["Hi\r\nBcc: x@example.com", "Hi\nthere", "a\x00b", "a\u2028b", ""]
)
def test_subject_is_one_clean_line(subject):
    assert "subject" in errors_of(subject=subject)


@pytest.mark.parametrize(
    "key", ["subject", "custom_message", "custom_link_text", "learn_more_url"]
)
def test_text_limits(key):
    limit = LIMITS[key]
    filler = "https://e.com/" if key == "learn_more_url" else ""
    at_limit = filler + "x" * (limit - len(filler))
    assert getattr(Policy.from_dict({key: at_limit}), key) == at_limit
    assert key in errors_of(**{key: at_limit + "x"})


def test_custom_message_keeps_lines_and_normalises_newlines():
    policy = Policy.from_dict({"custom_message": "one\r\ntwo\rthree\n"})
    assert policy.custom_message == "one\ntwo\nthree\n"
    assert "custom_message" in errors_of(custom_message="bell\x07")


def test_administrators():
    policy = Policy.from_dict(
        {"administrators": [{"email": "SOC@Example.com", "unblock": False}]}
    )
    assert policy.administrators[0].block is True
    assert policy.administrators[0].unblock is False
    errors = errors_of(
        administrators=[
            {"email": "not-an-address"},
            {"email": "a@example.com"},
            {"email": "A@example.com"},
            {"email": "b@example.com", "block": "yes"},
            {"email": "c@example.com", "role": "x"},
        ]
    )
    assert set(errors) == {
        "administrators[0].email",
        "administrators[2].email",
        "administrators[3].block",
        "administrators[4].role",
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("action", "quarantine"),
        ("server_scope", "some"),
        ("verdict_threshold", "11"),
        ("verdict_threshold", "0"),
        ("fallback_action", "drop"),
        ("log_notifications", "yes"),
        ("inspection_profile", ""),
        ("inspection_profile", "p" * 64),
        ("inspection_profile", "bad profile"),
        ("colour", "red"),
    ],
)
def test_bad_choices(key, value):
    assert key in errors_of(**{key: value})


def test_limits_on_list_sizes():
    servers = [f"s{i}.example" for i in range(LIMITS["servers"] + 1)]
    assert "servers" in errors_of(server_scope="specific", servers=servers)


def test_round_trip_through_dict():
    policy = Policy.from_dict(
        {
            "server_scope": "specific",
            "servers": ["bücher.example"],
            "administrators": [{"email": "a@example.com", "block": False}],
        }
    )
    assert Policy.from_dict(policy.to_dict()) == policy


def test_crlf_counts_as_one_character_against_the_limit():
    limit = LIMITS["custom_message"]
    text = "a\r\n" * (limit // 2)
    assert len(Policy.from_dict({"custom_message": text}).custom_message) == limit
