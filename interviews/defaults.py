"""DESIGN.md's reason taxonomy, with Chinese names. Shipped by a data migration; managers edit it."""

# (key, English, Traditional, Simplified, avoidable, [(key, English, Traditional, Simplified)])
TAXONOMY = [
    (
        "product",
        "Product",
        "產品",
        "产品",
        True,
        [
            ("missing_feature", "Missing feature", "缺少功能", "缺少功能"),
            ("too_complex", "Too complex", "太複雜", "太复杂"),
            ("bugs", "Bugs / reliability", "錯誤/穩定性", "错误/稳定性"),
            ("performance", "Performance", "效能", "性能"),
            ("integrations", "Integrations", "整合", "集成"),
        ],
    ),
    (
        "price_value",
        "Price / value",
        "價格/價值",
        "价格/价值",
        True,
        [
            ("too_expensive", "Too expensive", "太貴", "太贵"),
            ("value_not_realised", "Value not realised", "未實現價值", "未实现价值"),
            ("budget_cut", "Budget cut", "預算削減", "预算削减"),
        ],
    ),
    (
        "service",
        "Service",
        "服務",
        "服务",
        True,
        [
            ("slow_support", "Slow support", "支援太慢", "支持太慢"),
            ("weak_onboarding", "Weak onboarding / training", "導入/培訓不足", "导入/培训不足"),
            ("csm_turnover", "CSM turnover", "客戶成功經理更換", "客户成功经理更换"),
        ],
    ),
    (
        "competitor",
        "Competitor",
        "競爭對手",
        "竞争对手",
        True,
        [
            ("features", "Better features", "功能更好", "功能更好"),
            ("price", "Lower price", "價格更低", "价格更低"),
            ("service", "Better service", "服務更好", "服务更好"),
        ],
    ),
    (
        "unavoidable",
        "Unavoidable",
        "不可避免",
        "不可避免",
        False,
        [
            ("closed", "Closed or bankrupt", "歇業或破產", "歇业或破产"),
            ("acquired", "Acquired", "被收購", "被收购"),
            ("pivot", "Strategic pivot", "策略轉向", "策略转向"),
            ("decision_maker_left", "Decision maker left", "決策者離職", "决策者离职"),
        ],
    ),
]


def create_taxonomy(ReasonCategory, SubReason) -> None:
    for position, (key, name, hant, hans, avoidable, subs) in enumerate(TAXONOMY, start=1):
        category, _ = ReasonCategory.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "name_zh_hant": hant,
                "name_zh_hans": hans,
                "avoidable": avoidable,
                "position": position,
            },
        )
        for sub_position, (sub_key, sub_name, sub_hant, sub_hans) in enumerate(subs, start=1):
            SubReason.objects.get_or_create(
                category=category,
                key=sub_key,
                defaults={
                    "name": sub_name,
                    "name_zh_hant": sub_hant,
                    "name_zh_hans": sub_hans,
                    "position": sub_position,
                },
            )
