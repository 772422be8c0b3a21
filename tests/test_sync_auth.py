"""Logging in with an SSH key, with no credentials, and refusals at the end."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deviceio import driver, sync
from deviceio.sync import Credentials, Outcome, Step, SyncOptions
from tests.sync_support import (
    assert_clean,
    assert_exact,
    assert_unchanged,
    make_target,
    wait_for,
)


def _key_pair(folder, passphrase: str | None) -> tuple[str, str]:
    key = Ed25519PrivateKey.generate()
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    path = folder / "id_ed25519"
    path.write_bytes(private)
    path.chmod(0o600)
    return str(path), public.decode()


def test_sync_with_a_key_file(fakesrx, tmp_path):  # noqa: F811
    key_file, public = _key_pair(tmp_path, None)
    srx = fakesrx(password=None, public_key=public)
    before = srx.running_config()
    target = replace(make_target(srx), credentials=Credentials(key_file=key_file))
    [result] = sync.run_sync([target])
    assert result.outcome == Outcome.SYNCED, result.error
    assert_exact(srx, target, before)


def test_key_file_with_a_passphrase(fakesrx, tmp_path):  # noqa: F811
    key_file, public = _key_pair(tmp_path, "lantern-quay")
    srx = fakesrx(password=None, public_key=public)
    target = replace(
        make_target(srx),
        credentials=Credentials(key_file=key_file, password="lantern-quay"),
    )
    assert sync.test_connection(target).outcome == Outcome.NO_CHANGE


def test_key_the_device_does_not_know(fakesrx, tmp_path):  # noqa: F811
    key_file, _public = _key_pair(tmp_path, None)
    srx = fakesrx()
    target = replace(make_target(srx), credentials=Credentials(key_file=key_file))
    result = sync.test_connection(target)
    assert result.outcome == Outcome.FAILED
    assert "SSH key" in result.error


def test_no_credentials_at_all(fakesrx):  # noqa: F811
    srx = fakesrx()
    target = replace(make_target(srx), credentials=Credentials())
    result = sync.test_connection(target)
    assert result.outcome == Outcome.FAILED
    assert "No password or SSH key" in result.error
    assert srx.sessions == 0


def test_refused_confirmation_is_rolled_back_at_once(fakesrx):  # noqa: F811
    srx = fakesrx()
    before = srx.running_config()

    def on_event(event):
        if event.step == Step.CONFIRM and event.status == "started":
            srx.faults.commit_error = "mgd: the confirmation was refused"
        if event.step == Step.ROLLBACK and event.status == "started":
            srx.faults.commit_error = None

    [result] = sync.run_sync([make_target(srx)], on_event=on_event)

    assert result.outcome == Outcome.ROLLED_BACK, result.error
    assert "confirmation was refused" in result.error
    assert_unchanged(srx, before)
    assert_clean(srx)
    assert not srx.confirm_pending


def test_refused_confirmation_and_rollback_leave_it_to_the_timer(fakesrx):  # noqa: F811
    srx = fakesrx(minute_seconds=0.25)
    before = srx.running_config()

    def on_event(event):
        if event.step == Step.CONFIRM and event.status == "started":
            srx.faults.commit_error = "mgd: every commit is refused"

    options = SyncOptions(confirm_minutes=8)
    [result] = sync.run_sync([make_target(srx)], options, on_event=on_event)

    assert result.outcome == Outcome.UNKNOWN
    assert "rolls the change back by itself" in result.error
    srx.faults.clear()
    assert wait_for(lambda: not srx.confirm_pending, 10)
    assert_unchanged(srx, before)
    assert_clean(srx)


def test_old_release_explains_a_failed_check(fakesrx):  # noqa: F811
    srx = fakesrx(version="15.1X49-D170")
    target = make_target(srx, policies=())  # fails commit check on any release
    [result] = sync.run_sync([target])
    assert result.outcome == Outcome.FAILED
    assert "15.1X49-D170" in result.error
    assert "upgrade" in result.error
    assert result.facts is not None and not result.facts.supports_imap()
    assert_clean(srx)


@pytest.fixture
def ssh_agent(monkeypatch):
    """A real ssh-agent for this test only; SSH_AUTH_SOCK points at it."""
    folder = Path(tempfile.mkdtemp(prefix="agent-", dir="/tmp"))
    socket_path = folder / "agent.sock"
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(socket_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(socket_path.exists, timeout=10), "ssh-agent did not start"
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket_path))
        yield socket_path
    finally:
        agent.terminate()
        agent.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def agent_holding(folder) -> str:
    """Add a new key to the test's agent; its public half, the file removed."""
    key_file, public = _key_pair(folder, None)
    added = subprocess.run(
        ["ssh-add", key_file], capture_output=True, text=True, timeout=30
    )
    assert added.returncode == 0, added.stderr
    Path(key_file).unlink()
    return public


def test_sync_with_a_key_in_the_ssh_agent(fakesrx, tmp_path, ssh_agent):
    srx = fakesrx(password=None, public_key=agent_holding(tmp_path))
    before = srx.running_config()
    target = replace(make_target(srx), credentials=Credentials(use_agent=True))

    [result] = sync.run_sync([target])

    assert result.outcome == Outcome.SYNCED, result.error
    assert_exact(srx, target, before)


def test_netconf_not_enabled_is_told_apart_with_the_agent(fakesrx, tmp_path, ssh_agent):
    srx = fakesrx(password=None, public_key=agent_holding(tmp_path))
    srx.faults.netconf_disabled = True
    target = replace(make_target(srx), credentials=Credentials(use_agent=True))

    result = sync.test_connection(target)

    assert result.outcome == Outcome.FAILED
    assert "NETCONF is not enabled" in result.error


def test_a_device_refusing_every_agent_key_is_explained(fakesrx, tmp_path, ssh_agent):
    agent_holding(tmp_path)
    srx = fakesrx(password=None)
    target = replace(make_target(srx), credentials=Credentials(use_agent=True))

    result = sync.test_connection(target)

    assert result.outcome == Outcome.FAILED
    assert "refused the login of admin with every key in the SSH agent" in (
        result.error
    )


def test_agent_login_without_an_agent_is_explained(fakesrx, monkeypatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    srx = fakesrx(password=None)
    target = replace(make_target(srx), credentials=Credentials(use_agent=True))

    result = sync.test_connection(target)

    assert result.outcome == Outcome.FAILED
    assert "no agent is running for IMAP Desk" in result.error


def agent_refusal(monkeypatch, platform: str, keys: int) -> str:
    """What an agent login refused on ``platform`` is explained with."""
    monkeypatch.setattr(driver.sys, "platform", platform)
    monkeypatch.setattr(driver, "_agent_key_count", lambda: keys)
    target = sync.DeviceTarget(
        "srx-a", "192.0.2.1", "admin", Credentials(use_agent=True)
    )
    return str(driver.JunosDriver(target)._agent_refused())


def test_an_unset_agent_socket_is_named_only_off_windows(monkeypatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)

    posix = agent_refusal(monkeypatch, "linux", keys=0)
    windows = agent_refusal(monkeypatch, "win32", keys=0)

    assert "SSH_AUTH_SOCK is not set" in posix
    assert "SSH_AUTH_SOCK" not in windows
    assert "the agent holds no keys or could not be reached" in windows


def test_an_agent_without_keys_is_told_apart_from_a_refusal(monkeypatch):
    monkeypatch.setenv("SSH_AUTH_SOCK", "/tmp/agent.sock")

    empty = agent_refusal(monkeypatch, "linux", keys=0)
    refused = agent_refusal(monkeypatch, "linux", keys=2)

    assert "the agent holds no keys or could not be reached" in empty
    assert "refused the login of admin with every key" in refused


def test_pageant_holding_keys_is_not_taken_for_a_missing_agent(monkeypatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)

    refused = agent_refusal(monkeypatch, "win32", keys=1)

    assert "refused the login of admin with every key" in refused
    assert "SSH_AUTH_SOCK" not in refused


def test_an_unreachable_agent_counts_no_keys(monkeypatch):
    monkeypatch.setenv("SSH_AUTH_SOCK", "/nonexistent/agent.sock")

    assert driver._agent_key_count() == 0


def test_a_reworded_error_keeps_its_class_and_details():
    from deviceio.errors import HostKeyUnknown

    error = HostKeyUnknown("secret words", device="srx-1", presented="ssh-ed25519 AAAA")

    again = error.reworded("******** words")

    assert type(again) is HostKeyUnknown
    assert (str(again), again.message) == ("******** words", "******** words")
    assert (again.device, again.presented) == ("srx-1", "ssh-ed25519 AAAA")
    assert str(error) == "secret words", "the original is left as it was"
