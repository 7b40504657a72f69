"""Placeholder: the linalg family is being written."""

__all__: list[str] = []
