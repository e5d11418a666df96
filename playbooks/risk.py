"""An account's two names for risk, and why they can differ.

The health tier follows the daily score. The risk level is the intervention-matrix row the team is
working: a rule or a started playbook sets it, the score never does, and rules never lower it. So
the two drift apart: today's score can be worse than the level being worked (nobody has responded
yet), or better (the score recovered, and the level stays until the work on it is done).
"""

from dataclasses import dataclass

from accounts.models import RISK_RANK, Account, RiskLevel
from health.models import Tier

TIER_RANK = {Tier.HEALTHY: 0, Tier.LOW: 1, Tier.MEDIUM: 2, Tier.HIGH: 3}


@dataclass(frozen=True)
class RiskComparison:
    tier: str  # a Tier value; "" while the account has no score
    level: str  # a RiskLevel value; "" when no risk level is set
    tier_worse: bool = False
    tier_better: bool = False

    @property
    def tier_label(self) -> str:
        return Tier(self.tier).label if self.tier in Tier.values else ""

    @property
    def level_label(self) -> str:
        return RiskLevel(self.level).label if self.level in RiskLevel.values else ""

    @property
    def response_level(self) -> str:
        """The matrix row whose response fits the account: today's tier when it is worse than the
        level being worked (the tiers below Healthy share the risk levels' values), else the level."""
        return self.tier if self.tier_worse else self.level


def compare_risk(account: Account) -> RiskComparison:
    """Compares by rank (tier Healthy 0 … High 3, risk level unset 0 … High 3). A churned account
    is not compared: its tier is frozen at the churn and there is no response left to start."""
    tier, level = account.health_tier, account.risk_level
    if tier not in TIER_RANK or account.is_churned:
        return RiskComparison(tier=tier, level=level)
    tier_rank, level_rank = TIER_RANK[tier], RISK_RANK.get(level, 0)
    return RiskComparison(
        tier=tier, level=level, tier_worse=tier_rank > level_rank, tier_better=tier_rank < level_rank
    )
