"""WSGI entry point: `gunicorn opsloop.wsgi:app` or `flask --app opsloop.wsgi run`."""

from web.app import create_app

app = create_app()
