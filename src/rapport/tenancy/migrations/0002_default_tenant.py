from django.db import migrations

DEFAULT_TENANT = {
    "name": "My business",
    "country": "NG",
    "currency": "NGN",
    "timezone": "Africa/Lagos",
    "default_language": "en",
    "default_phone_region": "NG",
}


def create_default_tenant(apps, schema_editor):
    Tenant = apps.get_model("rapport_tenancy", "Tenant")
    Tenant.objects.get_or_create(slug="default", defaults=DEFAULT_TENANT)


class Migration(migrations.Migration):
    dependencies = [("rapport_tenancy", "0001_initial")]
    operations = [migrations.RunPython(create_default_tenant, migrations.RunPython.noop)]
