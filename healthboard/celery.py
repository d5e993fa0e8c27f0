import os

from celery import Celery
from celery.beat import BeatLazyFunc
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthboard.settings")

app = Celery("healthboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def setup_nightly_schedule(sender: Celery, **kwargs) -> None:
    from django.conf import settings

    hour, minute = (int(part) for part in settings.NIGHTLY_SCORE_TIME.split(":"))
    sender.conf.beat_schedule = {
        # The date goes with the message, taken when the beat sends it (a lazy argument):
        # a message that waits past midnight still scores its night.
        "nightly-scores": {
            "task": "scoring.tasks.nightly_run",
            "schedule": crontab(hour=hour, minute=minute),
            "args": (BeatLazyFunc(scheduled_date),),
        },
        # Runs no step has moved for a while get their unfinished steps sent again (a worker
        # died holding one). A watchdog beat that waited past the next one is dropped.
        "score-run-watchdog": {
            "task": "scoring.tasks.watch_runs",
            "schedule": crontab(minute="*"),
            "options": {"expires": 50},
        },
        # The e-mail digests: each user's goes at the first beat after their hour, in their
        # time zone. A beat left waiting in the queue past the next one is dropped.
        "email-digests": {
            "task": "scoring.tasks.send_digests",
            "schedule": crontab(minute="*/15"),
            "options": {"expires": 14 * 60},
        },
        # The signals' partitions for the coming months (accounts.partitions).
        "signal-partitions": {
            "task": "accounts.tasks.signal_partitions_ensure",
            "schedule": crontab(hour=0, minute=41),
        },
        # Uploads previewed and never imported, and old files of rejected rows.
        "import-uploads-cleanup": {
            "task": "accounts.tasks.import_uploads_cleanup",
            "schedule": crontab(minute=17),
        },
    }


def scheduled_date() -> str:
    """The nightly beat's date, taken when the beat sends it: a message held past midnight
    still scores the night it was meant for."""
    from django.utils import timezone

    return timezone.localdate().isoformat()
