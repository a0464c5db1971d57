"""The web adapter: Flask app factory, blueprints, templates, REST API; no domain logic."""
