from django.contrib import admin

from accounts.models import (
    Account,
    AuditEvent,
    ImportJob,
    JourneyStage,
    Metric,
    Note,
    Segment,
    Signal,
    StageChange,
)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(JourneyStage)
class JourneyStageAdmin(admin.ModelAdmin):
    list_display = ["order", "name", "slug", "target_days"]
    list_display_links = ["name"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "external_id",
        "owner",
        "segment",
        "stage",
        "arr",
        "renewal_date",
        "status",
    ]
    list_filter = ["status", "segment", "stage"]
    search_fields = ["name", "=external_id"]
    autocomplete_fields = ["owner"]
    list_select_related = ["owner", "segment", "stage"]
    date_hierarchy = "renewal_date"
    # Counting 100,000 accounts twice per page (filtered and total) buys nothing.
    show_full_result_count = False
    list_per_page = 50


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "unit", "category", "direction"]
    list_filter = ["category", "direction"]
    search_fields = ["key", "name"]


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    list_display = ["observed_at", "account", "metric", "value", "category", "source"]
    # Only filters whose choices come from small tables: a filter on a Signal column would
    # run SELECT DISTINCT over millions of rows on every page.
    list_filter = ["metric"]
    search_fields = ["=external_id", "=account__external_id"]
    search_help_text = "Exact signal external id, or the account's external (CRM) id."
    raw_id_fields = ["account"]
    list_select_related = ["account", "metric"]
    date_hierarchy = "observed_at"
    # Newest first by primary key: there is no index on observed_at alone, and sorting
    # millions of signals for every page would be slow.
    ordering = ["-pk"]
    show_full_result_count = False


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["created_at", "account", "kind", "author"]
    list_filter = ["kind"]
    search_fields = ["=account__external_id", "account__name"]
    raw_id_fields = ["account", "author"]
    list_select_related = ["account", "author"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ["changed_at", "account", "from_stage", "to_stage", "changed_by"]
    list_filter = ["to_stage"]
    search_fields = ["=account__external_id", "account__name"]
    raw_id_fields = ["account", "changed_by"]
    list_select_related = ["account", "from_stage", "to_stage", "changed_by"]
    date_hierarchy = "changed_at"
    show_full_result_count = False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """The import history, read-only: imports are made by the import itself, never here."""

    list_display = [
        "created_at",
        "kind",
        "file_name",
        "user",
        "status",
        "rows_read",
        "rows_written",
        "rows_unchanged",
        "rows_skipped",
        "duration",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["file_name"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only, even for superusers: the log is evidence."""

    list_display = ["at", "type", "actor_label", "ip", "object_type", "object_label", "message"]
    list_filter = ["type"]
    search_fields = ["actor_label", "object_label", "message"]
    date_hierarchy = "at"
    list_select_related = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
