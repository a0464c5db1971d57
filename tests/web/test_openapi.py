from web.openapi import openapi_path


def test_the_openapi_document_covers_every_api_route(app, auth_client):
    doc = auth_client.get("/api/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            op = doc["paths"].get(openapi_path(rule.rule), {}).get(method.lower())
            if op is None or not op.get("summary"):
                missing.append(f"{method} {rule.rule}")
    assert missing == [], f"undocumented API routes: {missing}"


def test_path_parameters_are_declared(app, auth_client):
    doc = auth_client.get("/api/openapi.json").get_json()
    for path, ops in doc["paths"].items():
        for op in ops.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            wanted = {part[1:-1] for part in path.split("/") if part.startswith("{")}
            assert wanted <= declared, path
