"""The dependencies every router takes, as ready-made defaults (`caller: Caller = caller_dep`)."""

from __future__ import annotations

from fastapi import Depends

from server.app import get_dalil
from server.auth import current_caller

caller_dep = Depends(current_caller)
dalil_dep = Depends(get_dalil)
