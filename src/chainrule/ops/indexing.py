"""Placeholder: the indexing family is being written."""

__all__: list[str] = []
