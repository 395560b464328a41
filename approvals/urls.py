from django.urls import path

from approvals import views

app_name = "approvals"

urlpatterns = [
    path("catalog/", views.catalog, name="catalog"),
    path("catalog/<int:item_id>/request/", views.request_new, name="request_new"),
    path("requests/", views.my_requests, name="my_requests"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/cancel/", views.request_cancel, name="request_cancel"),
    path("requests/<int:pk>/decide/", views.request_decide, name="request_decide"),
    path("requests/<int:pk>/retry/", views.request_retry, name="request_retry"),
    path(
        "requests/<int:pk>/subject-access/",
        views.request_subject_access,
        name="request_subject_access",
    ),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/bulk/", views.inbox_bulk, name="inbox_bulk"),
    path("access/", views.my_access, name="my_access"),
    path("access/relinquish/", views.relinquish, name="relinquish"),
    path("grants/<int:pk>/extend/", views.grant_extend, name="grant_extend"),
    path("grants/<int:pk>/retry/", views.grant_retry, name="grant_retry"),
    path("manage/catalog/", views.admin_catalog, name="admin_catalog"),
    path("manage/catalog/new/", views.admin_item_edit, name="admin_item_new"),
    path("manage/catalog/<int:pk>/", views.admin_item_edit, name="admin_item_edit"),
    path("manage/catalog/<int:pk>/publish/", views.admin_item_publish, name="admin_item_publish"),
    path("manage/policies/", views.admin_policies, name="admin_policies"),
    path("manage/policies/new/", views.admin_policy_edit, name="admin_policy_new"),
    path("manage/policies/<int:pk>/", views.admin_policy_edit, name="admin_policy_edit"),
    path("manage/operations/", views.operations, name="operations"),
    path("manage/grants/", views.admin_grants, name="admin_grants"),
    path("manage/grants/<int:pk>/end/", views.admin_grant_end, name="admin_grant_end"),
]
