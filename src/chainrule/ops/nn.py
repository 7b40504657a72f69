"""Placeholder: the nn family is being written."""

__all__: list[str] = []
