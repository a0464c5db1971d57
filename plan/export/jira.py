"""Jira: POST /rest/api/{2|3}/issue, then PUT /rest/api/{2|3}/issue/{key}.

Jira Cloud takes `email` + API token as basic auth; Jira Data Center takes a personal
access token as a bearer token (no `email` configured). API version 3 wants the
description in Atlassian Document Format, version 2 (the default) takes plain text.
"""

from __future__ import annotations

from typing import Any

from plan.errors import ExportError
from plan.export.base import Exported, Exporter, ItemPayload
from plan.models import ExportTarget

KIND_ISSUE_TYPE = {"bug": "Bug", "incident": "Bug", "feature": "Story"}


def _adf(text: str) -> dict[str, Any]:
    paragraphs = [p for p in text.split("\n\n") if p.strip()] or [" "]
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in paragraphs
        ],
    }


class JiraExporter(Exporter):
    target = ExportTarget.JIRA

    def _api(self) -> str:
        version = str(self.options.get("api_version", 2))
        if version not in {"2", "3"}:
            raise ExportError(self.target, f"api_version must be 2 or 3, got {version!r}")
        return f"{str(self.options['url']).rstrip('/')}/rest/api/{version}/issue"

    def _auth(self) -> tuple[dict[str, str], tuple[str, str] | None]:
        email = self.options.get("email")
        if email:
            return {}, (str(email), str(self.options["token"]))
        return {"Authorization": f"Bearer {self.options['token']}"}, None

    def _issue_type(self, item: ItemPayload) -> str:
        configured = self.options.get("issue_type")
        if isinstance(configured, dict):
            return str(configured.get(item.kind) or configured.get("default") or "Task")
        return str(configured or KIND_ISSUE_TYPE.get(item.kind, "Task"))

    def _description(self, item: ItemPayload) -> Any:
        return _adf(item.body) if self._api().endswith("/3/issue") else item.body

    def create(self, item: ItemPayload) -> Exported:
        headers, auth = self._auth()
        fields = {
            "project": {"key": self.options["project"]},
            "summary": item.title,
            "description": self._description(item),
            "issuetype": {"name": self._issue_type(item)},
            "labels": [label.replace(" ", "-") for label in self.labels(item)],
        }
        response = self.http.send(
            self.target,
            "POST",
            self._api(),
            json_body={"fields": fields},
            headers=headers,
            auth=auth,
        )
        data = self.http.json_of(self.target, response)
        key = data.get("key")
        if not key:
            raise ExportError(self.target, "Jira's answer has no issue key")
        return Exported(str(key), f"{str(self.options['url']).rstrip('/')}/browse/{key}")

    def update(self, external_id: str, item: ItemPayload) -> Exported:
        headers, auth = self._auth()
        fields = {
            "summary": item.title,
            "description": self._description(item),
            "labels": [label.replace(" ", "-") for label in self.labels(item)],
        }
        self.http.send(
            self.target,
            "PUT",
            f"{self._api()}/{external_id}",
            json_body={"fields": fields},
            headers=headers,
            auth=auth,
        )
        return Exported(external_id, f"{str(self.options['url']).rstrip('/')}/browse/{external_id}")
