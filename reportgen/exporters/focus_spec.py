"""What FOCUS names, as the ``focus`` exporter writes it: the columns of FOCUS 1.2 in the
specification's order with the two that 1.3 adds (``HostProviderName``, ``ServiceProviderName``;
1.3 deprecates but keeps ``ProviderName`` and ``PublisherName``, so both are written),
reportgen's own ``x_`` columns, and the makers of the models (FOCUS's PublisherName)."""

from __future__ import annotations

FOCUS_VERSION = "1.2"
#: The columns of FOCUS 1.3 written beside 1.2's (additive: a 1.2 reader ignores them).
FOCUS_1_3_COLUMNS = ("HostProviderName", "ServiceProviderName")
SERVICE_CATEGORY = "AI and Machine Learning"
SERVICE_SUBCATEGORY = "Generative AI"
#: The gateway prices in its own quota (a virtual currency, FOCUS's PricingCurrency) and bills
#: in USD at the period's quota per unit.
PRICING_CURRENCY = "Quota"
#: A row whose cost the gateway's logged ratios do not explain is priced as the gateway bills
#: it: quota units, one row per request; a per-call model per request; tokens per million.
QUOTA_UNIT = "Quota units"
REQUESTS = "Requests"
TOKENS = "Tokens"
MILLION_TOKENS = "1000000 Tokens"

#: The FOCUS columns written, in the specification's order (alphabetical by column name).
FOCUS_COLUMNS = (
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "HostProviderName",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceProviderName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
)
#: reportgen's own columns (FOCUS: custom columns start with ``x_``).
EXTENSION_COLUMNS = (
    "x_QuotaPerUnit",
    "x_Requests",
    "x_InputTokens",
    "x_OutputTokens",
    "x_CacheReadTokens",
    "x_CacheWriteTokens",
    "x_ImageTokens",
    "x_AudioInputTokens",
    "x_AudioOutputTokens",
    "x_PriceNote",
    "x_RequestId",
    "x_LogType",
    "x_BillingSource",
    "x_Source",
    "x_Fingerprint",
    "x_Correction",
)
COLUMNS = FOCUS_COLUMNS + EXTENSION_COLUMNS

# The model's maker, from the model name's first word: FOCUS's PublisherName.
_PUBLISHERS = (
    (("gpt", "o1", "o3", "o4", "chatgpt", "text-embedding", "dall-e", "whisper", "tts", "davinci"), "OpenAI"),
    (("claude",), "Anthropic"),
    (("gemini", "gemma", "imagen", "veo"), "Google"),
    (("deepseek",), "DeepSeek"),
    (("qwen", "qwq"), "Alibaba Cloud"),
    (("glm", "chatglm"), "Zhipu AI"),
    (("moonshot", "kimi"), "Moonshot AI"),
    (("doubao",), "ByteDance"),
    (("grok",), "xAI"),
    (("llama",), "Meta"),
    (("mistral", "mixtral", "codestral"), "Mistral AI"),
    (("ernie",), "Baidu"),
    (("hunyuan",), "Tencent"),
    (("minimax", "abab"), "MiniMax"),
)


def publisher(model: str, provider: str) -> str:
    """Who makes ``model`` (``openai/gpt-4o`` and ``gpt-4o`` are OpenAI's), else the provider."""
    name = model.lower().rsplit("/", 1)[-1]
    for prefixes, maker in _PUBLISHERS:
        if name.startswith(prefixes):
            return maker
    return provider
