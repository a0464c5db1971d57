"""Alert fingerprints computed exactly as Prometheus/Alertmanager compute them.

Alertmanager identifies an alert by `model.LabelSet.Fingerprint()` from prometheus/common:
64-bit FNV-1a over the label names in byte order, each name and value followed by the
separator byte 0xff, printed as 16 lower-case hex digits. It is written here by hand because
it is a dozen lines and must match Go's output bit for bit; no library is needed for that.
"""

from __future__ import annotations

from collections.abc import Mapping

_FNV64_OFFSET = 14695981039346656037
_FNV64_PRIME = 1099511628211
_MASK64 = (1 << 64) - 1
_SEPARATOR = b"\xff"


def fingerprint_int(labels: Mapping[str, str]) -> int:
    """The fingerprint as Go's uint64 (prometheus/common labelSetToFingerprint)."""
    digest = _FNV64_OFFSET
    # Python sorts str by code point, which is UTF-8 byte order, as Go's sort.Strings.
    for name in sorted(labels):
        for chunk in (name.encode(), _SEPARATOR, labels[name].encode(), _SEPARATOR):
            for byte in chunk:
                digest = ((digest ^ byte) * _FNV64_PRIME) & _MASK64
    return digest


def fingerprint(labels: Mapping[str, str]) -> str:
    """16 hex digits, as Alertmanager's webhook `fingerprint` field carries it."""
    return f"{fingerprint_int(labels):016x}"
