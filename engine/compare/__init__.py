"""Output comparison: images, videos, GLBs, .blend files and JSON metadata, alone or as run output sets.

Used by `hartomat compare`, shadow mode (legacy against graph) and the golden tests.
"""

from .by_kind import compare_paths, detect_kind
from .model import KINDS, CompareInputError, ComparisonResult, Thresholds
from .report import write_html_report
from .sets import compare_output_sets

__all__ = ["KINDS", "CompareInputError", "ComparisonResult", "Thresholds", "compare_output_sets",
           "compare_paths", "detect_kind", "write_html_report"]
