"""The CRMs' results back, declared: deals read from Bitrix24 and HubSpot as the calls' outcomes and revenue.

The calls go to the CRMs as conversion destinations (``integrations/conversions``, platforms
``bitrix24`` and ``hubspot``); this declaration adds the way back: a schedule reading changed deals
from each CRM destination's cursor, and HubSpot's signed webhook route.
"""

from __future__ import annotations

from chalicelib.integrations.registry import Integration, ScheduleDecl

_HERE = "chalicelib.integrations.crm"

INTEGRATION = Integration(
    name="crm",
    summary="won and lost deals in Bitrix24 and HubSpot back as the calls' outcomes and revenue",
    schedules=(
        ScheduleDecl(
            "crm_results",
            15,
            f"{_HERE}.results:run",
            local_seconds=120.0,  # make run: a deal won in a CRM shows within two minutes
            description="deals changed in each CRM since its cursor, as their first call's outcome and revenue",
        ),
    ),
    routes=f"{_HERE}.routes",
    openapi="chalicelib/integrations/crm/openapi.yaml",
    export=f"{_HERE}.caller_data:export",
    erase=f"{_HERE}.caller_data:erase",
)
