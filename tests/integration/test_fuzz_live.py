"""A small run of the live fuzz (``make fuzz-live`` runs 10,000 frames): hostile frames down
both venues' real sockets, through the simulator, each one a journaled protocol error, with
the book equal to the venue's and no task exception left unretrieved."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest

from bench.fuzz_live import fuzz_live, recording_task_exceptions
from bench.hostile_frames import KINDS, OVERSIZED, SOCKETS


@pytest.mark.asyncio
async def test_a_small_live_fuzz_journals_every_bad_frame_and_keeps_the_book(
        tmp_path: Path) -> None:
    results = await fuzz_live(600, seed=3, workdir=tmp_path)
    assert results.frames == 600
    assert set(results.by_socket) == set(SOCKETS)
    assert set(results.by_kind) == {*KINDS, OVERSIZED}
    assert results.sent_by_simulator == 600
    assert results.journaled_protocol_errors == 600
    assert results.protocol_error_records < 600  # repeats were summed up, not each recorded
    assert results.book_equal, results.book_differences
    assert results.task_exceptions == []
    assert results.error_logs == []
    assert results.lost_bursts == 0
    assert results.ok


async def _boom() -> None:
    raise RuntimeError("boom")


@pytest.mark.asyncio
async def test_the_fuzz_sees_a_task_exception_nobody_retrieved() -> None:
    loop = asyncio.get_running_loop()
    seen: list[str] = []
    with recording_task_exceptions(loop, seen):
        task = loop.create_task(_boom())
        await asyncio.wait([task])
        del task
        gc.collect()  # the task reports its unretrieved exception as it is collected
    assert len(seen) == 1
    assert "never retrieved" in seen[0] and "boom" in seen[0]
