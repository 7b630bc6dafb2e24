"""Summary-view operations shared by every transport.

Views summarise memories across tenants (a view grouped by user_id covers every user), so
only callers bound to no namespace and no user may use them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from memoryserver.auth.principal import Principal
from memoryserver.errors import Forbidden, InvalidInput, NotFound
from memoryserver.fields import check_identifier, new_id, now
from providers.llm import ChatConfig
from summary_views_app.repository import SummaryViewStore
from summary_views_app.schemas import PartitionResult, SummaryView, SummaryViewSpec, checked_group


@dataclass(frozen=True)
class BackgroundWork:
    """How views run: one partition now (waiting for a worker), all of them as a task, periodically."""

    partition: Callable[[str, dict[str, str]], Awaitable[PartitionResult]]
    full_run: Callable[[str, str | None], Awaitable[str]]
    periodic: Callable[[SummaryViewStore], Awaitable[None]]


def require_unbound(principal: Principal) -> None:
    if principal.namespaces is not None or principal.user_id is not None:
        raise Forbidden(
            "Summary views span every tenant; they need a caller bound to no namespace and no user."
        )


def _checked(field: str, value: str) -> str:
    try:
        return check_identifier(value)
    except ValueError as error:
        raise InvalidInput(field, str(error)) from None


def check_chat_model(view: SummaryView) -> None:
    """FeatureDisabled (501) with the reason when the view's chat model is not configured."""
    ChatConfig.from_settings("fast", view.model_name).check()


async def create_view(
    store: SummaryViewStore, principal: Principal, spec: SummaryViewSpec, work: BackgroundWork
) -> SummaryView:
    require_unbound(principal)
    view = SummaryView(**spec.model_dump(), id=new_id(), created_at=now())
    await store.save(view)
    if view.continuous:
        await work.periodic(store)
    return view


async def list_views(store: SummaryViewStore, principal: Principal) -> list[SummaryView]:
    require_unbound(principal)
    return await store.all()


async def get_view(store: SummaryViewStore, principal: Principal, view_id: str) -> SummaryView:
    require_unbound(principal)
    view = await store.get(_checked("view_id", view_id))
    if view is None:
        raise NotFound(f"No summary view '{view_id}'.")
    return view


async def delete_view(store: SummaryViewStore, principal: Principal, view_id: str) -> bool:
    """Delete a view and its results; False when there was none."""
    require_unbound(principal)
    return await store.delete(_checked("view_id", view_id))


async def run_partition(
    store: SummaryViewStore,
    principal: Principal,
    view_id: str,
    group: dict[str, str],
    work: BackgroundWork,
) -> PartitionResult:
    """Summarise one partition now; the result is also stored with the view's partitions."""
    view = await get_view(store, principal, view_id)
    try:
        group = checked_group(view, group)
    except ValueError as error:
        raise InvalidInput("group", str(error)) from None
    check_chat_model(view)
    return await work.partition(view.id, group)


async def run_view(
    store: SummaryViewStore, principal: Principal, view_id: str, task_id: str | None, work: BackgroundWork
) -> tuple[SummaryView, str]:
    """Queue a refresh of every partition; returns the view and the task id to follow it by."""
    view = await get_view(store, principal, view_id)
    if task_id is not None:
        task_id = _checked("task_id", task_id)
    check_chat_model(view)
    return view, await work.full_run(view.id, task_id)


async def list_results(
    store: SummaryViewStore, principal: Principal, view_id: str, group_filter: dict[str, str]
) -> list[PartitionResult]:
    """The stored results of a view's partitions, those matching every given group value."""
    view = await get_view(store, principal, view_id)
    return [
        result
        for result in await store.results(view.id)
        if all(result.group.get(field) == value for field, value in group_filter.items())
    ]
