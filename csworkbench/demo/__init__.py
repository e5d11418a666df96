"""Demo data that makes the product explain itself (DESIGN.md, "Demo data tells stories").

The top layer: it may import every room below it, and nothing imports it but its own command, its
task and the tests. `seed.seed_demo` is the one orchestrator; it calls the parts in order:
`accounts` (the generic book of business), `stories` (the story accounts, built from their records
in data/stories.toml), `touchpoints`, `health` (daily metrics from `metrics`, score history from
`history`, today's scores and alerts), `playbooks` (the team's working day and retention plans)
and `interviews`. The texts, word lists and stories are data under data/, read by `records`.
"""
