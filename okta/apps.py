from django.apps import AppConfig


class OktaConfig(AppConfig):
    name = "okta"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.services import target_namer_register
        from okta.models import OktaApp, OktaGroup, OktaUser

        def people(ids: set[str]) -> dict[str, str]:
            found = OktaUser.objects.filter(id__in=ids).only(
                "id", "login", "first_name", "last_name", "display_name"
            )
            return {person.id: str(person) for person in found}

        def groups(ids: set[str]) -> dict[str, str]:
            return dict(OktaGroup.objects.filter(id__in=ids).values_list("id", "name"))

        def apps(ids: set[str]) -> dict[str, str]:
            return dict(OktaApp.objects.filter(id__in=ids).values_list("id", "label"))

        # The audit trail names Okta targets given by id with the mirror's name at write time.
        target_namer_register("user", people)
        target_namer_register("group", groups)
        target_namer_register("app", apps)
