"""Self-contained offline HTML reports: :func:`build_report` and its blocks (see docs/analysis.md)."""

from spurious.report.html import (Heading, Image, KeyValues, Paragraph, Section, Table, Verdict, build_report,
                                  external_references, format_value, render_report)

__all__ = ["build_report", "render_report", "external_references", "format_value",
           "Section", "Heading", "Paragraph", "KeyValues", "Table", "Image", "Verdict"]
