"""Junos reply shapes: rpc-error elements and the failures that carry them."""

from __future__ import annotations

import time
from dataclasses import dataclass

from lxml import etree

JUNOS_NS = "http://xml.juniper.net/junos/{version}/junos"
BASE_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"


@dataclass(frozen=True)
class ErrorSpec:
    """The parts of one ``<rpc-error>``, named as Junos names them."""

    message: str
    severity: str = "error"
    error_type: str = "protocol"
    tag: str = "operation-failed"
    path: str | None = None
    bad_element: str | None = None
    session_id: int | None = None


class RpcFailure(Exception):
    """An RPC that answers with errors instead of (or beside) its result.

    ``wrapper`` names the element Junos wraps the errors in for this RPC
    (``commit-results``, ``load-configuration-results``), if any; ``extra``
    elements follow the errors inside it.
    """

    def __init__(
        self,
        *errors: ErrorSpec,
        wrapper: str | None = None,
        extra: tuple[etree._Element, ...] = (),
    ):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
        self.wrapper = wrapper
        self.extra = extra

    def elements(self) -> list[etree._Element]:
        errors = [error_element(spec) for spec in self.errors]
        if self.wrapper is None:
            return errors
        holder = etree.Element(self.wrapper)
        holder.extend(errors)
        holder.extend(self.extra)
        return [holder]


def error_element(spec: ErrorSpec) -> etree._Element:
    error = etree.Element("rpc-error")
    etree.SubElement(error, "error-type").text = spec.error_type
    etree.SubElement(error, "error-tag").text = spec.tag
    etree.SubElement(error, "error-severity").text = spec.severity
    if spec.path is not None:
        etree.SubElement(error, "error-path").text = spec.path
    if spec.bad_element is not None or spec.session_id is not None:
        info = etree.SubElement(error, "error-info")
        if spec.bad_element is not None:
            etree.SubElement(info, "bad-element").text = spec.bad_element
        if spec.session_id is not None:
            etree.SubElement(info, "session-id").text = str(spec.session_id)
    etree.SubElement(error, "error-message").text = spec.message
    return error


def unknown_rpc(name: str) -> RpcFailure:
    return RpcFailure(
        ErrorSpec(
            "syntax error",
            error_type="protocol",
            tag="operation-failed",
            bad_element=name,
        )
    )


def check_out_failed() -> ErrorSpec:
    return ErrorSpec("\nconfiguration check-out failed\n")


def junos_time(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def element(tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    el = etree.Element(tag, attrib)
    el.text = text
    return el


def sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    el.text = text
    return el
