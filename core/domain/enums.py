"""The fixed vocabularies of a project. StrEnum members compare equal to the strings stored in the tables."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    GOOD = "good"
    DEFECT = "defect"
    UNSURE = "unsure"


class ImageStatus(StrEnum):
    OK = "ok"  # decoded at import: readable
    FAILED = "failed"  # kept with the reason in Image.error


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


VERDICTS = tuple(v.value for v in Verdict)
GROUND_TRUTH_VERDICTS = (Verdict.GOOD.value, Verdict.DEFECT.value)
ACTIVE_JOB_STATUSES = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
FINISHED_JOB_STATUSES = (JobStatus.DONE.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value)
