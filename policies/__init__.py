"""Who may see and change what: the Casbin policy, the authorizer over it, and row rules."""

from policies.authorizer import Authorizer
from policies.errors import Forbidden
from policies.restriction import restrict
from policies.scope import AccessScope

__all__ = ["AccessScope", "Authorizer", "Forbidden", "restrict"]
