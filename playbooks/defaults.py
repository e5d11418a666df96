"""DESIGN.md's intervention matrix, its playbooks, the care emails and the two example rules,
as data. The data migration ships them; the rules arrive switched off for a manager to review.

Takes model classes as arguments so the migration can pass its historical models.
"""

EMAIL_TEMPLATES = [
    (
        "care-best-practice",
        "Care email: a best practice",
        "A tip for {account_name}",
        "Hi {contact_name},\n\n"
        "I noticed your team has been a little less active lately, so here is a practice our most "
        "successful customers rely on. {usage_highlights}\n\n"
        "If it would help, I am happy to walk your team through it in 20 minutes.\n\n"
        "Best regards,\n{csm_name}",
    ),
    (
        "value-reminder",
        "Value reminder",
        "What {account_name} achieved with us",
        "Hi {contact_name},\n\n"
        "A quick look at what your team has done recently: {usage_highlights}\n\n"
        "If there is anything standing between your team and more of this, tell me and I will "
        "take care of it.\n\n"
        "Best regards,\n{csm_name}",
    ),
    (
        "activity-dropped",
        "Activity dropped: care email",
        "Checking in on {account_name}",
        "Hi {contact_name},\n\n"
        "We noticed activity on your account has dropped recently. {usage_highlights}\n\n"
        "Is anything getting in the way? Reply to this email or pick a time that suits you, and "
        "I will help your team get back on track.\n\n"
        "Best regards,\n{csm_name}",
    ),
    (
        "lead-attention",
        "CS lead's attention email",
        "{account_name}: you have our full attention",
        "Hi {contact_name},\n\n"
        "I lead the customer-success team working with {account_name}. I want to make sure you are "
        "getting the value you expected, and I would like to hear directly from you what we "
        "could do better.\n\n"
        "Could we set up a short call this week?\n\n"
        "Best regards,\n{csm_name}",
    ),
]

# (risk, playbook name, description, steps); a step is
# (title, guidance, kind, owner role, due offset in business hours, email template key, needs approval).
PLAYBOOKS = [
    (
        "low",
        "Low risk: care touch",
        "Usage is slipping. Reach out with something useful before it becomes a problem.",
        [
            (
                "Send a care email with a relevant best practice",
                "Pick the practice that fits how they use the product; mention one concrete result.",
                "email",
                "csm",
                27,
                "care-best-practice",
                False,
            ),
            (
                "Remind them of the value delivered",
                "Quantify it: hours saved, reports produced, tickets avoided.",
                "email",
                "csm",
                27,
                "value-reminder",
                False,
            ),
        ],
    ),
    (
        "medium",
        "Medium risk: retention follow-up",
        "Score below 60, core-feature use down 30% or a dissatisfied high-priority ticket.",
        [
            (
                "Draft the initial retention plan",
                "Root cause, objectives, what you would offer. Your CS lead reviews it.",
                "retention_plan",
                "csm",
                24,
                "",
                False,
            ),
            (
                "Call or video meeting with the champion",
                "Ask what changed. Listen for the real reason, not the polite one.",
                "task",
                "csm",
                24,
                "",
                False,
            ),
            (
                "Offer 1:1 training on the core features",
                "Target the features whose use dropped.",
                "task",
                "csm",
                45,
                "",
                False,
            ),
            (
                "CS lead's attention email",
                "The lead writes personally to the decision maker.",
                "email",
                "lead",
                24,
                "lead-attention",
                False,
            ),
        ],
    ),
    (
        "high",
        "High risk: retention squad",
        "Score below 40, no login for a month, cancellation intent or a key contact left.",
        [
            (
                "Convene the retention squad",
                "CSM, sales, product and an executive sponsor: agree the facts and the owner today.",
                "task",
                "lead",
                4,
                "",
                False,
            ),
            (
                "Call the champion or decision maker",
                "Confirm what they need to stay. Log the call.",
                "task",
                "csm",
                4,
                "",
                False,
            ),
            (
                "Prepare a tailored offer",
                "Price, scope or support: a plan your CS lead approves before it goes out.",
                "retention_plan",
                "csm",
                9,
                "",
                False,
            ),
            (
                "Executive visit",
                "An executive meets the customer's decision maker in person.",
                "task",
                "executive",
                45,
                "",
                True,
            ),
        ],
    ),
]

MATRIX = [
    (
        "low",
        "Logins down from daily to 2–3 a week; no release-notes view for a month.",
        "Personal care email with a relevant best practice; value reminder (“saved you X hours”).",
        "CSM",
        3,
        "business_days",
    ),
    (
        "medium",
        "Score below 60; core-feature use −30%; a high-priority ticket rated dissatisfied.",
        "Call or video meeting; 1:1 training; the lead's attention email.",
        "CSM / CS lead",
        24,
        "business_hours",
    ),
    (
        "high",
        "Score below 40; no login for a month; cancellation intent; key contact left.",
        "Retention squad (CSM, sales, product, executive); tailored offer; executive visit.",
        "Squad incl. executive",
        4,
        "business_hours",
    ),
]


def _shipped_response_hours(risk: str) -> int:
    """The shipped matrix row's response time in working hours (a working day is 9 hours)."""
    amount, unit = next((amount, unit) for level, *_rest, amount, unit in MATRIX if level == risk)
    return amount * 9 if unit == "business_days" else amount


def create_defaults(EmailTemplate, Playbook, PlaybookStep, MatrixRow, Rule, *, follow_matrix=False) -> None:
    """The shipped templates, playbooks, matrix and rules. With `follow_matrix` (a schema where a
    step's due time may be empty, from playbooks 0007 on), a step or rule task due exactly when
    its level's matrix row says is left empty, so it follows the row when a manager edits it;
    migration 0007 did the same to installs that had the numbers."""
    templates = {}
    for key, name, subject, body in EMAIL_TEMPLATES:
        templates[key], _ = EmailTemplate.objects.get_or_create(
            key=key, defaults={"name": name, "subject": subject, "body": body}
        )
    playbooks = {}
    for risk, name, description, steps in PLAYBOOKS:
        playbook, created = Playbook.objects.get_or_create(
            name=name, defaults={"description": description, "risk_level": risk}
        )
        playbooks[risk] = playbook
        if created:
            for position, (title, guidance, kind, owner, hours, template, approval) in enumerate(
                steps, start=1
            ):
                PlaybookStep.objects.create(
                    playbook=playbook,
                    position=position,
                    title=title,
                    guidance=guidance,
                    kind=kind,
                    owner_role=owner,
                    due_offset_hours=None
                    if follow_matrix and hours == _shipped_response_hours(risk)
                    else hours,
                    email_template=templates.get(template),
                    needs_approval=approval,
                )
    for risk, signals, actions, owner, amount, unit in MATRIX:
        MatrixRow.objects.get_or_create(
            risk_level=risk,
            defaults={
                "signals": signals,
                "actions": actions,
                "owner": owner,
                "response_amount": amount,
                "response_unit": unit,
                "playbook": playbooks[risk],
            },
        )
    Rule.objects.get_or_create(
        name="Score below 60 for a week",
        defaults={
            "description": "DESIGN.md's first example rule.",
            "condition_kind": "score_below",
            "threshold": 60,
            "days": 7,
            "set_risk_level": "medium",
            "task_title": "Retention follow-up",
            "task_due_amount": None if follow_matrix else 24,
            "task_due_unit": "business_hours",
            "notify_owner": True,
            "email_template": templates["activity-dropped"],
            "add_tag": "activity-dropped",
            "cooldown_days": 14,
        },
    )
    Rule.objects.get_or_create(
        name="Tier A below 70 for 3 days",
        defaults={
            "description": "DESIGN.md's second example rule.",
            "scope_value_tiers": ["A"],
            "condition_kind": "score_below",
            "threshold": 70,
            "days": 3,
            "set_risk_level": "medium",
            "notify_owner": True,
            "cooldown_days": 7,
        },
    )


def ensure_defaults() -> None:
    """Bring back anything of the shipped defaults that is missing (a flushed test database, a
    demo database someone emptied). Existing rows are left as they are."""
    from interviews.defaults import create_taxonomy
    from interviews.models import ReasonCategory, SubReason

    from .models import EmailTemplate, MatrixRow, Playbook, PlaybookStep, Rule

    create_defaults(EmailTemplate, Playbook, PlaybookStep, MatrixRow, Rule, follow_matrix=True)
    create_taxonomy(ReasonCategory, SubReason)
