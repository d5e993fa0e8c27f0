from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "healthboard.tokens"
    label = "tokens"
    verbose_name = "API tokens"
