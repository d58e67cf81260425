"""The default segments of seed 004 for the tenants that existed before the segments app.

New tenants get them from TenantService (a tenancy listener); they are counted at their
first refresh (the hourly schedule, or `rapport segments --refresh`).
"""

from django.db import migrations


def create_default_segments(apps, schema_editor):
    from rapport.segments import conditions
    from rapport.segments.defaults import default_segments

    Tenant = apps.get_model("rapport_tenancy", "Tenant")
    Segment = apps.get_model("rapport_segments", "Segment")
    for tenant in Tenant.objects.order_by("pk"):
        existing = Segment.objects.filter(tenant=tenant).values_list("key", "name")
        keys = {key for key, _ in existing}
        names = {name.lower() for _, name in existing}
        Segment.objects.bulk_create(
            [
                Segment(
                    tenant=tenant,
                    key=default.key,
                    name=default.name,
                    description=default.description,
                    type="dynamic",
                    conditions=conditions.normalize(default.conditions, tenant=tenant),
                    is_default=True,
                )
                for default in default_segments(tenant.currency)
                if default.key not in keys and default.name.lower() not in names
            ]
        )


class Migration(migrations.Migration):
    dependencies = [("rapport_segments", "0001_initial")]
    operations = [migrations.RunPython(create_default_segments, migrations.RunPython.noop)]
