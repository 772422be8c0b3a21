"""The slice of the Junos configuration schema the simulator needs to know.

Junos XML is regular enough to merge, filter and print without a schema, but
set commands and curly-brace text are not: ``set interfaces ge-0/0/0 unit 0``
hides the ``interface`` keyword, ``from-zone a to-zone b`` is one list entry
with two keys, and ``services ssh`` could be a leaf or a container.  This
module describes the hierarchies an SRX running IMAP Desk's policies touches;
anything else falls back to a rule of thumb (see ``resolve``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Node:
    """One schema node.

    ``kind`` is ``container``, ``list``, ``leaf``, ``leaf-list``, ``flag``
    (an empty leaf) or ``macro`` (``apply-macro``).  A list's ``keys`` pair
    the keyword printed before each key (``None`` for none) with the key's
    XML tag.  ``hidden`` is the list whose entries appear in set and text
    syntax without their own keyword (``interfaces ge-0/0/0``).  A
    ``grouped`` list prints all its entries in one block named after the
    list (``system-services { ssh; ping; }``).
    """

    kind: str
    tag: str = ""
    keys: tuple[tuple[str | None, str], ...] = ()
    children: dict[str, Node] = field(default_factory=dict)
    hidden: Node | None = None
    grouped: bool = False

    def child(self, keyword: str) -> Node | None:
        if keyword == "apply-macro":
            return MACRO
        return self.children.get(keyword)

    def by_tag(self, tag: str) -> Node | None:
        """Return the child schema node whose XML tag is ``tag``."""
        if tag == "apply-macro":
            return MACRO
        if self.hidden is not None and self.hidden.tag == tag:
            return self.hidden
        for node in self.children.values():
            if node.tag == tag:
                return node
        return None

    def keyword_of(self, tag: str) -> str | None:
        for keyword, node in self.children.items():
            if node.tag == tag:
                return keyword
        return None


def container(tag: str = "", **children: Node) -> Node:
    return Node("container", tag, children=_named(children))


def keyed(tag: str = "", *, key: str = "name", **children: Node) -> Node:
    return Node("list", tag, keys=((None, key),), children=_named(children))


def grouped(tag: str = "", **children: Node) -> Node:
    node = keyed(tag, **children)
    node.grouped = True
    return node


def group_of(node: Node) -> Node:
    """A stand-in parent whose hidden list is the grouped list ``node``."""
    return Node("container", node.tag, hidden=node)


def leaf(tag: str = "") -> Node:
    return Node("leaf", tag)


def leaf_list(tag: str = "") -> Node:
    return Node("leaf-list", tag)


def flag(tag: str = "") -> Node:
    return Node("flag", tag)


def _named(children: dict[str, Node]) -> dict[str, Node]:
    named = {}
    for name, node in children.items():
        keyword = name.replace("_", "-")
        if not node.tag:
            node.tag = keyword
        named[keyword] = node
    return named


MACRO = Node("macro", "apply-macro", keys=((None, "name"),))

_NOTIFICATION = dict(notification=container(log=flag(), no_log=flag()))

_AAMW_PROTOCOL = dict(
    inspection_profile=leaf(),
    action=leaf(),
    client_notify=container(message=leaf(), file=leaf(), redirect_url=leaf()),
    **_NOTIFICATION,
)

_AAMW_POLICY = keyed(
    "policy",
    http=container(**_AAMW_PROTOCOL),
    smtp=container(**_AAMW_PROTOCOL),
    imap=container(**_AAMW_PROTOCOL),
    smb=container(**_AAMW_PROTOCOL),
    verdict_threshold=leaf(),
    fallback_options=container(action=leaf(), **_NOTIFICATION),
    default_notification=container(log=flag(), no_log=flag()),
    whitelist_notification=container(log=flag(), no_log=flag()),
    blacklist_notification=container(log=flag(), no_log=flag()),
)

_HOST_INBOUND = container(
    system_services=grouped(except_=flag()),
    protocols=grouped(except_=flag()),
)

_ZONE = keyed(
    "security-zone",
    description=leaf(),
    tcp_rst=flag(),
    host_inbound_traffic=_HOST_INBOUND,
    interfaces=grouped(host_inbound_traffic=_HOST_INBOUND),
)

_SECURITY_POLICY = keyed(
    "policy",
    description=leaf(),
    match=container(
        source_address=leaf_list(),
        destination_address=leaf_list(),
        application=leaf_list(),
        source_identity=leaf_list(),
        dynamic_application=leaf_list(),
        url_category=leaf_list(),
    ),
    then=container(
        permit=container(
            application_services=container(
                advanced_anti_malware_policy=leaf(),
                ssl_proxy=container(profile_name=leaf()),
                idp_policy=leaf(),
                utm_policy=leaf(),
            ),
        ),
        deny=flag(),
        reject=container(),
        log=container(session_init=flag(), session_close=flag()),
        count=container(),
    ),
)

_ZONE_PAIR = Node(
    "list",
    "policy",
    keys=((None, "from-zone-name"), ("to-zone", "to-zone-name")),
    children={"policy": _SECURITY_POLICY},
)

_UNIT = keyed(
    "unit",
    description=leaf(),
    vlan_id=leaf(),
    family=container(
        inet=container(
            address=keyed(primary=flag(), preferred=flag()), dhcp=container()
        ),
        inet6=container(address=keyed()),
        ethernet_switching=container(
            interface_mode=leaf(), vlan=container(members=leaf_list())
        ),
    ),
)

_INTERFACE = keyed(
    "interface", description=leaf(), disable=flag(), vlan_tagging=flag(), unit=_UNIT
)

ROOT = container(
    "configuration",
    version=leaf(),
    system=container(
        host_name=leaf(),
        domain_name=leaf(),
        time_zone=leaf(),
        name_server=grouped(),
        root_authentication=container(encrypted_password=leaf()),
        login=container(
            message=leaf(),
            user=keyed(
                uid=leaf(),
                class_=leaf("class"),
                full_name=leaf(),
                authentication=container(
                    encrypted_password=leaf(),
                    ssh_rsa=keyed(),
                    ssh_ed25519=keyed(),
                    ssh_ecdsa=keyed(),
                ),
            ),
        ),
        services=container(
            ssh=container(root_login=leaf(), protocol_version=leaf_list()),
            netconf=container(ssh=container(port=leaf()), rfc_compliant=flag()),
            web_management=container(
                https=container(system_generated_certificate=flag())
            ),
            dhcp_local_server=container(),
        ),
        syslog=container(
            user=keyed(any=leaf()),
            file=keyed(any=leaf(), match=leaf()),
        ),
        ntp=container(server=keyed()),
    ),
    interfaces=Node("container", "interfaces", hidden=_INTERFACE),
    security=container(
        zones=container(security_zone=_ZONE),
        policies=container(
            from_zone=_ZONE_PAIR,
            global_=container("global", policy=_SECURITY_POLICY),
            default_policy=container(permit_all=flag(), deny_all=flag()),
        ),
        address_book=keyed(
            address=keyed(description=leaf()),
            address_set=keyed(address=keyed()),
            attach=container(zone=keyed()),
        ),
        screen=container(),
        nat=container(),
    ),
    services=container(
        advanced_anti_malware=container(
            policy=_AAMW_POLICY,
            connection=container(url=leaf(), authentication=container()),
            default_policy=container(**{k: v for k, v in _AAMW_PROTOCOL.items()}),
        ),
        security_intelligence=container(),
        ssl=container(),
    ),
)

# ``except`` and ``class`` are Python keywords; keep the Junos spelling.
for _node in (
    _HOST_INBOUND.children["system-services"],
    _HOST_INBOUND.children["protocols"],
):
    _node.children["except"] = _node.children.pop("except-")
    _node.children["except"].tag = "except"
_login_user = ROOT.children["system"].children["login"].children["user"]
_login_user.children["class"] = _login_user.children.pop("class-")
_policies = ROOT.children["security"].children["policies"]
_policies.children["global"] = _policies.children.pop("global-")

LEAF_LIKE = ("leaf", "leaf-list", "flag")
