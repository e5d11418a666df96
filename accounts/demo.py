"""Demo data that makes the product explain itself (DESIGN.md, "Demo data tells stories").

`seed_demo` wipes every account and builds a fresh book of business: plausible Chinese- and
English-named customers across Taiwan, Hong Kong, mainland China and South-East Asia, with
contacts, a timeline of touchpoints and an MRR history, plus a fixed set of *story accounts*
(`STORIES`) that always exist so a demo can walk straight to them. `health.demo` then adds
daily health metrics and signal events in step with each account's story, scores the history
and raises today's alerts.

Everything is drawn from one `random.Random(seed)` in a fixed order, so the same seed and the
same `today` give the same rows. The work is set-based: rows are built in Python lists and
written with `bulk_create`, never one `save()` per row.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Protocol

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from csworkbench.core.roles import Role

from .models import (
    Account,
    AccountStatus,
    AcquisitionChannel,
    ChurnType,
    Contact,
    EmployeeBand,
    Industry,
    MovementKind,
    MrrMovement,
    Sentiment,
    Touchpoint,
    TouchpointKind,
    ValueTier,
)

BATCH_SIZE = 2000
# Touchpoints are the bulk of the rows; they are written as they are generated so 10,000
# accounts never hold a few hundred thousand model instances in memory at once.
TOUCHPOINT_FLUSH = 20_000


class _Writer(Protocol):
    def write(self, msg: str, /) -> Any: ...


# --- Demo users --------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    group: str
    landing: str
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def email(self) -> str:
        return f"{self.first_name}.{self.last_name}@csworkbench.example".lower()


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("csm", "Alice", "Chen", Role.CSM, "/queue/"),
    DemoUser("csm2", "Bob", "Lin", Role.CSM, "/queue/"),
    DemoUser("manager", "Maria", "Wang", Role.MANAGER, "/plans/approvals/", is_staff=True),
    DemoUser("interviewer", "Ivan", "Huang", Role.INTERVIEWER, "/interviews/"),
    DemoUser("admin", "Grace", "Liu", Role.ADMIN, "/accounts/", is_staff=True, is_superuser=True),
)


# --- Story accounts ----------------------------------------------------------------------


@dataclass(frozen=True)
class Story:
    key: str
    external_id: str
    name: str
    summary: str
    # For the churned stories: the exit-interview reason a later seeding step should record.
    churn_reason: str = ""


STORIES: tuple[Story, ...] = (
    Story("thriving", "NWT-000001", "Northwind Trading 北風貿易", "Tier A, weekly happy touches, expanding"),
    Story(
        "champion_left",
        "HBR-000002",
        "Harbor Logistics 港灣物流",
        "Tier A; champion left ~40 days ago, negative since, renewal in ~75 days",
    ),
    Story("onboarding", "SPROUT-000003", "Sprout Design 新芽設計", "SMB 12 days in, not activated yet"),
    Story(
        "polite",
        "POLITE-000004",
        "Polite Co 禮貌科技",
        "Answers every email warmly, but nobody logs in any more",
    ),
    Story(
        "churned_price",
        "BRIGHT-000005",
        "Brightpath Tutoring 明路文教",
        "Cancelled: too expensive",
        churn_reason="price_value/too_expensive",
    ),
    Story(
        "churned_feature",
        "KEYSTONE-000006",
        "Keystone Precision 基石精密",
        "Did not renew: missing feature",
        churn_reason="product/missing_feature",
    ),
    Story(
        "churned_competitor",
        "LUMEN-000007",
        "Lumen Retail 流明零售",
        "Cancelled: moved to a cheaper competitor",
        churn_reason="competitor/price",
    ),
    Story(
        "churned_closed",
        "LANTERN-000008",
        "Golden Lantern Café 金燈籠餐飲",
        "Cancelled: the business closed",
        churn_reason="unavoidable/closed",
    ),
    Story(
        "churned_onboarding",
        "SWIFT-000009",
        "Swiftlane Apparel 迅捷服飾",
        "Cancelled in the first 90 days: weak onboarding",
        churn_reason="service/weak_onboarding",
    ),
)
# story key -> external_id, so later steps (health metrics, plans, interviews) can find them.
STORY_ACCOUNTS: dict[str, str] = {story.key: story.external_id for story in STORIES}
_STORY = {story.key: story for story in STORIES}


# --- Word lists --------------------------------------------------------------------------

# Chinese text is written once in traditional characters; mainland and South-East Asian
# customers get it converted with this table (only the characters these lists use).
_TRAD_SIMP = (
    "華华興兴豐丰達达義义匯汇聯联遠远東东億亿順顺榮荣寶宝揚扬晉晋恆恒軟软體体資资訊讯數数雲云"
    "網网電电購购優优選选貨货貿贸機机業业製制補补習习學学醫医療疗診诊險险經经紀纪財财務务顧顾"
    "問问會会計计師师傳传銷销創创廣广運运遞递飲饮團团實实國国際际總总執执長长營营專专統统員员"
    "採采門门陳陈張张黃黄吳吴劉刘楊杨許许鄭郑謝谢孫孙馬马傑杰穎颖詩诗麗丽偉伟靜静凱凯"
)
_SIMPLIFY = str.maketrans(_TRAD_SIMP[0::2], _TRAD_SIMP[1::2])


def _in_script(text: str, script: str) -> str:
    return text.translate(_SIMPLIFY) if script == "hans" else text


@dataclass(frozen=True)
class _Region:
    name: str
    weight: int
    script: str  # how Chinese is written there: "hant" or "hans"
    zh_share: float  # share of companies with a Chinese name
    people: str  # naming convention of the people: tw, hk, cn, sea
    en_suffixes: tuple[str, ...]
    zh_suffixes: tuple[str, ...]


_TW_EN = ("Ltd", "Inc.", "Co., Ltd.", "")
_TW_ZH = ("", "", "有限公司", "股份有限公司")
REGIONS: tuple[_Region, ...] = (
    _Region("Taipei", 26, "hant", 0.65, "tw", _TW_EN, _TW_ZH),
    _Region("Taichung", 10, "hant", 0.7, "tw", _TW_EN, _TW_ZH),
    _Region("Kaohsiung", 8, "hant", 0.75, "tw", _TW_EN, _TW_ZH),
    _Region("Hong Kong", 10, "hant", 0.5, "hk", ("Limited", "Ltd", ""), ("", "有限公司")),
    _Region("Shanghai", 12, "hans", 0.75, "cn", ("Co., Ltd.", "Ltd", ""), ("", "有限公司")),
    _Region("Shenzhen", 10, "hans", 0.75, "cn", ("Co., Ltd.", "Ltd", ""), ("", "有限公司")),
    _Region("Singapore", 15, "hans", 0.15, "sea", ("Pte Ltd", "Pte. Ltd.", ""), ("", "私人有限公司")),
    _Region("Kuala Lumpur", 9, "hans", 0.12, "sea", ("Sdn Bhd", "Sdn. Bhd.", ""), ("", "有限公司")),
)
_REGION = {region.name: region for region in REGIONS}
_PHONE_PREFIX = {"tw": "+886", "hk": "+852", "cn": "+86"}

# Industry -> (English words, Chinese words) that follow the brand in a company name.
_INDUSTRY_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Industry.SOFTWARE: (
        ("Software", "Systems", "Digital", "Cloud", "Labs", "Technologies"),
        ("軟體", "資訊", "數位科技", "雲端", "網路科技"),
    ),
    Industry.ECOMMERCE: (("Commerce", "Online", "Direct", "Shop"), ("電商", "網購", "優選", "商城")),
    Industry.RETAIL: (("Retail", "Stores", "Trading", "Mart", "Supply"), ("零售", "百貨", "商行", "貿易")),
    Industry.MANUFACTURING: (
        ("Manufacturing", "Industries", "Precision", "Machinery", "Components"),
        ("精密", "機械", "工業", "電子", "製造"),
    ),
    Industry.EDUCATION: (
        ("Education", "Academy", "Learning", "Tutoring"),
        ("教育科技", "補習班", "文教", "學苑"),
    ),
    Industry.HEALTHCARE: (("Health", "Medical", "Clinics", "Care"), ("醫療", "生技", "診所", "健康管理")),
    Industry.FINANCE: (
        ("Capital", "Finance", "Insurance Agency", "Payments"),
        ("金融", "保險經紀", "財務顧問", "支付"),
    ),
    Industry.PROFESSIONAL: (
        ("Consulting", "Partners", "Advisory", "Accounting"),
        ("顧問", "會計師事務所", "管理顧問", "法律事務所"),
    ),
    Industry.MEDIA: (("Media", "Creative", "Marketing", "Studio"), ("傳媒", "行銷", "創意", "廣告")),
    Industry.LOGISTICS: (("Logistics", "Freight", "Express", "Shipping"), ("物流", "貨運", "快遞", "航運")),
    Industry.HOSPITALITY: (("Hospitality", "Hotels", "Dining", "Kitchen"), ("餐飲", "酒店", "旅宿", "咖啡")),
    Industry.OTHER: (("Group", "Holdings", "Enterprises", "Services"), ("集團", "實業", "企業", "國際")),
}
_INDUSTRY_WEIGHTS: dict[str, int] = {
    Industry.SOFTWARE: 12,
    Industry.ECOMMERCE: 12,
    Industry.RETAIL: 12,
    Industry.MANUFACTURING: 12,
    Industry.EDUCATION: 8,
    Industry.HEALTHCARE: 7,
    Industry.FINANCE: 6,
    Industry.PROFESSIONAL: 9,
    Industry.MEDIA: 7,
    Industry.LOGISTICS: 7,
    Industry.HOSPITALITY: 6,
    Industry.OTHER: 2,
}

# English brands: a few classics plus two-part compounds ("Bluewave", "Cedarpoint"): ~600 brands.
_EN_BRANDS = (
    "Acme", "Vertex", "Nimbus", "Orbit", "Zenith", "Apex", "Nova", "Atlas", "Helix", "Quanta",
    "Kestrel", "Falcon", "Meridian", "Horizon", "Beacon", "Tidal", "Mosaic", "Cobalt", "Sterling", "Lumina",
)  # fmt: skip
_EN_FIRST = (
    "Blue", "Silver", "North", "Bright", "Red", "Green", "Sun", "Star", "Iron", "Clear", "Swift", "True",
    "Peak", "Oak", "Cedar", "Harbor", "River", "Stone", "Sky", "Golden", "Maple", "Pine", "Crystal", "Coral",
    "Jade", "Lotus", "Amber", "East", "West", "Summit",
)  # fmt: skip
_EN_SECOND = (
    "wave", "line", "point", "field", "bridge", "gate", "light", "path", "leaf", "crest", "view", "ridge",
    "port", "mark", "wind", "stone", "bay", "brook", "spring", "works",
)  # fmt: skip

# Chinese brands: two auspicious characters (with pinyin for the e-mail domain): ~2,500 brands.
_ZH_BRAND_CHARS = (
    ("華", "hua"), ("興", "xing"), ("永", "yong"), ("豐", "feng"), ("宏", "hong"), ("達", "da"),
    ("信", "xin"), ("義", "yi"), ("金", "jin"), ("鼎", "ding"), ("泰", "tai"), ("昌", "chang"),
    ("隆", "long"), ("盛", "sheng"), ("匯", "hui"), ("通", "tong"), ("聯", "lian"), ("合", "he"),
    ("德", "de"), ("光", "guang"), ("明", "ming"), ("遠", "yuan"), ("新", "xin"), ("東", "dong"),
    ("南", "nan"), ("北", "bei"), ("晨", "chen"), ("星", "xing"), ("海", "hai"), ("山", "shan"),
    ("天", "tian"), ("瑞", "rui"), ("祥", "xiang"), ("恆", "heng"), ("安", "an"), ("康", "kang"),
    ("富", "fu"), ("嘉", "jia"), ("億", "yi"), ("順", "shun"), ("榮", "rong"), ("寶", "bao"),
    ("鑫", "xin"), ("辰", "chen"), ("源", "yuan"), ("立", "li"), ("揚", "yang"), ("益", "yi"),
    ("晉", "jin"), ("凱", "kai"),
)  # fmt: skip

# Surname: (traditional, pinyin, Taiwanese romanisation, Cantonese romanisation).
_SURNAMES = (
    ("陳", "chen", "chen", "chan"), ("林", "lin", "lin", "lam"), ("王", "wang", "wang", "wong"),
    ("張", "zhang", "chang", "cheung"), ("李", "li", "lee", "lee"), ("黃", "huang", "huang", "wong"),
    ("吳", "wu", "wu", "ng"), ("劉", "liu", "liu", "lau"), ("蔡", "cai", "tsai", "choi"),
    ("楊", "yang", "yang", "yeung"), ("許", "xu", "hsu", "hui"), ("鄭", "zheng", "cheng", "cheng"),
    ("謝", "xie", "hsieh", "tse"), ("郭", "guo", "kuo", "kwok"), ("洪", "hong", "hung", "hung"),
    ("曾", "zeng", "tseng", "tsang"), ("周", "zhou", "chou", "chow"), ("徐", "xu", "hsu", "tsui"),
    ("孫", "sun", "sun", "suen"), ("馬", "ma", "ma", "ma"),
)  # fmt: skip
# Given name: (traditional, pinyin, Taiwanese romanisation).
_GIVEN_NAMES = (
    ("志明", "zhiming", "chihming"), ("雅婷", "yating", "yating"), ("家豪", "jiahao", "chiahao"),
    ("怡君", "yijun", "yichun"), ("俊傑", "junjie", "chunchieh"), ("淑芬", "shufen", "shufen"),
    ("建宏", "jianhong", "chienhung"), ("美玲", "meiling", "meiling"), ("冠宇", "guanyu", "kuanyu"),
    ("欣怡", "xinyi", "hsinyi"), ("宗翰", "zonghan", "tsunghan"), ("佳穎", "jiaying", "chiaying"),
    ("承恩", "chengen", "chengen"), ("詩涵", "shihan", "shihhan"), ("柏翰", "bohan", "pohan"),
    ("宜蓁", "yizhen", "yichen"), ("文傑", "wenjie", "wenchieh"), ("國華", "guohua", "kuohua"),
    ("麗華", "lihua", "lihua"), ("浩然", "haoran", "haojan"), ("子涵", "zihan", "tzuhan"),
    ("偉", "wei", "wei"), ("靜", "jing", "ching"), ("敏", "min", "min"),
)  # fmt: skip
_EN_FIRST_NAMES = (
    "Alice", "Brian", "Cheryl", "Daniel", "Evelyn", "Grace", "Irene", "Jason", "Kelvin", "Kevin", "Lydia",
    "Marcus", "Oliver", "Rachel", "Samuel", "Tanya", "Vincent", "Wendy", "Joanne", "Eric", "Amy", "Jerry",
    "Vivian", "Peter",
)  # fmt: skip
# South-East Asian people: (first names, surnames, weight).
_SEA_PEOPLE = (
    ((*_EN_FIRST_NAMES, "Wei Ling", "Jia Hui", "Kai Wen"),
     ("Tan", "Lim", "Lee", "Ng", "Wong", "Goh", "Chua", "Ong", "Teo", "Koh"), 60),
    (("Farid", "Hafiz", "Nurul", "Aisyah", "Siti", "Amir", "Zulkifli"),
     ("Rahman", "Abdullah", "Ismail", "Hassan", "Yusof"), 25),
    (("Ravi", "Priya", "Arjun", "Kavitha", "Suresh"), ("Nair", "Kumar", "Pillai", "Menon", "Raj"), 15),
)  # fmt: skip

# Titles by the contact's place in the account; Chinese ones are converted per script.
_TITLES = {
    "en": {
        "exec": ("CEO", "Managing Director", "COO", "General Manager"),
        "ops": ("Operations Manager", "Head of Operations", "Customer Service Lead", "Office Manager"),
        "it": ("IT Manager", "Systems Administrator", "Head of IT"),
        "finance": ("Finance Manager", "Procurement Officer", "Financial Controller"),
        "user": ("Sales Manager", "Marketing Lead", "Team Lead", "Analyst"),
    },
    "zh": {
        "exec": ("總經理", "執行長", "營運長", "董事長"),
        "ops": ("營運經理", "客服主管", "行政經理", "專案經理"),
        "it": ("資訊主管", "系統管理員", "IT 經理"),
        "finance": ("財務經理", "採購專員", "會計主管"),
        "user": ("業務經理", "行銷主管", "門市店長", "分析師"),
    },
}

_BANDS = (
    (EmployeeBand.MICRO, 25),
    (EmployeeBand.SMALL, 35),
    (EmployeeBand.MEDIUM, 22),
    (EmployeeBand.LARGE, 13),
    (EmployeeBand.ENTERPRISE, 5),
)
_PLANS_BY_BAND: dict[str, tuple[tuple[str, int], ...]] = {
    EmployeeBand.MICRO: (("Starter", 80), ("Growth", 20)),
    EmployeeBand.SMALL: (("Starter", 45), ("Growth", 45), ("Business", 10)),
    EmployeeBand.MEDIUM: (("Growth", 45), ("Business", 45), ("Enterprise", 10)),
    EmployeeBand.LARGE: (("Business", 55), ("Enterprise", 45)),
    EmployeeBand.ENTERPRISE: (("Business", 15), ("Enterprise", 85)),
}
# Typical MRR of a plan, scaled by company size; a log-normal spread around it gives the long tail.
_PLAN_MRR = {"Starter": 120, "Growth": 600, "Business": 2200, "Enterprise": 7500}
_BAND_FACTOR = {
    EmployeeBand.MICRO: 0.7,
    EmployeeBand.SMALL: 1.0,
    EmployeeBand.MEDIUM: 1.4,
    EmployeeBand.LARGE: 2.0,
    EmployeeBand.ENTERPRISE: 3.2,
}
_CHANNELS_BY_BAND: dict[str, tuple[tuple[str, int], ...]] = {
    EmployeeBand.MICRO: (
        (AcquisitionChannel.SELF_SERVE, 45),
        (AcquisitionChannel.INBOUND, 25),
        (AcquisitionChannel.REFERRAL, 15),
        (AcquisitionChannel.MARKETPLACE, 10),
        (AcquisitionChannel.PARTNER, 5),
    ),
    EmployeeBand.SMALL: (
        (AcquisitionChannel.SELF_SERVE, 25),
        (AcquisitionChannel.INBOUND, 30),
        (AcquisitionChannel.REFERRAL, 15),
        (AcquisitionChannel.MARKETPLACE, 10),
        (AcquisitionChannel.PARTNER, 10),
        (AcquisitionChannel.OUTBOUND, 10),
    ),
    EmployeeBand.MEDIUM: (
        (AcquisitionChannel.INBOUND, 30),
        (AcquisitionChannel.OUTBOUND, 25),
        (AcquisitionChannel.PARTNER, 20),
        (AcquisitionChannel.REFERRAL, 15),
        (AcquisitionChannel.SELF_SERVE, 5),
        (AcquisitionChannel.MARKETPLACE, 5),
    ),
}
_CHANNELS_BY_BAND[EmployeeBand.LARGE] = _CHANNELS_BY_BAND[EmployeeBand.ENTERPRISE] = (
    (AcquisitionChannel.OUTBOUND, 50),
    (AcquisitionChannel.PARTNER, 25),
    (AcquisitionChannel.INBOUND, 15),
    (AcquisitionChannel.REFERRAL, 10),
)
_CONTACT_COUNTS = {
    EmployeeBand.MICRO: (50, 35, 15, 0),
    EmployeeBand.SMALL: (30, 40, 20, 10),
    EmployeeBand.MEDIUM: (15, 35, 30, 20),
    EmployeeBand.LARGE: (5, 25, 35, 35),
    EmployeeBand.ENTERPRISE: (0, 20, 35, 45),
}

# --- Touchpoint text ---------------------------------------------------------------------
# CSMs write in English or traditional Chinese whatever the customer's script; only quoted
# customer words keep the customer's own script.

_FEATURES = (
    ("reporting module", "報表模組"),
    ("dashboards", "儀表板"),
    ("approval workflow", "簽核流程"),
    ("mobile app", "行動 App"),
    ("API integration", "API 串接"),
    ("single sign-on", "單一登入"),
    ("scheduling", "自動排程"),
    ("inventory sync", "庫存同步"),
)
_DEPTS = (
    ("sales", "業務部"),
    ("operations", "營運部"),
    ("finance", "財務部"),
    ("customer service", "客服部"),
    ("warehouse", "倉儲部"),
    ("marketing", "行銷部"),
)
_C, _M, _E, _N = TouchpointKind.CALL, TouchpointKind.MEETING, TouchpointKind.EMAIL, TouchpointKind.NOTE
_POS, _NEU, _NEG = Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE
_KINDS = (_C, _M, _E, _N)
_KIND_WEIGHTS = (25, 15, 45, 15)

_TEMPLATES: dict[str, dict[str, dict[str, tuple[tuple[str, str], ...]]]] = {
    "en": {
        _POS: {
            _C: (
                (
                    "Monthly check-in with {contact}",
                    "Usage is steady and the team likes the {feature}. "
                    "{contact} asked about next quarter's roadmap.",
                ),
                ("Call: {dept} rollout", "{contact} says the {dept} team is fully on board; no open issues."),
            ),
            _M: (
                (
                    "Quarterly business review",
                    "Walked through adoption: {n} teams active. "
                    "{contact} wants the {feature} for the {dept} team too.",
                ),
                (
                    "Success plan review",
                    "Goals for this half are on track. Agreed to share a {feature} best-practice guide.",
                ),
            ),
            _E: (
                (
                    "Re: {feature} rollout",
                    "{contact} confirmed the rollout went smoothly and thanked the team.",
                ),
                (
                    "Re: Monthly usage summary",
                    "{contact}: great numbers this month, sharing them with management.",
                ),
            ),
            _N: (
                (
                    "Expansion signal",
                    "{contact} mentioned hiring {n} more people in {dept}; seats likely to grow.",
                ),
                ("Reference candidate", "{contact} offered to talk to prospects about the {feature}."),
            ),
        },
        _NEU: {
            _C: (
                (
                    "Check-in call",
                    "Routine check-in with {contact}. Reminded them about the {feature} training.",
                ),
                (
                    "Call: admin question",
                    "{contact} asked how to change user permissions; walked through it.",
                ),
            ),
            _M: (
                ("Training session: {feature}", "{n} users attended. Most questions were about permissions."),
                ("Onboarding review", "Reviewed set-up progress with {contact}; the {dept} team is next."),
            ),
            _E: (
                ("Release notes: {feature}", "Sent the release highlights for the {feature}. No reply yet."),
                ("Invoice copy", "{contact} asked for a copy of last month's invoice; sent."),
            ),
            _N: (
                ("Account review", "Renewal is on the calendar; nothing unusual."),
                ("Contact update", "{contact} is now the go-to person for the {dept} team."),
            ),
        },
        _NEG: {
            _C: (
                (
                    "Support escalation follow-up",
                    "{contact} is frustrated with slow answers on a {feature} ticket.",
                ),
                ("Call: adoption concerns", "{contact} says the {dept} team still prefers spreadsheets."),
            ),
            _M: (
                (
                    "Issue review meeting",
                    "Went through open tickets with {contact}; two are overdue on our side.",
                ),
            ),
            _E: (
                ("Re: invoice question", "Finance asked why the invoice went up; sent the breakdown."),
                (
                    "Re: {feature} not working as expected",
                    "{contact} reports the {feature} keeps timing out.",
                ),
            ),
            _N: (
                (
                    "Low adoption",
                    "Few users logged in this month; the {dept} team went back to spreadsheets.",
                ),
            ),
        },
    },
    "zh": {
        _POS: {
            _C: (
                (
                    "月度關懷:{contact}",
                    "使用狀況穩定,團隊很喜歡{feature_zh}。{contact}詢問下一季的產品規劃。",
                ),
                ("電話:{dept_zh}導入進度", "{contact}表示{dept_zh}已全面上線,目前沒有問題。"),
            ),
            _M: (
                (
                    "季度業務檢視(QBR)",
                    "檢視導入成果:{n} 個團隊在使用。{contact}希望把{feature_zh}推廣到{dept_zh}。",
                ),
                ("成功計畫檢視", "本季目標進度良好,答應提供{feature_zh}的最佳實務文件。"),
            ),
            _E: (
                ("回覆:{feature_zh}導入", "{contact}回信表示導入順利,謝謝我們的協助。"),
                ("回覆:本月使用報告", "{contact}:本月數字很漂亮,會轉給主管。"),
            ),
            _N: (
                ("擴充訊號", "{contact}提到{dept_zh}下個月會再增加 {n} 位同事,席次可能增加。"),
                ("可當推薦客戶", "{contact}願意跟潛在客戶分享{feature_zh}的使用經驗。"),
            ),
        },
        _NEU: {
            _C: (
                ("例行關懷電話", "與{contact}例行聯繫,提醒{feature_zh}教育訓練的時間。"),
                ("電話:權限設定", "{contact}詢問如何調整使用者權限,已說明。"),
            ),
            _M: (
                ("教育訓練:{feature_zh}", "共 {n} 位使用者參加,問題多與權限設定有關。"),
                ("導入進度會議", "與{contact}檢視設定進度,下一步是{dept_zh}。"),
            ),
            _E: (
                ("新版功能說明:{feature_zh}", "寄出{feature_zh}的新版重點,尚未回覆。"),
                ("發票副本", "{contact}索取上月發票副本,已寄出。"),
            ),
            _N: (
                ("帳戶檢視", "續約日已排入行事曆,目前無異狀。"),
                ("聯絡人更新", "{dept_zh}的窗口改為{contact}。"),
            ),
        },
        _NEG: {
            _C: (
                ("客服升級追蹤", "{contact}對{feature_zh}相關工單的回覆速度有些抱怨。"),
                ("電話:使用率疑慮", "{contact}說{dept_zh}還是習慣用 Excel。"),
            ),
            _M: (("問題檢討會議", "和{contact}逐一檢視未結工單,有兩張是我們這邊逾期。"),),
            _E: (
                ("回覆:帳單疑問", "財務詢問為什麼帳單金額變高,已寄送明細。"),
                ("回覆:{feature_zh}異常", "{contact}反映{feature_zh}經常逾時。"),
            ),
            _N: (("使用率偏低", "本月只有少數人登入,{dept_zh}又回去用 Excel。"),),
        },
    },
}
# Negative touchpoints that carry the risk words the alerts look for (DESIGN.md, leading indicators).
_RISK_TEMPLATES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "en": (
        (
            _C,
            "Escalation: {contact} unhappy",
            "{contact} is unhappy with report load times and asked how to cancel the extra seats.",
        ),
        (_E, "Re: Renewal", "{contact}: the price is hard to justify for us; we may cancel at renewal."),
        (_N, "Cancellation risk", "{contact} mentioned they are evaluating alternatives and might cancel."),
    ),
    "zh": (
        (_C, "客戶表達不滿意", "{contact}表示對報表速度很不滿意,詢問如何取消部分席次。"),
        (_E, "回覆:續約", "{contact}:以目前的使用量來看價格太貴,續約時可能會取消。"),
        (_N, "流失風險", "{contact}提到正在評估其他方案,考慮換掉我們。"),
    ),
    # Quoted words of a mainland customer, in simplified characters.
    "zh-hans": ((_N, "流失風險", "客戶原話:「价格太贵了,我们对现在的效果不满意,可能会取消。」"),),
}
# Polite Co answers everything, warmly, and uses nothing: "politeness is not loyalty".
_POLITE_TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        (
            "Re: New dashboard features",
            "{contact}: Thank you so much, this looks great! We'll share it with the team.",
        ),
        ("Re: Training invitation", "{contact}: Thanks for the invite, we'll try to join!"),
        ("Re: Monthly usage summary", "{contact}: Thanks for the summary, very helpful as always."),
        ("Re: Best practices for {feature}", "{contact}: Much appreciated, we'll look into it next week."),
    ),
    "zh": (
        ("回覆:新功能介紹", "{contact}:非常感謝,看起來很棒!我們會分享給團隊。"),
        ("回覆:教育訓練邀請", "{contact}:謝謝邀請,我們會盡量安排參加!"),
        ("回覆:本月使用報告", "{contact}:謝謝整理,一如往常很有幫助。"),
    ),
}
# How an account's mood colours its touchpoints: weights of positive, neutral, negative.
_MOOD_SENTIMENT = {
    "thriving": (85, 15, 0),
    "healthy": (60, 35, 5),
    "steady": (30, 55, 15),
    "at_risk": (10, 40, 50),
}
# Monthly chance of an expansion and of a contraction, by mood.
_MOOD_DRIFT = {
    "thriving": (0.06, 0.0),
    "healthy": (0.035, 0.005),
    "steady": (0.02, 0.01),
    "at_risk": (0.01, 0.03),
}
_EXPANSION_NOTES = ("Added seats", "Upgraded plan", "Added a module", "加購席次", "新增模組")
_CONTRACTION_NOTES = ("Removed seats", "Dropped an add-on", "減少席次")
# Days between CSM touches by tier (DESIGN.md: A weekly, B every two weeks, C automated only).
_CADENCE = {ValueTier.A: 7, ValueTier.B: 14, ValueTier.C: 75}


# --- Intermediate records ----------------------------------------------------------------


@dataclass(slots=True)
class _ContactSeed:
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
class _Scripted:
    on: date
    kind: str
    subject: str
    body: str
    sentiment: str
    contact: str = ""  # a _ContactSeed.key


@dataclass(slots=True)
class _Spec:
    """One account as planned, before and after it is written."""

    account: Account
    lang: str  # "zh" or "en": the language of the company name and its people's titles
    region: _Region
    domain: str
    mood: str
    movements: list[tuple[str, date, int, str]] = field(default_factory=list)
    story: str = ""
    fixed_tier: str = ""
    owner: str | None = ""  # "" = assign later, None = unassigned, else a demo username
    contact_seeds: list[_ContactSeed] | None = None  # stories bring their own people
    contacts: list[Contact] = field(default_factory=list)
    contact_keys: list[str] = field(default_factory=list)
    cadence: int = 0  # 0 = by tier
    generic_until: date | None = None  # after this day only scripted touchpoints
    mood_shift: tuple[date, str] | None = None
    email_only: bool = False
    polite: bool = False
    scripted: list[_Scripted] = field(default_factory=list)

    def mood_on(self, day: date) -> str:
        if self.mood_shift is not None and day >= self.mood_shift[0]:
            return self.mood_shift[1]
        return self.mood


# --- Small helpers -----------------------------------------------------------------------


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([value for value, _ in weighted], weights=[weight for _, weight in weighted])[0]


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year + years, day=28)


def _next_anniversary(start: date, after: date) -> date:
    """The first contract anniversary strictly after `after` (annual contracts)."""
    years = max(1, after.year - start.year)
    while _add_years(start, years) <= after:
        years += 1
    return _add_years(start, years)


def _round_money(value: float) -> int:
    step = 10 if value < 1000 else 50
    return max(step, round(value / step) * step)


def _phone(rng: random.Random, people: str, region: _Region) -> str:
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


def _person(rng: random.Random, region: _Region) -> tuple[str, str]:
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
        return _in_script(surname[0] + given[0], "hans"), f"{given[1]}.{surname[1]}"
    return surname[0] + given[0], f"{given[2]}.{surname[2]}"


class _NameBook:
    """Company names from word lists, unique within one seeding run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def reserve(self, name: str) -> None:
        self.used.add(name)

    def make(self, *, industry: str, region: _Region, chinese: bool) -> tuple[str, str, str]:
        """Return (name, external-id prefix, e-mail domain)."""
        rng = self.rng
        en_words, zh_words = _INDUSTRY_WORDS[industry]
        name = prefix = slug = ""
        for _ in range(6):
            if chinese:
                first, second = rng.sample(_ZH_BRAND_CHARS, 2)
                word, suffix = rng.choice(zh_words), rng.choice(region.zh_suffixes)
                name = _in_script(first[0] + second[0] + word + suffix, region.script)
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


def _generic_specs(
    rng: random.Random, *, count: int, today: date, names: _NameBook, first_number: int
) -> list[_Spec]:
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
        spec = _Spec(account=account, lang="zh" if chinese else "en", region=region, domain=domain, mood="")
        spec.movements = [(MovementKind.NEW, account.contract_start, start_mrr, "New contract")]
        specs.append(spec)
    return specs


def _churn_some(rng: random.Random, specs: list[_Spec], *, target: int, today: date, days: int) -> None:
    """Churn `target` of the accounts inside the last `days` days, after their contract start."""
    window_start = today - timedelta(days=days)
    eligible = [spec for spec in specs if spec.account.contract_start <= today - timedelta(days=15)]
    for spec in rng.sample(eligible, min(target, len(eligible))):
        account = spec.account
        earliest = max(account.contract_start + timedelta(days=14), window_start)
        anniversaries = [
            day
            for years in range(1, 4)
            if earliest <= (day := _add_years(account.contract_start, years)) < today
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


def _plan_generic_history(rng: random.Random, spec: _Spec, *, today: date) -> None:
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
        account.renewal_date = _next_anniversary(
            account.contract_start, account.churned_on - timedelta(days=1)
        )
    else:
        account.renewal_date = _next_anniversary(account.contract_start, today)


def _contact_seeds(rng: random.Random, spec: _Spec, *, today: date) -> list[_ContactSeed]:
    account, region = spec.account, spec.region
    count = rng.choices((2, 3, 4, 5), weights=_CONTACT_COUNTS[account.employee_band])[0]
    slots = ["ops", "exec", *rng.sample(["it", "finance", "user", "user"], count - 2)]
    titles = _TITLES[spec.lang]
    seeds: list[_ContactSeed] = []
    names: set[str] = set()
    for slot in slots:
        name, local = _person(rng, region)
        while name in names:
            name, local = _person(rng, region)
        names.add(name)
        seeds.append(
            _ContactSeed(
                name=name,
                email=f"{local}@{spec.domain}",
                role=_in_script(rng.choice(titles[slot]), region.script),
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


def _assign_tiers_and_owners(rng: random.Random, specs: list[_Spec]) -> None:
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


# --- Story accounts ----------------------------------------------------------------------


def _story_spec(
    key: str,
    *,
    region: str,
    industry: str,
    band: str,
    channel: str,
    plan: str,
    contract_start: date,
    domain: str,
    mood: str,
    tier: str = "",
    owner: str = "csm",
) -> _Spec:
    story = _STORY[key]
    account = Account(
        external_id=story.external_id,
        name=story.name,
        industry=industry,
        employee_band=band,
        region=region,
        acquisition_channel=channel,
        plan=plan,
        contract_start=contract_start,
        status=AccountStatus.ACTIVE,
    )
    return _Spec(
        account=account,
        lang="zh",
        region=_REGION[region],
        domain=domain,
        mood=mood,
        story=key,
        fixed_tier=tier,
        owner=owner,
    )


def _close_story(spec: _Spec, *, today: date) -> None:
    """Derive MRR, churn movement and renewal from the story's scripted movements."""
    account = spec.account
    mrr = 0
    for kind, _, amount, _ in spec.movements:
        mrr += -amount if kind in (MovementKind.CONTRACTION, MovementKind.CHURN) else amount
    account.mrr = Decimal(mrr)
    if account.churned_on is not None:
        account.status = AccountStatus.CHURNED
        spec.movements.append((MovementKind.CHURN, account.churned_on, mrr, account.get_churn_type_display()))
        account.renewal_date = _next_anniversary(
            account.contract_start, account.churned_on - timedelta(days=1)
        )
    else:
        account.renewal_date = _next_anniversary(account.contract_start, today)


def _story_specs(*, today: date, days: int) -> list[_Spec]:
    def ago(n: int) -> date:
        return today - timedelta(days=n)

    specs: list[_Spec] = []
    new, exp, con = MovementKind.NEW, MovementKind.EXPANSION, MovementKind.CONTRACTION

    # Thriving: weekly, warm touches and steady expansion.
    s = _story_spec(
        "thriving",
        region="Taipei",
        industry=Industry.RETAIL,
        band=EmployeeBand.LARGE,
        channel=AcquisitionChannel.OUTBOUND,
        plan="Enterprise",
        contract_start=ago(800),
        domain="northwind.example",
        mood="thriving",
        tier=ValueTier.A,
    )
    start = s.account.contract_start
    s.movements = [
        (new, start, 9000, "New contract"),
        (exp, start + timedelta(days=200), 2500, "Added the Taichung stores"),
        (exp, start + timedelta(days=480), 3000, "Upgraded to Enterprise analytics"),
        (exp, ago(58), 4000, "Added 40 seats for the Kaohsiung warehouse"),
    ]
    s.contact_seeds = [
        _ContactSeed(
            name="林雅婷",
            email="yating.lin@northwind.example",
            role="營運經理",
            phone="+886 912 345 601",
            is_champion=True,
            is_primary=True,
            key="champion",
        ),
        _ContactSeed(
            name="David Wu",
            email="david.wu@northwind.example",
            role="CEO",
            phone="+886 922 118 020",
            is_decision_maker=True,
            key="ceo",
        ),
        _ContactSeed(
            name="王建宏",
            email="chienhung.wang@northwind.example",
            role="資訊主管",
            phone="+886 933 502 114",
            key="it",
        ),
        _ContactSeed(name="張欣怡", email="hsinyi.chang@northwind.example", role="財務經理", key="finance"),
    ]
    s.cadence = 6
    s.scripted = [
        _Scripted(
            ago(62),
            _M,
            "QBR: rolling out to the Kaohsiung warehouse",
            "林雅婷 presented time saved per order (-18%). David Wu approved 40 more seats.",
            _POS,
            "champion",
        ),
        _Scripted(
            ago(20),
            _C,
            "Multi-year renewal discussion",
            "David Wu asked for a two-year renewal quote with the analytics add-on.",
            _POS,
            "ceo",
        ),
    ]
    specs.append(s)

    # Champion left ~40 days ago; everything since has gone wrong. Renewal in ~75 days.
    s = _story_spec(
        "champion_left",
        region="Kaohsiung",
        industry=Industry.LOGISTICS,
        band=EmployeeBand.LARGE,
        channel=AcquisitionChannel.PARTNER,
        plan="Enterprise",
        contract_start=_add_years(today + timedelta(days=75), -3),
        domain="harborlogistics.example",
        mood="healthy",
        tier=ValueTier.A,
    )
    start = s.account.contract_start
    s.movements = [
        (new, start, 14000, "New contract"),
        (exp, start + timedelta(days=240), 4000, "Added the driver app"),
        (exp, start + timedelta(days=610), 4000, "Added 60 warehouse seats"),
        (con, ago(10), 2000, "Removed 20 warehouse seats"),
    ]
    s.contact_seeds = [
        _ContactSeed(
            name="黃志明",
            email="chihming.huang@harborlogistics.example",
            role="營運經理",
            phone="+886 910 771 203",
            is_champion=True,
            left_on=ago(40),
            key="champion",
        ),
        _ContactSeed(
            name="許國華",
            email="kuohua.hsu@harborlogistics.example",
            role="總經理",
            phone="+886 928 440 917",
            is_decision_maker=True,
            key="gm",
        ),
        _ContactSeed(
            name="陳俊傑",
            email="chunchieh.chen@harborlogistics.example",
            role="新任營運主管",
            phone="+886 955 310 662",
            is_primary=True,
            key="new_ops",
        ),
        _ContactSeed(
            name="吳怡君", email="yichun.wu@harborlogistics.example", role="財務經理", key="finance"
        ),
    ]
    s.cadence = 7
    s.generic_until = ago(42)
    s.scripted = [
        _Scripted(
            ago(41),
            _C,
            "黃志明 is leaving Harbor",
            "Our champion 黃志明 leaves at the end of the month. Asked for an intro to his successor.",
            _NEU,
            "champion",
        ),
        _Scripted(
            ago(36),
            _M,
            "Intro meeting with the new ops lead 陳俊傑",
            "陳俊傑 has not used the platform and prefers the old Excel dispatch sheet.",
            _NEU,
            "new_ops",
        ),
        _Scripted(
            ago(29), _E, "回覆:報表延遲", "陳俊傑反映每日派車報表延遲,倉儲部又回去用 Excel。", _NEG, "new_ops"
        ),
        _Scripted(
            ago(22),
            _C,
            "陳俊傑不滿意 driver app",
            "陳俊傑表示司機 App 太慢,對目前的服務很不滿意。Core-feature use down sharply.",
            _NEG,
            "new_ops",
        ),
        _Scripted(
            ago(15),
            _N,
            "Usage slide since the champion left",
            "Dispatch volume in the tool down ~40% since 黃志明 left. Nobody owns the rollout now.",
            _NEG,
        ),
        _Scripted(
            ago(10),
            _E,
            "Re: seat reduction",
            "吳怡君: removing 20 warehouse seats; for current usage the price is 太貴.",
            _NEG,
            "finance",
        ),
        _Scripted(
            ago(4),
            _C,
            "GM asked about cancel terms",
            "許國華 asked what it takes to cancel before the renewal; "
            "he is unhappy with the last two months.",
            _NEG,
            "gm",
        ),
    ]
    specs.append(s)

    # An SMB twelve days in that has not activated: nobody has been invited yet.
    s = _story_spec(
        "onboarding",
        region="Taipei",
        industry=Industry.MEDIA,
        band=EmployeeBand.MICRO,
        channel=AcquisitionChannel.SELF_SERVE,
        plan="Starter",
        contract_start=ago(12),
        domain="sproutdesign.example",
        mood="steady",
        tier=ValueTier.C,
    )
    s.movements = [(new, s.account.contract_start, 99, "New contract")]
    s.contact_seeds = [
        _ContactSeed(
            name="周子涵",
            email="tzuhan.chou@sproutdesign.example",
            role="負責人",
            phone="+886 987 220 415",
            is_decision_maker=True,
            is_primary=True,
            key="owner",
        ),
        _ContactSeed(
            name="Kevin Hsu", email="kevin.hsu@sproutdesign.example", role="Designer", key="designer"
        ),
    ]
    s.generic_until = ago(days + 1)  # scripted only
    s.scripted = [
        _Scripted(ago(12), _E, "歡迎使用 csworkbench!", "寄出歡迎信與設定指南。", _NEU, "owner"),
        _Scripted(
            ago(9),
            _E,
            "Kick-off call invitation",
            "Proposed three kick-off slots. No reply yet.",
            _NEU,
            "owner",
        ),
        _Scripted(
            ago(5),
            _C,
            "Voicemail for 周子涵",
            "No answer; left a voicemail. Admin has not invited any users yet.",
            _NEU,
            "owner",
        ),
        _Scripted(
            ago(2),
            _E,
            "提醒:帳號設定尚未完成",
            "提醒周子涵邀請同事並匯入第一批專案,尚未回覆。",
            _NEU,
            "owner",
        ),
    ]
    specs.append(s)

    # Polite Co: warm e-mail replies every few days, and nobody logs in.
    s = _story_spec(
        "polite",
        region="Taichung",
        industry=Industry.SOFTWARE,
        band=EmployeeBand.MEDIUM,
        channel=AcquisitionChannel.INBOUND,
        plan="Business",
        contract_start=_add_years(today + timedelta(days=65), -1),
        domain="politeco.example",
        mood="thriving",
        tier=ValueTier.B,
    )
    s.movements = [(new, s.account.contract_start, 3200, "New contract")]
    s.contact_seeds = [
        _ContactSeed(
            name="楊淑芬",
            email="shufen.yang@politeco.example",
            role="行政經理",
            phone="+886 936 118 204",
            is_champion=True,
            is_primary=True,
            key="champion",
        ),
        _ContactSeed(
            name="Peter Tsai",
            email="peter.tsai@politeco.example",
            role="General Manager",
            phone="+886 921 667 309",
            is_decision_maker=True,
            key="gm",
        ),
        _ContactSeed(name="鄭冠宇", email="kuanyu.cheng@politeco.example", role="業務經理", key="sales"),
    ]
    s.cadence, s.email_only, s.polite = 4, True, True
    s.scripted = [
        _Scripted(
            ago(6),
            _N,
            "Warm replies, empty trainings",
            "Every e-mail gets a friendly reply, but nobody came to the last two trainings. Check usage "
            "before the renewal.",
            _NEU,
        ),
    ]
    specs.append(s)

    # Churned, one per reason category, all owned by csm2. Offsets are clamped into the window.
    def churn_day(offset: int) -> date:
        return ago(max(1, min(offset, days - 1)))

    s = _story_spec(
        "churned_price",
        region="Taipei",
        industry=Industry.EDUCATION,
        band=EmployeeBand.SMALL,
        channel=AcquisitionChannel.SELF_SERVE,
        plan="Growth",
        contract_start=churn_day(18) - timedelta(days=400),
        domain="brightpath.example",
        mood="at_risk",
        owner="csm2",
    )
    s.account.churned_on, s.account.churn_type = churn_day(18), ChurnType.CANCELLED
    start, gone = s.account.contract_start, churn_day(18)
    s.movements = [(new, start, 800, "New contract"), (exp, start + timedelta(days=150), 200, "Added seats")]
    s.contact_seeds = [
        _ContactSeed(
            name="蔡美玲",
            email="meiling.tsai@brightpath.example",
            role="班主任",
            phone="+886 933 221 870",
            is_champion=True,
            is_decision_maker=True,
            is_primary=True,
            key="owner",
        ),
        _ContactSeed(name="劉家豪", email="chiahao.liu@brightpath.example", role="行政經理", key="admin"),
    ]
    s.generic_until = ago(days + 1)
    s.scripted = [
        _Scripted(
            gone - timedelta(days=50),
            _E,
            "回覆:價格調整通知",
            "蔡美玲:新價格對補習班來說太貴了。",
            _NEG,
            "owner",
        ),
        _Scripted(
            gone - timedelta(days=30),
            _C,
            "Budget cut",
            "Enrolment is down; 蔡美玲 may cancel to save cost.",
            _NEG,
            "owner",
        ),
        _Scripted(
            gone - timedelta(days=12),
            _M,
            "Retention offer declined",
            "Offered 15% off for a year; declined. Too expensive for their size.",
            _NEG,
            "owner",
        ),
        _Scripted(gone - timedelta(days=1), _E, "取消確認", "已確認取消,下個月起停止計費。", _NEG, "admin"),
    ]
    specs.append(s)

    gone = churn_day(33)
    s = _story_spec(
        "churned_feature",
        region="Taichung",
        industry=Industry.MANUFACTURING,
        band=EmployeeBand.MEDIUM,
        channel=AcquisitionChannel.PARTNER,
        plan="Business",
        contract_start=_add_years(gone, -2),
        domain="keystoneprecision.example",
        mood="steady",
        owner="csm2",
    )
    # Not renewed: it churns exactly on a contract anniversary.
    s.account.churned_on, s.account.churn_type = (
        _add_years(s.account.contract_start, 2),
        ChurnType.NOT_RENEWED,
    )
    gone = s.account.churned_on
    s.movements = [(new, s.account.contract_start, 2600, "New contract")]
    s.contact_seeds = [
        _ContactSeed(
            name="鄭宗翰",
            email="tsunghan.cheng@keystoneprecision.example",
            role="生管經理",
            phone="+886 919 030 447",
            is_champion=True,
            is_primary=True,
            key="champion",
        ),
        _ContactSeed(
            name="李國華",
            email="kuohua.lee@keystoneprecision.example",
            role="總經理",
            is_decision_maker=True,
            key="gm",
        ),
        _ContactSeed(name="Amy Kuo", email="amy.kuo@keystoneprecision.example", role="IT Manager", key="it"),
    ]
    s.generic_until = ago(days + 1)
    s.scripted = [
        _Scripted(
            gone - timedelta(days=60),
            _M,
            "Feature request: multi-plant inventory",
            "Asked again for multi-plant inventory and MES integration. Not on the roadmap this year.",
            _NEG,
            "champion",
        ),
        _Scripted(
            gone - timedelta(days=20),
            _C,
            "續約決定",
            "鄭宗翰:沒有多廠區庫存功能,續約時會換到有 MES 串接的系統。",
            _NEG,
            "champion",
        ),
    ]
    specs.append(s)

    gone = churn_day(47)
    s = _story_spec(
        "churned_competitor",
        region="Shenzhen",
        industry=Industry.RETAIL,
        band=EmployeeBand.SMALL,
        channel=AcquisitionChannel.INBOUND,
        plan="Growth",
        contract_start=gone - timedelta(days=560),
        domain="lumenretail.example",
        mood="steady",
        owner="csm2",
    )
    s.account.churned_on, s.account.churn_type = gone, ChurnType.CANCELLED
    s.movements = [
        (new, s.account.contract_start, 1200, "New contract"),
        (con, gone - timedelta(days=70), 300, "Removed seats"),
    ]
    s.contact_seeds = [
        _ContactSeed(
            name="孙浩然",
            email="haoran.sun@lumenretail.example",
            role="运营经理",
            phone="+86 138 2210 4471",
            is_champion=True,
            is_primary=True,
            key="champion",
        ),
        _ContactSeed(
            name="马丽华",
            email="lihua.ma@lumenretail.example",
            role="总经理",
            is_decision_maker=True,
            key="gm",
        ),
    ]
    s.generic_until = ago(days + 1)
    s.scripted = [
        _Scripted(
            gone - timedelta(days=40),
            _C,
            "Competitor trial",
            "They are trialling a cheaper local competitor for the stores.",
            _NEG,
            "champion",
        ),
        _Scripted(
            gone - timedelta(days=15),
            _N,
            "流失風險",
            "客戶原話:「对方功能差不多,价格便宜一半,我们决定取消。」",
            _NEG,
            "gm",
        ),
    ]
    specs.append(s)

    gone = churn_day(64)
    s = _story_spec(
        "churned_closed",
        region="Hong Kong",
        industry=Industry.HOSPITALITY,
        band=EmployeeBand.MICRO,
        channel=AcquisitionChannel.MARKETPLACE,
        plan="Starter",
        contract_start=gone - timedelta(days=700),
        domain="goldenlantern.example",
        mood="steady",
        owner="csm2",
    )
    s.account.churned_on, s.account.churn_type = gone, ChurnType.CANCELLED
    s.movements = [(new, s.account.contract_start, 150, "New contract")]
    s.contact_seeds = [
        _ContactSeed(
            name="Kelvin Chan",
            email="kelvin.chan@goldenlantern.example",
            role="Owner",
            phone="+852 9123 4470",
            is_champion=True,
            is_decision_maker=True,
            is_primary=True,
            key="owner",
        ),
        _ContactSeed(
            name="Wendy Lau", email="wendy.lau@goldenlantern.example", role="Shop Manager", key="manager"
        ),
    ]
    s.generic_until = ago(days + 1)
    s.scripted = [
        _Scripted(
            gone - timedelta(days=10),
            _C,
            "Closing the café",
            "Kelvin is closing the café at the end of the month; the lease was not renewed. Very kind "
            "about the product.",
            _NEU,
            "owner",
        ),
    ]
    specs.append(s)

    gone = churn_day(85)
    s = _story_spec(
        "churned_onboarding",
        region="Singapore",
        industry=Industry.ECOMMERCE,
        band=EmployeeBand.SMALL,
        channel=AcquisitionChannel.SELF_SERVE,
        plan="Growth",
        contract_start=gone - timedelta(days=70),
        domain="swiftlane.example",
        mood="at_risk",
        owner="csm2",
    )
    s.account.churned_on, s.account.churn_type = gone, ChurnType.CANCELLED
    s.movements = [(new, s.account.contract_start, 700, "New contract")]
    s.contact_seeds = [
        _ContactSeed(
            name="Nurul Hassan",
            email="nurul.hassan@swiftlane.example",
            role="Operations Manager",
            phone="+65 9120 3341",
            is_champion=True,
            is_primary=True,
            key="champion",
        ),
        _ContactSeed(
            name="Daniel Tan",
            email="daniel.tan@swiftlane.example",
            role="Managing Director",
            is_decision_maker=True,
            key="md",
        ),
    ]
    s.generic_until = ago(days + 1)
    start = s.account.contract_start
    s.scripted = [
        _Scripted(
            start + timedelta(days=3),
            _E,
            "Kick-off call invitation",
            "Sent kick-off slots. No reply.",
            _NEU,
            "champion",
        ),
        _Scripted(
            start + timedelta(days=30),
            _C,
            "Set-up stalled",
            "Product import still not done; Nurul is unhappy that nobody walked them through it.",
            _NEG,
            "champion",
        ),
        _Scripted(
            gone - timedelta(days=3),
            _E,
            "Re: Cancellation",
            "Daniel Tan: we never got it running, please cancel our subscription.",
            _NEG,
            "md",
        ),
    ]
    specs.append(s)

    for spec in specs:
        _close_story(spec, today=today)
    return specs


# --- Writing -----------------------------------------------------------------------------


def _ensure_demo_users(password: str) -> dict[str, Any]:
    """Create or update the demo users in place, so reseeding never changes their ids."""
    user_model = get_user_model()
    users: dict[str, Any] = {}
    for demo in DEMO_USERS:
        group, _ = Group.objects.get_or_create(name=demo.group)
        user, _ = user_model.objects.get_or_create(username=demo.username)
        user.first_name, user.last_name, user.email = demo.first_name, demo.last_name, demo.email
        user.is_active, user.is_staff, user.is_superuser = True, demo.is_staff, demo.is_superuser
        user.set_password(password)
        user.save()
        user.groups.set([group])
        users[demo.username] = user
    return users


def _write(model: type[models.Model], rows: list[Any]) -> int:
    model.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    if rows and rows[0].pk is None:  # a backend that cannot return ids from a bulk insert
        raise RuntimeError(f"The database did not return ids for {model.__name__} rows.")
    return len(rows)


def _occurred_at(rng: random.Random, day: date, kind: str, tz: tzinfo) -> datetime:
    hour = rng.randint(9, 17)
    minute = rng.choice((0, 15, 30, 45)) if kind in (_C, _M) else rng.randint(0, 59)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


def _touchpoint_days(rng: random.Random, spec: _Spec, *, first: date, last: date) -> Iterator[date]:
    account = spec.account
    cadence = spec.cadence or _CADENCE[ValueTier(account.value_tier)]
    if account.value_tier == ValueTier.C and not spec.story and rng.random() < 0.4:
        return  # tier C is served by automation; many never hear from a person in the window
    if (
        account.value_tier != ValueTier.C
        and not spec.story
        and not account.churned_on
        and rng.random() < 0.12
    ):
        # Some accounts slipped through the cracks lately: the queue should find them.
        last -= timedelta(days=rng.randint(cadence * 2, cadence * 4))
    day = first + timedelta(
        days=rng.randint(0, min(cadence, 3) if first == account.contract_start else cadence)
    )
    while day <= last:
        # People work on weekdays: weekend touches move back to Friday unless that leaves the window.
        weekday = day.weekday()
        if weekday >= 5 and day - timedelta(days=weekday - 4) >= first:
            yield day - timedelta(days=weekday - 4)
        else:
            yield day
        day += timedelta(days=max(1, round(cadence * rng.uniform(0.6, 1.4))))


def _generic_touchpoints(
    rng: random.Random, spec: _Spec, *, first: date, last: date, author_id: int | None, tz: tzinfo
) -> Iterator[Touchpoint]:
    account = spec.account
    contacts = spec.contacts
    for day in _touchpoint_days(rng, spec, first=first, last=last):
        mood = spec.mood_on(day)
        present = [c for c in contacts if c.left_on is None or c.left_on > day] or contacts
        champions = [c for c in present if c.is_champion]
        contact = rng.choice(champions) if champions and rng.random() < 0.5 else rng.choice(present)
        lang = "zh" if rng.random() < (0.6 if spec.lang == "zh" else 0.15) else "en"
        feature, feature_zh = rng.choice(_FEATURES)
        dept, dept_zh = rng.choice(_DEPTS)
        if spec.polite:
            kind, sentiment = _E, _POS
            subject, body = rng.choice(_POLITE_TEMPLATES[lang])
        else:
            sentiment = rng.choices((_POS, _NEU, _NEG), weights=_MOOD_SENTIMENT[mood])[0]
            kind = _E if spec.email_only else rng.choices(_KINDS, weights=_KIND_WEIGHTS)[0]
            if sentiment == _NEG and mood == "at_risk" and rng.random() < 0.3:
                risky = _RISK_TEMPLATES[lang]
                if lang == "zh" and spec.region.script == "hans":
                    risky = risky + _RISK_TEMPLATES["zh-hans"]
                kind, subject, body = rng.choice(risky)
            else:
                subject, body = rng.choice(_TEMPLATES[lang][sentiment][kind])
        words = {
            "contact": contact.name,
            "feature": feature,
            "feature_zh": feature_zh,
            "dept": dept,
            "dept_zh": dept_zh,
            "n": rng.randint(2, 12),
        }
        occurred_at = _occurred_at(rng, day, kind, tz)
        yield Touchpoint(
            account_id=account.pk,
            kind=kind,
            occurred_at=occurred_at,
            author_id=author_id,
            contact_id=contact.pk,
            subject=subject.format(**words)[:200],
            body=body.format(**words),
            sentiment=sentiment,
            # Calls and meetings are written up a little after they end.
            created_at=occurred_at + timedelta(minutes=rng.randint(20, 90) if kind in (_C, _M) else 1),
        )


def _touchpoints_for(
    rng: random.Random, spec: _Spec, *, today: date, days: int, author_id: int | None, tz: tzinfo
) -> Iterator[Touchpoint]:
    account = spec.account
    first = max(account.contract_start, today - timedelta(days=days))
    last = (account.churned_on or today) - timedelta(days=1)
    if author_id is not None:
        generic_last = min(last, spec.generic_until) if spec.generic_until else last
        yield from _generic_touchpoints(rng, spec, first=first, last=generic_last, author_id=author_id, tz=tz)
    by_key = dict(zip(spec.contact_keys, spec.contacts, strict=True))
    for item in spec.scripted:
        if not first <= item.on <= max(last, first):
            continue
        occurred_at = _occurred_at(rng, item.on, item.kind, tz)
        contact = by_key.get(item.contact)
        yield Touchpoint(
            account_id=account.pk,
            kind=item.kind,
            occurred_at=occurred_at,
            author_id=author_id,
            contact_id=contact.pk if contact else None,
            subject=item.subject,
            body=item.body,
            sentiment=item.sentiment,
            created_at=occurred_at + timedelta(minutes=30),
        )


def _say(stdout: _Writer | None, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


def seed_demo(
    *,
    accounts: int = 400,
    days: int = 365,
    seed: int = 7,
    password: str = "workbench",  # noqa: S107 -- the documented demo password, printed by the command
    today: date | None = None,
    stdout: _Writer | None = None,
) -> dict[str, Any]:
    """Replace every account with a reproducible demo book of business.

    Destructive: all accounts (and, by cascade, everything hanging off them) are deleted first.
    `accounts` counts the story accounts too, so there are never fewer than `len(STORIES)`.
    Touchpoints, churn and daily health metrics fall within the last `days` days; contract
    starts and MRR history reach back three years. Returns counts of what was written.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    from health import demo as health_demo  # imported here: health.demo reads this module's stories
    from interviews import demo as interviews_demo
    from playbooks import demo as playbooks_demo
    from playbooks.models import Delivery, DeliveryStatus
    from playbooks.notifications import outgoing_paused

    today = today or timezone.localdate()
    tz = timezone.get_current_timezone()
    rng = random.Random(seed)

    with transaction.atomic():
        # Children first, each in one statement, so the final cascade has little left to collect.
        playbooks_demo.clear()
        health_demo.clear()
        Touchpoint.objects.all().delete()
        MrrMovement.objects.all().delete()
        Contact.objects.all().delete()
        Account.objects.all().delete()
        _say(stdout, "Deleted the existing accounts.")
        users = _ensure_demo_users(password)

        story_specs = _story_specs(today=today, days=days)
        names = _NameBook(rng)
        for spec in story_specs:
            names.reserve(spec.account.name)
        generic = _generic_specs(
            rng, count=max(0, accounts - len(story_specs)), today=today, names=names, first_number=101
        )
        specs = story_specs + generic
        story_churned = sum(1 for spec in story_specs if spec.account.churned_on)
        target = round(len(specs) * rng.uniform(0.13, 0.17)) - story_churned
        _churn_some(rng, generic, target=max(0, target), today=today, days=days)
        for spec in generic:
            _plan_generic_history(rng, spec, today=today)
        _assign_tiers_and_owners(rng, specs)

        for spec in specs:
            account = spec.account
            account.owner_id = users[spec.owner].pk if spec.owner else None
            # The row "appears" when the contract started, which keeps it reproducible too.
            account.created_at = datetime(
                account.contract_start.year,
                account.contract_start.month,
                account.contract_start.day,
                9,
                tzinfo=tz,
            )
        account_count = _write(Account, [spec.account for spec in specs])
        _say(stdout, f"Created {account_count} accounts.")

        contacts: list[Contact] = []
        for spec in specs:
            seeds = spec.contact_seeds or _contact_seeds(rng, spec, today=today)
            spec.contact_keys = [seed_row.key for seed_row in seeds]
            spec.contacts = [
                Contact(
                    account_id=spec.account.pk,
                    name=seed_row.name,
                    email=seed_row.email,
                    phone=seed_row.phone,
                    role=seed_row.role,
                    is_champion=seed_row.is_champion,
                    is_decision_maker=seed_row.is_decision_maker,
                    is_primary=seed_row.is_primary,
                    left_on=seed_row.left_on,
                )
                for seed_row in seeds
            ]
            contacts += spec.contacts
        contact_count = _write(Contact, contacts)
        del contacts
        _say(stdout, f"Created {contact_count} contacts.")

        movements = [
            MrrMovement(
                account_id=spec.account.pk, kind=kind, occurred_on=on, amount=Decimal(amount), note=note
            )
            for spec in specs
            for kind, on, amount, note in spec.movements
        ]
        movement_count = _write(MrrMovement, movements)
        del movements
        _say(stdout, f"Created {movement_count} MRR movements.")

        touchpoint_count = 0
        buffer: list[Touchpoint] = []
        for spec in specs:
            author_id = spec.account.owner_id
            buffer.extend(_touchpoints_for(rng, spec, today=today, days=days, author_id=author_id, tz=tz))
            if len(buffer) >= TOUCHPOINT_FLUSH:
                touchpoint_count += _write(Touchpoint, buffer)
                buffer = []
        touchpoint_count += _write(Touchpoint, buffer)
        _say(stdout, f"Created {touchpoint_count} touchpoints.")

        # Daily metrics and signal events in step with each account's story, then its scores.
        moods = {
            spec.account.pk: health_demo.Mood(spec.mood, spec.mood_shift[0] if spec.mood_shift else None)
            for spec in specs
        }
        signals = health_demo.seed_metrics(
            accounts=[spec.account for spec in specs],
            days=days,
            rng=rng,
            today=today,
            moods=moods,
            history=health_demo.history_days(today=today, days=days, accounts=len(specs)),
        )
        scored = health_demo.score_today(today=today)
        snapshot_count = signals["snapshots"] + scored["snapshots"]
        _say(stdout, f"Created {signals['metrics']} daily metrics and {signals['events']} signal events.")
        _say(stdout, f"Computed {snapshot_count} health snapshots and raised {scored['alerts']} alerts.")

        # The emails and chat posts of the demo's story are history: written, never sent.
        with outgoing_paused():
            work = playbooks_demo.seed_playbooks(users=users, stories=STORY_ACCOUNTS, today=today, seed=seed)
            plan_counts = playbooks_demo.seed_plans(users=users, stories=STORY_ACCOUNTS, today=today)
            work["open_tasks"] = playbooks_demo.open_tasks_by_csm(users)  # the plans moved some tasks
            interviews_demo.seed_interviews(users=users, stories=STORY_ACCOUNTS, today=today, seed=seed)
        Delivery.objects.filter(status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SENT, sent_at=F("created_at")
        )
        touchpoint_count = Touchpoint.objects.count()  # the rules' care emails are on the timeline too
        _say(
            stdout,
            f"Started {work['runs']} playbooks, fired rules {work['rule_firings']} times; open tasks: "
            + ", ".join(f"{name} {count}" for name, count in work["open_tasks"].items())
            + f"; {work['breaches']} SLA breaches escalated; {sum(plan_counts.values())} retention plans.",
        )

    return {
        "accounts": account_count,
        "contacts": contact_count,
        "touchpoints": touchpoint_count,
        "mrr_movements": movement_count,
        "metrics": signals["metrics"],
        "events": signals["events"],
        "snapshots": snapshot_count,
        "alerts": scored["alerts"],
        "open_tasks": work["open_tasks"],
        "users": [demo.username for demo in DEMO_USERS],
    }
