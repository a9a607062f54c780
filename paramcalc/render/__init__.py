"""Renderers: analysis results -> text for people (rich) or for programs (JSON)."""
