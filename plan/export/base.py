"""What every exporter shares: the item as a payload, the base class, the one HTTP seam.

Outbound HTTP goes through `Http` only: a default timeout, opsloop's User-Agent, and
errors translated to ExportError with a policy (4xx = permanent, retrying will not help;
network errors and 5xx = try again later).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import requests

from core import __version__
from plan.config import ExporterConfig
from plan.errors import ExportError
from plan.models import ExportTarget

USER_AGENT = f"opsloop/{__version__}"
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class ItemPayload:
    """An item as exporters see it: plain text and numbers, with a link back to opsloop."""

    item_id: int
    title: str
    kind: str
    status: str
    service: str | None
    score: float
    url: str
    body: str
    labels: list[str] = field(default_factory=list)
    closed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.item_id,
            "title": self.title,
            "kind": self.kind,
            "status": self.status,
            "service": self.service,
            "score": round(self.score, 6),
            "url": self.url,
            "body": self.body,
            "labels": self.labels,
        }


@dataclass(frozen=True)
class Exported:
    external_id: str
    external_url: str | None


class Http:
    """The outbound-HTTP seam of the plan package."""

    def __init__(self, timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def send(
        self,
        target: str,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> requests.Response:
        try:
            response = self.session.request(
                method,
                url,
                json=json_body,
                data=data,
                headers=headers,
                auth=auth,
                timeout=self.timeout_s,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise ExportError(target, f"{method} {url} failed: {exc}") from exc
        if response.status_code >= 400:
            text = response.text[:MAX_ERROR_CHARS]
            raise ExportError(
                target,
                f"{method} {url} answered {response.status_code}: {text}",
                permanent=400 <= response.status_code < 500 and response.status_code != 429,
            )
        return response

    @staticmethod
    def json_of(target: str, response: requests.Response) -> dict[str, Any]:
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError as exc:
            raise ExportError(target, f"the answer is not JSON: {response.text[:200]!r}") from exc
        return data if isinstance(data, dict) else {}


class Exporter(ABC):
    """One export target: create an issue the first time, update it afterwards."""

    target: ClassVar[ExportTarget]

    def __init__(self, config: ExporterConfig, http: Http | None = None) -> None:
        self.config = config
        self.options = config.options
        self.http = http or Http(config.timeout_s)

    @abstractmethod
    def create(self, item: ItemPayload) -> Exported:
        """Create the issue (or send the first message) for an item."""

    @abstractmethod
    def update(self, external_id: str, item: ItemPayload) -> Exported:
        """Update what an earlier export created."""

    def labels(self, item: ItemPayload) -> list[str]:
        extra = self.options.get("labels") or []
        return list(dict.fromkeys([*item.labels, *(str(x) for x in extra)]))
