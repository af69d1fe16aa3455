"""The request bodies, as pydantic models (their types are checked before a route runs: 422)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LinkRequest(_Body):
    mentions: list[str] = Field(description="Mentions to link, e.g. entity names found in a text.")
    top_k: int = Field(5, ge=1, le=1000)
    threshold: float | None = Field(None, ge=0.0, le=1.0, description="Default: the graph's threshold.")


class EntitiesRequest(_Body):
    names: list[str] = Field(description="Entity names; those the graph holds already are skipped.")


class RemoveRequest(_Body):
    ids: list[str] = Field(description="Entity node ids (normalised names, as /link returns them).")


class MergeRequest(_Body):
    ids: list[str] = Field(description="Entity node ids to fold into `into`.")
    into: str = Field(description="The entity node that stays; it takes the others' edges and names.")


class PassageIn(_Body):
    title: str = ""
    text: str


class PassagesRequest(_Body):
    passages: list[PassageIn] = Field(description="Passages to extract, encode and link into the graph.")


class DecisionsRequest(_Body):
    accept: list[tuple[str, str]] = Field(default_factory=list, description="Pairs to keep as synonym edges.")
    reject: list[tuple[str, str]] = Field(default_factory=list, description="Pairs never to link again.")


class RetrieveRequest(_Body):
    question: str
    top_k: int = Field(5, ge=1, le=100)
    mode: Literal["graph", "dense"] = "graph"


class AskRequest(_Body):
    question: str
    top_k: int = Field(5, ge=1, le=20)
    stream: bool = Field(False, description="Answer as server-sent events: passages, then the answer.")
