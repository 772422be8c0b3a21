"""Check a Junos configuration against Juniper's YANG models with yanglint.

The models are the SRX (``junos-es``) configuration modules of each release in
:data:`RELEASES`, kept in a ``junos-yang`` folder beside the repository
(``../shared/junos-yang/<release>``) or wherever the environment variable
``IMAPDESK_JUNOS_YANG`` points.

:func:`validate` takes a configuration the way Junos returns it over NETCONF:
a ``<configuration>`` root without namespaces, possibly wrapped in an
``rpc-reply`` and holding statements these models cannot check (``system``,
``interfaces``...). Only the ``services`` and ``security`` subtrees are copied
into a namespaced document for yanglint; Junos operation attributes
(``replace``, ``delete``, ``operation``, ``inactive``, ``junos:*``) are
stripped first and elements marked for deletion are left out. One yanglint
process runs per call.

The models do not carry Junos' cross-reference checks, so one that matters
here is done in Python: a security policy naming an advanced-anti-malware
policy must name one defined in the same configuration.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .tree import children, find_configuration, local_name, operation

logger = logging.getLogger(__name__)

RELEASES = ("19.4R1", "24.4R1")

ENV_VAR = "IMAPDESK_JUNOS_YANG"

ROOT_NS = "http://yang.juniper.net/junos-es/conf/root"
MODULE_NS = {
    "services": "http://yang.juniper.net/junos-es/conf/services",
    "security": "http://yang.juniper.net/junos-es/conf/security",
}
MODULES = ("junos-es-conf-root", "junos-es-conf-services", "junos-es-conf-security")

# 19.4R1's root module declares a mandatory leaf inside a non-presence
# container, which "-t config" reports for every document; "getconfig" does
# not require mandatory nodes but checks everything else.
DATA_TYPES = {"19.4R1": "getconfig"}
DEFAULT_DATA_TYPE = "config"

AAMW_PATH = ("services", "advanced-anti-malware", "policy")
REFERENCE_PATH = (
    "then",
    "permit",
    "application-services",
    "advanced-anti-malware-policy",
)
TIMEOUT_SECONDS = 120

_MESSAGE_RE = re.compile(
    r"^libyang (?P<severity>err|warn)\s*:\s*(?P<message>.*?)"
    r"(?:\s*\((?:Schema|Data) location \"(?P<path>[^\"]*)\"[^)]*\))?\s*$"
)
_SEVERITIES = {"err": "error", "warn": "warning"}
_PREFIX_RE = re.compile(r"(?<=/)junos-es-conf-[a-z]+:")


@dataclass(frozen=True)
class YangError:
    """One finding: ``severity`` is "error" or "warning"; ``path`` may be ""."""

    severity: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.severity}{where}: {self.message}"


class YangUnavailable(RuntimeError):
    """yanglint or the YANG models of a release cannot be found."""


def find_models(release: str) -> Path | None:
    """Return the folder holding the YANG models of ``release``, or None.

    ``IMAPDESK_JUNOS_YANG`` (the folder holding one folder per release) wins
    over the ``shared/junos-yang`` folder beside the repository.
    """
    override = os.environ.get(ENV_VAR)
    if override:
        base = Path(override)
    else:
        repo_root = Path(__file__).resolve().parent.parent
        base = repo_root.parent / "shared" / "junos-yang"
    folder = base / release
    return folder if folder.is_dir() else None


def validate(config: etree._Element | bytes, release: str) -> list[YangError]:
    """Check ``config`` against the models of ``release``; [] when valid.

    :param config: a ``<configuration>`` element (or an element holding one,
        such as an ``rpc-reply``), or the same as XML bytes.
    :raises YangUnavailable: when yanglint or the models are missing.
    :raises ValueError: when ``config`` holds no ``configuration`` element.
    """
    command = _command(release)
    root = find_configuration(config)
    errors = check_references(root)
    errors.extend(_run_yanglint(command, namespaced_copy(root)))
    return errors


def schema_order(config: etree._Element | bytes, release: str) -> etree._Element:
    """The namespaced services and security subtrees as libyang prints them.

    libyang prints data in schema order, so comparing this with
    :func:`namespaced_copy` shows whether statements follow the models' order.

    :raises YangUnavailable: when yanglint or the models are missing.
    :raises ValueError: when the configuration does not validate.
    """
    command = _command(release)
    document = namespaced_copy(find_configuration(config))
    result = _yanglint(command[:1] + ["-f", "xml"] + command[1:], document)
    if result.returncode != 0:
        raise ValueError(f"yanglint refused the configuration: {result.stderr}")
    return etree.fromstring(result.stdout.encode("utf-8"))


def namespaced_copy(configuration: etree._Element) -> etree._Element:
    """Return the services and security subtrees in the models' namespaces.

    Attributes are dropped and statements marked for deletion left out.
    """
    document = etree.Element(f"{{{ROOT_NS}}}configuration", nsmap={None: ROOT_NS})
    for kid in _present(configuration):
        namespace = MODULE_NS.get(local_name(kid))
        if namespace is not None:
            top = etree.SubElement(
                document, f"{{{namespace}}}{local_name(kid)}", nsmap={None: namespace}
            )
            _fill(top, kid, namespace)
    return document


def check_references(configuration: etree._Element) -> list[YangError]:
    """Report active security policies naming an undefined anti-malware policy.

    An inactive anti-malware policy counts as undefined, as on a device.
    """
    defined = {
        _text(name)
        for policy in _active_path(configuration, AAMW_PATH)
        for name in children(policy, "name")
    }
    return [
        YangError(
            "error",
            path,
            f"Referenced advanced-anti-malware policy {name!r} is not defined",
        )
        for path, name in _aamw_references(configuration)
        if name not in defined
    ]


def _command(release: str) -> list[str]:
    if release not in RELEASES:
        raise ValueError(
            f"Unknown Junos release {release!r}; choose one of {', '.join(RELEASES)}."
        )
    yanglint = shutil.which("yanglint")
    if yanglint is None:
        raise YangUnavailable(
            "yanglint is not installed; install libyang2-tools to check configurations."
        )
    folder = find_models(release)
    if folder is None:
        raise YangUnavailable(
            f"The YANG models for Junos {release} were not found; set "
            f"{ENV_VAR} to the folder holding them."
        )
    modules = [_module_file(folder, name) for name in MODULES]
    data_type = DATA_TYPES.get(release, DEFAULT_DATA_TYPE)
    return [yanglint, "-p", str(folder), "-t", data_type, *modules]


def _module_file(folder: Path, name: str) -> str:
    matches = sorted(folder.glob(f"{name}@*.yang"))
    if not matches:
        raise YangUnavailable(f"{folder} holds no {name} module.")
    return str(matches[-1])


def _present(element: etree._Element) -> list[etree._Element]:
    return [k for k in children(element) if operation(k) != "delete"]


def _fill(target: etree._Element, source: etree._Element, namespace: str) -> None:
    kids = _present(source)
    if not kids:
        target.text = source.text
    for kid in kids:
        _fill(
            etree.SubElement(target, f"{{{namespace}}}{local_name(kid)}"),
            kid,
            namespace,
        )


def _yanglint(
    command: list[str], document: etree._Element
) -> subprocess.CompletedProcess[str]:
    data = etree.tostring(document, xml_declaration=True, encoding="UTF-8")
    with tempfile.TemporaryDirectory(prefix="imapdesk-yang-") as tmp:
        path = Path(tmp) / "configuration.xml"
        path.write_bytes(data)
        try:
            return subprocess.run(
                [*command, str(path)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except OSError as exc:
            raise YangUnavailable(f"yanglint could not be run: {exc}") from exc
        except subprocess.TimeoutExpired as exc:
            raise YangUnavailable("yanglint did not finish in time.") from exc


def _run_yanglint(command: list[str], document: etree._Element) -> list[YangError]:
    result = _yanglint(command, document)
    if result.returncode == 0:
        return _parse_output(result.stderr, only_warnings=True)
    errors = _parse_output(result.stderr + result.stdout, only_warnings=False)
    if not any(e.severity == "error" for e in errors):
        message = (result.stderr or result.stdout).strip() or "yanglint failed"
        errors.append(YangError("error", "", message))
    logger.debug("yanglint found %d problem(s)", len(errors))
    return errors


def _parse_output(output: str, *, only_warnings: bool) -> list[YangError]:
    errors = []
    for line in output.splitlines():
        match = _MESSAGE_RE.match(line.strip())
        if match is None:
            continue
        severity = _SEVERITIES[match["severity"]]
        if only_warnings and severity == "error":
            continue
        path = _PREFIX_RE.sub("", match["path"] or "")
        errors.append(YangError(severity, path, match["message"]))
    return errors


def _active_path(element: etree._Element, names: tuple[str, ...]) -> list:
    """Elements reached through ``names``, skipping deleted and inactive ones."""
    current = [element]
    for name in names:
        current = [
            kid
            for parent in current
            for kid in _present(parent)
            if local_name(kid) == name and kid.get("inactive") != "inactive"
        ]
    return current


def _first_text(element: etree._Element, name: str) -> str:
    found = children(element, name)
    return _text(found[0]) if found else ""


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


def _aamw_references(configuration: etree._Element) -> list[tuple[str, str]]:
    """Yield (path, name) for every advanced-anti-malware-policy reference."""
    found = []
    for context in _active_path(configuration, ("security", "policies", "policy")):
        zones = (
            _first_text(context, "from-zone-name"),
            _first_text(context, "to-zone-name"),
        )
        base = (
            "/configuration/security/policies/policy"
            f"[from-zone-name='{zones[0]}'][to-zone-name='{zones[1]}']"
        )
        found.extend(_references_in(context, base))
    for context in _active_path(configuration, ("security", "policies", "global")):
        found.extend(_references_in(context, "/configuration/security/policies/global"))
    return found


def _references_in(context: etree._Element, base: str) -> list[tuple[str, str]]:
    found = []
    for policy in _active_path(context, ("policy",)):
        name = _first_text(policy, "name")
        for leaf in _active_path(policy, REFERENCE_PATH):
            path = f"{base}/policy[name='{name}']/then/permit/application-services"
            found.append((f"{path}/advanced-anti-malware-policy", _text(leaf)))
    return found
