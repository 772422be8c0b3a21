"""Creating a security policy before another one of its zone pair."""

from __future__ import annotations

import pytest
from lxml import etree

from deviceio import managed, sync, yang
from deviceio.render import Binding, render_load
from deviceio.sync import Outcome
from tests.sync_support import a_policy, make_target

PAIR = "security policies from-zone trust to-zone untrust"
DENY_ALL = (
    f"set {PAIR} policy deny-all match source-address any\n"
    f"set {PAIR} policy deny-all match destination-address any\n"
    f"set {PAIR} policy deny-all match application any\n"
    f"set {PAIR} policy deny-all then deny"
)
KEY = managed.binding_key("trust", "untrust", "imap-scan")


def placed(before: str = "deny-all") -> Binding:
    return Binding("trust", "untrust", "imap-scan", "imap-policy", place_before=before)


def order(srx) -> list[str]:
    running = srx.device.running_config()
    pair = running.xpath(
        "security/policies/policy[from-zone-name='trust'][to-zone-name='untrust']"
    )
    return [p.findtext("name") for p in pair[0].findall("policy")]


def test_a_binding_is_not_placed_before_itself():
    with pytest.raises(ValueError, match="before itself"):
        placed("imap-scan")


def test_only_the_security_policies_named_are_marked_for_insertion():
    load = render_load([a_policy()], [placed(), Binding("dmz", "untrust", "x", "p")])

    marked = managed.place_new(load, {KEY: "deny-all"})

    entries = marked.findall("security/policies/policy/policy")
    assert [dict(e.attrib) for e in entries] == [
        {"insert": "before", "name": "deny-all"},
        {"replace": "replace"},
    ]
    assert load.find("security/policies/policy/policy").get("insert") is None
    assert not managed.differing(managed.extract(marked), managed.extract(load))


@pytest.mark.parametrize("release", ["19.4R1", "24.4R1"])
def test_a_load_with_insertion_still_validates(release):
    load = managed.place_new(render_load([a_policy()], [placed()]), {KEY: "deny-all"})
    if yang.find_models(release) is None:
        pytest.skip(f"the Junos {release} YANG models are not installed")
    assert yang.validate(etree.tostring(load), release) == []


def test_a_new_policy_is_created_before_the_one_named(fakesrx):
    srx = fakesrx()
    srx.device.commit_external_change(DENY_ALL)
    target = make_target(srx, bindings=(placed(),))

    [result] = sync.run_sync([target])

    assert result.outcome is Outcome.SYNCED, result.error
    assert order(srx) == ["allow-outbound", "imap-scan", "deny-all"]
    [again] = sync.run_sync([target])
    assert again.outcome is Outcome.NO_CHANGE, again.error


def test_a_policy_the_device_holds_keeps_its_place(fakesrx):
    srx = fakesrx()
    srx.device.commit_external_change(
        DENY_ALL + f"\nset {PAIR} policy imap-scan match application junos-imap"
        f"\nset {PAIR} policy imap-scan then permit"
    )
    target = make_target(srx, bindings=(placed(),))

    [result] = sync.run_sync([target])

    assert result.outcome is Outcome.SYNCED, result.error
    assert order(srx) == ["allow-outbound", "deny-all", "imap-scan"]
    running = srx.device.running_config()
    applications = running.xpath("//policy[name='imap-scan']/match/application")
    assert [a.text for a in applications] == ["junos-imap", "junos-imaps"]


def test_placing_before_a_policy_the_device_lacks_commits_nothing(fakesrx):
    srx = fakesrx()
    commits = len(srx.commit_history)
    target = make_target(srx, bindings=(placed(),))

    [result] = sync.run_sync([target])

    assert result.outcome is Outcome.FAILED
    assert "deny-all" in result.error
    assert len(srx.commit_history) == commits


def chained(first: str = "imap-a", second: str = "imap-b") -> tuple[Binding, ...]:
    """``first`` placed before ``second``, and ``second`` before deny-all."""
    return (
        Binding("trust", "untrust", first, "imap-policy", place_before=second),
        Binding("trust", "untrust", second, "imap-policy", place_before="deny-all"),
    )


def placements_of(bindings: tuple[Binding, ...]) -> dict[managed.Key, str]:
    return {managed.binding_key(*b.key): b.place_before for b in bindings}


def test_a_policy_placed_before_another_new_one_follows_it_in_the_load():
    bindings = chained()
    load = render_load([a_policy()], bindings)

    marked = managed.place_new(load, placements_of(bindings))

    entries = marked.findall("security/policies/policy/policy")
    assert [(e.findtext("name"), e.get("name")) for e in entries] == [
        ("imap-b", "deny-all"),
        ("imap-a", "imap-b"),
    ]
    assert not managed.differing(managed.extract(marked), managed.extract(load))


def test_policies_of_another_zone_pair_are_not_taken_as_referents():
    bindings = (
        Binding("trust", "untrust", "imap-a", "imap-policy", place_before="imap-b"),
        Binding("dmz", "untrust", "imap-b", "imap-policy"),
        Binding("trust", "untrust", "imap-c", "imap-policy"),
    )
    load = render_load([a_policy()], bindings)

    marked = managed.place_new(load, placements_of(bindings[:1]))

    def names(document) -> list[str]:
        return [e.findtext("name") for e in document.iterfind(".//policy/policy")]

    assert names(marked) == names(load)
    assert set(names(load)) == {"imap-a", "imap-b", "imap-c"}


@pytest.mark.parametrize("release", ["19.4R1", "24.4R1"])
def test_a_load_with_a_chain_of_insertions_still_validates(release):
    bindings = chained()
    load = managed.place_new(
        render_load([a_policy()], bindings), placements_of(bindings)
    )
    if yang.find_models(release) is None:
        pytest.skip(f"the Junos {release} YANG models are not installed")
    assert yang.validate(etree.tostring(load), release) == []


@pytest.mark.parametrize(
    "bindings", [chained(), chained()[::-1]], ids=["as-chained", "reversed"]
)
def test_a_chain_of_new_policies_is_created_in_its_order(fakesrx, bindings):
    srx = fakesrx()
    srx.device.commit_external_change(DENY_ALL)
    target = make_target(srx, bindings=bindings)

    [result] = sync.run_sync([target])

    assert result.outcome is Outcome.SYNCED, result.error
    assert order(srx) == ["allow-outbound", "imap-a", "imap-b", "deny-all"]
    [again] = sync.run_sync([target])
    assert again.outcome is Outcome.NO_CHANGE, again.error


def test_policies_placed_before_one_another_in_a_circle_are_refused():
    placements = {
        managed.binding_key("trust", "untrust", "imap-a"): "imap-b",
        managed.binding_key("trust", "untrust", "imap-b"): "imap-a",
    }

    with pytest.raises(ValueError, match="in a circle: imap-a before imap-b before"):
        managed.check_placements(placements)
    elsewhere = {
        managed.binding_key("trust", "untrust", "imap-a"): "imap-b",
        managed.binding_key("dmz", "untrust", "imap-b"): "imap-a",
    }
    managed.check_placements(elsewhere)


def test_a_circle_of_placements_commits_nothing(fakesrx):
    srx = fakesrx()
    commits = len(srx.commit_history)
    bindings = (
        Binding("trust", "untrust", "imap-a", "imap-policy", place_before="imap-b"),
        Binding("trust", "untrust", "imap-b", "imap-policy", place_before="imap-c"),
        Binding("trust", "untrust", "imap-c", "imap-policy", place_before="imap-a"),
    )
    target = make_target(srx, bindings=bindings)

    [result] = sync.run_sync([target])

    assert result.outcome is Outcome.FAILED
    assert "imap-a before imap-b before imap-c before imap-a" in result.error
    assert len(srx.commit_history) == commits
