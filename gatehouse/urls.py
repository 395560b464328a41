from django.contrib.auth.views import LogoutView
from django.urls import include, path

from accounts import views
from api.endpoints import api
from approvals import dashboard
from gatehouse import views as shell

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("signin/refused/", views.signin_refused, name="signin_refused"),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("healthz", shell.healthz, name="healthz"),
    path("", include("approvals.urls")),
    path("", include("okta.urls")),
    path("audit/", include("audit.urls")),
    path("identity/", include("identity.urls")),
    path("reviews/", include("reviews.urls")),
    path("ask/", include("assistant.urls")),
    path("chat/", include("chat.urls")),
    path("api/v1/", api.urls),
    path("account/tokens/", include("api.urls")),
]
