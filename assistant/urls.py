from django.urls import path

from assistant import views

app_name = "assistant"

urlpatterns = [
    path("", views.ask, name="ask"),
    path("confirm/", views.confirm, name="confirm"),
    path("report.csv", views.report_csv, name="report_csv"),
]
