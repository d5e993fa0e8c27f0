from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "healthboard.demo"
    label = "demo"
    verbose_name = "Demo data"
