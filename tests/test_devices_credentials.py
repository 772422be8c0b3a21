"""Device passwords: the keyring when there is one, memory when there is none."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import chainer, fail, null

from store.credentials import SERVICE, CredentialStore, keyring_usable, scrub

from .devices_support import DictKeyring


def test_fail_and_null_backends_are_not_usable():
    assert not keyring_usable(fail.Keyring())
    assert not keyring_usable(null.Keyring())
    assert keyring_usable(DictKeyring())


def test_a_chainer_is_usable_only_with_a_usable_member(monkeypatch):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [fail.Keyring()])
    assert not keyring_usable(chainer.ChainerBackend())


def test_with_a_keyring_passwords_go_there():
    ring = DictKeyring()
    creds = CredentialStore(ring)

    assert creds.save("srx-paris", "s3cret-pw") == "keyring"

    assert ring.items == {(SERVICE, "srx-paris"): "s3cret-pw"}
    assert CredentialStore(ring).get("srx-paris") == "s3cret-pw"
    assert creds.known_secrets() == []


def test_without_a_keyring_passwords_stay_in_memory():
    creds = CredentialStore(fail.Keyring())

    assert creds.save("srx-paris", "s3cret-pw") == "memory"

    assert creds.get("SRX-Paris") == "s3cret-pw"
    assert CredentialStore(fail.Keyring()).get("srx-paris") is None
    assert creds.known_secrets() == ["s3cret-pw"]


def test_the_system_keyring_is_used_by_default(monkeypatch):
    ring = DictKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: ring)
    creds = CredentialStore()
    assert creds.persistent
    creds.save("srx", "pw-one")
    assert ring.items[(SERVICE, "srx")] == "pw-one"


def test_forget_and_rename():
    ring = DictKeyring()
    creds = CredentialStore(ring)
    creds.save("old", "pw-one")

    creds.rename("old", "new")
    assert ring.items == {(SERVICE, "new"): "pw-one"}

    creds.forget("new")
    assert ring.items == {}
    assert creds.get("new") is None


def test_a_failing_keyring_falls_back_to_memory():
    class Refusing(DictKeyring):
        def set_password(self, service, username, password):
            raise keyring.errors.PasswordSetError("locked")

    creds = CredentialStore(Refusing())
    assert creds.save("srx", "pw-two") == "memory"
    assert creds.get("srx") == "pw-two"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login as u/pw-one failed", "login as u/******** failed"),
        ("login as u/ab failed", "login as u/******** failed"),
        ("login as u/x failed", "login as u/******** failed"),
        ("no secret here", "no secret here"),
    ],
)
def test_scrub_masks_secrets_of_any_length(text, expected):
    assert scrub(text, ["pw-one", "ab", "x", ""]) == expected
