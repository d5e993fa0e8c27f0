"""The load test's data and logins (`make loadtest`): the pages benchmark's accounts and
scores (healthboard.bench.pages, built inside PostgreSQL when missing), passwords for its
CSMs and manager, and a read-write API token, written to a JSON file the locustfile reads.

The locustfile (healthboard/bench/locustfile.py) runs in locust's own process, without
Django: everything it needs is in that file.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from accounts.models import Account, Segment
from healthboard.bench import pages as bench_pages
from healthboard.tokens.models import ApiToken
from healthboard.tokens.services import token_create

# Made up per data set and printed nowhere but the config file: the bench users exist only
# in the bench databases.
PASSWORD = "loadtest-password"
API_USER = "loadtest-api"


def ensure_data(
    *, accounts: int, days: int, as_of: dt.date, progress: Callable[[str], None]
) -> None:
    """The pages benchmark's data set of this size, built when it is not there yet."""
    if bench_pages.existing(accounts=accounts, days=days, as_of=as_of):
        progress(f"Reusing {accounts:,} accounts × {days} days of scores.")
    else:
        progress(f"Building {accounts:,} accounts × {days} days of scores …")
        bench_pages.build(accounts=accounts, days=days, as_of=as_of, progress=progress)
    # The weekly review and the analytics read the runs' publication rollups.
    made = bench_pages.rollup_missing()
    if made:
        progress(f"{made} runs' rollups made.")


def ensure_logins() -> dict:
    """Passwords for the bench CSMs and manager, a fresh API token; what the locustfile reads."""
    User = get_user_model()
    logins = User.objects.filter(username__startswith="pagebench-")
    logins.update(password=make_password(PASSWORD), is_active=True)
    api_user, _ = User.objects.get_or_create(
        username=API_USER, defaults={"email": "loadtest-api@example.invalid"}
    )
    api_user.set_unusable_password()
    api_user.save()
    ApiToken.objects.filter(owner=api_user).delete()
    _, secret = token_create(name="Load test", owner=api_user, scope=ApiToken.Scope.READ_WRITE)
    usernames = sorted(logins.values_list("username", flat=True))
    accounts = Account.objects.filter(external_id__startswith=bench_pages.PREFIX)
    return {
        "csms": [name for name in usernames if name.startswith("pagebench-csm")],
        "managers": [name for name in usernames if name == "pagebench-manager"],
        "password": PASSWORD,
        "token": secret,
        "segments": list(Segment.objects.order_by("id").values_list("slug", flat=True)),
        "account_prefix": bench_pages.PREFIX,
        "accounts": accounts.count(),
    }


def write_config(path: Path, config: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)
