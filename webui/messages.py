"""The emails a policy makes ATP Cloud send, rendered for preview.

Three messages: the replacement email an end user receives in place of a
blocked one, and the Block and Unblock notifications an administrator
receives. Each is an :class:`email.message.EmailMessage` (multipart/
alternative, text/plain then text/html) built with ``email.policy.SMTP``, so
headers are encoded the way a mail server would (RFC 2047 for non-ASCII) and
nothing the administrator typed can start a header of its own.

The wording of ATP Cloud's own notifications is not published; these
messages carry the policy's texts and the blocked mail's details, laid out
plainly, and the sender address below is a placeholder for the one ATP Cloud
uses.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import idna
from markupsafe import Markup, escape

from store.model import LIMITS, Policy, check_email, has_control_chars

# ATP Cloud chooses the real sender; ".invalid" keeps this one from ever
# being mistaken for a deliverable address
SENDER = Address("Juniper ATP Cloud", "no-reply", "atp-cloud.invalid")
MESSAGE_ID_DOMAIN = "atp-cloud.invalid"
ADMIN_PLACEHOLDER = "administrator@example.com"

KINDS = ("end-user", "admin-block", "admin-unblock")
TITLES = {
    "end-user": "End user: blocked email",
    "admin-block": "Administrator: Block Notification",
    "admin-unblock": "Administrator: Unblock Notification",
}

ATTACHMENT_LIMIT = 255

# the one stylesheet of every HTML part; the preview page's Content Security
# Policy allows exactly this text by its hash
EMAIL_CSS = (
    "body{margin:0;padding:24px;background:#f4f5f7;color:#1d2733;"
    "font:15px/1.5 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}"
    ".mail{max-width:640px;margin:0 auto;background:#fff;border:1px solid #d8dde3;"
    "border-radius:6px;padding:24px 28px}"
    "h1{font-size:19px;margin:0 0 16px}"
    "p{margin:0 0 12px}"
    "table{border-collapse:collapse;margin:16px 0;width:100%}"
    "th,td{text-align:left;vertical-align:top;padding:6px 10px;"
    "border-top:1px solid #e3e7eb;word-break:break-word}"
    "th{width:34%;color:#4a5563;font-weight:600}"
    "a{color:#0a5ec2}"
    ".foot{margin-top:20px;color:#5d6773;font-size:13px}"
)
EMAIL_CSS_HASH = (
    "sha256-" + base64.b64encode(hashlib.sha256(EMAIL_CSS.encode()).digest()).decode()
)


@dataclass(frozen=True)
class Sample:
    """The blocked mail the previews describe; editable and kept as a setting."""

    sender: str = "invoices@supplier.example"
    recipient: str = "jane.doe@example.com"
    subject: str = "Invoice 4711 for November"
    attachment: str = "invoice-4711.pdf.exe"
    received_at: str = "2026-11-30T09:41"
    threat_level: int = 9

    @property
    def received(self) -> datetime:
        """The receiving time, taken as UTC."""
        return datetime.fromisoformat(self.received_at).replace(tzinfo=UTC)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Sample:
        """Check sample values, as typed into the preview page's form.

        :raises SampleError: mapping each wrong field to a message.
        """
        if not isinstance(data, dict):
            return cls()
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for key in ("sender", "recipient"):
            try:
                values[key] = _check_sample_address(str(data.get(key, "")))
            except ValueError as exc:
                errors[key] = str(exc)
        for key, limit in (
            ("subject", LIMITS["subject"]),
            ("attachment", ATTACHMENT_LIMIT),
        ):
            text = str(data.get(key, ""))
            if len(text) > limit:
                errors[key] = f"This text is longer than {limit} characters."
            elif has_control_chars(text):
                errors[key] = "This text must be one line, without control characters."
            else:
                values[key] = text
        try:
            stamp = datetime.fromisoformat(str(data.get("received_at", "")))
            values["received_at"] = stamp.strftime("%Y-%m-%dT%H:%M")
        except ValueError:
            errors["received_at"] = "Enter a date and time, as in 2026-11-30 09:41."
        try:
            level = int(data.get("threat_level", 0))
        except (TypeError, ValueError):
            level = 0
        if 1 <= level <= 10:
            values["threat_level"] = level
        else:
            errors["threat_level"] = "The threat level must be a number from 1 to 10."
        if errors:
            raise SampleError(errors)
        return cls(**values)


class SampleError(ValueError):
    """Sample values that cannot be used; ``errors`` maps field to message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def build_message(kind: str, policy: Policy, sample: Sample) -> EmailMessage:
    """The message of one kind (see KINDS) for a policy and a sample mail."""
    builders = {
        "end-user": end_user_message,
        "admin-block": admin_block_message,
        "admin-unblock": admin_unblock_message,
    }
    try:
        return builders[kind](policy, sample)
    except KeyError:
        raise ValueError(f"There is no message kind {kind!r}.") from None


def end_user_message(policy: Policy, sample: Sample) -> EmailMessage:
    """The email a recipient receives in place of a blocked one."""
    details = _blocked_details(sample, policy)
    lines = [*_paragraphs_text(policy.custom_message), "", "Blocked email:"]
    lines += [f"  {label}: {value}" for label, value in details]
    html = [
        f"<h1>{escape(policy.subject)}</h1>",
        _paragraphs_html(policy.custom_message),
    ]
    html.append(_details_html(details))
    if policy.learn_more_url:
        text = policy.custom_link_text.strip() or policy.learn_more_url
        lines += ["", f"{text}: {policy.learn_more_url}"]
        html.append(
            f'<p><a href="{escape(policy.learn_more_url)}">{escape(text)}</a></p>'
        )
    return _message(
        subject=policy.subject,
        to=[sample.recipient],
        date=sample.received,
        text="\n".join(lines),
        html="\n".join(html),
        title=policy.subject,
    )


def admin_block_message(policy: Policy, sample: Sample) -> EmailMessage:
    """The notification an administrator gets when an email is blocked."""
    recipients = [a.email for a in policy.administrators if a.block]
    intro = (
        f"ATP Cloud blocked an email to {sample.recipient} under the IMAP "
        f"policy {policy.name}. The recipient received the policy's "
        "replacement message instead."
    )
    return _admin_message(
        policy, sample, recipients, f"Blocked email to {sample.recipient}", intro
    )


def admin_unblock_message(policy: Policy, sample: Sample) -> EmailMessage:
    """The notification an administrator gets when a user releases an email."""
    recipients = [a.email for a in policy.administrators if a.unblock]
    intro = (
        f"{sample.recipient} released an email that ATP Cloud had blocked under "
        f"the IMAP policy {policy.name}. It has been delivered to the mailbox."
    )
    return _admin_message(
        policy, sample, recipients, f"Email released by {sample.recipient}", intro
    )


def text_body(message: EmailMessage) -> str:
    """The text/plain part of a message built here."""
    return message.get_body(("plain",)).get_content()


def html_body(message: EmailMessage) -> str:
    """The text/html part of a message built here."""
    return message.get_body(("html",)).get_content()


def eml_bytes(message: EmailMessage) -> bytes:
    """The message as an .eml file: RFC 5322 with CRLF line ends."""
    return message.as_bytes(policy=message.policy)


def eml_filename(policy: Policy, kind: str) -> str:
    """A file name safe on every system, from the policy name and the kind."""
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", policy.name)[:63] or "policy"
    return f"{stem}-{kind}.eml"


def _admin_message(
    policy: Policy, sample: Sample, recipients: list[str], subject: str, intro: str
) -> EmailMessage:
    details = [("Policy", policy.name), *_blocked_details(sample, policy)]
    details.append(("Verdict", _verdict(policy, sample)))
    lines = [intro, "", *(f"  {label}: {value}" for label, value in details)]
    html = [
        f"<h1>{escape(subject)}</h1>",
        f"<p>{escape(intro)}</p>",
        _details_html(details),
    ]
    return _message(
        subject=subject,
        to=recipients or [ADMIN_PLACEHOLDER],
        date=sample.received,
        text="\n".join(lines),
        html="\n".join(html),
        title=subject,
    )


def _blocked_details(sample: Sample, policy: Policy) -> list[tuple[str, str]]:
    return [
        ("From", sample.sender),
        ("To", sample.recipient),
        ("Subject", sample.subject),
        ("Attachment", sample.attachment),
        ("Received", sample.received.strftime("%d %B %Y, %H:%M UTC")),
        ("Action taken", "Blocked" if policy.action == "block" else "Permitted"),
    ]


def _verdict(policy: Policy, sample: Sample) -> str:
    threshold = policy.verdict_threshold
    if threshold != "recommended":
        threshold = f"{threshold} of 10"
    return (
        f"malicious, threat level {sample.threat_level} of 10 (threshold {threshold})"
    )


def _message(
    *, subject: str, to: list[str], date: datetime, text: str, html: str, title: str
) -> EmailMessage:
    use_utf8 = any(not _ascii_address(a) for a in to)
    mail_policy = email_policy.SMTPUTF8 if use_utf8 else email_policy.SMTP
    message = EmailMessage(policy=mail_policy)
    message["From"] = SENDER
    message["To"] = [_address(a) for a in to]
    message["Date"] = format_datetime(date)
    message["Subject"] = _header_text(subject)
    message["Message-ID"] = make_msgid(domain=MESSAGE_ID_DOMAIN)
    message["MIME-Version"] = "1.0"
    message.set_content(text + "\n")
    message.add_alternative(_html_document(title, html), subtype="html")
    return message


def _html_document(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{EMAIL_CSS}</style></head>\n"
        f'<body><div class="mail">\n{body}\n'
        '<p class="foot">Sent by Juniper ATP Cloud on behalf of your IT '
        "department.</p>\n</div></body></html>\n"
    )


def _details_html(details: list[tuple[str, str]]) -> str:
    rows = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in details
    )
    return f"<table>{rows}</table>"


def _paragraphs_text(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n")


def _paragraphs_html(text: str) -> Markup:
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(block.split("\n")))
        for block in blocks
        if block.strip()
    )


def _header_text(text: str) -> str:
    # the model refuses line breaks in a subject; replace any that reach here
    # all the same, so no text can ever start a header of its own
    return "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
        for ch in text
    ).strip()


def _ascii_address(address: str) -> bool:
    local = address.rpartition("@")[0]
    return local.isascii()


def _address(address: str) -> Address:
    local, _, domain = address.rpartition("@")
    if not domain.isascii():
        with contextlib.suppress(idna.IDNAError, UnicodeError):
            domain = idna.encode(domain, uts46=True).decode("ascii")
    return Address(addr_spec=f"{_header_text(local)}@{_header_text(domain)}")


def _check_sample_address(value: str) -> str:
    address = check_email(value)
    if not address.isascii():
        raise ValueError("Use a plain ASCII address for the sample.")
    return address


def with_defaults(data: Any) -> Sample:
    """The stored sample, falling back to the defaults if it no longer checks."""
    try:
        return Sample.from_dict({**Sample().to_dict(), **(data or {})})
    except (SampleError, TypeError):
        return Sample()
