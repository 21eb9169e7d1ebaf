"""The History view's sub-views as JOC 2.x serves them (HISTORY-VIEWS.md):
their request filters (``filters``), queries and items (``subviews``), the
Excel export (``export``), the routes (``routes``) and the page (``page``)."""
