"""The provider's day-to-day work on a customer: contacts, orders, contracts, projects."""
