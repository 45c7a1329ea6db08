"""Integration table mappings as data: which ERP table pairs with which CRM table, field by field.

``model`` holds the tables, ``filters`` the safe filter representation, ``defaults`` the standard setup.
"""
