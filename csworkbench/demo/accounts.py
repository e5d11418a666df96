"""The demo's book of business: plausible Chinese- and English-named customers across Taiwan, Hong
Kong, mainland China and South-East Asia, with their contacts, a contract and an MRR history.

The words and the shape of the book (sizes, plans, channels) are data: data/book.toml. Everything is
drawn from the caller's `random.Random` in a fixed order, so the same seed and the same `today` give
the same accounts. Nothing here writes: `seed.seed_demo` writes what these plans describe.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from accounts.models import Account, AccountStatus, ChurnType, Contact, EmployeeBand, MovementKind, ValueTier

from .records import add_years, load

_BOOK = load("book")

# Chinese text is written once in traditional characters; mainland and South-East Asian customers
# get it converted (only the characters the word lists use).
_PAIRS = _BOOK["traditional_simplified"]
_SIMPLIFY = str.maketrans(_PAIRS[0::2], _PAIRS[1::2])


@dataclass(frozen=True)
class Region:
    name: str
    weight: int
    script: str  # how Chinese is written there: "hant" or "hans"
    zh_share: float  # share of companies with a Chinese name
    people: str  # naming convention of the people: tw, hk, cn, sea
    en_suffixes: tuple[str, ...]
    zh_suffixes: tuple[str, ...]


REGIONS: tuple[Region, ...] = tuple(
    Region(
        name=row["name"],
        weight=row["weight"],
        script=row["script"],
        zh_share=row["zh_share"],
        people=row["people"],
        en_suffixes=tuple(row["en_suffixes"]),
        zh_suffixes=tuple(row["zh_suffixes"]),
    )
    for row in _BOOK["region"]
)
REGION = {region.name: region for region in REGIONS}

# Industry -> (English words, Chinese words) that follow the brand in a company name.
_INDUSTRY_WORDS = {key: (tuple(row["en"]), tuple(row["zh"])) for key, row in _BOOK["industry"].items()}
_INDUSTRY_WEIGHTS = {key: row["weight"] for key, row in _BOOK["industry"].items()}
_EN_BRANDS = tuple(_BOOK["brands"]["en"])
_EN_FIRST = tuple(_BOOK["brands"]["en_first"])
_EN_SECOND = tuple(_BOOK["brands"]["en_second"])
_ZH_BRAND_CHARS = tuple(tuple(pair) for pair in _BOOK["brands"]["zh"])  # (character, pinyin)
_SURNAMES = tuple(tuple(row) for row in _BOOK["people"]["surnames"])
_GIVEN_NAMES = tuple(tuple(row) for row in _BOOK["people"]["given_names"])
_EN_FIRST_NAMES = tuple(_BOOK["people"]["en_first_names"])
_SEA_PEOPLE = tuple(
    (tuple(group["first_names"]), tuple(group["surnames"]), group["weight"])
    for group in _BOOK["people"]["sea"]
)
_TITLES: dict[str, dict[str, list[str]]] = _BOOK["titles"]
_BANDS = tuple(_BOOK["bands"].items())
_PLANS_BY_BAND: dict[str, list[list[Any]]] = _BOOK["plans_by_band"]
_PLAN_MRR: dict[str, int] = _BOOK["plan_mrr"]
_BAND_FACTOR: dict[str, float] = _BOOK["band_factor"]
_CHANNELS_BY_BAND: dict[str, list[list[Any]]] = _BOOK["channels_by_band"]
_CONTACT_COUNTS: dict[str, list[int]] = _BOOK["contacts_by_band"]
_MOOD_DRIFT: dict[str, list[float]] = {
    mood: _BOOK["drift"][mood] for mood in ("thriving", "healthy", "steady", "at_risk")
}
_EXPANSION_NOTES = tuple(_BOOK["drift"]["expansion_notes"])
_CONTRACTION_NOTES = tuple(_BOOK["drift"]["contraction_notes"])


def in_script(text: str, script: str) -> str:
    return text.translate(_SIMPLIFY) if script == "hans" else text


# --- Intermediate records ----------------------------------------------------------------


@dataclass(slots=True)
class ContactSeed:
    name: str
    email: str
    role: str
    phone: str = ""
    is_champion: bool = False
    is_decision_maker: bool = False
    is_primary: bool = False
    left_on: date | None = None
    key: str = ""  # how a story's scripted touchpoints refer to the person


@dataclass(slots=True)
class Scripted:
    on: date
    kind: str
    subject: str
    body: str
    sentiment: str
    contact: str = ""  # a ContactSeed.key


@dataclass(slots=True)
class Spec:
    """One account as planned, before and after it is written."""

    account: Account
    lang: str  # "zh" or "en": the language of the company name and its people's titles
    region: Region
    domain: str
    mood: str
    movements: list[tuple[str, date, int, str]] = field(default_factory=list)
    story: str = ""
    fixed_tier: str = ""
    owner: str | None = ""  # "" = assign later, None = unassigned, else a demo username
    contact_seeds: list[ContactSeed] | None = None  # stories bring their own people
    contacts: list[Contact] = field(default_factory=list)
    contact_keys: list[str] = field(default_factory=list)
    cadence: int = 0  # 0 = by tier
    generic_until: date | None = None  # after this day only scripted touchpoints
    mood_shift: tuple[date, str] | None = None
    email_only: bool = False
    polite: bool = False
    scripted: list[Scripted] = field(default_factory=list)

    def mood_on(self, day: date) -> str:
        if self.mood_shift is not None and day >= self.mood_shift[0]:
            return self.mood_shift[1]
        return self.mood


# --- Small helpers -----------------------------------------------------------------------


def _pick(rng: random.Random, weighted: Sequence[Sequence[Any]]) -> Any:
    return rng.choices([value for value, _ in weighted], weights=[weight for _, weight in weighted])[0]


def next_anniversary(start: date, after: date) -> date:
    """The first contract anniversary strictly after `after` (annual contracts)."""
    years = max(1, after.year - start.year)
    while add_years(start, years) <= after:
        years += 1
    return add_years(start, years)


def _round_money(value: float) -> int:
    step = 10 if value < 1000 else 50
    return max(step, round(value / step) * step)


def _phone(rng: random.Random, people: str, region: Region) -> str:
    r = rng.randint
    if people == "tw":
        return f"+886 9{r(10, 99)} {r(100, 999)} {r(100, 999)}"
    if people == "hk":
        return f"+852 {rng.choice('5679')}{r(100, 999)} {r(1000, 9999)}"
    if people == "cn":
        return f"+86 1{rng.choice('3589')}{r(0, 9)} {r(1000, 9999)} {r(1000, 9999)}"
    if region.name == "Singapore":
        return f"+65 {rng.choice('89')}{r(100, 999)} {r(1000, 9999)}"
    return f"+60 1{r(0, 9)}-{r(100, 999)} {r(1000, 9999)}"


def _person(rng: random.Random, region: Region) -> tuple[str, str]:
    """A believable name for someone working in the region, and the local part of their e-mail."""
    people = region.people
    if people == "sea":
        firsts, lasts, _ = rng.choices(_SEA_PEOPLE, weights=[w for *_, w in _SEA_PEOPLE])[0]
        first, last = rng.choice(firsts), rng.choice(lasts)
        return f"{first} {last}", f"{first.replace(' ', '')}.{last}".lower()
    surname = rng.choice(_SURNAMES)
    if people == "hk":  # business people in Hong Kong mostly go by an English first name
        first = rng.choice(_EN_FIRST_NAMES)
        return f"{first} {surname[3].title()}", f"{first}.{surname[3]}".lower()
    if people == "tw" and rng.random() < 0.2:
        first = rng.choice(_EN_FIRST_NAMES)
        return f"{first} {surname[2].title()}", f"{first}.{surname[2]}".lower()
    given = rng.choice(_GIVEN_NAMES)
    if people == "cn":
        return in_script(surname[0] + given[0], "hans"), f"{given[1]}.{surname[1]}"
    return surname[0] + given[0], f"{given[2]}.{surname[2]}"


class NameBook:
    """Company names from word lists, unique within one seeding run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def reserve(self, name: str) -> None:
        self.used.add(name)

    def make(self, *, industry: str, region: Region, chinese: bool) -> tuple[str, str, str]:
        """Return (name, external-id prefix, e-mail domain)."""
        rng = self.rng
        en_words, zh_words = _INDUSTRY_WORDS[industry]
        name = prefix = slug = ""
        for _ in range(6):
            if chinese:
                first, second = rng.sample(_ZH_BRAND_CHARS, 2)
                word, suffix = rng.choice(zh_words), rng.choice(region.zh_suffixes)
                name = in_script(first[0] + second[0] + word + suffix, region.script)
                prefix, slug = "CUST", first[1] + second[1]
            else:
                if rng.random() < 0.15:
                    brand = rng.choice(_EN_BRANDS)
                else:
                    first_part, second_part = rng.choice(_EN_FIRST), rng.choice(_EN_SECOND)
                    brand = first_part + second_part
                word, suffix = rng.choice(en_words), rng.choice(region.en_suffixes)
                name = f"{brand} {word} {suffix}".strip()
                prefix, slug = brand.upper()[:10], brand.lower()
            if name not in self.used:
                break
        else:
            # Word lists exhausted for this draw: a branch office is still a believable name.
            name = f"{name} ({region.name})"
            counter = 2
            while name in self.used:
                name = f"{name.rsplit(' #', 1)[0]} #{counter}"
                counter += 1
        self.used.add(name)
        return name, prefix, f"{slug}.example"


# --- Generic accounts --------------------------------------------------------------------


def _drift(
    rng: random.Random, *, mrr: int, start: date, end: date, mood: str
) -> tuple[list[tuple[str, date, int, str]], int]:
    """Expansions and contractions month by month in (start, end); returns them and the new MRR."""
    p_expand, p_contract = _MOOD_DRIFT[mood]
    moves: list[tuple[str, date, int, str]] = []
    month = 1
    while True:
        day = start + timedelta(days=30 * month + rng.randint(0, 29))
        if day >= end:
            return moves, mrr
        roll = rng.random()
        if roll < p_expand:
            amount = _round_money(mrr * rng.uniform(0.08, 0.4))
            moves.append((MovementKind.EXPANSION, day, amount, rng.choice(_EXPANSION_NOTES)))
            mrr += amount
        elif roll < p_expand + p_contract:
            amount = _round_money(mrr * rng.uniform(0.05, 0.3))
            if amount < mrr:
                moves.append((MovementKind.CONTRACTION, day, amount, rng.choice(_CONTRACTION_NOTES)))
                mrr -= amount
        month += 1


def generic_specs(
    rng: random.Random, *, count: int, today: date, names: NameBook, first_number: int
) -> list[Spec]:
    specs = []
    region_weights = [region.weight for region in REGIONS]
    industries = list(_INDUSTRY_WEIGHTS)
    industry_weights = list(_INDUSTRY_WEIGHTS.values())
    for index in range(count):
        region = rng.choices(REGIONS, weights=region_weights)[0]
        industry = rng.choices(industries, weights=industry_weights)[0]
        chinese = rng.random() < region.zh_share
        name, prefix, domain = names.make(industry=industry, region=region, chinese=chinese)
        band = _pick(rng, _BANDS)
        plan = _pick(rng, _PLANS_BY_BAND[band])
        start_mrr = _round_money(_PLAN_MRR[plan] * _BAND_FACTOR[band] * rng.lognormvariate(0, 0.45))
        # Contracts spread over the last three years, plus a handful still in onboarding.
        age = rng.randint(0, 30) if rng.random() < 0.03 else rng.randint(31, 3 * 365)
        account = Account(
            external_id=f"{prefix}-{first_number + index:06d}",
            name=name,
            industry=industry,
            employee_band=band,
            region=region.name,
            acquisition_channel=_pick(rng, _CHANNELS_BY_BAND[band]),
            plan=plan,
            contract_start=today - timedelta(days=age),
            status=AccountStatus.ACTIVE,
        )
        spec = Spec(account=account, lang="zh" if chinese else "en", region=region, domain=domain, mood="")
        spec.movements = [(MovementKind.NEW, account.contract_start, start_mrr, "New contract")]
        specs.append(spec)
    return specs


def churn_some(rng: random.Random, specs: list[Spec], *, target: int, today: date, days: int) -> None:
    """Churn `target` of the accounts inside the last `days` days, after their contract start."""
    window_start = today - timedelta(days=days)
    eligible = [spec for spec in specs if spec.account.contract_start <= today - timedelta(days=15)]
    for spec in rng.sample(eligible, min(target, len(eligible))):
        account = spec.account
        earliest = max(account.contract_start + timedelta(days=14), window_start)
        anniversaries = [
            day
            for years in range(1, 4)
            if earliest <= (day := add_years(account.contract_start, years)) < today
        ]
        churn_type = _pick(
            rng, ((ChurnType.CANCELLED, 55), (ChurnType.NOT_RENEWED, 30), (ChurnType.DOWNGRADED, 15))
        )
        if churn_type == ChurnType.NOT_RENEWED and anniversaries:
            churned_on = anniversaries[-1]
        else:
            if churn_type == ChurnType.NOT_RENEWED:
                churn_type = ChurnType.CANCELLED
            churned_on = earliest + timedelta(days=rng.randint(0, (today - earliest).days - 1))
        account.status = AccountStatus.CHURNED
        account.churned_on = churned_on
        account.churn_type = churn_type


def plan_history(rng: random.Random, spec: Spec, *, today: date) -> None:
    """A generic account's mood and its MRR movements from the contract start to today or churn."""
    account = spec.account
    if account.status == AccountStatus.CHURNED:
        assert account.churned_on is not None
        spec.mood = "steady"
        spec.mood_shift = (account.churned_on - timedelta(days=rng.randint(45, 120)), "at_risk")
        end = account.churned_on
    else:
        spec.mood = _pick(rng, (("healthy", 55), ("steady", 30), ("at_risk", 15)))
        end = today
    _, start, mrr, _ = spec.movements[0]
    age = (end - start).days
    if account.status == AccountStatus.ACTIVE and age > 500 and rng.random() < 0.015:
        # A few customers left once and came back: revenue reports need reactivations too.
        left = start + timedelta(days=rng.randint(200, age - 300))
        back = left + timedelta(days=rng.randint(45, 150))
        moves, mrr = _drift(rng, mrr=mrr, start=start, end=left, mood=spec.mood)
        spec.movements += moves
        spec.movements.append((MovementKind.CHURN, left, mrr, "Cancelled"))
        mrr = _round_money(mrr * rng.uniform(0.6, 1.0))
        spec.movements.append((MovementKind.REACTIVATION, back, mrr, "Came back"))
        start = back
    moves, mrr = _drift(rng, mrr=mrr, start=start, end=end, mood=spec.mood)
    spec.movements += moves
    # A churned account keeps the MRR it had just before churning, so reports can show the MRR
    # lost; its movements (ending with the churn movement) still sum to zero.
    account.mrr = Decimal(mrr)
    if account.status == AccountStatus.CHURNED:
        assert account.churned_on is not None
        spec.movements.append((MovementKind.CHURN, account.churned_on, mrr, account.get_churn_type_display()))
        account.renewal_date = next_anniversary(
            account.contract_start, account.churned_on - timedelta(days=1)
        )
    else:
        account.renewal_date = next_anniversary(account.contract_start, today)


def contact_seeds(rng: random.Random, spec: Spec, *, today: date) -> list[ContactSeed]:
    """A generic account's people: operations and an executive, plus a few more in bigger companies."""
    account, region = spec.account, spec.region
    count = rng.choices((2, 3, 4, 5), weights=_CONTACT_COUNTS[account.employee_band])[0]
    slots = ["ops", "exec", *rng.sample(["it", "finance", "user", "user"], count - 2)]
    titles = _TITLES[spec.lang]
    seeds: list[ContactSeed] = []
    names: set[str] = set()
    for slot in slots:
        name, local = _person(rng, region)
        while name in names:
            name, local = _person(rng, region)
        names.add(name)
        seeds.append(
            ContactSeed(
                name=name,
                email=f"{local}@{spec.domain}",
                role=in_script(rng.choice(titles[slot]), region.script),
                phone=_phone(rng, region.people, region) if rng.random() < 0.7 else "",
                is_decision_maker=slot == "exec",
            )
        )
    ops, executive = seeds[0], seeds[1]
    if account.employee_band == EmployeeBand.MICRO and rng.random() < 0.3:
        executive.is_champion = True  # in a micro business the boss runs the tool herself
    elif rng.random() < 0.8:
        ops.is_champion = True
    champion = next((seed for seed in seeds if seed.is_champion), None)
    (champion or executive).is_primary = True
    end = account.churned_on or today
    if champion is not None and champion is not executive and rng.random() < 0.07:
        earliest = max(account.contract_start + timedelta(days=30), today - timedelta(days=180))
        if earliest < end:
            champion.left_on = earliest + timedelta(days=rng.randint(0, (end - earliest).days - 1))
            # Someone who left is nobody's primary contact; sometimes a new champion steps up.
            champion.is_primary, executive.is_primary = False, True
            if len(seeds) > 2 and rng.random() < 0.4:
                seeds[2].is_champion = True
    return seeds


def assign_tiers_and_owners(rng: random.Random, specs: list[Spec]) -> None:
    """Tier A is the top ~10% by MRR, B the next ~30%, C the rest; stories keep their tier."""
    ranked = sorted(range(len(specs)), key=lambda i: (-specs[i].account.mrr, i))
    a_count, b_count = round(len(specs) * 0.1), round(len(specs) * 0.3)
    for rank, index in enumerate(ranked):
        tier = ValueTier.A if rank < a_count else ValueTier.B if rank < a_count + b_count else ValueTier.C
        specs[index].account.value_tier = specs[index].fixed_tier or tier
    # A few small active accounts have nobody assigned: the queue should show that gap.
    open_c = [
        s for s in specs if not s.story and s.account.value_tier == ValueTier.C and not s.account.churned_on
    ]
    for spec in rng.sample(open_c, min(len(open_c), round(len(specs) * 0.03))):
        spec.owner = None
    for spec in specs:
        if spec.owner == "":
            spec.owner = "csm" if rng.random() < 0.5 else "csm2"
