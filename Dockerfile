# syntax=docker/dockerfile:1
# One image for every application process: web (gunicorn), worker and beat (celery), migrate.
# docker-compose.yml shows the several-machine topology; see its header for how to run it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so code changes do not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself (packages itsm*, people*, bench*). Templates, static files and manage.py live
# beside the packages: PYTHONPATH=/app makes /app the copy every process imports, so the settings'
# BASE_DIR is /app whatever the entry point (manage.py, gunicorn, celery).
COPY . .
RUN pip install --no-deps . \
    && rm -rf build *.egg-info
ENV PYTHONPATH=/app \
    MEDIA_ROOT=/data/media \
    ITSM_VAR_DIR=/data/var \
    STATIC_ROOT=/app/staticfiles

# Static files are collected at build time and served by whitenoise. The settings read these
# variables at import; the values are for this step only and nothing connects to them.
RUN SECRET_KEY=build \
    DATABASE_URL=postgres://x@localhost/x \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput

# A non-root user owning only the writable places: its home (gunicorn's control socket), uploaded
# files (a volume) and var/ (mail files when no EMAIL_URL is set). The code stays root-owned.
RUN groupadd --system --gid 1000 itsm \
    && useradd --system --uid 1000 --gid itsm --home-dir /home/itsm --create-home itsm \
    && mkdir -p /data/media /data/var \
    && chown -R itsm:itsm /data
USER itsm
VOLUME ["/data/media"]

EXPOSE 8000
# The web process; docker-compose.yml gives worker, beat and migrate their own commands.
# WEB_CONCURRENCY (read by gunicorn) sets the number of worker processes.
CMD ["gunicorn", "itsm.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--worker-class", "gthread", "--threads", "4", \
     "--timeout", "60", "--graceful-timeout", "30", \
     "--forwarded-allow-ips", "*", \
     "--access-logfile", "-"]
