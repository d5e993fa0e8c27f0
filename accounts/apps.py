from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Customer accounts"

    def ready(self) -> None:
        from accounts import (  # noqa: F401  (connects them)
            audit_receivers,
            catalogue,  # noqa: F401  (registers the built-in texts)
            receivers,
        )
