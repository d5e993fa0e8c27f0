"""A run's band totals as published move into its snapshot.

Each snapshot gets the accounts and ARR per band its run published (RunSnapshot.totals),
and RunBands, which kept the same counts with the ARR added by a page's first read, goes.
Reversible: going back refills RunBands from the snapshots.
"""

import numpy as np
from django.db import migrations, models

# The snapshots' band codes, in order (scoring.bands.CODES).
BANDS = ("green", "yellow", "red", "none")


def _published(blob) -> tuple[np.ndarray, np.ndarray]:
    """(account ids, band codes) of a snapshot's bytes as its run published them: a header
    of two big-endian int8 (the oldest score id, n), n ids (int8), n band codes (bytes)."""
    blob = bytes(blob)
    n = int.from_bytes(blob[8:16], "big")
    ids = np.frombuffer(blob, ">i8", count=n, offset=16).astype(np.int64)
    return ids, np.frombuffer(blob, np.uint8, count=n, offset=16 + 8 * n)


def _arr_now(Account) -> tuple[np.ndarray, np.ndarray]:
    """(account ids, ascending; their ARR now)."""
    rows = list(Account.objects.values_list("id", "arr"))
    ids = np.array([pk for pk, _arr in rows], dtype=np.int64)
    values = np.array([float(arr) for _pk, arr in rows], dtype=np.float64)
    order = np.argsort(ids)
    return ids[order], values[order]


def _summed(arr_now: tuple[np.ndarray, np.ndarray], wanted: np.ndarray) -> float:
    ids, values = arr_now
    if not len(ids):
        return 0.0
    at = np.searchsorted(ids, wanted).clip(max=len(ids) - 1)
    return float(values[at][ids[at] == wanted].sum())


def totals_from_bands(apps, schema_editor) -> None:
    """The counts each snapshot published; the ARR its RunBands summed when the chart first
    showed the day by ARR, or where it had not, the accounts' ARR now (what it would have
    summed)."""
    RunSnapshot = apps.get_model("scoring", "RunSnapshot")
    RunBands = apps.get_model("scoring", "RunBands")
    kept = dict(RunBands.objects.values_list("run_id", "totals"))
    arr_now = None
    for snapshot in RunSnapshot.objects.only("run_id", "columns").iterator(chunk_size=20):
        ids, codes = _published(snapshot.columns)
        stored = kept.get(snapshot.run_id) or {}
        totals = {}
        for code, band in enumerate(BANDS):
            mine = ids[codes == code]
            summed = (stored.get(band) or [None, None])[1]
            if summed is None:
                arr_now = arr_now or _arr_now(apps.get_model("accounts", "Account"))
                summed = _summed(arr_now, mine)
            totals[band] = [len(mine), summed]
        RunSnapshot.objects.filter(run_id=snapshot.run_id).update(totals=totals)


def bands_from_totals(apps, schema_editor) -> None:
    RunSnapshot = apps.get_model("scoring", "RunSnapshot")
    RunBands = apps.get_model("scoring", "RunBands")
    RunBands.objects.bulk_create(
        RunBands(run_id=run_id, totals=totals)
        for run_id, totals in RunSnapshot.objects.values_list("run_id", "totals")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0014_chunk_ranked_values"),
    ]

    operations = [
        migrations.AddField(
            model_name="runsnapshot",
            name="totals",
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(totals_from_bands, bands_from_totals),
        migrations.DeleteModel(name="RunBands"),
    ]
