"""TCG PC Client event types (TCG PC Client Platform Firmware Profile, section 10.4.1) and readings of their data.

Decoding is for people: it never raises and never decides anything. An event
whose data does not have the shape its type promises is shown raw.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "DSTACK_RUNTIME_EVENT",
    "EVENT_TYPES",
    "EV_NO_ACTION",
    "MUST_BIND",
    "data_is_bound",
    "describe",
    "named_value",
    "printable",
    "type_name",
]

EV_NO_ACTION = 0x3
EV_SEPARATOR = 0x4
EV_EFI_ACTION = 0x80000007
DSTACK_RUNTIME_EVENT = 0x08000001

EVENT_TYPES: Mapping[int, str] = MappingProxyType(
    {
        0x0: "EV_PREBOOT_CERT",
        0x1: "EV_POST_CODE",
        0x2: "EV_UNUSED",
        0x3: "EV_NO_ACTION",
        0x4: "EV_SEPARATOR",
        0x5: "EV_ACTION",
        0x6: "EV_EVENT_TAG",
        0x7: "EV_S_CRTM_CONTENTS",
        0x8: "EV_S_CRTM_VERSION",
        0x9: "EV_CPU_MICROCODE",
        0xA: "EV_PLATFORM_CONFIG_FLAGS",
        0xB: "EV_TABLE_OF_DEVICES",
        0xC: "EV_COMPACT_HASH",
        0xD: "EV_IPL",
        0xE: "EV_IPL_PARTITION_DATA",
        0xF: "EV_NONHOST_CODE",
        0x10: "EV_NONHOST_CONFIG",
        0x11: "EV_NONHOST_INFO",
        0x12: "EV_OMIT_BOOT_DEVICE_EVENTS",
        0x13: "EV_POST_CODE2",
        0x80000000: "EV_EFI_EVENT_BASE",
        0x80000001: "EV_EFI_VARIABLE_DRIVER_CONFIG",
        0x80000002: "EV_EFI_VARIABLE_BOOT",
        0x80000003: "EV_EFI_BOOT_SERVICES_APPLICATION",
        0x80000004: "EV_EFI_BOOT_SERVICES_DRIVER",
        0x80000005: "EV_EFI_RUNTIME_SERVICES_DRIVER",
        0x80000006: "EV_EFI_GPT_EVENT",
        0x80000007: "EV_EFI_ACTION",
        0x80000008: "EV_EFI_PLATFORM_FIRMWARE_BLOB",
        0x80000009: "EV_EFI_HANDOFF_TABLES",
        0x8000000A: "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
        0x8000000B: "EV_EFI_HANDOFF_TABLES2",
        0x8000000C: "EV_EFI_VARIABLE_BOOT2",
        0x8000000D: "EV_EFI_GPT_EVENT2",
        0x80000010: "EV_EFI_HCRTM_EVENT",
        0x800000E0: "EV_EFI_VARIABLE_AUTHORITY",
        0x800000E1: "EV_EFI_SPDM_FIRMWARE_BLOB",
        0x800000E2: "EV_EFI_SPDM_FIRMWARE_CONFIG",
        DSTACK_RUNTIME_EVENT: "DSTACK_RUNTIME_EVENT",
    }
)

EV_IPL = 0xD
# Types whose digest the PC Client profile defines as SHA-384 of the event data: a mismatch is a forged log.
MUST_BIND = frozenset({EV_SEPARATOR, EV_EFI_ACTION})
# GRUB logs "grub_cmd: CMD\0" / "kernel_cmdline: LINE\0" and extends the digest of CMD / LINE alone.
_GRUB_PREFIXES = (b"grub_cmd: ", b"kernel_cmdline: ")

_TEXT_TYPES = frozenset({0x1, 0x5, 0xA, 0xD, 0x80000007})
_VARIABLE_TYPES = frozenset({0x80000001, 0x80000002, 0x8000000C, 0x800000E0})
_IMAGE_TYPES = frozenset({0x80000003, 0x80000004, 0x80000005})
_MAX_SHOWN = 200


def type_name(event_type: int) -> str:
    """The TCG name of an event type, or ``0x%08X`` for one this table does not know."""
    return EVENT_TYPES.get(event_type, f"0x{event_type:08X}")


def _grub_text(data: bytes) -> bytes | None:
    if not data.endswith(b"\0"):
        return None
    for prefix in _GRUB_PREFIXES:
        if data.startswith(prefix):
            return data[len(prefix) : -1]
    return None


def data_is_bound(event_type: int, data: bytes, digest: bytes) -> bool:
    """Whether ``digest`` is the SHA-384 of ``data`` (or, for GRUB's EV_IPL, of the text it logs)."""
    if hashlib.sha384(data).digest() == digest:
        return True
    text = _grub_text(data) if event_type == EV_IPL else None
    return text is not None and hashlib.sha384(text).digest() == digest


def named_value(event_type: int, data: bytes) -> tuple[str, bytes] | None:
    """A binary log event's named value: GRUB's kernel command line (call only for bound events)."""
    if event_type == EV_IPL and data.startswith(b"kernel_cmdline: ") and data.endswith(b"\0"):
        return "kernel-cmdline", data[len(b"kernel_cmdline: ") : -1]
    return None


def printable(data: bytes) -> str | None:
    """``data`` as one line of text if it is printable UTF-8 (trailing NULs dropped), else ``None``."""
    return _text(data) if data.rstrip(b"\0") else None


def _text(data: bytes) -> str | None:
    body = data.rstrip(b"\0")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not all(c.isprintable() or c in "\n\t\r" for c in text):
        return None
    text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "..."


def _utf16(data: bytes) -> str | None:
    try:
        text = data.decode("utf-16-le").rstrip("\0")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def _variable(data: bytes) -> str | None:
    # UEFI_VARIABLE_DATA: GUID, u64 name length (chars), u64 data length, UTF-16 name, data.
    if len(data) < 32:
        return None
    guid = uuid.UUID(bytes_le=data[:16])
    n_chars, n_data = struct.unpack_from("<QQ", data, 16)
    if 32 + 2 * n_chars + n_data != len(data):
        return None
    name = _utf16(data[32 : 32 + 2 * n_chars])
    if name is None:
        return None
    return f"variable {guid}:{name} ({n_data} bytes of data)"


def _blob2(data: bytes) -> str | None:
    # UEFI_PLATFORM_FIRMWARE_BLOB2: u8 description size, description, u64 base, u64 length.
    if not data:
        return None
    n = data[0]
    if len(data) != 1 + n + 16:
        return None
    desc = _text(data[1 : 1 + n]) or data[1 : 1 + n].hex()
    base, length = struct.unpack_from("<QQ", data, 1 + n)
    return f"{desc} at {base:#x}, {length} bytes"


def _handoff2(data: bytes) -> str | None:
    # UEFI_HANDOFF_TABLE_POINTERS2: u8 description size, description, u64 count, count x (GUID, u64 pointer).
    if not data:
        return None
    n = data[0]
    if len(data) < 1 + n + 8:
        return None
    desc = _text(data[1 : 1 + n]) or data[1 : 1 + n].hex()
    (count,) = struct.unpack_from("<Q", data, 1 + n)
    if len(data) != 1 + n + 8 + 24 * count:
        return None
    guids = [str(uuid.UUID(bytes_le=data[9 + n + 24 * i : 25 + n + 24 * i])) for i in range(min(count, 8))]
    return f"{desc}: {count} table(s) {', '.join(guids)}{'...' if count > 8 else ''}"


def _image(data: bytes) -> str | None:
    # UEFI_IMAGE_LOAD_EVENT: u64 location, u64 length, u64 link-time address, u64 device path length, path.
    if len(data) < 32:
        return None
    _, length, _, path_len = struct.unpack_from("<QQQQ", data)
    if 32 + path_len != len(data):
        return None
    return f"image of {length} bytes, device path of {path_len} bytes"


def _tagged(data: bytes) -> str | None:
    # TCG_PCClientTaggedEvent: u32 tag id, u32 data size, data.
    if len(data) < 8:
        return None
    tag, size = struct.unpack_from("<II", data)
    if 8 + size != len(data):
        return None
    return f"tag {tag:#x}: {_text(data[8:]) or data[8:].hex()}"


def describe(event_type: int, data: bytes, name: str = "") -> str | None:
    """A one-line reading of an event's data, or ``None`` when its type has no reading here."""
    if event_type == DSTACK_RUNTIME_EVENT:
        shown = printable(data) if data else ""
        return f"{name}: {shown if shown is not None else data.hex()}"
    if event_type == EV_SEPARATOR:
        return f"separator {data.hex()}" + (" (error)" if data == b"\xff\xff\xff\xff" else "")
    if event_type == EV_NO_ACTION:
        return _text(data[:16])
    if event_type in _TEXT_TYPES:
        return _text(data)
    if event_type == 0x8:
        return _utf16(data) or _text(data)
    if event_type in _VARIABLE_TYPES:
        return _variable(data)
    if event_type == 0x8000000A:
        return _blob2(data)
    if event_type == 0x80000008 and len(data) == 16:
        base, length = struct.unpack("<QQ", data)
        return f"firmware blob at {base:#x}, {length} bytes"
    if event_type == 0x8000000B:
        return _handoff2(data)
    if event_type in _IMAGE_TYPES:
        return _image(data)
    if event_type == 0x6:
        return _tagged(data)
    return None
