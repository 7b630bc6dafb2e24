"""Query parameters of the /v1 routes, with the upstream defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from memoryserver.fields import Identifier


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SessionScopeParams(Query):
    namespace: Identifier | None = None
    user_id: Identifier | None = None


class SessionListParams(SessionScopeParams):
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10_000_000)


class ClientModelParams(Query):
    """Any model name is accepted: unknown ones get the default window and a Warning header."""

    model_name: str | None = Field(None, min_length=1, max_length=200)
    context_window_max: int | None = Field(None, ge=1, le=100_000_000)


class GetWorkingMemoryParams(SessionScopeParams, ClientModelParams):
    recent_messages_limit: int | None = Field(None, ge=1, le=10_000)


class PutWorkingMemoryParams(SessionScopeParams, ClientModelParams):
    pass


class OptimizeParams(Query):
    optimize_query: bool = False


class NamespaceParams(Query):
    namespace: Identifier | None = Field(
        None, description="Where the memory is; any readable one if omitted."
    )
    user_id: Identifier | None = Field(
        None,
        description="Whose memory it is (ids are unique per namespace and user); any if omitted.",
    )


class ForgetParams(Query):
    namespace: Identifier | None = None
    user_id: Identifier | None = None
    session_id: Identifier | None = None
    limit: int = Field(1000, ge=1, le=100_000)
    dry_run: bool = Field(False, description="Only report what would be deleted (see README: default false).")


class CompactParams(Query):
    namespace: Identifier | None = None
    user_id: Identifier | None = None


class PartitionFilterParams(Query):
    user_id: str | None = None
    namespace: str | None = None
    session_id: str | None = None
    memory_type: str | None = None

    def group_filter(self) -> dict[str, str]:
        return {field: value for field, value in self.model_dump().items() if value is not None}
