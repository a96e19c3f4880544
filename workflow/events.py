"""The workflow's events, one small class each (Zulip's typed event schemas).

workflow.hooks delivers them to the listeners after the action's commit; a listener receives these
objects and tells them apart by class. `type` is the name clients see on the WebSocket and in the
notification rows; `payload()` is what goes with it there besides the document and the task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class WorkflowEvent:
    type: ClassVar[str]
    # Said to everyone on the document: workflow.hooks adds, at delivery, everyone with access to
    # it to `user_ids` (one query for the whole batch, after the commit, not inside the action).
    to_participants: ClassVar[bool] = False
    document_id: int
    user_ids: tuple[int, ...]  # who should hear of it
    slot_id: int | None = None

    def payload(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, kw_only=True)
class TaskAssigned(WorkflowEvent):
    """A task opened for someone (approve, consult, circulate, revise)."""

    type: ClassVar[str] = "task.assigned"
    slot_id: int
    kind: str
    stage: str

    def payload(self) -> dict[str, Any]:
        return {"kind": self.kind, "stage": self.stage}


@dataclass(frozen=True, kw_only=True)
class PostReviewAssigned(TaskAssigned):
    """後閲: the absent decider is to review what their deputy decided."""

    type: ClassVar[str] = "post_review.assigned"


@dataclass(frozen=True, kw_only=True)
class TaskCancelled(WorkflowEvent):
    """An open task is gone: its stage was decided without it, or the route ended."""

    type: ClassVar[str] = "task.cancelled"
    slot_id: int


@dataclass(frozen=True, kw_only=True)
class TaskMoved(WorkflowEvent):
    """An open task left its assignee (reassignment, 人事異動, absence): they hear where it went.
    The new assignee gets a TaskAssigned."""

    type: ClassVar[str] = "task.moved"
    slot_id: int
    to: str
    reason: str

    def payload(self) -> dict[str, Any]:
        return {"assignee": self.to, "reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class QuestionAnswered(WorkflowEvent):
    """質疑: the person asked answered; the approver who asked hears of it."""

    type: ClassVar[str] = "question.answered"
    slot_id: int
    question_id: int

    def payload(self) -> dict[str, Any]:
        return {"question": self.question_id}


@dataclass(frozen=True, kw_only=True)
class TaskCompleted(WorkflowEvent):
    """Someone approved, agreed, read or reviewed: the drafter hears of it."""

    type: ClassVar[str] = "task.completed"
    slot_id: int
    kind: str
    status: str

    def payload(self) -> dict[str, Any]:
        return {"kind": self.kind, "status": self.status}


@dataclass(frozen=True, kw_only=True)
class DocumentSentBack(WorkflowEvent):
    type: ClassVar[str] = "document.sent_back"
    to_participants: ClassVar[bool] = True
    reason: str

    def payload(self) -> dict[str, Any]:
        return {"reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class DocumentDecided(WorkflowEvent):
    type: ClassVar[str] = "document.decided"
    to_participants: ClassVar[bool] = True
    number: str

    def payload(self) -> dict[str, Any]:
        return {"number": self.number}


@dataclass(frozen=True, kw_only=True)
class DocumentRejected(WorkflowEvent):
    type: ClassVar[str] = "document.rejected"
    to_participants: ClassVar[bool] = True
    reason: str

    def payload(self) -> dict[str, Any]:
        return {"reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class DocumentWithdrawn(WorkflowEvent):
    type: ClassVar[str] = "document.withdrawn"
    to_participants: ClassVar[bool] = True
    reason: str

    def payload(self) -> dict[str, Any]:
        return {"reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class CommentAdded(WorkflowEvent):
    """A mark on the record; the others on the document hear of it."""

    type: ClassVar[str] = "comment.added"
    annotation_id: int
    kind: str
    page: int

    def payload(self) -> dict[str, Any]:
        return {"annotation": self.annotation_id, "kind": self.kind, "page": self.page}
