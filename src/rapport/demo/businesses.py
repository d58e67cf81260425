"""Kinds of business the demo can play: what their customers are called, tagged and told."""

from dataclasses import dataclass


@dataclass(frozen=True)
class TagSpec:
    name: str
    color: str
    description: str
    share: float  # fraction of customers who carry it
    customer_type: str = ""  # customers of this type always carry it


@dataclass(frozen=True)
class PreferenceSpec:
    """A preference some customers tell (or show) the business, and the values it takes."""

    category: str
    key: str
    # Plain JSON values; repeated entries weight the draw.
    values: tuple[object, ...]
    share: float  # fraction of the customers with preferences who hold this one
    preference_type: str = "explicit"  # explicit, inferred or restriction
    sources: tuple[str, ...] = ("form",)


@dataclass(frozen=True)
class Business:
    """How one kind of business meets, serves and remembers its customers."""

    key: str
    label: str
    # Repeated entries weight the draw: ("pos", "pos", "online") is two thirds POS.
    sources: tuple[str, ...]
    customer_types: tuple[str, ...]
    tags: tuple[TagSpec, ...]
    notes: tuple[str, ...]
    visits: tuple[str, ...]
    contacts: tuple[tuple[str, str], ...]  # (channel, title)
    order_items: tuple[str, ...]
    # Typical order in the currency's major unit, before a random spread of x0.3 to x3.
    typical_order: dict[str, int]
    order_prefix: str
    preferences: tuple[PreferenceSpec, ...] = ()


COMMON_TAGS = (
    TagSpec("VIP", "#ffc107", "High-value customers", 0.04, customer_type="vip"),
    TagSpec("New Customer", "#28a745", "First-time visitors", 0.10, customer_type="new"),
    TagSpec("Birthday Club", "#e83e8c", "Gets a treat in their birthday month", 0.06),
    TagSpec("Do Not Disturb", "#343a40", "Asked for no marketing calls", 0.02),
)

COMMON_PREFERENCES = (
    PreferenceSpec(
        "communication",
        "preferred_time",
        ("morning", "morning", "afternoon", "evening", "evening", "weekends"),
        0.35,
        sources=("form", "chat", "pos"),
    ),
    PreferenceSpec(
        "communication",
        "frequency",
        ("weekly", "monthly", "monthly", "offers_only"),
        0.15,
        sources=("form", "chat"),
    ),
)

TYPICAL_ORDER_RETAIL = {"NGN": 18_000, "BRL": 120, "MXN": 450, "USD": 45}

RETAIL = Business(
    key="retail",
    label="shop",
    sources=(
        "pos",
        "pos",
        "pos",
        "walk_in",
        "walk_in",
        "online",
        "online",
        "marketplace",
        "referral",
    ),
    customer_types=("regular",) * 12 + ("new",) * 4 + ("wholesale",) * 2 + ("reseller", "vip"),
    tags=(
        *COMMON_TAGS,
        TagSpec(
            "Wholesale", "#17a2b8", "Buys in bulk at trade prices", 0.03, customer_type="wholesale"
        ),
        TagSpec(
            "Reseller",
            "#6f42c1",
            "Resells on Instagram or in a market stall",
            0.02,
            customer_type="reseller",
        ),
        TagSpec("Pay on Delivery", "#fd7e14", "Pays cash or transfer when the order arrives", 0.08),
        TagSpec("Owes Balance", "#dc3545", "Has an unpaid balance", 0.02),
    ),
    notes=(
        "Prefers to pay by bank transfer.",
        "Buys in bulk before the festive season; call in November.",
        "Asked to be told when the new stock of fabrics arrives.",
        "Delivery: call on arrival, the gate is locked.",
        "Returned an item once (wrong size); sorted quickly, happy customer.",
        "Brings friends from church; give them the referral discount.",
        "Only available after 5pm on weekdays.",
        "Resells in her shop at the market; offer trade price from 10 pieces.",
        "Complained about a late delivery; gave a voucher.",
        "Likes to see new arrivals on WhatsApp status first.",
    ),
    visits=("Visited the shop", "Came in to look at new arrivals", "Picked up an order in store"),
    contacts=(
        ("whatsapp", "WhatsApp: asked about prices"),
        ("whatsapp", "WhatsApp: sent new arrivals"),
        ("sms", "SMS: order ready for pick-up"),
        ("phone", "Called to confirm delivery address"),
        ("email", "Email: receipt sent"),
    ),
    order_items=(
        "Ankara fabric",
        "Sneakers",
        "Hair products",
        "Phone accessories",
        "Handbag",
        "Perfume",
        "Groceries",
        "Kitchenware",
    ),
    typical_order=TYPICAL_ORDER_RETAIL,
    order_prefix="ORD",
    preferences=(
        *COMMON_PREFERENCES,
        PreferenceSpec(
            "sizes",
            "clothing",
            ("S", "M", "M", "L", "L", "XL", "XXL"),
            0.25,
            sources=("pos", "chat"),
        ),
        PreferenceSpec("sizes", "shoes", tuple(range(37, 47)), 0.2, sources=("pos", "chat")),
        PreferenceSpec(
            "shopping",
            "categories",
            (
                ["fabrics"],
                ["fabrics", "handbags"],
                ["perfume"],
                ["sneakers"],
                ["hair_products"],
                ["kitchenware"],
                ["phone_accessories"],
            ),
            0.3,
            preference_type="inferred",
            sources=("order_history",),
        ),
        PreferenceSpec(
            "payment",
            "method",
            ("bank_transfer", "bank_transfer", "cash_on_delivery", "card"),
            0.25,
            preference_type="inferred",
            sources=("order_history",),
        ),
        PreferenceSpec(
            "delivery", "time", ("morning", "after_5pm", "weekends"), 0.15, sources=("chat",)
        ),
        PreferenceSpec("packaging", "bag", ("no_plastic", "paper", "own_bag"), 0.08),
        PreferenceSpec(
            "health",
            "allergies",
            (["fragrance"], ["latex"], ["nickel"]),
            0.04,
            preference_type="restriction",
        ),
    ),
)

CLINIC = Business(
    key="clinic",
    label="veterinary clinic",
    sources=("walk_in", "walk_in", "walk_in", "online", "online", "referral", "referral", "pos"),
    customer_types=("regular",) * 12 + ("new",) * 4 + ("breeder",) * 2 + ("vip", "rescue"),
    tags=(
        *COMMON_TAGS,
        TagSpec("Breeder", "#17a2b8", "Professional breeders", 0.03, customer_type="breeder"),
        TagSpec("Rescue", "#6f42c1", "Animal rescue organizations", 0.02, customer_type="rescue"),
        TagSpec("Multiple Pets", "#fd7e14", "Owners with 3+ pets", 0.08),
        TagSpec("Senior Discount", "#6c757d", "Eligible for senior pricing", 0.05),
    ),
    notes=(
        "Dog gets anxious in the waiting room; book the first slot of the day.",
        "Breeds French bulldogs; ask about the next litter's check-ups.",
        "Cat is allergic to chicken; recommend the hypoallergenic food.",
        "Prefers WhatsApp reminders a day before vaccines.",
        "Fosters for a local rescue; apply the rescue rate.",
        "Owner is nervous about anaesthesia; explain the procedure in detail.",
        "Rabbit needs a dental check every six months.",
        "Paid the last invoice late; send the estimate before treatment.",
        "Senior dog on joint supplements; review in three months.",
        "Moved house; confirm the new address for home visits.",
    ),
    visits=(
        "Vaccination appointment",
        "General check-up",
        "Follow-up consultation",
        "Grooming appointment",
        "Emergency visit",
    ),
    contacts=(
        ("whatsapp", "WhatsApp: vaccine reminder sent"),
        ("sms", "SMS: appointment reminder"),
        ("phone", "Called with lab results"),
        ("email", "Email: invoice sent"),
        ("whatsapp", "WhatsApp: asked about deworming"),
    ),
    order_items=(
        "Vaccine",
        "Consultation",
        "Deworming",
        "Pet food (10 kg)",
        "Flea treatment",
        "Lab tests",
        "Grooming",
    ),
    typical_order={"NGN": 25_000, "BRL": 180, "MXN": 650, "USD": 90},
    order_prefix="INV",
    preferences=(
        *COMMON_PREFERENCES,
        PreferenceSpec(
            "appointments",
            "preferred_day",
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "saturday"),
            0.25,
            sources=("front_desk", "chat"),
        ),
        PreferenceSpec(
            "appointments",
            "reminder",
            ("day_before", "day_before", "two_days_before", "morning_of"),
            0.2,
            sources=("front_desk", "form"),
        ),
        PreferenceSpec(
            "pet_health",
            "allergies",
            (["chicken"], ["beef"], ["chicken", "wheat"], ["penicillin"], ["flea_collars"]),
            0.12,
            preference_type="restriction",
            sources=("consultation",),
        ),
        PreferenceSpec(
            "pet_health",
            "medication_restrictions",
            (["ivermectin"], ["nsaids"], ["acepromazine"]),
            0.05,
            preference_type="restriction",
            sources=("consultation",),
        ),
        PreferenceSpec(
            "pet_food",
            "brand",
            ("royal_canin", "hills", "purina_pro_plan", "hypoallergenic"),
            0.3,
            preference_type="inferred",
            sources=("order_history",),
        ),
        PreferenceSpec("handling", "needs_muzzle", (True,), 0.05, sources=("consultation",)),
    ),
)

CAFE = Business(
    key="cafe",
    label="café",
    sources=("pos", "pos", "pos", "pos", "walk_in", "walk_in", "online", "marketplace", "referral"),
    customer_types=("regular",) * 12 + ("new",) * 4 + ("student",) * 2 + ("corporate", "vip"),
    tags=(
        *COMMON_TAGS,
        TagSpec("Regular Morning", "#17a2b8", "Comes in before 9am most days", 0.10),
        TagSpec("Student", "#6f42c1", "Student discount", 0.04, customer_type="student"),
        TagSpec(
            "Corporate Account", "#fd7e14", "Orders for an office", 0.02, customer_type="corporate"
        ),
        TagSpec("Vegan", "#20c997", "Plant-based orders only", 0.05),
    ),
    notes=(
        "Oat milk flat white, no sugar.",
        "Works next door; comes in around 8am.",
        "Orders cakes for the office every last Friday.",
        "Gluten intolerant: point out the gluten-free options.",
        "Left a lovely review; offer a free pastry next visit.",
        "Likes the window table; reserve it when they call.",
        "Complained the music was too loud; noted for the evening shift.",
        "Birthday in the notes; offer a slice of cake.",
    ),
    visits=(
        "Visited the café",
        "Morning coffee",
        "Lunch with colleagues",
        "Picked up a takeaway order",
    ),
    contacts=(
        ("whatsapp", "WhatsApp: cake order confirmed"),
        ("email", "Email: newsletter opened"),
        ("sms", "SMS: stamp card reminder"),
        ("phone", "Called to book a table"),
    ),
    order_items=(
        "Flat white",
        "Croissant",
        "Chocolate cake",
        "Breakfast combo",
        "Iced latte",
        "Sandwich",
        "Catering box",
    ),
    typical_order={"NGN": 6_500, "BRL": 38, "MXN": 140, "USD": 14},
    order_prefix="TKT",
    preferences=(
        *COMMON_PREFERENCES,
        PreferenceSpec(
            "drinks",
            "milk",
            ("oat", "oat", "almond", "soy", "whole", "skimmed", "lactose_free"),
            0.35,
            sources=("pos", "chat"),
        ),
        PreferenceSpec(
            "drinks",
            "coffee",
            ("flat_white", "espresso", "cappuccino", "decaf", "iced_latte", "americano"),
            0.35,
            preference_type="inferred",
            sources=("order_history",),
        ),
        PreferenceSpec("drinks", "sugar", ("none", "none", "one", "two", "sweetener"), 0.15),
        PreferenceSpec(
            "diet",
            "restrictions",
            (["vegan"], ["vegetarian"], ["gluten_free"], ["lactose_free"], ["halal"]),
            0.15,
            preference_type="restriction",
            sources=("form", "chat"),
        ),
        PreferenceSpec(
            "health",
            "allergies",
            (["nuts"], ["peanuts"], ["sesame"], ["eggs"], ["nuts", "sesame"]),
            0.08,
            preference_type="restriction",
            sources=("form", "pos"),
        ),
        PreferenceSpec(
            "seating", "table", ("window", "terrace", "quiet_corner"), 0.1, sources=("chat",)
        ),
    ),
)

BUSINESSES = {business.key: business for business in (RETAIL, CLINIC, CAFE)}
# The business each country's demo plays unless told otherwise.
DEFAULT_BUSINESS = {"NG": "retail", "MX": "clinic", "BR": "cafe", "US": "cafe"}


def default_business(country: str) -> str:
    return DEFAULT_BUSINESS.get(country.upper(), "retail")
