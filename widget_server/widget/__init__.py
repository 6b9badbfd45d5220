"""The fan widget: iframe pages, the widget JSON API and signed fan links."""
