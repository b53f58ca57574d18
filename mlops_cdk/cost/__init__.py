"""Monthly cost estimate of a synthesized environment: ``python -m mlops_cdk.cost cdk.out``."""

from mlops_cdk.cost.estimate import *  # noqa: F403 - the package re-exports the module's API
from mlops_cdk.cost.estimate import __all__  # noqa: F401
