"""/v1 summary views: named, partitioned summaries of long-term memories.

Reading needs `memory:read`; creating, running and deleting views `memory:admin`, since a
view summarises every tenant's memories. Running needs a configured chat model (else 501).
"""

from __future__ import annotations

from typing import ClassVar

from asgiref.sync import sync_to_async
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from pydantic import RootModel
from rest_framework.request import Request

from memoryserver.auth.principal import ADMIN, READ, Scope
from memoryserver.job_status import fetch_job
from rest.parameters import query_parameters
from rest.plumbing import json_response, parse_body, parse_query, principal_of
from rest.v1.params import PartitionFilterParams
from rest.v1.views.base import V1View
from summary_views_app import services
from summary_views_app.repository import view_store
from summary_views_app.schemas import SummaryViewSpec
from summary_views_app.tasks import BACKGROUND
from upstream.convert import partition_v1, summary_view_v1
from upstream.schemas import (
    AckResponse,
    RunSummaryViewPartitionRequest,
    RunSummaryViewRequest,
    SummaryViewPartitionResult,
    SummaryViewV1,
    TaskV1,
)
from upstream.task_status import task_v1

ADMIN_WRITES: dict[str, Scope] = {"get": READ, "post": ADMIN, "delete": ADMIN}


class SummaryViewList(RootModel[list[SummaryViewV1]]):
    pass


class PartitionResultList(RootModel[list[SummaryViewPartitionResult]]):
    pass


class SummaryViewsView(V1View):
    method_scopes: ClassVar[dict[str, Scope]] = ADMIN_WRITES

    @extend_schema(
        operation_id="list_summary_views_endpoint_v1_summary_views_get",
        summary="List summary views",
        responses=SummaryViewList,
    )
    async def get(self, request: Request) -> HttpResponse:
        views = await services.list_views(view_store(), principal_of(request))
        return json_response(SummaryViewList([summary_view_v1(view) for view in views]))

    @extend_schema(
        operation_id="create_summary_view_v1_summary_views_post",
        summary="Create a summary view",
        request=SummaryViewSpec,
        responses=SummaryViewV1,
    )
    async def post(self, request: Request) -> HttpResponse:
        spec = parse_body(request, SummaryViewSpec)
        view = await services.create_view(view_store(), principal_of(request), spec, BACKGROUND)
        return json_response(summary_view_v1(view))


class SummaryViewsAlias(SummaryViewsView):
    """/v1/summary-views/ with a trailing slash (undocumented: one path per operation)."""

    @extend_schema(exclude=True)
    async def get(self, request: Request) -> HttpResponse:
        return await super().get(request)

    @extend_schema(exclude=True)
    async def post(self, request: Request) -> HttpResponse:
        return await super().post(request)


class SummaryViewView(V1View):
    method_scopes: ClassVar[dict[str, Scope]] = ADMIN_WRITES

    @extend_schema(
        operation_id="get_summary_view_v1_summary_views__view_id__get",
        summary="Get a summary view",
        responses=SummaryViewV1,
    )
    async def get(self, request: Request, view_id: str) -> HttpResponse:
        view = await services.get_view(view_store(), principal_of(request), view_id)
        return json_response(summary_view_v1(view))

    @extend_schema(
        operation_id="delete_summary_view_endpoint_v1_summary_views__view_id__delete",
        summary="Delete a summary view and its stored summaries",
        responses={200: AckResponse},
    )
    async def delete(self, request: Request, view_id: str) -> HttpResponse:
        await services.delete_view(view_store(), principal_of(request), view_id)
        return json_response(AckResponse(status="ok"))


class PartitionsView(V1View):
    @extend_schema(
        operation_id="list_summary_view_partitions_v1_summary_views__view_id__partitions_get",
        parameters=query_parameters(PartitionFilterParams),
        summary="List a view's stored partition summaries",
        responses=PartitionResultList,
    )
    async def get(self, request: Request, view_id: str) -> HttpResponse:
        group_filter = parse_query(request, PartitionFilterParams).group_filter()
        results = await services.list_results(view_store(), principal_of(request), view_id, group_filter)
        return json_response(PartitionResultList([partition_v1(result) for result in results]))


class RunPartitionView(V1View):
    method_scopes: ClassVar[dict[str, Scope]] = ADMIN_WRITES

    @extend_schema(
        operation_id="run_summary_view_partition_v1_summary_views__view_id__partitions_run_post",
        summary="Summarise one partition now (waits for a worker)",
        request=RunSummaryViewPartitionRequest,
        responses=SummaryViewPartitionResult,
    )
    async def post(self, request: Request, view_id: str) -> HttpResponse:
        group = parse_body(request, RunSummaryViewPartitionRequest).group
        result = await services.run_partition(view_store(), principal_of(request), view_id, group, BACKGROUND)
        return json_response(partition_v1(result))


class RunViewView(V1View):
    method_scopes: ClassVar[dict[str, Scope]] = ADMIN_WRITES

    @extend_schema(
        operation_id="run_summary_view_full_v1_summary_views__view_id__run_post",
        summary="Refresh every partition of a view, as a background task",
        request=RunSummaryViewRequest,
        responses=TaskV1,
    )
    async def post(self, request: Request, view_id: str) -> HttpResponse:
        body = parse_body(request, RunSummaryViewRequest) if request.body.strip() else RunSummaryViewRequest()
        _, task_id = await services.run_view(
            view_store(), principal_of(request), view_id, body.task_id, BACKGROUND
        )
        job = await sync_to_async(fetch_job, thread_sensitive=False)(task_id)
        return json_response(task_v1(job))
