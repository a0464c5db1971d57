"""GitHub Issues: POST /repos/{owner}/{repo}/issues, then PATCH .../issues/{number}."""

from __future__ import annotations

from plan.errors import ExportError
from plan.export.base import Exported, Exporter, ItemPayload
from plan.models import ExportTarget

DEFAULT_API = "https://api.github.com"


class GitHubExporter(Exporter):
    target = ExportTarget.GITHUB

    def _base(self) -> str:
        api = str(self.options.get("api_url") or DEFAULT_API).rstrip("/")
        return f"{api}/repos/{self.options['repo']}/issues"

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.options['token']}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def _fields(self, item: ItemPayload) -> dict[str, object]:
        return {"title": item.title, "body": item.body, "labels": self.labels(item)}

    def create(self, item: ItemPayload) -> Exported:
        response = self.http.send(
            self.target, "POST", self._base(), json_body=self._fields(item), headers=self._headers()
        )
        data = self.http.json_of(self.target, response)
        if "number" not in data:
            raise ExportError(self.target, "GitHub's answer has no issue number")
        return Exported(str(data["number"]), data.get("html_url"))

    def update(self, external_id: str, item: ItemPayload) -> Exported:
        fields = {**self._fields(item), "state": "closed" if item.closed else "open"}
        response = self.http.send(
            self.target,
            "PATCH",
            f"{self._base()}/{external_id}",
            json_body=fields,
            headers=self._headers(),
        )
        data = self.http.json_of(self.target, response)
        return Exported(external_id, data.get("html_url"))
