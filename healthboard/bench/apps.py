from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "healthboard.bench"
    label = "bench"
    verbose_name = "Benchmarks"
