"""``app.py export`` in every format and ``app.py import`` of policy files and
saved device configurations, run as a user would run them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import app
import store
from deviceio import render, yang
from store import devices as inv
from store.model import Administrator, Policy

from . import devices_support

POLICY = Policy(
    name="cli-policy",
    action="permit",
    server_scope="specific",
    servers=("imap.example.com",),
    subject="<script>alert(1)</script>",
    custom_message='Two\nlines; with "quotes" and { braces }',
    administrators=(Administrator("soc@example.com", unblock=False),),
    inspection_profile="imap_profile",
    verdict_threshold="6",
)
HAND_WRITTEN = """\
services {
    advanced-anti-malware {
        policy handmade {
            imap {
                inspection-profile corp_profile;
            }
            verdict-threshold 3;
        }
    }
}
"""
TWO_POLICIES = """\
set services advanced-anti-malware policy one imap inspection-profile p1
set services advanced-anti-malware policy two imap inspection-profile p2
set services advanced-anti-malware policy two verdict-threshold 8
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home folder of its own, so logs stay in the test."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def stored(db) -> store.StoredPolicy:
    """The policy the commands work on, in the test's data folder."""
    store.ensure_default_policy(db)
    return store.create_policy(db, POLICY)


def run_app(home: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """``python app.py ARGS --data-dir DATA`` with no device password at hand."""
    return devices_support.run_app(home, data_dir, *args, password=None)


def names(db) -> list[str]:
    return [s.policy.name for s in store.list_policies(db)]


def one_sentence_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if " INFO " not in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("imapdesk: ")
    assert "Traceback" not in result.stderr
    return lines[0]


# export


@pytest.mark.parametrize("fmt", ["xml", "set", "text"])
def test_export_junos_formats_to_standard_output(home, data_dir, stored, fmt):
    result = run_app(
        home, data_dir, "export", "--policy", "cli-policy", "--format", fmt
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == render.export(POLICY, (), fmt)


def test_export_json_is_the_policy_file(home, data_dir, stored):
    result = run_app(home, data_dir, "export", "--policy", "CLI-POLICY")

    assert result.returncode == 0, result.stderr
    assert store.loads_policy(result.stdout) == POLICY


@pytest.mark.parametrize("fmt", ["json", "xml", "set", "text"])
def test_export_writes_the_file_whole(home, data_dir, stored, fmt, tmp_path):
    out = tmp_path / f"out.{fmt}"

    result = run_app(
        home,
        data_dir,
        "export",
        "--policy",
        "cli-policy",
        "--format",
        fmt,
        "--out",
        str(out),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    expected = (
        store.dumps_policy(POLICY) if fmt == "json" else render.export(POLICY, (), fmt)
    )
    assert out.read_text(encoding="utf-8") == expected
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("release", yang.RELEASES)
def test_exported_xml_validates(home, data_dir, stored, release):
    if yang.find_models(release) is None:
        pytest.skip(f"the Junos {release} YANG models are not installed")

    result = run_app(
        home, data_dir, "export", "--policy", "cli-policy", "--format", "xml"
    )

    assert yang.validate(result.stdout.encode("utf-8"), release) == []


def test_export_with_a_device_adds_its_bindings(home, data_dir, db, stored):
    device = inv.Device.from_dict(
        {
            "name": "srx-lyon",
            "host": "192.0.2.20",
            "user": "admin",
            "policy_id": stored.id,
            "bindings": [
                {"from_zone": "trust", "to_zone": "untrust", "security_policy": "scan"}
            ],
        }
    )
    inv.create_device(db, device)
    binding = render.Binding("trust", "untrust", "scan", "cli-policy")

    result = run_app(
        home,
        data_dir,
        "export",
        "--policy",
        "cli-policy",
        "--format",
        "set",
        "--device",
        "srx-lyon",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == render.export(POLICY, (binding,), "set")
    assert "advanced-anti-malware-policy cli-policy" in result.stdout


def test_export_refuses_a_device_without_the_policy(home, data_dir, db, stored):
    inv.create_device(
        db, inv.Device.from_dict({"name": "srx-nice", "host": "h1", "user": "u"})
    )

    other = run_app(
        home,
        data_dir,
        "export",
        "--policy",
        "cli-policy",
        "--format",
        "xml",
        "--device",
        "srx-nice",
    )
    missing = run_app(
        home,
        data_dir,
        "export",
        "--policy",
        "cli-policy",
        "--format",
        "xml",
        "--device",
        "nowhere",
    )
    json_file = run_app(
        home, data_dir, "export", "--policy", "cli-policy", "--device", "srx-nice"
    )

    assert "is not assigned the policy cli-policy" in one_sentence_error(other)
    assert "There is no device named 'nowhere'" in one_sentence_error(missing)
    assert "holds no device bindings" in one_sentence_error(json_file)


def test_export_of_an_unknown_policy_fails_in_one_sentence(home, data_dir, stored):
    result = run_app(home, data_dir, "export", "--policy", "nope", "--format", "set")

    assert "There is no policy named 'nope'" in one_sentence_error(result)
    assert result.stdout == ""


def test_export_to_an_unwritable_place_fails_in_one_sentence(
    home, data_dir, stored, tmp_path
):
    out = tmp_path / "missing-folder" / "p.xml"

    result = run_app(
        home,
        data_dir,
        "export",
        "--policy",
        "cli-policy",
        "--format",
        "xml",
        "--out",
        str(out),
    )

    assert "Cannot write" in one_sentence_error(result)


# import


@pytest.mark.parametrize("fmt", ["xml", "set", "text"])
def test_import_of_a_rendered_configuration_round_trips(
    home, data_dir, db, tmp_path, fmt
):
    path = tmp_path / f"saved.{fmt}"
    path.write_text(render.export(POLICY, (), fmt), encoding="utf-8")

    result = run_app(home, data_dir, "import", str(path))

    assert result.returncode == 0, result.stderr
    assert "Imported policy cli-policy." in result.stdout
    assert "take their defaults" not in result.stderr
    assert store.get_policy_by_name(db, "cli-policy").policy == POLICY


def test_import_of_a_json_policy_file_still_works(home, data_dir, db, tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(store.dumps_policy(POLICY), encoding="utf-8")

    result = run_app(home, data_dir, "import", str(path), "--name", "copy")

    assert result.returncode == 0, result.stderr
    assert store.get_policy_by_name(db, "copy").policy.subject == POLICY.subject


def test_import_of_a_hand_written_policy_reports_the_defaults(
    home, data_dir, db, tmp_path
):
    path = tmp_path / "handmade.conf"
    path.write_text(HAND_WRITTEN, encoding="utf-8")

    result = run_app(home, data_dir, "import", str(path))

    assert result.returncode == 0, result.stderr
    report = [line for line in result.stderr.splitlines() if "defaults" in line]
    assert len(report) == 1
    for label in ("Action to take", "Subject", "IMAP Servers", "Administrators"):
        assert label in report[0]
    assert "Inspection profile" not in report[0]
    imported = store.get_policy_by_name(db, "handmade").policy
    assert imported.inspection_profile == "corp_profile"
    assert imported.verdict_threshold == "3"
    assert imported.subject == Policy().subject


def test_import_of_several_policies_needs_a_choice(home, data_dir, db, tmp_path):
    store.ensure_default_policy(db)
    path = tmp_path / "two.set"
    path.write_text(TWO_POLICIES, encoding="utf-8")

    unchosen = run_app(home, data_dir, "import", str(path))
    wrong = run_app(home, data_dir, "import", str(path), "--policy", "three")
    chosen = run_app(
        home, data_dir, "import", str(path), "--policy", "two", "--name", "second"
    )

    assert "choose one with --policy NAME" in one_sentence_error(unchosen)
    assert "(one, two)" in one_sentence_error(unchosen)
    assert "holds no policy named three" in one_sentence_error(wrong)
    assert chosen.returncode == 0, chosen.stderr
    assert names(db) == ["imap-policy", "second"]
    assert store.get_policy_by_name(db, "second").policy.verdict_threshold == "8"


def test_import_name_clash_suggests_another_name(home, data_dir, db, tmp_path):
    store.ensure_default_policy(db)
    path = tmp_path / "default.xml"
    path.write_text(render.export(Policy(subject="Other"), (), "xml"), "utf-8")

    result = run_app(home, data_dir, "import", str(path))

    assert "already exists" in one_sentence_error(result)
    assert "--name" in result.stderr
    assert store.get_policy_by_name(db, "imap-policy").policy == Policy()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<configuration><services>", "not well-formed XML"),
        ("services {\n    advanced-anti-malware {\n", "Line 2:"),
        ("set system host-name srx1\n", "holds no advanced-anti-malware policy"),
        ("", "The file is empty."),
        ('{"format": "imapdesk-policy", "version": 7}', "version 7"),
    ],
)
def test_broken_files_are_refused_whole(home, data_dir, db, tmp_path, content, message):
    store.ensure_default_policy(db)
    path = tmp_path / "broken.conf"
    path.write_text(content, encoding="utf-8")

    result = run_app(home, data_dir, "import", str(path))

    assert message in one_sentence_error(result)
    assert names(db) == ["imap-policy"]


def test_policy_option_is_refused_for_a_policy_file(home, data_dir, db, tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(store.dumps_policy(POLICY), encoding="utf-8")

    result = run_app(home, data_dir, "import", str(path), "--policy", "x")

    assert "--policy chooses among" in one_sentence_error(result)


@pytest.mark.parametrize(
    "argv",
    [
        ["--data-dir", "D", "export", "--policy", "p"],
        ["export", "--policy", "p", "--data-dir", "D"],
        ["--data-dir", "D", "import", "f.xml"],
        ["--data-dir", "D", "devices", "list"],
    ],
)
def test_data_dir_counts_before_or_after_the_command(argv):
    assert app.build_parser().parse_args(argv).data_dir == "D"


def test_data_dir_defaults_to_none():
    assert app.build_parser().parse_args(["export", "--policy", "p"]).data_dir is None
