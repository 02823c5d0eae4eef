"""Privacy at the door: personal codes, the pseudonym key, and the scans for identifiers where none
may be.
"""

from pipelines.privacy.names import FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, SURNAMES
from pipelines.privacy.pseudonym import KEY_VARIABLE, load_key, pupil_key, pupil_keys
from pipelines.privacy.scan import identifier_findings, text_findings

__all__ = [
    "FEMALE_FIRST_NAMES",
    "KEY_VARIABLE",
    "MALE_FIRST_NAMES",
    "SURNAMES",
    "identifier_findings",
    "load_key",
    "pupil_key",
    "pupil_keys",
    "text_findings",
]
