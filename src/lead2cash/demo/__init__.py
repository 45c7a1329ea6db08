"""The demo: one command (``lead2cash run``) that starts the CRM server, the ERP process with its job runner,
loads demo data on both sides, connects them and runs the initial full synchronization.

It sits outside ``erp``, ``crm`` and ``integration`` because it puts all three together; the CRM server runs
in a child process and is reached only over HTTP, as a real Dynamics 365 org would be.
"""
