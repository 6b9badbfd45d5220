"""Owns the fan presentation the widget, public and driver faces share; imports no face.

Theme (`theme`), page rendering (`render`), assets and logos (`assets`, `logos`), CSP and
cross-site checks (`security`), signed fan links (`links`), `serializers`, the trip state's
words (`trip_state`) and the fan's error messages (`messages`).
"""
