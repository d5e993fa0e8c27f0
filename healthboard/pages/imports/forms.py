"""The import page's forms: the upload (kind, file, choices) and, on the preview, the same
choices with a column mapping to preview the file again."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.imports import ImportOptions, kind_columns
from accounts.models import ImportJob, Signal
from healthboard.lib.numbers import number_text

NOT_IMPORTED = ""
SOURCE_MAX = Signal._meta.get_field("source").max_length


class ChoicesForm(forms.Form):
    """How to read the file: the choices both the upload and the preview offer."""

    skip_bad_rows = forms.BooleanField(
        label=_("Skip bad rows"),
        required=False,
        help_text=_(
            "Import the good rows and leave the bad ones out (you can download them "
            "with why). Unticked, one bad row imports nothing."
        ),
    )
    create_missing = forms.BooleanField(
        label=_("Create missing segments and stages"),
        required=False,
        help_text=_(
            "Accounts: a segment or journey stage the catalogue lacks is created "
            "instead of being a row error."
        ),
    )
    day_first = forms.BooleanField(
        label=_("Dates are day-first"),
        required=False,
        help_text=_("31/12/2026 or 31.12.2026 (ISO dates such as 2026-12-31 always read)."),
    )
    source = forms.CharField(
        label=_("Source"),
        required=False,
        max_length=SOURCE_MAX,
        help_text=_(
            "Signals: where they come from (crm, zendesk, survey…) when the file has "
            "no source column, or for its empty cells."
        ),
    )

    def options(self, *, mapping: dict[str, str] | None = None) -> ImportOptions:
        data = self.cleaned_data
        return ImportOptions(
            skip_bad_rows=data["skip_bad_rows"],
            create_missing=data["create_missing"],
            day_first=data["day_first"],
            source=data["source"].strip(),
            mapping=mapping or {},
        )

    @classmethod
    def initial_from(cls, options: ImportOptions) -> dict[str, object]:
        return {name: getattr(options, name) for name in cls.base_fields}


class UploadForm(ChoicesForm):
    kind = forms.ChoiceField(
        label=_("What the file holds"),
        choices=ImportJob.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what the file holds: accounts, metrics or signals.")},
    )
    file = forms.FileField(
        label=_("CSV file"),
        error_messages={
            "required": _("Choose a CSV file to upload."),
            "empty": _("The file is empty."),
        },
    )

    field_order = ["kind", "file", "skip_bad_rows", "create_missing", "day_first", "source"]

    def __init__(self, *args, too_large: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.too_large = too_large
        limit = settings.IMPORT_MAX_FILE_BYTES
        self.fields["file"].help_text = gettext(
            "UTF-8, UTF-16 or Windows-1252; comma, semicolon or tab. Up to %(size)s and "
            "%(rows)s rows."
        ) % {"size": filesizeformat(limit), "rows": number_text(settings.IMPORT_MAX_ROWS)}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_FILE_BYTES:
            raise forms.ValidationError(self.size_message(f"{filesizeformat(upload.size)}"))
        return upload

    def clean(self):
        data = super().clean()
        if self.too_large:
            # The upload was stopped at the limit (healthboard.lib.uploads): it is not
            # missing, it is too large; and the choices after it in the form were dropped.
            self._errors.pop("file", None)
            self.add_error("file", self.size_message(None))
        return data

    @staticmethod
    def size_message(size: str | None) -> str:
        """`size` None: the upload was stopped at the limit, its size unknown."""
        limit = filesizeformat(settings.IMPORT_MAX_FILE_BYTES)
        if size is None:
            return gettext(
                "One import takes files up to %(limit)s; this one is over that. Split it into "
                "smaller files."
            ) % {"limit": limit}
        return gettext(
            "One import takes files up to %(limit)s; this one is %(size)s. Split it into "
            "smaller files."
        ) % {"limit": limit, "size": size}


class MappingForm(ChoicesForm):
    """The choices again, and which of the file's columns holds each field: one select
    per field, offering the file's headers."""

    def __init__(self, *args, kind: str, header: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        headers = [name for name in header if name]
        self.columns = kind_columns(kind)
        for column in self.columns:
            choices = [(NOT_IMPORTED, gettext("— not imported —")), *((h, h) for h in headers)]
            self.fields[f"map_{column.field}"] = forms.ChoiceField(
                label=column.title,
                choices=choices,
                required=False,
                help_text=gettext("required") if column.required else "",
                error_messages={"invalid_choice": gettext("Pick one of the file's columns.")},
            )

    def mapping_fields(self):
        return [self[f"map_{column.field}"] for column in self.columns]

    def mapping(self) -> dict[str, str]:
        """Every field, explicitly: a field left "not imported" stays unmapped rather than
        being matched again by its name."""
        return {c.field: self.cleaned_data[f"map_{c.field}"] for c in self.columns}

    def clean(self):
        data = super().clean()
        chosen: dict[str, str] = {}
        for column in self.columns:
            header = data.get(f"map_{column.field}")
            if column.required and not header:
                self.add_error(
                    f"map_{column.field}",
                    gettext("%(column)s needs a column.") % {"column": column.title},
                )
            elif header and header in chosen:
                self.add_error(
                    f"map_{column.field}",
                    gettext("“%(header)s” is already read as %(chosen)s.")
                    % {"header": header, "chosen": chosen[header]},
                )
            elif header:
                chosen[header] = column.title
        return data

    @classmethod
    def initial_for(cls, options: ImportOptions, mapping: dict[str, str]) -> dict[str, object]:
        return {
            **cls.initial_from(options),
            **{f"map_{field}": header for field, header in mapping.items()},
        }
