"""What each kind of business sells, when it is open, and how often its customers come back.

Prices are given as a share of the business's typical order (`Business.typical_order`), so one
catalogue reads right in every currency: a flat white is 0.3 of a typical café bill, whether
that is 14 USD or 6,500 NGN.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    price: float  # share of the typical order
    weight: int = 1  # how often it sells, against the others


@dataclass(frozen=True)
class Service:
    """A service given in a visit, who gives it, and how long it takes."""

    sku: str
    name: str
    price: float  # share of the typical order
    minutes: int
    role: str  # vet, nurse, groomer
    weight: int = 1
    walk_in: bool = False  # seen without an appointment


@dataclass(frozen=True)
class Habits:
    """How the customers of a business come back: the shares and the gaps, in days."""

    one_time_share: float  # buy once and never again
    regular_share: float  # come back on a rhythm
    regular_periods: tuple[float, ...]  # days between visits of a regular (one is drawn)
    occasional_gap: float  # mean days between purchases of everyone else
    dropout: float  # chance an occasional customer stops after a purchase
    regular_dropout: float
    line_counts: tuple[int, ...]  # lines per order, repeated entries weight the draw
    quantities: tuple[int, ...] = (1,) * 9 + (2,)
    # Opening hours per weekday, Monday first: (opens, closes) in whole hours, or None.
    hours: tuple[tuple[int, int] | None, ...] = ((9, 19),) * 6 + ((13, 18),)
    weekday_weights: tuple[float, ...] = (0.8, 0.8, 0.8, 0.9, 1.0, 1.0, 0.4)
    # How busy each hour of the day is (0 to 23); hours outside the opening hours are ignored.
    hour_weights: tuple[int, ...] = (0,) * 9 + (2, 3, 4, 5, 4, 4, 4, 5, 6, 4) + (0,) * 5
    cancelled_share: float = 0.01  # of orders at the till; online orders three times as many
    refund_share: float = 0.02
    full_refund_share: float = 0.5  # of refunds
    refund_reasons: tuple[str, ...] = ("Changed mind",)


@dataclass(frozen=True)
class Activity:
    """Everything a business's orders, visits and staff need."""

    products: tuple[Product, ...]
    habits: Habits
    services: tuple[Service, ...] = ()
    # Roles on the staff roster, and how many people hold each.
    roster: tuple[tuple[str, int], ...] = (("sales", 4),)
    # Where customers who came online buy: (channel, weight).
    online_channels: tuple[tuple[str, int], ...] = (("online", 7), ("pos", 3))
    marketplace_channels: tuple[tuple[str, int], ...] = (
        ("marketplace", 6),
        ("online", 2),
        ("pos", 2),
    )
    other_channels: tuple[tuple[str, int], ...] = (("pos", 9), ("online", 1))
    has_pets: bool = False


RETAIL = Activity(
    products=(
        Product("FAB-ANK-6Y", "Ankara fabric (6 yards)", "fabrics", 0.6, 5),
        Product("FAB-LACE-5Y", "Lace fabric (5 yards)", "fabrics", 2.2, 2),
        Product("FAB-ADIRE", "Adire fabric", "fabrics", 0.5, 3),
        Product("SHO-SNK", "Sneakers", "shoes", 1.6, 4),
        Product("SHO-SLD", "Leather sandals", "shoes", 0.8, 3),
        Product("SHO-HEEL", "Heels", "shoes", 1.3, 2),
        Product("HAI-WIG", "Human hair wig", "hair", 4.5, 1),
        Product("HAI-BRD", "Braiding extensions", "hair", 0.25, 5),
        Product("HAI-OIL", "Hair oil", "hair", 0.2, 4),
        Product("PHN-CHG", "Fast charger", "phone accessories", 0.35, 4),
        Product("PHN-CASE", "Phone case", "phone accessories", 0.2, 5),
        Product("PHN-EAR", "Wireless earbuds", "phone accessories", 1.1, 3),
        Product("PHN-PWR", "Power bank 20,000 mAh", "phone accessories", 0.9, 3),
        Product("BAG-HND", "Handbag", "bags", 1.8, 3),
        Product("BAG-BPK", "Backpack", "bags", 1.0, 2),
        Product("FRG-EDP", "Eau de parfum 100 ml", "fragrance", 2.0, 2),
        Product("FRG-OIL", "Perfume oil", "fragrance", 0.3, 4),
        Product("FRG-SPR", "Body spray", "fragrance", 0.15, 4),
        Product("GRO-RICE", "Rice (5 kg)", "groceries", 0.5, 5),
        Product("GRO-OIL", "Vegetable oil (3 L)", "groceries", 0.35, 4),
        Product("GRO-NOOD", "Noodles (carton)", "groceries", 0.7, 3),
        Product("KIT-POT", "Non-stick pot set", "kitchenware", 2.5, 1),
        Product("KIT-BLD", "Blender", "kitchenware", 2.0, 1),
        Product("KIT-FLK", "Food flask", "kitchenware", 0.6, 2),
    ),
    habits=Habits(
        one_time_share=0.3,
        regular_share=0.14,
        regular_periods=(14, 21, 30, 30, 45),
        occasional_gap=45,
        dropout=0.11,
        regular_dropout=0.02,
        line_counts=(1,) * 55 + (2,) * 28 + (3,) * 11 + (4,) * 4 + (5,) * 2,
        refund_share=0.03,
        refund_reasons=(
            "Wrong size",
            "Damaged on delivery",
            "Changed mind",
            "Item out of stock",
            "Charged twice",
        ),
    ),
    roster=(("sales", 5),),
)

CAFE = Activity(
    products=(
        Product("COF-ESP", "Espresso", "coffee", 0.2, 4),
        Product("COF-FW", "Flat white", "coffee", 0.3, 8),
        Product("COF-CAP", "Cappuccino", "coffee", 0.3, 7),
        Product("COF-LAT", "Latte", "coffee", 0.32, 6),
        Product("COF-ICE", "Iced latte", "coffee", 0.36, 4),
        Product("COF-AME", "Americano", "coffee", 0.25, 5),
        Product("TEA-CHAI", "Chai latte", "tea", 0.32, 3),
        Product("TEA-GRN", "Green tea", "tea", 0.2, 2),
        Product("PAS-CRO", "Croissant", "pastries", 0.22, 6),
        Product("PAS-PAC", "Pain au chocolat", "pastries", 0.25, 4),
        Product("PAS-MUF", "Blueberry muffin", "pastries", 0.24, 3),
        Product("PAS-CIN", "Cinnamon roll", "pastries", 0.28, 3),
        Product("CAK-CHO", "Chocolate cake (slice)", "cakes", 0.35, 3),
        Product("CAK-CAR", "Carrot cake (slice)", "cakes", 0.35, 2),
        Product("CAK-WHL", "Whole celebration cake", "cakes", 2.8, 1),
        Product("FOO-BRK", "Breakfast combo", "food", 0.8, 3),
        Product("FOO-SAN", "Sandwich", "food", 0.6, 4),
        Product("FOO-SAL", "Salad bowl", "food", 0.75, 2),
        Product("FOO-AVO", "Avocado toast", "food", 0.7, 2),
        Product("JUI-ORA", "Fresh orange juice", "juices", 0.35, 2),
        Product("CAT-BOX", "Catering box (10 people)", "catering", 6.0, 1),
    ),
    habits=Habits(
        one_time_share=0.33,
        regular_share=0.12,
        regular_periods=(3, 4, 7, 7, 14),
        occasional_gap=21,
        dropout=0.12,
        regular_dropout=0.015,
        line_counts=(1,) * 50 + (2,) * 30 + (3,) * 15 + (4,) * 5,
        quantities=(1,) * 8 + (2,) * 2 + (3,),
        hours=((7, 20),) * 5 + ((8, 20), (8, 16)),
        weekday_weights=(0.9, 0.9, 0.9, 0.9, 1.0, 0.8, 0.5),
        hour_weights=(0,) * 7 + (6, 9, 6, 4, 3, 7, 8, 4, 4, 4, 3, 2, 1) + (0,) * 4,
        cancelled_share=0.005,
        refund_share=0.01,
        full_refund_share=0.7,
        refund_reasons=("Wrong order", "Drink remade: refunded", "Charged twice"),
    ),
    roster=(("barista", 6),),
    marketplace_channels=(("marketplace", 5), ("pos", 5)),
    online_channels=(("online", 4), ("pos", 6)),
    other_channels=(("pos", 19), ("online", 1)),
)

CLINIC = Activity(
    products=(
        Product("FOOD-DOG-10", "Dry dog food (10 kg)", "pet food", 0.6, 4),
        Product("FOOD-CAT-3", "Dry cat food (3 kg)", "pet food", 0.3, 3),
        Product("FOOD-WET-12", "Wet food (12 cans)", "pet food", 0.25, 3),
        Product("FOOD-HYPO-7", "Hypoallergenic diet (7 kg)", "pet food", 0.9, 1),
        Product("PAR-FLEA", "Flea and tick treatment", "parasite control", 0.3, 4),
        Product("PAR-WORM", "Dewormer tablets", "parasite control", 0.15, 4),
        Product("MED-ANTI", "Antibiotics (course)", "medication", 0.35, 2),
        Product("MED-JOINT", "Joint supplement", "medication", 0.4, 1),
        Product("ACC-COLL", "Collar", "accessories", 0.2, 1),
        Product("ACC-SHAM", "Medicated shampoo", "accessories", 0.18, 2),
        Product("ACC-CONE", "Recovery cone", "accessories", 0.15, 1),
    ),
    services=(
        Service("SVC-VAC", "Vaccination", 0.45, 20, "vet", 5),
        Service("SVC-CHK", "General check-up", 0.5, 30, "vet", 5),
        Service("SVC-FUP", "Follow-up consultation", 0.3, 20, "vet", 3),
        Service("SVC-GRM", "Grooming", 0.4, 90, "groomer", 4),
        Service("SVC-DEN", "Dental cleaning", 1.8, 60, "vet", 1),
        Service("SVC-LAB", "Lab tests", 0.7, 30, "nurse", 2),
        Service("SVC-WRM", "Deworming", 0.2, 15, "nurse", 2),
        Service("SVC-CHIP", "Microchipping", 0.35, 15, "nurse", 1),
        Service("SVC-SURG", "Spay/neuter surgery", 3.0, 120, "vet", 1),
        Service("SVC-EMG", "Emergency visit", 1.5, 60, "vet", 1, walk_in=True),
    ),
    habits=Habits(
        one_time_share=0.25,
        regular_share=0.3,
        regular_periods=(45, 60, 90, 120, 180),
        occasional_gap=90,
        dropout=0.12,
        regular_dropout=0.03,
        line_counts=(0,) * 55 + (1,) * 35 + (2,) * 10,  # products beside the service
        hours=((8, 18),) * 5 + ((9, 14), None),
        weekday_weights=(1.0, 0.9, 0.9, 0.9, 1.0, 0.8, 0.0),
        hour_weights=(0,) * 8 + (5, 6, 6, 5, 3, 3, 5, 6, 5, 3) + (0,) * 6,
        cancelled_share=0.005,
        refund_share=0.015,
        full_refund_share=0.4,
        refund_reasons=("Charged twice", "Product returned unopened", "Treatment not given"),
    ),
    roster=(("vet", 3), ("nurse", 2), ("groomer", 1), ("front desk", 2)),
    other_channels=(("pos", 19), ("online", 1)),
    has_pets=True,
)

ACTIVITIES = {"retail": RETAIL, "cafe": CAFE, "clinic": CLINIC}

# Where a country's customers buy online besides the business's own site: the order's source.
MARKETPLACES = {
    ("retail", "NG"): "jumia",
    ("retail", "BR"): "mercadolivre",
    ("retail", "MX"): "mercadolibre",
    ("retail", "US"): "amazon",
    ("cafe", "NG"): "chowdeck",
    ("cafe", "BR"): "ifood",
    ("cafe", "MX"): "rappi",
    ("cafe", "US"): "ubereats",
}
