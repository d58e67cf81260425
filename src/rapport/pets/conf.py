"""The choices and limits pets keep to."""

# The species a pet may be, lower-case. A closed list, so that "dog" segments and reports find
# every dog: the breed (free text) says the rest, and "other" takes any animal not listed.
SPECIES = (
    "dog",
    "cat",
    "bird",
    "rabbit",
    "rodent",
    "ferret",
    "reptile",
    "fish",
    "horse",
    "livestock",
    "other",
)

# Microchips are 15 digits (ISO 11784/11785); older ones 9 or 10 letters and digits. Spaces,
# dashes, dots and asterisks are dropped and letters upper-cased before the check.
MICROCHIP_MIN = 9
MICROCHIP_MAX = 15

NAME_LIMIT = 100
BREED_LIMIT = 100
COLOUR_LIMIT = 50
NOTES_LIMIT = 10_000

# What an erased owner's pet left with no owner is called instead of its name.
ERASED_NAME = "[erased]"
