"""Every write of identity: identifiers, duplicates and merges."""

from rapport.identity.conf import MERGE_THRESHOLD
from rapport.identity.services.duplicates import (
    DuplicatePair,
    DuplicateReport,
    DuplicateService,
    Match,
    score_pair,
)
from rapport.identity.services.identifiers import (
    BUILT_IN_TYPES,
    IdentifierService,
    IdentifierTypeService,
    identifier_types,
    normalize_identifier,
)
from rapport.identity.services.merge import MergePreview, MergeService

__all__ = [
    "BUILT_IN_TYPES",
    "MERGE_THRESHOLD",
    "DuplicatePair",
    "DuplicateReport",
    "DuplicateService",
    "IdentifierService",
    "IdentifierTypeService",
    "Match",
    "MergePreview",
    "MergeService",
    "identifier_types",
    "normalize_identifier",
    "score_pair",
]
