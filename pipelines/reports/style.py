"""The risk levels as analysts see them: one set of labels and colours for the dashboard and
the notebooks, Latvian with English alongside."""

RISK_COLOURS = {"risk_low": "#f2c14e", "risk_medium": "#f08a4b", "risk_high": "#c8553d"}
RISK_LABELS = {
    "risk_none": "bez riska / none",
    "risk_low": "zems / low",
    "risk_medium": "vidējs / medium",
    "risk_high": "augsts / high",
}
STACK_LABELS = {**RISK_LABELS, "suppressed": "slēpts / suppressed"}
STACK_COLOURS = {"risk_none": "#b8c4bb", **RISK_COLOURS, "suppressed": "#9e9e9e"}
# The notebooks colour a risk level by its label: as on the dashboard.
RISK_LEVEL_COLOURS = {label: STACK_COLOURS[level] for level, label in RISK_LABELS.items()}
