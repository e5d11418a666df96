import django_tables2 as tables


class BaseTable(tables.Table):
    """Project table: its template makes sorting and paging links HTMX requests that swap the
    results in place and push the URL, with the plain href underneath for no-JavaScript use."""

    htmx_target = "table-results"

    class Meta:
        template_name = "tables/htmx_table.html"
        attrs = {"class": "data-table"}
