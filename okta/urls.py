from django.urls import path

from okta import views

app_name = "okta"

urlpatterns = [
    path("directory/users/", views.user_list, name="user_list"),
    path("directory/users/<str:user_id>/", views.user_detail, name="user_detail"),
    path("directory/users/<str:user_id>/events/", views.user_events, name="user_events"),
    path("directory/groups/", views.group_list, name="group_list"),
    path("directory/groups/<str:group_id>/", views.group_detail, name="group_detail"),
    path("directory/apps/", views.app_list, name="app_list"),
    path("directory/apps/<str:app_id>/", views.app_detail, name="app_detail"),
    path("admin/okta/", views.connection_page, name="connection"),
    path("admin/okta/scope/", views.scope_update, name="scope_update"),
    path("admin/okta/event-hook/", views.event_hook_register, name="event_hook_register"),
    path("admin/okta/sync/", views.sync_page, name="sync"),
    path("admin/okta/sync/start/", views.sync_start, name="sync_start"),
    path("admin/okta/sync/runs/<int:pk>/", views.sync_run_detail, name="sync_run"),
    path("okta/event-hook/", views.event_hook, name="event_hook"),
]
