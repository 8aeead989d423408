"""Reports on screen: the report for a period and a unit with its charts, its CSV and workbook,
the archive, and sign-off (issue 17)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__)
