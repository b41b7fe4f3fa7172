"""LaTeX and Markdown in: text -> rows (extract) -> expressions (parse, transform) -> steps -> checks (document)."""

from .document import DocumentReport, LineReport, check_text
from .extract import Row, extract_rows

__all__ = ["DocumentReport", "LineReport", "Row", "check_text", "extract_rows"]
