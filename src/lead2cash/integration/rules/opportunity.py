"""OPPORTUNITY (R11): opportunities both ways.

The standard field rows carry what is synchronized (owner, name, contact, values, dates); this rule adds
nothing yet. Known gap: the row ``contact_company_no → parentaccountid`` looks the company contact up
among couplings, but company contacts are not coupled (their customer is), so an opportunity with a
company fails naming that contact until the row is resolved through the customer.
"""

from __future__ import annotations

from lead2cash.integration.rules import EntityRule, register


class OpportunityRule(EntityRule):
    mappings = ("OPPORTUNITY",)


register(OpportunityRule())
