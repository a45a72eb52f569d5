"""Deprecated alias: this module moved to `prisma_tasks.db.connection`; import that.

The old path is the same module object (not a copy), so monkeypatching either works.
"""

import sys
import warnings

from prisma_tasks.db import connection as _moved

warnings.warn(f"{__name__} moved to {_moved.__name__}", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
