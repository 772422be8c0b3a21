"""Shared test data for the deviceio tests: policies, hostile values, strategies.

Imported explicitly by the ``test_deviceio_*`` modules.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume
from hypothesis import strategies as st

from deviceio import Binding, yang
from store.model import LIMITS, Policy, ValidationError

HOSTILE = (
    '"; delete security; "',
    'quote " and backslash \\ and both \\"',
    "semicolon; brace { and } bracket [ ] hash # slash-star /* */",
    "trailing backslash \\",
    "  spaces at both ends  ",
    "non-ASCII: ünïcødé, 日本語, Ελληνικά",
    "emoji 🎉🔒📧 and a flag 🇫🇷",
    "percent %20 %ZZ %",
    "apostrophe's and `backtick` and $9$abc",
    "<xml> & entities &amp; ]]> end",
)
MULTILINE_HOSTILE = (
    "line one\nline two\n\nline four",
    '"; delete security; "\n} }\nset system root-authentication plain-text',
    "\n leading newline and trailing newline\n",
)


def models_or_skip(release: str) -> Path:
    """The models folder; only a missing folder skips (never missing yanglint)."""
    folder = yang.find_models(release)
    if folder is None:
        pytest.skip(f"the Junos {release} YANG models are not installed")
    return folder


def assert_valid(configuration, releases=yang.RELEASES) -> None:
    """Validate against every release whose models are installed."""
    for release in releases:
        models_or_skip(release)
        errors = yang.validate(configuration, release)
        assert errors == [], f"{release}: {errors}"


def hostile_policy(index: int = 0, **changes) -> Policy:
    """A policy whose free texts hold awkward characters."""
    text = HOSTILE[index % len(HOSTILE)]
    data = {
        "name": f"hostile-{index}",
        "action": "permit",
        "server_scope": "specific",
        "servers": ["imap.example.com", "mail.bücher.example"],
        "learn_more_url": 'https://example.com/a"b;{c}\\d?q=%20&x=日本#frag',
        "subject": text.strip() or "x",
        "custom_message": "\n".join(HOSTILE + MULTILINE_HOSTILE),
        "custom_link_text": text[: LIMITS["custom_link_text"]],
        "administrators": [
            {"email": "soc@example.com", "block": True, "unblock": False},
            {"email": "ünï@exämple.org", "block": False, "unblock": False},
        ],
        "inspection_profile": "imap.profile-1",
        "verdict_threshold": "10",
        "log_notifications": False,
        "fallback_action": "block",
        "fallback_log": False,
    }
    data.update(changes)
    return Policy.from_dict(data)


def limits_policy() -> Policy:
    """Every field at its limit, with multi-byte characters where allowed."""
    email_domain = "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"
    admins = []
    for i in range(LIMITS["administrators"]):
        local = f"{i:03d}" + "a" * 61
        admins.append({"email": f"{local}@{email_domain}", "unblock": i % 2 == 0})
    assert len(admins[0]["email"]) == LIMITS["email"]
    url_head = "https://example.com/"
    message_unit = '🎉"\\;{}\n'
    return Policy.from_dict(
        {
            "name": "L" + "x" * (LIMITS["name"] - 1),
            "server_scope": "specific",
            "servers": [
                f"s{i}-{'m' * 50}.{'e' * 60}.{'x' * 60}.example"
                for i in range(LIMITS["servers"])
            ],
            "learn_more_url": url_head
            + "p" * (LIMITS["learn_more_url"] - len(url_head)),
            "subject": ('é"; ' * 100)[: LIMITS["subject"]],
            "custom_message": (message_unit * 1000)[: LIMITS["custom_message"]],
            "custom_link_text": "🔗" * LIMITS["custom_link_text"],
            "administrators": admins,
            "inspection_profile": "p" * LIMITS["inspection_profile"],
        }
    )


def sample_bindings(policy_name: str = "imap-policy") -> list[Binding]:
    """A few bindings: with and without SSL proxy, custom match."""
    return [
        Binding("trust", "untrust", "imap-out", policy_name, "imaps-proxy"),
        Binding("trust", "dmz", "imap-dmz", policy_name),
        Binding(
            "untrust",
            "dmz",
            "imap-in",
            policy_name,
            None,
            ("any-ipv4",),
            ("mail-servers", "10.0.0.0/8"),
            ("junos-imaps",),
        ),
    ]


# -- hypothesis strategies -------------------------------------------------

_TEXT_CHARS = st.characters(
    blacklist_categories=("Cc", "Cf", "Zl", "Zp", "Cs"),
)
_MESSAGE_CHARS = st.one_of(_TEXT_CHARS, st.sampled_from('\n"\\;{}[]#%'))
_AWKWARD = st.sampled_from(HOSTILE)

names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,62}", fullmatch=True)
profiles = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", fullmatch=True)
_labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
hostnames = st.one_of(
    st.builds(
        lambda parts, tld: ".".join([*parts, tld]),
        st.lists(_labels, min_size=1, max_size=3),
        st.sampled_from(["com", "org", "example", "net"]),
    ),
    st.sampled_from(["mail.bücher.example", "IMAP.Example.COM", "почта.пример.рф"]),
)
emails = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.from_regex(r"[a-z0-9]([a-z0-9._+-]{0,10}[a-z0-9])?", fullmatch=True).filter(
        lambda s: ".." not in s
    ),
    st.from_regex(r"[a-z]{1,12}", fullmatch=True),
    st.sampled_from(["com", "org", "example"]),
)
one_line = st.one_of(
    st.text(_TEXT_CHARS, max_size=60), _AWKWARD, st.text(_TEXT_CHARS, max_size=300)
)
messages = st.one_of(
    st.text(_MESSAGE_CHARS, max_size=400),
    st.lists(_AWKWARD, max_size=6).map("\n".join),
)
urls = st.one_of(
    st.just(""),
    st.builds(
        lambda host, path: f"https://{host}/{path}",
        hostnames,
        st.text(
            st.characters(
                blacklist_categories=("Cc", "Cf", "Zl", "Zp", "Cs", "Zs"),
            ),
            max_size=80,
        ),
    ),
)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """Valid policies as Policy.from_dict accepts them, awkward text included."""
    scope = draw(st.sampled_from(["all", "specific"]))
    servers = draw(st.lists(hostnames, max_size=5))
    data = {
        "name": draw(names),
        "action": draw(st.sampled_from(["block", "permit"])),
        "server_scope": scope,
        "servers": servers,
        "learn_more_url": draw(urls),
        "subject": draw(one_line.filter(lambda s: s.strip())),
        "custom_message": draw(messages),
        "custom_link_text": draw(one_line),
        "administrators": [
            {"email": e, "block": draw(st.booleans()), "unblock": draw(st.booleans())}
            for e in draw(st.lists(emails, max_size=4, unique=True))
        ],
        "inspection_profile": draw(profiles),
        "verdict_threshold": draw(
            st.sampled_from(["recommended", *(str(n) for n in range(1, 11))])
        ),
        "log_notifications": draw(st.booleans()),
        "fallback_action": draw(st.sampled_from(["permit", "block"])),
        "fallback_log": draw(st.booleans()),
    }
    for key in ("subject", "custom_link_text"):
        data[key] = data[key][: LIMITS[key]]
    try:
        return Policy.from_dict(data)
    except ValidationError:
        assume(False)
        raise


_junos_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", fullmatch=True)
_addresses = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,62}", fullmatch=True)
security_bindings = st.builds(
    Binding,
    from_zone=_junos_names,
    to_zone=_junos_names,
    policy_name=_junos_names,
    aamw_policy=_junos_names,
    ssl_proxy_profile=st.one_of(st.none(), _junos_names),
    source_addresses=st.lists(_addresses, min_size=1, max_size=3, unique=True).map(
        tuple
    ),
    destination_addresses=st.lists(_addresses, min_size=1, max_size=3, unique=True).map(
        tuple
    ),
    applications=st.lists(_junos_names, min_size=1, max_size=3, unique=True).map(tuple),
)
