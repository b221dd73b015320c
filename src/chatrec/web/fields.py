"""Fields that several administration requests share, each bounded once (R19)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

Name = Annotated[str, Field(min_length=1, max_length=200)]
Percentage = Annotated[int, Field(ge=0, le=100)]
Capacity = Annotated[int, Field(ge=1, le=50)]
