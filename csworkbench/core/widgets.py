"""Form widgets shared by every app.

`<input type="date">` and `type="datetime-local"` accept only ISO values (2027-01-16,
2027-01-16T09:30); Django's DateInput renders the active language's format instead (2027/01/16
in Chinese), which the browser rejects: the field shows empty and the next save loses the date.
These widgets always render ISO, in every language.
"""

from django import forms

ISO_DATE = "%Y-%m-%d"
ISO_DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class IsoDateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=ISO_DATE)


class IsoDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=ISO_DATETIME_LOCAL)
