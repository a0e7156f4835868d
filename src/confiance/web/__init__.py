"""Local dashboard and JSON API (``confiance serve``): FastAPI + Jinja2, safe on a shared LAN."""
