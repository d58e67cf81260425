"""Consent's fields for segment conditions: opted in to marketing on each channel."""

from django.db.models import OuterRef

from rapport.consent.models import Channel, CommunicationConsent, Status
from rapport.customers import segment_fields
from rapport.customers.segment_fields import BOOLEAN, SegmentField


def _opted_in(channel: str):
    def rows():
        return CommunicationConsent.objects.filter(
            customer=OuterRef("pk"), channel=channel, status=Status.OPTED_IN
        )

    return rows


def register() -> None:
    """consent.whatsapp, consent.email, consent.sms, consent.push (registered in ready())."""
    segment_fields.register(
        *(
            SegmentField(
                f"consent.{channel.value}",
                BOOLEAN,
                f"Opted in to {channel.label} marketing",
                segment_fields.exists(_opted_in(channel.value)),
                app="consent",
                description="true: opted in now; false: pending (never asked) or opted out",
            )
            for channel in Channel
        )
    )
