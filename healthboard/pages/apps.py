from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "healthboard.pages"
    label = "pages"
    verbose_name = "Pages"
