"""The administrator's page for a province's report targets and bands (issue 17)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("report_settings", __name__)
