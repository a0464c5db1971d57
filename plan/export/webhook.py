"""Generic JSON webhook: POST the item; `event` says whether it is new or an update.

With a `secret`, the request carries `X-Opsloop-Timestamp` and `X-Opsloop-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, so the receiver can check origin and
freshness. The receiver may answer `{"id": ..., "url": ...}`; otherwise the item id is the
external id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from plan.export.base import Exported, Exporter, ItemPayload
from plan.models import ExportTarget


class WebhookExporter(Exporter):
    target = ExportTarget.WEBHOOK

    def _post(self, event: str, item: ItemPayload, external_id: str | None) -> Exported:
        payload = {"event": event, "external_id": external_id, "item": item.as_dict()}
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        headers.update({str(k): str(v) for k, v in (self.options.get("headers") or {}).items()})
        secret = self.options.get("secret")
        if secret:
            stamp = str(int(time.time()))
            mac = hmac.new(str(secret).encode(), stamp.encode() + b"." + body, hashlib.sha256)
            headers["X-Opsloop-Timestamp"] = stamp
            headers["X-Opsloop-Signature"] = f"sha256={mac.hexdigest()}"
        response = self.http.send(
            self.target, "POST", str(self.options["url"]), data=body, headers=headers
        )
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = {}  # a plain "ok" is a fine answer from a webhook
        data = data if isinstance(data, dict) else {}
        found = data.get("id")
        return Exported(
            str(found) if found is not None else external_id or f"item-{item.item_id}",
            data.get("url"),
        )

    def create(self, item: ItemPayload) -> Exported:
        return self._post("item.exported", item, None)

    def update(self, external_id: str, item: ItemPayload) -> Exported:
        return self._post("item.updated", item, external_id)
