"""Identity, role-scoped access and the audited log of reads of children's records."""

from careledger.access.errors import AccessRefused, ReasonRequired, SignInRefused, TokenRefused
from careledger.access.facade import Access
from careledger.access.principal import Principal

__all__ = [
    "Access",
    "AccessRefused",
    "Principal",
    "ReasonRequired",
    "SignInRefused",
    "TokenRefused",
]
