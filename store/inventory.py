"""The device inventory as CSV: reading, checking, importing and exporting.

A file is UTF-8 CSV (a byte-order mark is allowed) with a header row. The
columns, in any order and any letter case:

=====================  ======  ==========================================
column                 needed  value
=====================  ======  ==========================================
name                   yes     the device name, unique; 1 to 63 letters,
                               digits, dots, hyphens and underscores,
                               starting with a letter
host                   yes     hostname or IP address
port                   yes     NETCONF port; blank means 830
user                   yes     the Junos user IMAP Desk logs in as
policy                 yes     the name of an existing IMAP policy
auth                   no      ``password`` (the default), ``key_file``
                               or ``agent``
key_file               no      absolute path of the SSH private key, for
                               ``key_file``
bindings               no      security policies that apply the IMAP
                               policy, separated by ``;``, each
                               ``FROM-ZONE>TO-ZONE:POLICY`` or
                               ``FROM-ZONE>TO-ZONE:POLICY:SSL-PROXY-PROFILE``
source_addresses       no      what each binding's security policy
destination_addresses  no      matches: one entry per binding, in the
applications           no      order of ``bindings``, separated by ``;``.
                               An entry is names separated by spaces, or
                               blank for the default: ``any`` address,
                               the ``junos-imap`` and ``junos-imaps``
                               applications. A blank cell leaves every
                               binding at the default.
place_before           no      one entry per binding, likewise: the
                               security policy of the same zone pair that
                               a sync creating the binding's policy puts
                               it before; blank for the end of the list
=====================  ======  ==========================================

The columns holding one entry per binding (``source_addresses``,
``destination_addresses``, ``applications``, ``place_before``) go with the
``bindings`` column: a file that has one of them without ``bindings`` is
refused. For example, two bindings of which the second matches any
application and is created before the policy ``deny-all``::

    bindings,applications,place_before
    trust>untrust:imap-scan; dmz>untrust:imap-dmz,; any,; deny-all

Passwords never appear in the file: a ``password`` column is refused.
Blank lines are skipped. A row whose name matches an existing device updates
it, and an optional column the file lacks leaves that setting as it is (a
per-binding column the file lacks keeps the entry of each binding that the
device already has under the same zones and name); the other rows add
devices. Importing is all or nothing: one bad row and nothing is stored, and
every bad row is reported with its line number.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from .devices import (
    FIELD_LABELS,
    MATCH_LISTS,
    Device,
    SecurityBinding,
    StoredDevice,
    list_devices,
    save_inventory,
)
from .errors import DuplicateName, InvalidImport, NotFound
from .model import ValidationError

REQUIRED_COLUMNS = ("name", "host", "port", "user", "policy")
BINDING_COLUMN_LABELS = {
    "source_addresses": "Source addresses",
    "destination_addresses": "Destination addresses",
    "applications": "Applications",
    "place_before": "Place before",
}
# columns holding one entry for each binding of the bindings column
BINDING_COLUMNS = (*MATCH_LISTS, "place_before")
OPTIONAL_COLUMNS = ("auth", "key_file", "bindings", *BINDING_COLUMNS)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_FILE_BYTES = 5_000_000
MAX_ROWS = 10_000


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with an inventory file; line 1 is the header."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


class InvalidInventory(InvalidImport):
    """An inventory file that was not imported; nothing of it was stored."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        summary = (
            "The inventory was not imported; nothing was changed. "
            f"{count} problem{'s' if count != 1 else ''} found."
        )
        super().__init__(summary, {f"line {p.line}": p.message for p in problems})


@dataclass(frozen=True)
class ImportResult:
    added: list[StoredDevice]
    updated: list[StoredDevice]


def parse_bindings(text: str) -> list[dict[str, str]]:
    """Split a ``bindings`` cell into binding fields; not yet validated.

    :raises ValueError: when an entry is not ``FROM>TO:POLICY[:PROFILE]``.
    """
    result = []
    for entry in text.split(";"):
        entry = entry.strip()
        if not entry:
            continue
        zones, sep, rest = entry.partition(":")
        from_zone, arrow, to_zone = zones.partition(">")
        parts = rest.split(":") if sep else []
        if not arrow or not sep or not 1 <= len(parts) <= 2:
            raise ValueError(
                f"The binding {entry!r} must read FROM-ZONE>TO-ZONE:POLICY or "
                "FROM-ZONE>TO-ZONE:POLICY:SSL-PROXY-PROFILE."
            )
        result.append(
            {
                "from_zone": from_zone.strip(),
                "to_zone": to_zone.strip(),
                "security_policy": parts[0].strip(),
                "ssl_proxy": parts[1].strip() if len(parts) == 2 else "",
            }
        )
    return result


def format_bindings(bindings: tuple[SecurityBinding, ...]) -> str:
    """The ``bindings`` cell for a device's bindings."""
    entries = []
    for b in bindings:
        entry = f"{b.from_zone}>{b.to_zone}:{b.security_policy}"
        if b.ssl_proxy:
            entry += f":{b.ssl_proxy}"
        entries.append(entry)
    return "; ".join(entries)


def parse_binding_column(text: str, count: int) -> list[str]:
    """Split the cell of a column in :data:`BINDING_COLUMNS` into one entry
    per binding; not yet validated. A blank cell gives every binding the
    default.

    :param count: how many bindings the row has.
    :raises ValueError: when the cell has another number of entries.
    """
    if not text.strip():
        return [""] * count
    entries = [entry.strip() for entry in text.split(";")]
    while len(entries) > count and not entries[-1]:
        entries.pop()
    if len(entries) != count:
        raise ValueError(
            f"the cell has {_count(len(entries), 'entry', 'entries')} for "
            f"{_count(count, 'binding', 'bindings')}; give one entry per binding, "
            "separated by ;, blank for the default."
        )
    return entries


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def format_binding_column(bindings: tuple[SecurityBinding, ...], key: str) -> str:
    """The cell of a column in :data:`BINDING_COLUMNS` for a device's
    bindings; blank when every binding has the default."""
    entries = [b.to_dict()[key] for b in bindings]
    return "; ".join(entries).rstrip() if any(entries) else ""


def read_inventory(db: Database, data: bytes | str) -> list[Device]:
    """Read and check an inventory file against the database; store nothing.

    :raises InvalidInventory: listing every problem by line.
    """
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InvalidInventory([RowProblem(1, f"This is not CSV: {exc}.")]) from None
    if header is None:
        raise InvalidInventory([RowProblem(1, "The file is empty.")])
    columns = _check_header(header)
    policies = {
        row["name"].lower(): row["id"]
        for row in db.query("SELECT id, name FROM policies")
    }
    existing = {d.name.lower(): d.device for d in list_devices(db)}
    devices: list[Device] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            problems.append(RowProblem(reader.line_num, f"This is not CSV: {exc}."))
            break
        if cells is None:
            break
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(devices) + len(problems) >= MAX_ROWS:
            problems.append(RowProblem(line, f"A file holds at most {MAX_ROWS} rows."))
            break
        try:
            device = _read_row(cells, columns, policies, existing)
        except ValueError as exc:
            problems.append(RowProblem(line, str(exc)))
            continue
        key = device.name.lower()
        if key in seen:
            problems.append(
                RowProblem(
                    line,
                    f"The device {device.name} is already on line {seen[key]}.",
                )
            )
            continue
        seen[key] = line
        devices.append(device)
    if problems:
        raise InvalidInventory(problems)
    if not devices:
        raise InvalidInventory([RowProblem(1, "The file holds no devices.")])
    return devices


def import_inventory(db: Database, data: bytes | str) -> ImportResult:
    """Check an inventory file and store all of it, or none of it.

    :raises InvalidInventory:
    """
    devices = read_inventory(db, data)
    try:
        added, updated = save_inventory(db, devices)
    except (DuplicateName, NotFound) as exc:
        # a policy deleted, or a device renamed, since the file was checked
        raise InvalidInventory(
            [RowProblem(1, f"{exc} Nothing was changed; import the file again.")]
        ) from None
    return ImportResult(added=added, updated=updated)


def export_inventory(devices: list[StoredDevice]) -> str:
    """The devices as an inventory file, every column present, no password."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for stored in devices:
        d = stored.device
        writer.writerow(
            [
                d.name,
                d.host,
                d.port,
                d.user,
                stored.policy_name or "",
                d.auth,
                d.key_file,
                format_bindings(d.bindings),
                *(format_binding_column(d.bindings, key) for key in BINDING_COLUMNS),
            ]
        )
    return out.getvalue()


def _decode(data: bytes | str) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInventory([RowProblem(1, "The file is too large.")])
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = data[: exc.start].decode("utf-8-sig", errors="replace")
        line = text.count("\n") + 1
        raise InvalidInventory(
            [RowProblem(line, "The file is not UTF-8 text; save it as UTF-8 CSV.")]
        ) from None


def _check_header(header: list[str]) -> dict[str, int]:
    names = [
        cell.strip().lower().replace("-", "_").replace(" ", "_") for cell in header
    ]
    problems = []
    if "password" in names:
        problems.append(
            RowProblem(
                1,
                "The file has a password column. Passwords are never read from "
                "or written to files; remove the column and enter passwords "
                "in IMAP Desk.",
            )
        )
    for name in names:
        if name and name not in COLUMNS and name != "password":
            problems.append(
                RowProblem(
                    1,
                    f"The column {name!r} is not part of the format; the columns "
                    f"are {', '.join(COLUMNS)}.",
                )
            )
    for name in sorted({n for n in names if names.count(n) > 1 and n}):
        problems.append(RowProblem(1, f"The column {name!r} appears twice."))
    alone = [c for c in BINDING_COLUMNS if c in names and "bindings" not in names]
    if alone:
        problems.append(
            RowProblem(
                1,
                f"The column(s) {', '.join(alone)} need the bindings column, "
                "whose bindings they describe in order.",
            )
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        problems.append(
            RowProblem(1, "The header lacks the column(s): " + ", ".join(missing) + ".")
        )
    if problems:
        raise InvalidInventory(problems)
    return {name: i for i, name in enumerate(names) if name}


def _read_row(
    cells: list[str],
    columns: dict[str, int],
    policies: dict[str, int],
    existing: dict[str, Device],
) -> Device:
    if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
        raise ValueError(
            f"This row has {len(cells)} cells but the header has "
            f"{len(columns)} columns."
        )

    def cell(name: str) -> str:
        index = columns.get(name)
        if index is None or index >= len(cells):
            return ""
        return cells[index].strip()

    data: dict[str, Any] = {
        name: cell(name) for name in ("name", "host", "port", "user", "auth")
    }
    data["key_file"] = cell("key_file")
    policy_name = cell("policy")
    if not policy_name:
        raise ValueError("Policy: name the IMAP policy the device should carry.")
    if policy_name.lower() not in policies:
        raise ValueError(f"Policy: there is no policy named {policy_name!r}.")
    data["policy_id"] = policies[policy_name.lower()]
    try:
        data["bindings"] = parse_bindings(cell("bindings"))
    except ValueError as exc:
        raise ValueError(f"Bindings: {exc}") from None
    current = existing.get(data["name"].lower())
    kept = {b.key: b.to_dict() for b in current.bindings} if current else {}
    for key in BINDING_COLUMNS:
        if key in columns:
            try:
                entries = parse_binding_column(cell(key), len(data["bindings"]))
            except ValueError as exc:
                raise ValueError(f"{BINDING_COLUMN_LABELS[key]}: {exc}") from None
        else:
            entries = [_kept_entry(kept, b, key) for b in data["bindings"]]
        for binding, entry in zip(data["bindings"], entries, strict=True):
            binding[key] = entry
    if current is not None:
        # an optional column the file lacks keeps what the device has; a
        # blank cell in a column the file has is a value like any other
        if "auth" not in columns:
            data["auth"] = current.auth
        if "key_file" not in columns:
            data["key_file"] = current.key_file
        if "bindings" not in columns:
            data["bindings"] = [b.to_dict() for b in current.bindings]
    try:
        return Device.from_dict(data)
    except ValidationError as exc:
        raise ValueError(_describe(exc)) from None


def _kept_entry(
    kept: dict[tuple[str, str, str], dict[str, str]], binding: dict[str, str], key: str
) -> str:
    # the device's own binding of the same zones and name, as it was before
    found = kept.get(
        (binding["from_zone"], binding["to_zone"], binding["security_policy"])
    )
    return found[key] if found else ""


def _describe(exc: ValidationError) -> str:
    parts = []
    for key, message in exc.errors.items():
        top = key.split("[", 1)[0].split(".", 1)[0]
        label = FIELD_LABELS.get(top, key)
        if top == "bindings" and "[" in key:
            index = int(key.split("[", 1)[1].split("]", 1)[0])
            label = f"Binding {index + 1}"
        parts.append(f"{label}: {message}")
    return " ".join(parts)
