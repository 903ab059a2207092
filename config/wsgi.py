import os

from django.core.wsgi import get_wsgi_application

from config.dotenv import load_dotenv

load_dotenv()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Cached public status page hits skip Django's middleware chain and URL resolver (see
# status/wsgi.py): an outage's crowd.
from status.wsgi import with_cached_status_pages  # noqa: E402

application = with_cached_status_pages(application)

# Heartbeat pings are answered in front of Django's handler, without its middleware
# chain and URL resolver (see heartbeats/views.py): the hottest path, so checked first.
from heartbeats.views import ping_route  # noqa: E402

application = ping_route(application)

# Every response, pings included, counted for /metrics (config/metrics.py).
from config.metrics import counting_responses  # noqa: E402

application = counting_responses(application)

# Outermost: body deadlines and body-less HEAD answers for every route (see config/edge.py).
from config.edge import with_web_edge  # noqa: E402

application = with_web_edge(application)
