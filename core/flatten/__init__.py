"""Flatten: close many positions at once, as a plan that is previewed, confirmed, run
concurrently and reported.

Support staff are asked to "flatten this account" or "everything on this venue, now". Forty
clicks are too slow and a panic button is a fat-finger hazard, so flatten is four steps, each an
API the GUI and the CLI share:

1. ``build_plan(desk, scope, reason=...)`` (``plan.py``) lists every position it would close,
   with the mechanism, the exact redacted request and the resting orders it cancels first.
2. Confirmation (``plan.py``): ``plan.requires_typed_confirmation``, ``plan.confirms(text)``.
3. ``execute(desk, plan)`` (``run.py``) runs every item concurrently and verifies each from
   venue data; ``run.cancel()`` stops sending new requests.
4. ``await run.wait()`` gives a :class:`FlattenReport` (``report.py``): outcomes, totals,
   ``retry_plan(desk)`` and the exit-code table.

``cancels.py`` holds the cancel-first pieces (which orders block a close, cancelling them one
at a time through the desk), shared with the close dialog's "Cancel them first".

How plans and reports read as text is the CLI's and the window's business (``cli/`` and
``gui/``); this package only gives them data.
"""

from core.flatten.cancels import (
    CancelFirst,
    CancelOutcome,
    CancelResult,
    Cancels,
    blocks_close,
    cancel_one,
    order_words,
)
from core.flatten.plan import (
    CONFIRM_WORD,
    CONFIRM_WORD_LIVE,
    FlattenPlan,
    FlattenScope,
    PlanAlreadyRun,
    PlanError,
    PlanItem,
    ScopeKind,
    account_concurrency,
    build_plan,
    default_concurrency,
)
from core.flatten.report import (
    EXIT_BAD_ARGUMENTS,
    EXIT_CONNECTION_FAILED,
    EXIT_FLAT,
    EXIT_NOT_DONE,
    EXIT_REJECTED,
    EXIT_RESIDUAL,
    EXIT_UNKNOWN,
    FlattenReport,
    ItemState,
    Outcome,
    Phase,
    exit_code,
)
from core.flatten.run import FlattenRun, execute

__all__ = [
    "CONFIRM_WORD",
    "CONFIRM_WORD_LIVE",
    "EXIT_BAD_ARGUMENTS",
    "EXIT_CONNECTION_FAILED",
    "EXIT_FLAT",
    "EXIT_NOT_DONE",
    "EXIT_REJECTED",
    "EXIT_RESIDUAL",
    "EXIT_UNKNOWN",
    "CancelFirst",
    "CancelOutcome",
    "CancelResult",
    "Cancels",
    "FlattenPlan",
    "FlattenReport",
    "FlattenRun",
    "FlattenScope",
    "ItemState",
    "Outcome",
    "Phase",
    "PlanAlreadyRun",
    "PlanError",
    "PlanItem",
    "ScopeKind",
    "account_concurrency",
    "blocks_close",
    "build_plan",
    "cancel_one",
    "default_concurrency",
    "execute",
    "exit_code",
    "order_words",
]
