"""The presentation layer: how every page, export and email shows the domain's values.

`formats` (dates, months, times, numbers and money through Babel's locale formats), `labels` (the
one registry of labels for fields, enum values and audit actions) and `values` (a field's value as
a person reads it: names for ids, legal text for reason codes, masked personal numbers).
`views.filters.register` makes them Jinja filters.
"""
