"""The preview emails: headers, parts, escaping, and the .eml downloads."""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from store.model import Administrator, Policy
from webui import messages

from .webui_support import csrf_token, edit_form, text

SAMPLE = messages.Sample()
ADMINS = (
    Administrator("soc@example.com", block=True, unblock=False),
    Administrator("ops@example.com", block=False, unblock=True),
)


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def test_end_user_message_headers_and_parts():
    policy = Policy(subject="Schädliche Anlage – 警告")

    raw = messages.eml_bytes(messages.end_user_message(policy, SAMPLE))

    assert b"\r\n" in raw and raw.isascii()
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in header_block  # RFC 2047
    parsed = parse(raw)
    assert parsed["Subject"] == "Schädliche Anlage – 警告"
    assert parsed["From"] == "Juniper ATP Cloud <no-reply@atp-cloud.invalid>"
    assert parsed["To"] == SAMPLE.recipient
    assert parsed["Date"].datetime == SAMPLE.received
    assert parsed["MIME-Version"] == "1.0"
    assert re.fullmatch(r"<.+@atp-cloud\.invalid>", parsed["Message-ID"])
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]


def test_end_user_message_carries_the_policy_and_the_blocked_mail():
    policy = Policy(custom_message="First line\nsecond line\n\nNew paragraph")

    message = messages.end_user_message(policy, SAMPLE)

    plain, html = messages.text_body(message), messages.html_body(message)
    assert "First line\nsecond line\n\nNew paragraph" in plain
    assert "<p>First line<br>\nsecond line</p>" in html
    assert "<p>New paragraph</p>" in html
    for value in (SAMPLE.sender, SAMPLE.subject, SAMPLE.attachment):
        assert value in plain and value in html
    assert "30 November 2026, 09:41 UTC" in plain


def test_learn_more_link_only_when_a_url_is_set():
    without = messages.end_user_message(Policy(learn_more_url=""), SAMPLE)
    with_url = messages.end_user_message(
        Policy(learn_more_url="https://intranet.example/malware"), SAMPLE
    )

    assert "<a " not in messages.html_body(without)
    assert "Learn more" not in messages.text_body(without)
    assert (
        '<a href="https://intranet.example/malware">Learn more</a>'
        in messages.html_body(with_url)
    )
    assert "Learn more: https://intranet.example/malware" in messages.text_body(
        with_url
    )


def test_custom_link_text_is_the_link_text():
    policy = Policy(
        learn_more_url="https://intranet.example/", custom_link_text="Read our guide"
    )

    html = messages.html_body(messages.end_user_message(policy, SAMPLE))

    assert '<a href="https://intranet.example/">Read our guide</a>' in html


def test_hostile_text_is_escaped_in_html():
    policy = Policy(
        subject="<script>alert(1)</script>",
        custom_message='<img src=x onerror=alert(1)> & "quotes"',
        custom_link_text="</a><script>x</script>",
        learn_more_url='https://example.com/"><script>alert(2)</script>',
    )
    sample = messages.Sample(subject="<b>bold</b>", attachment="<i>x</i>.exe")

    for kind in messages.KINDS:
        message = messages.build_message(kind, policy, sample)
        html = messages.html_body(message)
        assert "<script>" not in html
        assert "<img" not in html and "<b>bold" not in html and "<i>x" not in html
    html = messages.html_body(messages.end_user_message(policy, sample))
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &#34;quotes&#34;" in html
    assert 'href="https://example.com/&#34;&gt;&lt;script&gt;' in html


def test_subject_cannot_inject_a_header():
    # the model refuses such a subject; build one past it to test the message
    policy = Policy(subject="ok")
    object.__setattr__(policy, "subject", "Hello\r\nBcc: victim@example.com")

    raw = messages.eml_bytes(messages.end_user_message(policy, SAMPLE))

    parsed = parse(raw)
    assert parsed["Bcc"] is None
    assert "victim@example.com" in parsed["Subject"]
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in headers


def test_admin_block_notification_goes_to_block_admins():
    policy = Policy(name="head-office", administrators=ADMINS, verdict_threshold="7")

    parsed = parse(messages.eml_bytes(messages.admin_block_message(policy, SAMPLE)))

    assert parsed["To"] == "soc@example.com"
    assert parsed["Subject"] == f"Blocked email to {SAMPLE.recipient}"
    plain = parsed.get_body(("plain",)).get_content()
    for value in ("head-office", SAMPLE.sender, SAMPLE.recipient, SAMPLE.subject):
        assert value in plain
    assert SAMPLE.attachment in plain
    assert "threat level 9 of 10 (threshold 7 of 10)" in plain
    assert "30 November 2026, 09:41 UTC" in plain


def test_admin_unblock_notification_goes_to_unblock_admins():
    policy = Policy(administrators=ADMINS)

    parsed = parse(messages.eml_bytes(messages.admin_unblock_message(policy, SAMPLE)))

    assert parsed["To"] == "ops@example.com"
    assert "released" in parsed["Subject"]
    assert parsed.get_content_type() == "multipart/alternative"


def test_admin_notification_without_admins_uses_a_placeholder():
    parsed = parse(messages.eml_bytes(messages.admin_block_message(Policy(), SAMPLE)))

    assert parsed["To"] == messages.ADMIN_PLACEHOLDER


def test_internationalised_admin_domain_is_encoded():
    policy = Policy(administrators=(Administrator("soc@bücher.example"),))

    raw = messages.eml_bytes(messages.admin_block_message(policy, SAMPLE))

    assert "soc@xn--bcher-kva.example" in parse(raw)["To"]


def test_eml_filename_is_safe():
    assert messages.eml_filename(Policy(name="head-office"), "end-user") == (
        "head-office-end-user.eml"
    )


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="no message kind"):
        messages.build_message("other", Policy(), SAMPLE)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sender", "not an address", "not a valid email address"),
        ("recipient", "jöe@exämple.com", "ASCII"),
        ("subject", "x" * 201, "longer than 200"),
        ("attachment", "a\nb", "one line"),
        ("received_at", "yesterday", "Enter a date and time"),
        ("threat_level", "11", "from 1 to 10"),
    ],
)
def test_bad_sample_values_are_refused(field, value, message):
    with pytest.raises(messages.SampleError) as caught:
        messages.Sample.from_dict({**SAMPLE.to_dict(), field: value})

    assert message in caught.value.errors[field]


@pytest.mark.parametrize("kind", messages.KINDS)
def test_eml_download(client, app, kind):
    form = edit_form(
        client,
        app,
        subject="Anhang blockiert – ⚠",
        learn_more_url="https://intranet.example/",
        administrators=[{"email": "soc@example.com"}],
    )
    assert client.post("/policies/1", data=form).status_code == 302

    response = client.get(f"/policies/1/previews/{kind}.eml")

    assert response.status_code == 200
    assert response.mimetype == "message/rfc822"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="imap-policy-{kind}.eml"'
    )
    parsed = parse(response.data)
    for header in ("From", "To", "Date", "Subject", "MIME-Version", "Message-ID"):
        assert parsed[header], header
    if kind == "end-user":
        assert parsed["Subject"] == "Anhang blockiert – ⚠"
        html = parsed.get_body(("html",)).get_content()
        assert 'href="https://intranet.example/"' in html
    else:
        assert parsed["To"] == "soc@example.com"


def test_unknown_eml_kind_is_not_found(client):
    assert client.get("/policies/1/previews/other.eml").status_code == 404


def test_sample_values_are_kept_and_used(client):
    token = csrf_token(client, "/policies/1/previews/")
    response = client.post(
        "/policies/1/previews/",
        data={
            "csrf_token": token,
            "sender": "billing@vendor.example",
            "recipient": "max@example.com",
            "subject": "Rechnung <März>",
            "attachment": "rechnung.zip",
            "received_at": "2026-12-01T08:15",
            "threat_level": "6",
        },
    )
    assert response.status_code == 302

    parsed = parse(client.get("/policies/1/previews/end-user.eml").data)
    assert parsed["To"] == "max@example.com"
    plain = parsed.get_body(("plain",)).get_content()
    assert "Rechnung <März>" in plain and "rechnung.zip" in plain
    assert "01 December 2026, 08:15 UTC" in plain
    page = text(client.get("/policies/1/previews/"))
    assert 'value="max@example.com"' in page
    assert "Rechnung &lt;März&gt;" in page


def test_bad_sample_values_are_shown_next_to_their_field(client):
    token = csrf_token(client, "/policies/1/previews/")

    response = client.post(
        "/policies/1/previews/",
        data={
            "csrf_token": token,
            "sender": "nobody",
            "recipient": "max@example.com",
            "subject": "s",
            "attachment": "a",
            "received_at": "2026-12-01T08:15",
            "threat_level": "6",
        },
    )

    assert response.status_code == 422
    assert re.search(r'id="sender-error">\s*.*not a valid email', text(response))
    parsed = parse(client.get("/policies/1/previews/end-user.eml").data)
    assert parsed["To"] == SAMPLE.recipient
