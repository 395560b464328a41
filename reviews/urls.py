from django.urls import path

from reviews import views

app_name = "reviews"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("items/<int:pk>/decide/", views.item_decide, name="item_decide"),
    path("items/<int:pk>/delegate/", views.item_delegate, name="item_delegate"),
    path("bulk/", views.bulk, name="bulk"),
    path("campaigns/", views.campaigns, name="campaigns"),
    path("campaigns/new/", views.campaign_new, name="campaign_new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/end/", views.campaign_end, name="campaign_end"),
    path("campaigns/<int:pk>/export.<str:fmt>", views.campaign_export, name="campaign_export"),
]
