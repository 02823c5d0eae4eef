"""The risk levels as analysts see them: one set of labels and colours for the dashboard and
the notebooks, Latvian with English alongside."""

from datetime import date

RISK_COLOURS = {"risk_low": "#f2c14e", "risk_medium": "#f08a4b", "risk_high": "#c8553d"}
RISK_LABELS = {
    "risk_none": "bez riska / none",
    "risk_low": "zems / low",
    "risk_medium": "vidējs / medium",
    "risk_high": "augsts / high",
}
STACK_LABELS = {**RISK_LABELS, "suppressed": "slēpts / suppressed"}
STACK_COLOURS = {"risk_none": "#66a86e", **RISK_COLOURS, "suppressed": "#9e9e9e"}
# The notebooks colour a risk level by its label: as on the dashboard.
RISK_LEVEL_COLOURS = {label: STACK_COLOURS[level] for level, label in RISK_LABELS.items()}

# Every page or export that shows unsuppressed figures (the internal dashboard, the notebooks'
# exports) carries this banner; the public dashboard, from the release in force, never does.
INTERNAL_BANNER = "Iekšējai lietošanai / internal, not for publication"
INTERNAL_COLOUR = "#6a1b9a"  # purple: no risk level's colour
INTERNAL_BANNER_STYLE = (
    "#internal-banner { position: sticky; top: 0; z-index: 10; "
    f"background: {INTERNAL_COLOUR}; color: #fff; font-weight: bold; font-size: 1.2rem; "
    "padding: 0.6rem 1rem; text-align: center; }"
)
# A bar of the semester still under way is hatched, on the dashboard and in the notebooks.
PARTIAL_PATTERN = "/"


def partial_label(until: date) -> str:
    """The label of a semester still under way: its data reach only `until`."""
    return f"līdz {until:%d.%m.%Y}"
