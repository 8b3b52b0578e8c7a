"""The built-in word lists the demo data is made from (no Faker: small, fixed, deterministic)."""

from __future__ import annotations

FIRST_NAMES = (
    "Aaron", "Abigail", "Adrian", "Aisha", "Alex", "Amara", "Andre", "Anna", "Arjun", "Ben",
    "Bianca", "Carlos", "Chen", "Chloe", "Daniel", "Dana", "David", "Elena", "Emily", "Emma",
    "Ethan", "Fatima", "Felix", "Grace", "Hannah", "Hiro", "Isaac", "Isabel", "Jacob", "James",
    "Jana", "Jon", "Julia", "Karen", "Kenji", "Laura", "Leo", "Lina", "Lucas", "Maya",
    "Mei", "Michael", "Mohammed", "Nadia", "Nathan", "Nina", "Noah", "Olivia", "Omar", "Priya",
    "Rafael", "Rachel", "Ravi", "Rosa", "Ryan", "Sara", "Sofia", "Sven", "Tariq", "Thomas",
    "Tom", "Valentina", "Victor", "Wei", "Yuki", "Zara", "Lars", "Ingrid", "Pierre", "Camille",
)
LAST_NAMES = (
    "Adams", "Ahmed", "Alvarez", "Andersen", "Baker", "Bauer", "Bennett", "Brooks", "Campbell",
    "Chen", "Clarke", "Costa", "Cruz", "Dubois", "Evans", "Fischer", "Garcia", "Gonzalez", "Gupta",
    "Hansen", "Harris", "Hughes", "Ito", "Jansen", "Johnson", "Kapoor", "Kim", "Klein", "Kowalski",
    "Larsen", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Morgan", "Muller", "Murphy", "Nakamura",
    "Nguyen", "Novak", "Okafor", "Olsen", "Park", "Patel", "Perez", "Reyes", "Richter", "Rossi",
    "Santos", "Schmidt", "Shah", "Silva", "Singh", "Smith", "Sullivan", "Tanaka", "Taylor", "Thomas",
    "Turner", "Visser", "Wagner", "Walker", "Wang", "Weber", "Williams", "Wilson", "Wong", "Young",
)

COMPANY_PREFIXES = (
    "Acme", "Apex", "Atlas", "Beacon", "Bluepeak", "Brightline", "Canyon", "Cedar", "Cobalt",
    "Delta", "Driftwood", "Elevate", "Ember", "Evergreen", "Falcon", "Foxglove", "Granite",
    "Greenfield", "Harbor", "Highland", "Horizon", "Insight", "Ironwood", "Jetstream", "Juniper",
    "Kestrel", "Keystone", "Lakeside", "Lighthouse", "Lumen", "Maple", "Meridian", "Mosaic",
    "Nimbus", "Northstar", "Northwind", "Nova", "Oakridge", "Oasis", "Orbit", "Paragon",
    "Pinecrest", "Pioneer", "Quarry", "Quill", "Redwood", "Ridgeline", "Riverbend", "Sapphire",
    "Silverline", "Sterling", "Summit", "Tidal", "Timber", "Trident", "Unity", "Upland",
    "Vantage", "Vertex", "Vista", "Waypoint", "Westfield", "Willow", "Yarrow", "Zenith", "Zephyr",
)
COMPANY_SUFFIXES = ("Group", "Holdings", "Global", "Partners", "International", "Co")

# industry: (weight, name cores, revenue per employee in USD)
INDUSTRIES: dict[str, tuple[float, tuple[str, ...], float]] = {
    "software": (0.22, ("Software", "Labs", "Cloud", "Systems", "Data", "Analytics", "Digital",
                        "Technologies"), 220_000),
    "financial services": (0.12, ("Capital", "Financial", "Bank", "Insurance", "Payments",
                                  "Wealth", "Credit"), 350_000),
    "healthcare": (0.12, ("Health", "Medical", "Care", "Clinics", "Pharma", "Diagnostics",
                          "Biosciences"), 150_000),
    "manufacturing": (0.12, ("Manufacturing", "Industries", "Components", "Machinery",
                             "Materials", "Robotics", "Metals"), 250_000),
    "retail": (0.10, ("Retail", "Outfitters", "Goods", "Markets", "Stores", "Brands"), 180_000),
    "education": (0.07, ("Academy", "Learning", "Education", "Institute", "Tutoring"), 90_000),
    "government": (0.05, ("County", "Agency", "Authority", "Transit", "Council"), 120_000),
    "media": (0.07, ("Media", "Studios", "Publishing", "Broadcasting", "Press"), 160_000),
    "professional services": (0.08, ("Consulting", "Advisors", "Associates", "Solutions"), 170_000),
    "logistics": (0.05, ("Logistics", "Freight", "Shipping", "Transport", "Fleet"), 200_000),
}
# The industries the planted conversion model favours (they match the policy's fit rule).
TARGET_INDUSTRIES = ("software", "financial services", "healthcare", "manufacturing")

# country code (stored lower-case): (weight, top-level domain)
COUNTRIES: dict[str, tuple[float, str]] = {
    "us": (0.48, ".com"), "ca": (0.06, ".ca"), "gb": (0.10, ".co.uk"), "de": (0.07, ".de"),
    "fr": (0.05, ".fr"), "nl": (0.03, ".nl"), "au": (0.04, ".com.au"), "in": (0.06, ".in"),
    "br": (0.04, ".com.br"), "es": (0.02, ".es"), "se": (0.02, ".se"), "jp": (0.01, ".jp"),
    "sg": (0.01, ".sg"), "mx": (0.01, ".mx"),
}

# tool: probability an account uses it (before the size effect)
TECH_TOOLS: dict[str, float] = {
    "salesforce": 0.30, "hubspot": 0.22, "slack": 0.55, "microsoft-teams": 0.35, "zendesk": 0.18,
    "jira": 0.30, "snowflake": 0.10, "aws": 0.40, "gcp": 0.15, "azure": 0.20, "marketo": 0.08,
    "workday": 0.07, "netsuite": 0.09,
}
BIG_COMPANY_TOOLS = ("salesforce", "snowflake", "workday", "marketo")

ACCOUNT_EXECUTIVES = (
    "Dana Whitaker", "Marcus Reed", "Priya Natarajan", "Tom Becker", "Elena Rossi", "Jordan Blake",
)
SDRS = ("Sam Ortiz", "Lena Fischer", "Kofi Mensah", "Ava Lindqvist", "Ravi Menon")

# seniority: weight (larger companies have proportionally fewer executives)
SENIORITIES: dict[str, float] = {
    "c_level": 0.06, "vp": 0.10, "director": 0.18, "manager": 0.28, "individual": 0.38,
}
DECISION_MAKERS = ("c_level", "vp", "director")
ROLES: dict[str, float] = {
    "marketing": 0.24, "sales": 0.18, "it": 0.14, "engineering": 0.12, "finance": 0.10,
    "operations": 0.14, "hr": 0.08,
}
C_LEVEL_TITLES: dict[str, str] = {
    "executive": "CEO", "finance": "CFO", "engineering": "CTO", "it": "CIO", "marketing": "CMO",
    "operations": "COO", "hr": "CHRO", "sales": "Chief Revenue Officer",
}
DEPARTMENT: dict[str, str] = {
    "marketing": "Marketing", "sales": "Sales", "it": "IT", "engineering": "Engineering",
    "finance": "Finance", "operations": "Operations", "hr": "People",
}
INDIVIDUAL_TITLES: dict[str, tuple[str, ...]] = {
    "marketing": ("Marketing Specialist", "Demand Generation Specialist", "Content Marketer"),
    "sales": ("Account Executive", "Sales Development Representative", "Sales Operations Analyst"),
    "it": ("Systems Administrator", "IT Specialist", "Solutions Architect"),
    "engineering": ("Software Engineer", "Data Engineer", "DevOps Engineer"),
    "finance": ("Financial Analyst", "Accountant", "FP&A Analyst"),
    "operations": ("Operations Analyst", "Business Analyst", "Project Coordinator"),
    "hr": ("HR Generalist", "Recruiter", "People Operations Specialist"),
}

# source: weight for contacts at companies
SOURCES: dict[str, float] = {
    "form_fill": 0.17, "content_download": 0.17, "webinar": 0.10, "list_import": 0.14,
    "event_badge_scan": 0.08, "newsletter": 0.10, "partner_referral": 0.05, "free_trial": 0.08,
    "outbound": 0.11,
}
# The event the source action itself leaves behind, at the contact's creation.
SOURCE_EVENT: dict[str, str] = {
    "form_fill": "form_fill", "content_download": "content_download",
    "webinar": "webinar_attended", "free_trial": "trial_usage",
}
# Planted effect of the source on buying intent (log-odds).
SOURCE_INTENT: dict[str, float] = {
    "form_fill": 0.3, "content_download": 0.0, "webinar": 0.2, "list_import": -0.8,
    "event_badge_scan": -0.4, "newsletter": -0.3, "partner_referral": 0.4, "free_trial": 0.4,
    "outbound": -0.2,
}

FREE_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me")
STUDENT_DOMAINS: dict[str, str] = {
    "stanford.edu": "Stanford University", "mit.edu": "MIT", "umich.edu": "University of Michigan",
    "utexas.edu": "UT Austin", "berkeley.edu": "UC Berkeley", "nyu.edu": "New York University",
}
COMPETITOR_DOMAINS: dict[str, str] = {"hubspot.com": "HubSpot", "salesforce.com": "Salesforce"}

WEB_PATHS = (
    "/", "/product", "/features", "/integrations", "/customers", "/blog/funnel-math",
    "/blog/lead-scoring-101", "/blog/mql-vs-sql", "/docs/getting-started", "/about", "/security",
    "/blog/pipeline-hygiene",
)
ASSETS = (
    "ebook-funnel-benchmarks", "guide-lead-scoring", "template-sla-policy", "report-state-of-revops",
    "checklist-pipeline-hygiene", "whitepaper-clv-cac",
)
WEBINARS = ("revops-masterclass", "scoring-that-works", "from-mql-to-revenue", "board-ready-funnels")
FORMS = ("contact-us", "newsletter-signup", "gated-content", "event-follow-up")
TRIAL_FEATURES = ("import", "scoring", "funnel-report", "policy-editor", "audit")

SAL_REJECT_REASONS = (
    "no budget this year", "wrong persona: no buying role", "just researching, no project",
    "already under contract with a competitor", "duplicate of an existing contact",
)
DISQUALIFY_REASONS = (
    "company too small for the product", "unsupported region", "no use case", "left the company",
    "student or researcher",
)
NURTURE_REASONS = (
    "not ready: revisit next quarter", "went quiet after the first call", "timing: after budget cycle",
)
LOST_REASONS = (
    "chose a competitor", "no budget", "no decision: project stalled", "price", "missing feature",
    "timing",
)

EVIDENCE_VALUES: dict[str, tuple[str, ...]] = {
    "need": (
        "funnel metrics are rebuilt by hand every month", "MQL counts disputed between teams",
        "pipeline forecast misses by more than 30%", "no audit trail for stage changes",
        "lead routing SLA is not measured",
    ),
    "authority": (
        "owns the RevOps budget", "reports to the CRO, sits on the buying committee",
        "signs off tooling purchases up to $100k", "economic buyer confirmed on the call",
    ),
    "timeline": (
        "decision this quarter", "rollout before the next board meeting", "budget cycle closes in 60 days",
        "replace current tool at renewal in 90 days",
    ),
    "budget": ("budget approved", "budget acknowledged, amount pending", "$40k-$80k earmarked"),
    "champion": ("champion acknowledged the problem and will sponsor internally",),
    "initiative": ("RevOps consolidation program", "board-mandated forecast accuracy initiative"),
    "next_meeting": ("technical deep-dive with IT and finance, agenda sent",),
}
PRODUCTS = {"new": "Platform", "expansion": "Seats expansion"}
