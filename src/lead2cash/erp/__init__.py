"""The ERP back office (the Business Central role): master data, sales documents, posting, ledgers.

It imports nothing from ``integration`` or ``crm``; it publishes business facts to the ``outbox`` table
in the same transaction as the change, and others consume them.
"""
