"""Typed, validated settings for every environment, on strict pydantic models.

``types`` holds the ``Literal`` types constructs share, ``models`` the schema, ``environments``
the dev/staging/prod table and ``loader`` :func:`load_settings`, which applies the CDK context
keys, validates everything and raises :class:`ConfigError` listing every problem at once, each
naming the field, the bad value and the fix.
"""

from mlops_cdk.config import environments, errors, loader, models, types
from mlops_cdk.config.environments import *  # noqa: F403
from mlops_cdk.config.errors import *  # noqa: F403
from mlops_cdk.config.loader import *  # noqa: F403
from mlops_cdk.config.models import *  # noqa: F403
from mlops_cdk.config.types import *  # noqa: F403

# Each module's ``__all__`` names its public part once; the package re-exports them all.
__all__: list[str] = []
__all__ += environments.__all__
__all__ += errors.__all__
__all__ += loader.__all__
__all__ += models.__all__
__all__ += types.__all__
