from django.urls import path

from identity import views

app_name = "identity"

urlpatterns = [
    path("account/", views.my_account, name="my_account"),
    path("people/", views.people, name="people"),
    path("people/<str:user_id>/", views.person, name="person"),
    path("people/<str:user_id>/act/", views.person_act, name="person_act"),
    path("people/<str:user_id>/confirm/", views.person_confirm, name="person_confirm"),
    path("people/<str:user_id>/profile/", views.person_profile, name="person_profile"),
    path("actions/<int:pk>/", views.action_detail, name="action_detail"),
    path("actions/<int:pk>/reveal/<int:operation_id>/", views.action_reveal, name="action_reveal"),
    path("admin/users/new/", views.user_create, name="user_create"),
    path("admin/groups/", views.groups, name="groups"),
    path("admin/groups/<str:group_id>/", views.group_page, name="group"),
    path("admin/groups/<str:group_id>/change/", views.group_change, name="group_change"),
    path("admin/groups/<str:group_id>/members/", views.group_members, name="group_members"),
    path("admin/apps/", views.apps, name="apps"),
    path("admin/apps/<str:app_id>/", views.app_page, name="app"),
    path("admin/pick/<str:kind>/", views.pick, name="pick"),
    path("admin/bulk/", views.bulk, name="bulk"),
    path("admin/bulk/runs/", views.bulk_runs, name="bulk_runs"),
    path("admin/bulk/runs/<int:pk>/", views.bulk_run, name="bulk_run"),
    path("admin/bulk/runs/<int:pk>/confirm/", views.bulk_run_confirm, name="bulk_run_confirm"),
    path("admin/bulk/runs/<int:pk>/retry/", views.bulk_run_retry, name="bulk_run_retry"),
    path("admin/policies/", views.policies, name="policies"),
    path("admin/policies/<str:action>/", views.policy_edit, name="policy_edit"),
    path("reports/admin-roles/", views.admin_roles_report, name="admin_roles"),
]
