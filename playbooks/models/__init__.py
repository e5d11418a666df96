"""The standard response to risk: teams and their calendars, the intervention matrix, playbooks,
rules, the tasks CSMs work, notifications and the emails sent to customers.

One module per concern; every model is importable from `playbooks.models`."""

from .messages import (  # noqa: F401
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationKind,
    SentEmail,
)
from .retention import (  # noqa: F401
    PENDING_PLAN_STATUSES,
    PLAN_TRANSITIONS,
    ApprovalPolicy,
    OfferKind,
    PlanApproval,
    PlanEvent,
    PlanOffer,
    PlanOutcome,
    PlanStatus,
    PlanStep,
    RetentionPlan,
    plan_transition_q,
)
from .teams import (  # noqa: F401
    Holiday,
    Team,
    WebhookChannel,
    WebhookFlavor,
    default_work_end,
    default_work_start,
    validate_time_zone,
    validate_working_days,
)
from .work import (  # noqa: F401
    OPEN_STATUSES,
    ConditionKind,
    EmailTemplate,
    MatrixRow,
    Outcome,
    OwnerRole,
    Playbook,
    PlaybookRun,
    PlaybookStep,
    Priority,
    Rule,
    RuleFiring,
    RunStatus,
    StepKind,
    Task,
    TaskStatus,
)
