from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.event_list, name="list"),
    path("<int:pk>/", views.event_detail, name="detail"),
    path("export.<str:fmt>", views.event_export, name="export"),
    path("verify/", views.verify, name="verify"),
    path("verify/<int:pk>/", views.verification_status, name="verification"),
]
