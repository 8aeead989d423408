"""Lists in and out (issue 16, BRIEF section 5): a commune's own beneficiary list becomes cases,
the identities go to the police and their answers come back — each upload a job (cases.models.lists)
that is previewed, confirmed and imported by the one worker (cases.lists.jobs), through the one
spreadsheet reader (cases.sheets)."""
