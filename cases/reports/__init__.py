"""Reports against each commune's target (issue 17), as of the end of a period.

- `periods`: a month, a half-year or a year, and the moment its counts are taken.
- `figures`: the report as values (rows per commune, a total, the trend) — what the page, the
  workbook, the CSV and the archive all read.
- `targets`: the targets and bands in force.
- `produce`: the one aggregate over `case_stays` and the arithmetic on it.
- `workbook`: the report as the workbook a commune sends upward (a pure function).
- `archive`: every report produced, stored with a hash; signing freezes one.
"""
