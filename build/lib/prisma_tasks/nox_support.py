"""Deprecated alias: this module moved to `prisma_tasks.testing.nox_support`; import that.

The old path is the same module object (not a copy), so monkeypatching either works.
"""

import sys
import warnings

from prisma_tasks.testing import nox_support as _moved

warnings.warn(f"{__name__} moved to {_moved.__name__}", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
