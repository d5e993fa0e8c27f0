from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "healthboard.pages"
    label = "pages"
    verbose_name = "Pages"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from healthboard.lib.sessions import mark_renewed
        from healthboard.pages.language.views import language_on_login

        user_logged_in.connect(mark_renewed, dispatch_uid="healthboard-session-renewed")
        user_logged_in.connect(language_on_login, dispatch_uid="healthboard-language-on-login")
