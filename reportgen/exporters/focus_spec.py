"""What FOCUS 1.2 names, as the ``focus`` exporter writes it: the columns in the specification's
order, reportgen's own ``x_`` columns, and the makers of the models (FOCUS's PublisherName)."""

from __future__ import annotations

FOCUS_VERSION = "1.2"
SERVICE_CATEGORY = "AI and Machine Learning"
SERVICE_SUBCATEGORY = "Generative AI"
PRICING_UNIT = "Quota units"
CONSUMED_UNIT = "Tokens"

#: The FOCUS columns written, in the specification's order.
FOCUS_COLUMNS = (
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
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
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
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
    "ServiceSubcategory",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
)
#: reportgen's own columns (FOCUS: custom columns start with ``x_``).
EXTENSION_COLUMNS = (
    "x_Quota",
    "x_QuotaPerUnit",
    "x_Requests",
    "x_PromptTokens",
    "x_CompletionTokens",
    "x_RequestId",
    "x_LogType",
    "x_BillingSource",
    "x_Member",
    "x_Project",
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
