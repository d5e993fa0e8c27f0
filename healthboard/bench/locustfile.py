"""The load test's users (make loadtest): CSMs browsing, filtering and opening accounts, a
manager on the weekly review, API clients posting signals.

Runs in locust's own process, without Django (never imported by the app): what it needs —
logins, the API token, segments — comes from the JSON file LOADTEST_CONFIG names, written by
`manage.py loadtest_prepare`. Each user logs in once, as a person does, then browses with
think time between pages. At the end it prints one line per page (p50/p95/p99), the request
rate and the error count, then `LOADTEST {json}` for scripts; any error exits non-zero.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import random
import re

from locust import HttpUser, between, events, task

CONFIG = json.loads(open(os.environ["LOADTEST_CONFIG"]).read())  # noqa: SIM115
# Think time between a person's pages; an API client's pause between batches.
BROWSE_WAIT = between(
    float(os.environ.get("LOADTEST_WAIT_MIN", 1)), float(os.environ.get("LOADTEST_WAIT_MAX", 5))
)
API_BATCH = int(os.environ.get("LOADTEST_API_BATCH", 100))
METRICS = ("logins", "active_users", "csat", "nps", "support_tickets", "email_open_rate")

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ACCOUNT_LINK = re.compile(r'href="/accounts/(\d+)/"')
HTMX = {"HX-Request": "true", "HX-Trigger": "portfolio-filters"}
BANDS = ("red", "yellow", "green")
SORTS = ("-arr", "score", "-score", "renewal", "-delta", "name")

# Logins handed out in turn, so 50 CSM users are 50 different people.
_csm_logins = itertools.cycle(CONFIG["csms"])
_manager_logins = itertools.cycle(CONFIG["managers"])


class Person(HttpUser):
    abstract = True
    wait_time = BROWSE_WAIT
    logins = None

    def on_start(self) -> None:
        username = next(self.logins)
        page = self.client.get("/login/", name="login page")
        token = CSRF_INPUT.search(page.text)
        with self.client.post(
            "/login/",
            data={
                "username": username,
                "password": CONFIG["password"],
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            name="login",
            catch_response=True,
        ) as answer:
            # A successful login lands on the portfolio; a refused one shows the form again.
            if answer.url.rstrip("/").endswith("/login") or "sessionid" not in self.client.cookies:
                answer.failure(f"login refused for {username}")
        self.account_ids: list[str] = []

    def page(self, path: str, name: str, **kwargs) -> str:
        """GET a page; landing on the login form (a lost session) counts as an error."""
        with self.client.get(path, name=name, catch_response=True, **kwargs) as answer:
            if answer.ok and "/login/" in answer.url:
                answer.failure(f"sent to the login page from {path}")
            return answer.text

    def _remember_accounts(self, text: str) -> None:
        ids = ACCOUNT_LINK.findall(text)
        if ids:
            self.account_ids = ids

    def portfolio_filtered(self, owner: str) -> None:
        params = {
            "band": random.choice(BANDS),
            "segment": random.choice(CONFIG["segments"]),
            "sort": random.choice(SORTS),
            "owner": owner,
        }
        if random.random() < 0.3:
            params["page"] = random.randint(2, 5)
        self._remember_accounts(
            self.page("/", "portfolio filter (HTMX)", params=params, headers=HTMX)
        )


class Csm(Person):
    """Works their book: the portfolio, filters, an account now and then."""

    weight = 8
    logins = _csm_logins

    @task(3)
    def portfolio(self) -> None:
        self._remember_accounts(self.page("/", "portfolio"))

    @task(3)
    def filter(self) -> None:
        self.portfolio_filtered("me")

    @task(4)
    def open_account(self) -> None:
        if not self.account_ids:
            return self.portfolio()
        self.page(f"/accounts/{random.choice(self.account_ids)}/", "account")


class Manager(Person):
    """The weekly review, this week and earlier ones, and the whole portfolio."""

    weight = 1
    logins = _manager_logins

    @task(3)
    def weekly(self) -> None:
        self.page("/scoring/weekly/", "weekly review")

    @task(1)
    def earlier_week(self) -> None:
        week = dt.date.today() - dt.timedelta(weeks=random.randint(1, 3))
        self.page("/scoring/weekly/", "weekly review", params={"week": week.isoformat()})

    @task(2)
    def portfolio_all(self) -> None:
        self.portfolio_filtered("all")

    @task(1)
    def open_account(self) -> None:
        if self.account_ids:
            self.page(f"/accounts/{random.choice(self.account_ids)}/", "account")


class ApiClient(HttpUser):
    """A CRM or product-analytics sync posting batches of signals with a token."""

    weight = 1
    wait_time = BROWSE_WAIT

    @task
    def post_signals(self) -> None:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        signals = [
            {
                "account": f"{CONFIG['account_prefix']}{random.randint(1, CONFIG['accounts']):07d}",
                "metric": random.choice(METRICS),
                "observed_at": (now - dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "value": round(random.uniform(0, 100), 1),
            }
            for i in range(API_BATCH)
        ]
        self.client.post(
            "/api/v1/signals",
            json={"source": "loadtest", "signals": signals},
            headers={"Authorization": f"Bearer {CONFIG['token']}"},
            name="API signals",
        )


@events.init.add_listener
def quiet_tables(environment, **_kwargs) -> None:
    """The summary below replaces locust's own end-of-run tables (they would bury it)."""
    logging.getLogger("locust.stats_logger").disabled = True


@events.quitting.add_listener
def summary(environment, **_kwargs) -> None:
    """Per page p50/p95/p99 (ms), the request rate and the errors; exit 1 on any error."""
    stats = environment.stats
    rows = []
    print(f"\n{'page':<28} {'requests':>9} {'errors':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for entry in sorted(stats.entries.values(), key=lambda e: e.name):
        row = {
            "page": entry.name,
            "method": entry.method,
            "requests": entry.num_requests,
            "errors": entry.num_failures,
            "p50_ms": entry.get_response_time_percentile(0.50),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
            "rps": round(entry.total_rps, 2),
        }
        rows.append(row)
        print(
            f"{row['page']:<28} {row['requests']:>9} {row['errors']:>7} "
            f"{row['p50_ms']:>7.0f} {row['p95_ms']:>7.0f} {row['p99_ms']:>7.0f}"
        )
    total = stats.total
    figures = {
        "users": environment.parsed_options.num_users if environment.parsed_options else None,
        "requests": total.num_requests,
        "errors": total.num_failures,
        "rps": round(total.total_rps, 2),
        "p50_ms": total.get_response_time_percentile(0.50),
        "p95_ms": total.get_response_time_percentile(0.95),
        "p99_ms": total.get_response_time_percentile(0.99),
        "pages": rows,
    }
    print(
        f"requests/s {figures['rps']:.1f} · {figures['requests']} requests · "
        f"{figures['errors']} errors · p95 {figures['p95_ms']:.0f} ms overall"
    )
    for error in stats.errors.values():
        print(f"error: {error.occurrences}× {error.method} {error.name}: {error.error}")
    print("LOADTEST " + json.dumps(figures))
    if total.num_failures:
        environment.process_exit_code = 1
