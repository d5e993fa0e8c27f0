import os

from celery import Celery
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
        "nightly-scores": {
            "task": "scoring.tasks.nightly_run",
            "schedule": crontab(hour=hour, minute=minute),
        },
        # The e-mail digests: each user's goes at the first beat after their hour, in their
        # time zone. A beat left waiting in the queue past the next one is dropped.
        "email-digests": {
            "task": "scoring.tasks.send_digests",
            "schedule": crontab(minute="*/15"),
            "options": {"expires": 14 * 60},
        },
        # Uploads previewed and never imported, and old files of rejected rows.
        "import-uploads-cleanup": {
            "task": "accounts.tasks.import_uploads_cleanup",
            "schedule": crontab(minute=17),
        },
    }
