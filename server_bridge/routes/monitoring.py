"""Monitoring routes: `/metrics` for Prometheus (an admin or metrics token) and the render
statistics of an output type over a period (`hartomat farm stats`)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Query
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from .. import catalog, metrics, stats
from ..api_replies import FarmStats
from ..auth import Principal
from .common import ApiError, Farm, Router, errs, farm, scraper, submitter

router = Router()


@router.get("/metrics", responses={200: {"description": "the farm in the Prometheus text format",
                                         "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}},
                       **errs()},
            response_class=Response)
def scrape(who: Principal = Depends(scraper), f: Farm = Depends(farm)) -> Response:
    return Response(metrics.scrape(f.store), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/stats", responses=errs(404), response_model=FarmStats)
def farm_stats(output_type: str = Query(..., min_length=1, max_length=128), since: str = Query("7d", max_length=32, pattern=stats.PERIOD.pattern,
                                                       description="a number and a unit s, m, h, d or w: 7d, 12h"),
               who: Principal = Depends(submitter), f: Farm = Depends(farm)) -> dict[str, Any]:
    """Median and p90 of a job's wall and CPU seconds, and CPU-hours, of an output type's jobs
    that succeeded within `since` (7d, 12h, 30m, ...)."""
    try:
        period = stats.parse_period(since)
    except ValueError as exc:
        raise ApiError(422, f"query 'since': {exc}") from None
    catalog.get_output_type(f.store, output_type)  # 404 naming it when there is none
    return stats.farm_stats(f.store, output_type, period)
