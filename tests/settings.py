"""The tests' settings: Healthboard's own, in development mode unless the environment says
otherwise. DEBUG is off by default (a production server must be told it is a development
one) and refuses the development key without it; pytest-django turns DEBUG off again for the
tests themselves, after the settings made their development choices (no HTTPS redirect,
local hosts). Subprocesses the tests start (a Celery worker) inherit the same."""

import os

os.environ.setdefault("DEBUG", "true")

from healthboard.settings import *  # noqa: E402, F403
