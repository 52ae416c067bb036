"""Row passes that need a model: each maps a chunk, at a fitted model, to mergeable statistics."""

from ._irls import irls_chunk_pass, irls_pass

__all__ = ["irls_chunk_pass", "irls_pass"]
