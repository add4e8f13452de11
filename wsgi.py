"""The WSGI entry point, for any WSGI server: `gunicorn wsgi:app`.

`billing serve` runs the same app under gunicorn, configured in code
(`billing/web/server.py`); settings come from the environment (`Settings.from_env`).
"""

from billing import create_app

app = create_app()
