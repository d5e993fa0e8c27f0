"""The API throughput benchmark at a small size: it POSTs real batches through the whole
stack, new and then re-sent, and reports its figures (never timed here)."""

import pytest

from accounts.models import Signal
from healthboard.bench import api as bench_api
from healthboard.tokens.models import ApiCall

pytestmark = pytest.mark.postgres


def test_the_api_benchmark_stores_every_signal_once_and_reports():
    figures = bench_api.run(batches=3, batch_size=40, accounts=25)

    assert Signal.objects.filter(source=bench_api.SOURCE).count() == 120
    assert figures["api_batches"] == 3 and figures["api_batch_size"] == 40
    assert figures["api_signals_per_s"] > 0 and figures["api_resent_signals_per_s"] > 0
    # Six write calls, recorded with the benchmark's token.
    assert ApiCall.objects.filter(status=200).count() == 6
