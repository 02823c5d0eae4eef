"""The chain after ingest runs by itself: the automation sensor, running from the start.

Dagster evaluates automation conditions only in an automation condition sensor, and the one it
makes by default is stopped, so on a fresh instance nothing after ingest would ever run. This
module declares the sensor, over every asset, with `default_status=RUNNING`: the daemon starts
evaluating it as soon as it loads the code location, with no click.

Why the declared sensor and not an explicit chain (run-status sensors launching a warehouse job,
then a publication job): the conditions on the assets (`ON_UPSTREAM_CHANGE`) already say when
each asset is due, and the sensor evaluates exactly them. It holds a step back while anything
upstream is still running, launches only what an update made due, and shows in the UI, per
asset and tick, why it ran or did not. A job chain would say the same dependencies a second time, in code that drifts
from the asset graph. The target is every asset, not a list: an automation condition added to
any asset later is evaluated here too, never left to Dagster's stopped default sensor.
"""

import dagster as dg

automation = dg.AutomationConditionSensorDefinition(
    "automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Runs the warehouse build, the publication, the ministry extracts and the "
    "dashboard when what they are built from changed (their automation conditions): after "
    "every ingest, with no click. Running from the start.",
)
