from django.contrib import admin
from django.http import HttpRequest

from scoring.actions.references import cta_references_lock
from scoring.models import (
    ActionRule,
    AnalysisRun,
    CallToAction,
    CategoryWeight,
    CtaComment,
    CtaStep,
    Digest,
    DigestPreference,
    HealthScore,
    Measure,
    Outcome,
    Playbook,
    PlaybookStep,
    Scorecard,
    ScorecardChange,
    ScorecardVersion,
    ScoreRun,
)


class ReadOnlyMixin:
    """Rows written only by the scoring run: the admin may look, never edit or delete."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class VersionInline(ReadOnlyMixin, admin.TabularInline):
    model = ScorecardVersion
    fields = ["number", "status", "band_mode", "created_at", "published_at"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    ordering = ["-number"]


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default"]
    search_fields = ["name"]
    filter_horizontal = ["segments"]
    inlines = [VersionInline]


class DraftOnlyInline:
    """Measures and weights of a published (active or retired) version are frozen: every
    stored score names the version that produced it, so changing one would rewrite history.
    `obj` is the parent version (None while adding one)."""

    def _editable(self, obj: ScorecardVersion | None) -> bool:
        return obj is None or obj.is_draft

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


class CategoryWeightInline(DraftOnlyInline, admin.TabularInline):
    model = CategoryWeight
    extra = 0


class MeasureInline(DraftOnlyInline, admin.TabularInline):
    model = Measure
    fields = [
        "order",
        "name",
        "category",
        "metric",
        "aggregation",
        "window_days",
        "per_seat",
        "rule",
        "direction",
        "red",
        "green",
        "low",
        "high",
        "weight",
    ]
    extra = 0

    def get_queryset(self, request: HttpRequest):
        # A published version shows its measures read-only, each naming its metric.
        return super().get_queryset(request).select_related("metric")


@admin.register(ScorecardVersion)
class ScorecardVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "scorecard", "number", "status", "band_mode", "published_at"]
    list_filter = ["status", "scorecard"]
    list_select_related = ["scorecard"]
    inlines = [CategoryWeightInline, MeasureInline]
    # Publishing and retiring go through the scorecard editor's publish service (it keeps one
    # active version per scorecard and records who and when), never through a form field.
    lifecycle_fields = ["status", "created_at", "created_by", "published_at", "published_by"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        if obj is not None and not obj.is_draft:
            return [field.name for field in self.model._meta.fields]
        return self.lifecycle_fields

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is not None and not obj.is_draft:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is not None and not obj.is_draft:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(ScoreRun)
class ScoreRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "date",
        "status",
        "trigger",
        "progress",
        "accounts_done",
        "accounts_total",
        "chunks_done",
        "chunks_total",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "trigger"]
    date_hierarchy = "date"


@admin.register(HealthScore)
class HealthScoreAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["account", "date", "score", "band", "coverage", "delta_7d", "version"]
    list_filter = ["band"]
    search_fields = ["=account__external_id"]
    search_help_text = "The account's external (CRM) id."
    raw_id_fields = ["account", "run", "version"]
    list_select_related = ["account", "version__scorecard"]
    # Newest first by primary key: one row per account per day adds up to millions.
    ordering = ["-pk"]
    show_full_result_count = False


@admin.register(ScorecardChange)
class ScorecardChangeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The audit trail, written by the scorecard editor's services: read-only here too."""

    list_display = ["at", "scorecard", "version_number", "action", "user", "summary"]
    list_filter = ["action", "scorecard"]
    list_select_related = ["scorecard", "user"]
    search_fields = ["summary"]
    date_hierarchy = "at"


@admin.register(AnalysisRun)
class AnalysisRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "scorecard", "status", "progress", "created_at", "computed_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["scorecard"]


# Calls to action: Admins edit rules and playbooks on their own pages; these are for support.
@admin.register(ActionRule)
class ActionRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "enabled", "cta_type", "priority", "due_days", "order"]
    list_filter = ["enabled", "kind", "cta_type"]


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    list_display = ["name", "is_success", "active", "order"]


class PlaybookStepInline(admin.TabularInline):
    model = PlaybookStep
    extra = 0


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ["name", "stage", "band", "updated_at"]
    list_filter = ["stage", "band"]
    inlines = [PlaybookStepInline]


class CtaStepInline(admin.TabularInline):
    model = CtaStep
    extra = 0
    raw_id_fields = ["done_by"]


class CtaCommentInline(admin.TabularInline):
    model = CtaComment
    extra = 0
    raw_id_fields = ["author"]


@admin.register(CallToAction)
class CallToActionAdmin(admin.ModelAdmin):
    list_display = ["title", "account", "owner", "status", "priority", "due_date", "rule"]
    list_filter = ["status", "cta_type", "priority", "rule"]
    list_select_related = ["account", "owner", "rule"]
    raw_id_fields = ["account", "owner", "closed_by"]
    readonly_fields = ["steps_pending"]
    search_fields = ["=account__external_id", "title"]
    inlines = [CtaStepInline, CtaCommentInline]

    def save_model(self, request: HttpRequest, obj: CallToAction, form, change: bool) -> None:
        # The admin saves in a transaction; the table has no database foreign keys.
        cta_references_lock(obj)
        super().save_model(request, obj, form, change)


@admin.register(DigestPreference)
class DigestPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "frequency", "weekday", "time_zone", "hour", "updated_at"]
    list_filter = ["frequency"]
    raw_id_fields = ["user"]


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    """The days each user's digest was claimed. Looked at, never edited; deleting a day left
    "sending" by a worker that died mid-send lets the next beat send it (maybe twice)."""

    list_display = ["user", "day", "status", "sent_at", "new_ctas", "overdue_ctas", "band_changes"]
    list_filter = ["status", "day"]
    list_select_related = ["user"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
