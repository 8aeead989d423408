"""WTForms classes: one per transition, plus the case form, login and proposal decisions.

A form never carries a `status` field and never calls the engine; checks that need the
database live in `validate_<field>` or in the service the view calls.
"""
