"""The WSGI entry point, for any WSGI server (`granian --interface wsgi wsgi:app`).

`billing serve` runs the same app under Granian, configured in code
(`billing/processes/serve.py`); settings come from the environment (`Settings.from_env`).
"""

from billing import create_app

app = create_app()
