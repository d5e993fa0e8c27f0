"""accounts_signal partitioned by month of observed_at (PostgreSQL; see accounts.partitions),
and accounts_signalkey, kept by triggers, for the (source, external id) a partitioned table
cannot keep unique across months. SQLite keeps its plain table (and its unique index).

The rows are copied into the new table in one statement; on a large installation this
migration takes about as long as one pass over the signals with their indexes rebuilt
(32 s for 10 million signals on the bench machine) and holds the table meanwhile. Each month
that holds signals gets its partition, and this month and the next three; a signal of a
year no month was made for stays in the default partition until accounts.partitions makes
its month.
"""

import datetime as dt

from django.db import migrations, models

COLUMNS = "id, account_id, metric_id, observed_at, value, category, text, source, external_id"
MONTHS_AHEAD = 3

MARK_TRIGGERS = """
CREATE TRIGGER accounts_signalmark_insert AFTER INSERT ON accounts_signal
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION accounts_signalmark_added();
CREATE TRIGGER accounts_signalmark_delete AFTER DELETE ON accounts_signal
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION accounts_signalmark_removed();
CREATE TRIGGER accounts_signalmark_update AFTER UPDATE ON accounts_signal
    REFERENCING OLD TABLE AS gone NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION accounts_signalmark_removed();
CREATE TRIGGER accounts_signalmark_truncate AFTER TRUNCATE ON accounts_signal
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_signalmark_emptied();
"""

# The keys of a statement's signals, set-based: a key stored already fails the statement
# (unique violation on signal_key_unique), as the signals' own unique index did.
KEY_FUNCTIONS = """
CREATE FUNCTION accounts_signalkey_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO accounts_signalkey (source, external_id, observed_at)
    SELECT source, external_id, observed_at FROM added WHERE external_id IS NOT NULL;
    RETURN NULL;
END $$;

CREATE FUNCTION accounts_signalkey_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM accounts_signalkey k USING gone g
    WHERE g.external_id IS NOT NULL AND k.source = g.source AND k.external_id = g.external_id;
    RETURN NULL;
END $$;

CREATE FUNCTION accounts_signalkey_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM accounts_signalkey k USING gone g
    WHERE g.external_id IS NOT NULL AND k.source = g.source AND k.external_id = g.external_id;
    INSERT INTO accounts_signalkey (source, external_id, observed_at)
    SELECT source, external_id, observed_at FROM added WHERE external_id IS NOT NULL;
    RETURN NULL;
END $$;

-- DELETE, not TRUNCATE: a TRUNCATE of both tables at once (Django's flush) holds the keys'.
CREATE FUNCTION accounts_signalkey_emptied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM accounts_signalkey;
    RETURN NULL;
END $$;
"""

KEY_TRIGGERS = """
CREATE TRIGGER accounts_signalkey_insert AFTER INSERT ON accounts_signal
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION accounts_signalkey_added();
CREATE TRIGGER accounts_signalkey_delete AFTER DELETE ON accounts_signal
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION accounts_signalkey_removed();
CREATE TRIGGER accounts_signalkey_update AFTER UPDATE ON accounts_signal
    REFERENCING OLD TABLE AS gone NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION accounts_signalkey_changed();
CREATE TRIGGER accounts_signalkey_truncate AFTER TRUNCATE ON accounts_signal
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_signalkey_emptied();
"""

INDEXES = """
CREATE INDEX signal_metric_window ON accounts_signal (metric_id, observed_at, account_id)
    INCLUDE (value);
CREATE INDEX signal_account_recent ON accounts_signal (account_id, observed_at DESC);
CREATE INDEX signal_unique_source_external_id ON accounts_signal (source, external_id)
    WHERE external_id IS NOT NULL;
"""


def _month_after(month):
    return (month + dt.timedelta(days=32)).replace(day=1)


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run("LOCK TABLE accounts_signal IN ACCESS EXCLUSIVE MODE")
    run("ALTER TABLE accounts_signal RENAME TO accounts_signal_plain")
    for name in ("signal_metric_window", "signal_account_recent", "signal_unique_source_external_id"):
        run(f"ALTER INDEX {name} RENAME TO {name}_plain")
    run("ALTER TABLE accounts_signal_plain RENAME CONSTRAINT accounts_signal_pkey TO accounts_signal_plain_pkey")
    run(
        "CREATE TABLE accounts_signal (LIKE accounts_signal_plain INCLUDING DEFAULTS "
        "INCLUDING IDENTITY, PRIMARY KEY (id, observed_at)) PARTITION BY RANGE (observed_at)"
    )
    run("CREATE TABLE accounts_signal_default PARTITION OF accounts_signal DEFAULT")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM accounts_signal_plain")
        [last_id] = cursor.fetchone()
        # The months that hold signals (not every month between the oldest and today: one
        # year typed wrong would make hundreds of empty partitions), and the coming ones.
        cursor.execute(
            "SELECT DISTINCT date_trunc('month', observed_at AT TIME ZONE 'UTC')::date "
            "FROM accounts_signal_plain"
        )
        months = {row[0] for row in cursor.fetchall()}
    month = dt.datetime.now(dt.UTC).date().replace(day=1)
    months.add(month)
    for _ in range(MONTHS_AHEAD):
        month = _month_after(month)
        months.add(month)
    for month in sorted(months):
        stop = _month_after(month)
        run(
            f"CREATE TABLE accounts_signal_p{month.year:04d}{month.month:02d} PARTITION OF "
            f"accounts_signal FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') "
            f"TO ('{stop.isoformat()} 00:00:00+00')"
        )
    run(f"INSERT INTO accounts_signal ({COLUMNS}) SELECT {COLUMNS} FROM accounts_signal_plain")
    run(f"SELECT setval(pg_get_serial_sequence('accounts_signal', 'id'), {max(last_id, 1)})")
    run(
        "INSERT INTO accounts_signalkey (source, external_id, observed_at) "
        "SELECT source, external_id, observed_at FROM accounts_signal_plain "
        "WHERE external_id IS NOT NULL"
    )
    run(INDEXES)
    run("DROP TABLE accounts_signal_plain")  # its triggers go with it
    run(MARK_TRIGGERS)
    run(KEY_FUNCTIONS)
    run(KEY_TRIGGERS)
    run("ANALYZE accounts_signal")


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run("LOCK TABLE accounts_signal IN ACCESS EXCLUSIVE MODE")
    run("ALTER TABLE accounts_signal RENAME TO accounts_signal_parts")
    run(
        "ALTER TABLE accounts_signal_parts RENAME CONSTRAINT accounts_signal_pkey "
        "TO accounts_signal_parts_pkey"
    )
    for name in ("signal_metric_window", "signal_account_recent", "signal_unique_source_external_id"):
        run(f"ALTER INDEX {name} RENAME TO {name}_parts")
    run(
        "CREATE TABLE accounts_signal (LIKE accounts_signal_parts INCLUDING DEFAULTS "
        "INCLUDING IDENTITY, PRIMARY KEY (id))"
    )
    run(f"INSERT INTO accounts_signal ({COLUMNS}) SELECT {COLUMNS} FROM accounts_signal_parts")
    run(
        "SELECT setval(pg_get_serial_sequence('accounts_signal', 'id'), "
        "(SELECT coalesce(max(id), 1) FROM accounts_signal))"
    )
    run(INDEXES.replace("CREATE INDEX signal_unique", "CREATE UNIQUE INDEX signal_unique"))
    run("DROP TABLE accounts_signal_parts")
    for kind in ("added", "removed", "changed", "emptied"):
        run(f"DROP FUNCTION accounts_signalkey_{kind}()")
    run(MARK_TRIGGERS)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0018_account_owner_arr'),
    ]

    operations = [
        migrations.CreateModel(
            name='SignalKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source', models.CharField(max_length=40)),
                ('external_id', models.CharField(max_length=100)),
                ('observed_at', models.DateTimeField()),
            ],
            options={
                'indexes': [models.Index(fields=['observed_at'], name='signal_key_observed')],
                'constraints': [models.UniqueConstraint(fields=('source', 'external_id'), name='signal_key_unique')],
            },
        ),
        migrations.RunPython(partition, unpartition),
    ]
