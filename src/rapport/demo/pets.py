"""Demo pets for veterinary clinics: one to three per owner, a few shared by two owners.

The animals are drawn from a stream of their own (`Household`) whether or not the pets app is
installed, because commerce names them in its visits; `PetRows` writes them, with their owners
and the timeline entries PetService logs, only where the app is installed.
"""

import datetime as dt
from collections import deque
from dataclasses import dataclass

from rapport.demo.generator import ACTOR, Batch, DemoCustomer
from rapport.demo.rows import AppRows
from rapport.demo.workplace import DAY, OpeningHours


@dataclass(frozen=True)
class Species:
    name: str  # as rapport.pets.conf.SPECIES
    weight: int
    breeds: tuple[str, ...]
    colours: tuple[str, ...]
    microchip_share: float = 0.0


DOG_COLOURS = ("Black", "Brown", "White", "Fawn", "Brindle", "Black and tan", "Cream", "Grey")
CAT_COLOURS = ("Tabby", "Black", "White", "Ginger", "Tortoiseshell", "Grey", "Calico")
OTHER_COLOURS = ("Green", "White", "Grey", "Brown", "Mixed")

SPECIES = {
    "NG": (
        Species(
            "dog", 62,
            ("Boerboel", "German Shepherd", "Rottweiler", "Lhasa Apso", "Caucasian Shepherd",
             "Nigerian local dog", "Nigerian local dog", "Labrador Retriever", "Pit Bull"),
            DOG_COLOURS, 0.3,
        ),
        Species("cat", 25, ("Domestic shorthair",) * 4 + ("Persian", "Siamese"), CAT_COLOURS, 0.15),
        Species("bird", 7, ("African grey parrot", "Lovebird", "Budgerigar"), OTHER_COLOURS),
        Species("rabbit", 4, ("New Zealand White", "Dutch"), OTHER_COLOURS),
        Species("rodent", 2, ("Guinea pig",), OTHER_COLOURS),
    ),
    "BR": (
        Species(
            "dog", 55,
            ("Sem raça definida",) * 3 + ("Shih Tzu", "Yorkshire Terrier", "Spitz Alemão",
             "Golden Retriever", "Buldogue Francês", "Lhasa Apso", "Poodle"),
            DOG_COLOURS, 0.4,
        ),
        Species("cat", 37, ("Sem raça definida",) * 4 + ("Persa", "Siamês", "Maine Coon"),
                CAT_COLOURS, 0.25),
        Species("bird", 4, ("Calopsita", "Periquito"), OTHER_COLOURS),
        Species("rabbit", 2, ("Mini Lop",), OTHER_COLOURS),
        Species("rodent", 2, ("Hamster sírio", "Porquinho-da-índia"), OTHER_COLOURS),
    ),
    "MX": (
        Species(
            "dog", 62,
            ("Mestizo",) * 3 + ("Chihuahua", "Schnauzer", "Xoloitzcuintle", "Labrador Retriever",
             "Pug", "Pastor Alemán", "Bulldog Francés"),
            DOG_COLOURS, 0.35,
        ),
        Species("cat", 30, ("Doméstico de pelo corto",) * 4 + ("Siamés", "Persa"),
                CAT_COLOURS, 0.2),
        Species("bird", 4, ("Perico australiano", "Cotorra"), OTHER_COLOURS),
        Species("rabbit", 2, ("Cabeza de león",), OTHER_COLOURS),
        Species("reptile", 2, ("Iguana verde", "Tortuga de orejas rojas"), OTHER_COLOURS),
    ),
    "US": (
        Species(
            "dog", 55,
            ("Labrador Retriever", "Golden Retriever", "French Bulldog", "German Shepherd",
             "Poodle", "Beagle", "Dachshund", "Mixed breed", "Mixed breed"),
            DOG_COLOURS, 0.6,
        ),
        Species("cat", 35, ("Domestic shorthair",) * 3 + ("Maine Coon", "Ragdoll", "Siamese"),
                CAT_COLOURS, 0.4),
        Species("rabbit", 4, ("Holland Lop", "Mini Rex"), OTHER_COLOURS),
        Species("bird", 3, ("Budgerigar", "Cockatiel"), OTHER_COLOURS),
        Species("reptile", 3, ("Bearded dragon", "Leopard gecko"), OTHER_COLOURS),
    ),
}  # fmt: skip
PET_NAMES = {
    "NG": ("Bingo", "Rex", "Simba", "Bobby", "Lucky", "Jack", "Princess", "Snowy", "Tiger",
           "Blacky", "Bruno", "Zara", "Coco", "Rocky", "Duchess", "Max", "Jasper", "Oscar",
           "Kitty", "Bella"),
    "BR": ("Thor", "Mel", "Pipoca", "Bidu", "Luna", "Nina", "Paçoca", "Frida", "Bob", "Amora",
           "Belinha", "Fred", "Pretinha", "Toddy", "Lola", "Simba", "Costela", "Pandora"),
    "MX": ("Firulais", "Canela", "Chispa", "Luna", "Max", "Rocky", "Nala", "Toby", "Coco",
           "Pelusa", "Manchas", "Kira", "Bruno", "Chocolate", "Lola", "Negrito"),
    "US": ("Bella", "Max", "Luna", "Charlie", "Daisy", "Cooper", "Milo", "Lucy", "Bailey",
           "Oliver", "Buddy", "Sadie", "Rocky", "Willow", "Tucker", "Penny"),
}  # fmt: skip
PET_NOTES = (
    "Bites when nervous: muzzle for nail trims.",
    "Allergic to chicken.",
    "Heart murmur, grade 2; monitor at each visit.",
    "Rescued; shy with strangers.",
    "On joint supplements.",
    "Needs sedation for blood draws.",
)
# ISO 3166 numeric codes start the microchips (ISO 11784: country, then 12 digits).
CHIP_COUNTRIES = {"NG": "566", "BR": "076", "MX": "484", "US": "840"}
CHIP_SPACE = 10**12
CHIP_STEP = 7_919_000_003  # odd and not a multiple of 5: a bijection on 12 digits
PETS_PER_OWNER = (1,) * 65 + (2,) * 25 + (3,) * 10
SECOND_OWNER_SHARE = 0.05
DECEASED_SHARE = 0.25  # of pets over ten years old by now
RECENT_OWNERS = 200


@dataclass(slots=True)
class DemoPet:
    uuid: str
    name: str
    species: str
    breed: str
    sex: str
    date_of_birth: dt.date | None
    neutered: bool | None
    colour: str
    microchip: str
    notes: str
    added: float  # POSIX seconds
    died: float | None = None  # when the death was recorded
    deceased_on: dt.date | None = None
    second_owner: tuple[int, float] | None = None  # (customer id, POSIX seconds)

    def is_alive_at(self, seconds: float) -> bool:
        return self.added <= seconds and (self.died is None or seconds < self.died)


def describe(pet: DemoPet) -> str:
    """As rapport.pets.services.describe: "Max (dog, Poodle)"."""
    kind = f"{pet.species}, {pet.breed}" if pet.breed else pet.species
    return f"{pet.name} ({kind})"


def pet_payload(pet: DemoPet, *, deceased: bool) -> dict:
    """As rapport.pets.services.pet_payload, before (or after) the pet's death was recorded."""
    deceased_on = pet.deceased_on if deceased else None
    return {
        "id": pet.uuid,
        "name": pet.name,
        "species": pet.species,
        "breed": pet.breed,
        "sex": pet.sex,
        "date_of_birth": pet.date_of_birth.isoformat() if pet.date_of_birth else None,
        "neutered": pet.neutered,
        "colour": pet.colour,
        "microchip": pet.microchip,
        "deceased_on": deceased_on.isoformat() if deceased_on else None,
    }


class Household(AppRows):
    """Each customer's pets, drawn once and shared by the pets and the commerce rows."""

    app = "pets"

    def __init__(
        self,
        *,
        hours: OpeningHours,
        chips_in_use: set[str] | None = None,
        **common,
    ) -> None:
        super().__init__(**common)
        country = self.locale.country
        self.species = SPECIES.get(country, SPECIES["US"])
        self.species_bag = [s for s in self.species for _ in range(s.weight)]
        self.names = PET_NAMES.get(country, PET_NAMES["US"])
        self.chip_prefix = CHIP_COUNTRIES.get(country, "900")
        self.chips_in_use = chips_in_use or set()
        self.hours = hours
        self.position = common.get("first_index", 0)  # customers seen, over every run
        self.recent: deque[tuple[int, float]] = deque(maxlen=RECENT_OWNERS)
        self.last_id: int | None = None
        self.last: list[DemoPet] = []

    def pets_of(self, customer: DemoCustomer) -> list[DemoPet]:
        """The customer's pets, oldest registration first (drawn on the first call)."""
        if customer.id != self.last_id:
            self.last = self._draw(customer)
            self.last_id = customer.id
            self.position += 1
            self.recent.append((customer.id, customer.created))
        return self.last

    def _draw(self, customer: DemoCustomer) -> list[DemoPet]:
        rnd, pick = self.random.random, self._pick
        created, now = customer.created, self.now
        pets = []
        for number in range(pick(PETS_PER_OWNER)):
            # The first pet is registered with its owner, the others when they come along.
            if number == 0:
                added = created + 1 + int(rnd() * 120)
            else:
                added = created + 1 + int((now - created) * rnd())
            added = min(added, now)
            species = pick(self.species_bag)
            years = 14 * rnd() ** 2 + 0.15
            added_on = self.hours.date_of(added)
            born = None
            if rnd() >= 0.08:
                born = added_on - dt.timedelta(days=int(years * 365.25))
            neutered = None
            if species.name in ("dog", "cat"):
                draw = rnd()
                neutered = True if draw < 0.45 else (False if draw < 0.8 else None)
            draw = rnd()
            sex = "male" if draw < 0.48 else ("female" if draw < 0.96 else "unknown")
            chip = ""
            if rnd() < species.microchip_share:
                chip = self._microchip(number)
            pet = DemoPet(
                uuid=self._uuid(),
                name=pick(self.names),
                species=species.name,
                breed=pick(species.breeds) if rnd() < 0.9 else "",
                sex=sex,
                date_of_birth=born,
                neutered=neutered,
                colour=pick(species.colours) if rnd() < 0.85 else "",
                microchip=chip,
                notes=pick(PET_NOTES) if rnd() < 0.1 else "",
                added=added,
            )
            if rnd() < SECOND_OWNER_SHARE and len(self.recent) > 1:
                other_id, other_created = pick(self.recent)
                when = max(added, other_created) + 1 + int(rnd() * 60 * DAY)
                if other_id != customer.id and when <= now:
                    pet.second_owner = (other_id, when)
            old = born is not None and (now - added) / DAY / 365.25 + years > 10
            if old and rnd() < DECEASED_SHARE:
                died = added + 30 * DAY + (now - added - 31 * DAY) * rnd()
                if died > added + 30 * DAY:
                    pet.deceased_on = self.hours.date_of(died)
                    # Recorded when the owner called in, a few hours later the same day.
                    day = self.hours.day_of(died)
                    pet.died = min(now, self.hours.midnight(day) + (10 + 8 * rnd()) * 3600)
                    pet.died = max(pet.died, added + 1)
                    if pet.second_owner and pet.second_owner[1] >= pet.died:
                        pet.second_owner = None
            pets.append(pet)
        return pets

    def _microchip(self, number: int) -> str:
        index = self.position * 4 + number
        chip = f"{self.chip_prefix}{(index * CHIP_STEP) % CHIP_SPACE:012d}"
        return "" if chip in self.chips_in_use else chip


class PetRows(AppRows):
    """Pets with their owners, and the timeline entries PetService writes: "Pet added: …" for
    the first owner, "Now an owner of …" for a second one, "Pet died: …" for each owner."""

    app = "pet-timeline"

    def __init__(self, *, household: Household, **common) -> None:
        super().__init__(**common)
        from rapport.pets.services import name_key  # the app is installed: it imports

        self.name_key = name_key
        self.household = household
        self.hours = household.hours

    def draw(self, batch: Batch, customer: DemoCustomer) -> None:
        tenant_id = self.tenant_id
        for pet in self.household.pets_of(customer):
            position = len(batch.pets)
            added = self._when(pet.added)
            updated = self._when(pet.died) if pet.died is not None else added
            batch.pets.append(
                (
                    position, pet.uuid, tenant_id, pet.name, self.name_key(pet.name), pet.species,
                    pet.breed, pet.sex, pet.date_of_birth, pet.neutered, pet.colour, pet.microchip,
                    pet.notes, pet.deceased_on, added, updated,
                )
            )  # fmt: skip
            owners = [(customer.id, pet.added, True)]
            batch.pet_owners.append(
                (tenant_id, position, customer.id, True, self.hours.date_of(pet.added), added)
            )
            self._event(batch, customer.id, pet.added, "pet_created", pet, "Pet added:")
            if pet.second_owner is not None:
                other_id, when = pet.second_owner
                owners.append((other_id, when, False))
                batch.pet_owners.append(
                    (
                        tenant_id, position, other_id, False, self.hours.date_of(when),
                        self._when(when),
                    )
                )  # fmt: skip
                self._event(batch, other_id, when, "pet_owner_added", pet, "Now an owner of")
            if pet.died is not None:
                day = pet.deceased_on.isoformat()
                for owner_id, _since, _is_primary in owners:
                    batch.events.append(
                        (
                            self._uuid(), tenant_id, owner_id, "profile",
                            f"Pet died: {pet.name} on {day}"[:200], "", "", "",
                            {
                                "kind": "pet_updated",
                                "changes": {"deceased_on": {"old": None, "new": day}},
                                "pet": pet_payload(pet, deceased=True),
                            },
                            ACTOR, self._when(pet.died),
                        )
                    )  # fmt: skip

    def _event(
        self, batch: Batch, customer_id: int, at: float, kind: str, pet: DemoPet, words: str
    ) -> None:
        title = f"{words} {describe(pet)}"
        batch.events.append(
            (
                self._uuid(), self.tenant_id, customer_id, "profile", title[:200], "", "", "",
                {"kind": kind, "pet": pet_payload(pet, deceased=False)}, ACTOR, self._when(at),
            )
        )  # fmt: skip
