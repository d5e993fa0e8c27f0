from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Scoring"

    def ready(self) -> None:
        from scoring import (
            defaults,  # noqa: F401  (registers the built-in texts)
            receivers,  # noqa: F401  (connects the receivers)
        )
        from scoring.actions import defaults as action_defaults  # noqa: F401  (the same)
