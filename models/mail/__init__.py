"""Mail: the outbox written in the transaction of a change, and the sender that delivers it."""
