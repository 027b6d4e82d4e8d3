"""The country type every model that names a country shares (locations, routing strategies, shipping
zones). In its own module so that locations and the shipping profile can both use it without
importing each other."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
