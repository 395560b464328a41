import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gatehouse.settings")

# filesystem:// (the embedded broker) is kombu's filesystem transport with each message file
# written whole before a worker can see it (core/broker.py), in every process that loads the app.
TRANSPORT_ALIASES["filesystem"] = "core.broker:Transport"

app = Celery("gatehouse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
