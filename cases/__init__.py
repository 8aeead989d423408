"""The domain: models, the services that change them, read-only queries and access scoping.

Kept free of imports so `workflow` can use `cases.roles` without loading the models.
"""
